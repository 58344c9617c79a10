"""The demo fleet: deterministic, the requested size, and its anomalies really where it says."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from errorsift.anomaly import DayCount, baseline_from_days, classify
from errorsift.demo import DemoManifest, generate_fleet
from errorsift.models import ErrorEvent
from errorsift.signatures.seed import SeedNormalizer
from errorsift.sources.files import JsonLinesSource

END = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoManifest, list[ErrorEvent]]:
    path = tmp_path_factory.mktemp("demo") / "fleet.jsonl"
    manifest = generate_fleet(path, seed=7, end=END)
    source = JsonLinesSource(path)
    events = list(source.events())
    assert source.stats.malformed == 0
    return manifest, events


def day_of(manifest: DemoManifest, event: ErrorEvent) -> int:
    return int((event.timestamp - manifest.start) / timedelta(days=1))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    generate_fleet(a, seed=3, end=END, events_target=4000)
    generate_fleet(b, seed=3, end=END, events_target=4000)
    generate_fleet(c, seed=4, end=END, events_target=4000)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("target", [4000, 30_000])
def test_roughly_the_requested_size(tmp_path: Path, target: int) -> None:
    manifest = generate_fleet(tmp_path / "f.jsonl", end=END, events_target=target)
    assert 0.8 * target <= manifest.events <= 1.2 * target
    assert sum(sum(p.daily_counts) for p in manifest.patterns) == manifest.events


def test_shape_of_the_fleet(fleet: tuple[DemoManifest, list[ErrorEvent]]) -> None:
    manifest, events = fleet
    assert len(events) == manifest.events
    assert len(manifest.customers) == 40 and len(manifest.patterns) == 25
    assert {e.customer for e in events} == set(manifest.customers)  # every customer present
    assert len({e.id for e in events}) == len(events)  # every event has its own id
    assert all(manifest.start <= e.timestamp < manifest.end for e in events)
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert all(manifest.classify(e.message) for e in events)
    stacks = [e.stack for e in events if e.stack]
    assert any(s.startswith("Traceback (most recent call last):") for s in stacks)
    assert any("\tat com.acme." in s for s in stacks)
    assert any("   at Acme." in s for s in stacks)
    assert any("tenant_id: t-" in e.message for e in events)
    assert any("user_id: " in e.message for e in events)


def test_each_pattern_has_one_seed_shape_unless_it_needs_a_miner(fleet: tuple[DemoManifest, list[ErrorEvent]]) -> None:
    manifest, events = fleet
    normalizer = SeedNormalizer()
    shapes: dict[str, set[str]] = defaultdict(set)
    for event in events:
        shapes[manifest.classify(event.message) or "?"].add(normalizer.normalize(event.message))
    for pattern in manifest.patterns:
        if pattern.miner_needed:
            assert 1 < len(shapes[pattern.name]) <= 6, pattern.name
        else:
            assert len(shapes[pattern.name]) == 1, (pattern.name, shapes[pattern.name])


def test_anomalies_sit_in_the_intended_windows(fleet: tuple[DemoManifest, list[ErrorEvent]]) -> None:
    manifest, events = fleet
    current = len(manifest.pattern(manifest.new_pattern).daily_counts) - 1
    customers: dict[tuple[str, bool], set[str]] = defaultdict(set)
    for event in events:
        name = manifest.classify(event.message) or "?"
        customers[(name, day_of(manifest, event) == current)].add(event.customer)

    new = manifest.pattern(manifest.new_pattern)
    assert sum(new.daily_counts[:-1]) == 0 and new.daily_counts[-1] >= 20

    spike = manifest.pattern(manifest.spike_pattern)
    usual = sum(spike.daily_counts[:-1]) / current
    assert spike.daily_counts[-1] >= 10 * usual
    assert customers[(spike.name, True)] <= customers[(spike.name, False)]

    spread = manifest.pattern(manifest.spread_pattern)
    fresh = customers[(spread.name, True)] - customers[(spread.name, False)]
    assert fresh == set(manifest.spread_new_customers) and len(fresh) >= 3
    assert spread.daily_counts[-1] <= max(spread.daily_counts[:-1])  # spreading, not spiking

    for name in (*manifest.noise_patterns, *manifest.stable_patterns):
        assert all(manifest.pattern(name).daily_counts), name  # present every day
        assert customers[(name, True)] <= customers[(name, False)], name


def test_seed_rules_flag_exactly_the_intended_patterns(fleet: tuple[DemoManifest, list[ErrorEvent]]) -> None:
    manifest, events = fleet
    normalizer = SeedNormalizer()
    current = len(manifest.pattern(manifest.new_pattern).daily_counts) - 1
    days: dict[tuple[str, str], dict[int, list[ErrorEvent]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        key = (manifest.classify(event.message) or "?", normalizer.normalize(event.message))
        days[key][day_of(manifest, event)].append(event)
    flagged: dict[str, set[str]] = defaultdict(set)
    for (name, _), by_day in days.items():
        now = by_day.get(current, [])
        if not now:
            continue
        baseline = baseline_from_days(
            DayCount(len(evs), frozenset(e.customer for e in evs)) for day, evs in by_day.items() if day < current
        )
        anomaly = classify(len(now), {e.customer for e in now}, baseline)
        for flag in ("new_signature", "spike", "spread"):
            if getattr(anomaly, flag):
                flagged[name].add(flag)
    assert dict(flagged) == {
        manifest.new_pattern: {"new_signature", "spike"},  # a new pattern with >= 10 events is also a spike
        manifest.spike_pattern: {"spike"},
        manifest.spread_pattern: {"spread"},
    }


def test_needs_room_for_the_story(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 8 customers"):
        generate_fleet(tmp_path / "f.jsonl", customers=3, end=END)
