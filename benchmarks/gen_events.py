"""Write N synthetic error events as JSON Lines, quickly and deterministically.

    .venv/bin/python benchmarks/gen_events.py 1000000 /tmp/events.jsonl [--seed 7] [--no-ids]

About 25 patterns with variable parts (order numbers, GUIDs, user and tenant ids, durations,
hosts), ~200 customers, 8 days ending 2026-11-20T06:00Z, time-ordered, with a Python traceback in
a ``stack`` field on a few percent of events. The output feeds the throughput benchmarks: the
shape matters more than realism, but every message looks like something a fleet really logs.
``--no-ids`` leaves ``id`` out so the source's derived-id path is measured too.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

END = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
DAYS = 8

# (error_type, service, template, weight); {o} order, {u} user, {g} GUID, {t} tenant, {ms}
# duration, {h} host number, {ts} timestamp, {n} small number
PATTERNS: list[tuple[str, str, str, int]] = [
    ("timeout", "checkout", "Timeout after {ms}ms calling payments-api for order {o} (user_id: {u})", 40),
    ("connection", "orders", "Connection refused: db-{h}:5432 (attempt {n} of 5)", 30),
    ("sql", "orders", "Deadlock found when trying to get lock; try restarting transaction (order {o})", 25),
    ("KeyError", "billing", "KeyError: 'currency' while building invoice {g} for tenant_id: t-{t}", 20),
    ("java.lang.NullPointerException", "inventory", 'Cannot invoke "Sku.getId()" because "item" is null', 18),
    ("NullReferenceException", "portal", "Object reference not set to an instance of an object. Req {g}", 16),
    ("timeout", "search", "Elasticsearch query timed out after {ms}ms on index orders-{d}", 14),
    ("OutOfMemoryError", "reports", "java.lang.OutOfMemoryError: Java heap space rendering report {o}", 6),
    ("connection", "gateway", "Connection reset by peer during graceful shutdown of worker {o}", 22),
    ("http", "gateway", "Upstream returned 502 Bad Gateway for GET /api/v2/orders/{o}", 12),
    ("sql", "billing", 'duplicate key value violates unique constraint "invoices_pkey" (id {o})', 9),
    ("ValueError", "import", "ValueError: could not convert string to float: 'N/A' at row {o}", 8),
    ("timeout", "notifications", "SMTP send to mail-{h} timed out after {ms}ms for user_id: {u}", 7),
    ("PermissionError", "storage", "Access denied for user_id: {u} on bucket exports-{t}", 6),
    ("connection", "cache", "Redis connection lost to cache-{h}: Connection closed by server", 10),
    ("sql", "reports", "Query canceled: statement timeout after {ms}ms (report {g})", 5),
    ("TypeError", "api", "TypeError: 'NoneType' object is not subscriptable in handler for session {g}", 9),
    ("java.util.ConcurrentModificationException", "inventory", "Concurrent modification in sync {o}", 4),
    ("TaskCanceledException", "portal", "A task was canceled. Operation {g} exceeded {ms}ms", 5),
    ("deploy", "web", "Health check failed during deploy, pod web-{g8} terminating", 11),
    ("auth", "api", "JWT expired at {ts} for user_id: {u}", 13),
    ("rate_limit", "gateway", "Rate limit exceeded for tenant_id: t-{t} on /api/v2/search", 8),
    ("ssl", "gateway", "SSL handshake failed with partner-{h}.example.com: certificate has expired", 3),
    ("disk", "worker", "No space left on device while writing /var/tmp/export-{o}.csv", 2),
    ("IntegrityError", "orders", "IntegrityError: FOREIGN KEY constraint failed for order {o} at {ts}", 4),
]

STACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/{svc}/handlers.py", line 88, in handle\n'
    "    result = process(request)\n"
    '  File "/app/{svc}/service.py", line 214, in process\n'
    "    return build(payload)\n"
    "{etype}: {short}"
)


def _customers(rng: random.Random, count: int) -> list[str]:
    names = [
        "acme",
        "globex",
        "initech",
        "umbrella",
        "hooli",
        "stark",
        "wayne",
        "tyrell",
        "wonka",
        "cyberdyne",
    ]
    regions = ["prod", "eu", "us", "apac", "uk", "ca", "staging", "de", "fr", "au"]
    out = [f"{names[i % len(names)]}-{regions[(i // len(names)) % len(regions)]}" for i in range(count)]
    return [c if i < len(names) * len(regions) else f"{c}-{i}" for i, c in enumerate(out)]


def generate(n: int, out: TextIO, *, seed: int = 7, customers: int = 200, with_ids: bool = True) -> None:
    """Write ``n`` events to ``out``; the same arguments always write the same bytes."""
    rng = random.Random(seed)
    tenants = _customers(rng, customers)
    tenant_weights = [1.0 / (i + 1) ** 0.7 for i in range(len(tenants))]
    weights = [w for *_, w in PATTERNS]
    chosen = rng.choices(range(len(PATTERNS)), weights=weights, k=n)
    who = rng.choices(range(len(tenants)), weights=tenant_weights, k=n)
    start = END - timedelta(days=DAYS)
    step = DAYS * 86400 / max(n, 1)
    rand, randint, getrandbits = rng.random, rng.randint, rng.getrandbits
    write, dumps = out.write, json.dumps
    for i in range(n):
        etype, svc, template, _ = PATTERNS[chosen[i]]
        when = start + timedelta(seconds=(i + rand()) * step)
        ts = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        g = f"{getrandbits(128):032x}"
        guid = f"{g[:8]}-{g[8:12]}-4{g[13:16]}-a{g[17:20]}-{g[20:]}"
        message = template.format(
            o=randint(10_000_000, 99_999_999_999),
            u=randint(100, 999_999),
            g=guid,
            g8=g[:10],
            t=randint(1000, 9999),
            ms=randint(1000, 60_000),
            h=randint(1, 12),
            n=randint(1, 5),
            d=when.strftime("%Y.%m.%d"),
            ts=ts,
        )
        tenant = tenants[who[i]]
        host = f"{svc}-{randint(1, 24)}"
        line = (
            f'{{"timestamp":"{ts}","message":{dumps(message)},"error_type":"{etype}","customer":"{tenant}",'
            f'"service":"{svc}","host":"{host}","level":"error","region":"{tenant.split("-")[1]}"'
        )
        if with_ids:
            line += f',"id":"ev-{seed}-{i:09d}"'
        if rand() < 0.04:
            line += ',"stack":' + dumps(STACK.format(svc=svc, etype=etype, short=message[:80]))
        write(line + "}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, help="number of events, e.g. 1000000")
    parser.add_argument("out", type=Path, help="output file (.jsonl, or .jsonl.gz to compress)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--no-ids", action="store_true", help="omit ids (exercise derived ids)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    opener = gzip.open if args.out.suffix == ".gz" else open
    with opener(args.out, "wt", encoding="utf-8", newline="\n") as out:
        generate(args.n, out, seed=args.seed, customers=args.customers, with_ids=not args.no_ids)
    elapsed = time.perf_counter() - started
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.n:,} events to {args.out} ({size:.1f} MB) in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
