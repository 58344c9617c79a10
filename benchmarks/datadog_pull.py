"""Throughput of DatadogSource: 25,000 logs from the local fake Logs API, pages of 1000.

Measures the whole client path (request serialization, HTTP on 127.0.0.1, JSON decoding, mapping
to ErrorEvent); the fake answers in-process, so this is errorsift + datadog-api-client overhead,
not Datadog's latency. Prints figures; never passes or fails on time.

    .venv/bin/python benchmarks/datadog_pull.py [N] [PAGE_SIZE]
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sources"))

from fake_datadog import API_KEY, APP_KEY, BASE_TIME, FakeDatadog, make_logs

from errorsift.sources.datadog import DatadogConfig, DatadogSource


def main(n: int = 25_000, page_size: int = 1000) -> None:
    fake = FakeDatadog(logs=make_logs(n, step=timedelta(milliseconds=250))).start()
    try:
        config = DatadogConfig(api_key=API_KEY, app_key=APP_KEY, url=fake.url, page_size=page_size)
        source = DatadogSource(config, BASE_TIME, BASE_TIME + timedelta(days=1))
        start = time.perf_counter()
        count = sum(1 for _ in source.events())
        elapsed = time.perf_counter() - start
    finally:
        fake.stop()
    stats = source.stats
    assert count == n, f"expected {n} events, got {count}"
    print(f"datadog pull: {count} events, {stats.pages} pages of {page_size}, {stats.requests} requests")
    print(
        f"  {elapsed:.2f} s wall, {count / elapsed:,.0f} events/s, {elapsed / stats.pages * 1000:.1f} ms/page"
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
