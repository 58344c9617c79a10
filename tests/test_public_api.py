"""The package's public API is explicit, sorted and importable (httpx's habit)."""

from __future__ import annotations

import errorsift


def test_all_is_sorted_and_every_name_exists():
    names = [n for n in errorsift.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in errorsift.__all__:
        assert hasattr(errorsift, name), name


def test_the_documented_example_runs(tmp_path):
    from datetime import UTC, datetime

    from errorsift import MemorySource, OfflineAnalyzer, Pipeline, Redactor, RunConfig, SeedNormalizer, Store

    now = datetime.now(UTC)
    events = [
        errorsift.ErrorEvent(now, f"Timeout after 30000ms for order {100000 + i}", "timeout", id=str(i))
        for i in range(3)
    ]
    store = Store(str(tmp_path / "api.db"))
    result = Pipeline(store, SeedNormalizer(), Redactor().redact_with_counts, OfflineAnalyzer(), RunConfig()).run(
        MemorySource(events)
    )
    store.close()
    (pattern,) = result.patterns
    assert pattern.occurrences == 3 and pattern.triage.bucket == "platform"
