"""Print redaction cost in µs per line: clean error lines (the common case) and lines with secrets.

Run: ``.venv/bin/python benchmarks/redact_speed.py``. Prints figures; never passes or fails.
"""

from __future__ import annotations

import time

from errorsift.signatures.redact import Redactor

# Typical 100–300 char error lines without secrets or PII (numbers, ids, paths, timestamps).
CLEAN = (
    "ERROR [payments-api] PaymentService.charge failed: upstream timeout after 30s while calling "
    "ledger-svc (attempt 3 of 5); circuit breaker state=half_open, queue depth 17",
    'java.lang.NullPointerException: Cannot invoke "com.acme.orders.Order.getItems()" because '
    '"order" is null at com.acme.orders.OrderService.process(OrderService.java:214)',
    "psycopg2.OperationalError: could not connect to server: Connection refused. Is the server "
    'running on host "db-7.internal" and accepting TCP/IP connections on port 5432?',
    "Failed to process order 123456789 for user_id: 42 in region eu-west-1: inventory reservation "
    "conflict (version mismatch, expected 7 got 9); retry scheduled in 250 ms",
    "TypeError: Cannot read properties of undefined (reading 'map') at renderList "
    "(webpack:///./src/components/List.tsx:88:23) in CheckoutPage",
    '2024-05-01T10:00:00Z level=error service=search msg="query failed" error="context deadline '
    'exceeded" duration=5.002s shard=12 index=products-v3',
)
# Clean lines that trip a trigger ("token", a 13-digit id, "session"): the scan runs, finds nothing.
NEAR_MISS = (
    "AuthError: token expired for session of tenant acme after 3600s; user must log in again",
    "order 1714567890123 stuck in state PENDING since 2024-05-01T10:00:00Z (worker-3)",
)
SECRET = (
    "Login failed for bob.smith@example.com from 203.0.113.7: invalid password; "
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N "
    "card 4111 1111 1111 1111 password=hunter2 key AKIAIOSFODNN7EXAMPLE"
)


def per_line_us(redactor: Redactor, lines: tuple[str, ...], rounds: int) -> float:
    """Best of 5 timed passes, in µs per line (best-of removes scheduler noise)."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            for line in lines:
                redactor.redact(line)
        best = min(best, time.perf_counter() - start)
    return best / (rounds * len(lines)) * 1e6


def main() -> None:
    redactor = Redactor()
    print(
        f"clean line  (avg of {len(CLEAN)} kinds, ~{sum(map(len, CLEAN)) // len(CLEAN)} chars): "
        f"{per_line_us(redactor, CLEAN, 20_000):6.2f} µs/line"
    )
    for i, line in enumerate(CLEAN):
        print(f"  clean[{i}] {len(line):3d} chars: {per_line_us(redactor, (line,), 20_000):6.2f} µs/line")
    for i, line in enumerate(NEAR_MISS):
        print(f"near-miss[{i}] {len(line):3d} chars: {per_line_us(redactor, (line,), 5_000):6.2f} µs/line")
    reference = Redactor(prefilter=False)
    print(f"clean line without the pre-check: {per_line_us(reference, CLEAN, 2_000):6.2f} µs/line")
    print(f"secret line ({len(SECRET)} chars): {per_line_us(redactor, (SECRET,), 2_000):6.2f} µs/line")


if __name__ == "__main__":
    main()
