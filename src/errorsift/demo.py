"""A realistic, deterministic demo fleet: what a week of production errors looks like.

`generate_fleet` writes JSON Lines for ~40 customer environments over 8 days with the situations
errorsift exists to find, so the demo (and the end-to-end tests) can show it finding them:

* steady recurring patterns (every day, same customers, steady rate) that must stay quiet;
* deploy-churn noise in bursts right after each customer's daily deploy (known noise);
* ONE brand-new signature that only exists in the last 24 h (NEW);
* ONE known pattern at >= 10x its usual daily volume in the last 24 h (SPIKE);
* ONE known pattern that reaches >= 3 customers in the last 24 h that never had it (SPREAD).

Variable parts are the ones real logs carry (GUIDs, order numbers, user and tenant ids,
timestamps, pids), chosen so each pattern keeps one shape under the seed normalization; patterns
with ``miner_needed`` also vary small tokens (``db-2``, ``attempt 3``) that only template mining
folds together. The same seed and ``end`` always produce the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["DemoManifest", "DemoPattern", "generate_fleet"]

_COMPANIES = (
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "wonka", "cyberdyne",
    "soylent", "aperture", "oscorp", "vandelay", "dunder", "pied", "gringotts", "monarch", "nakatomi",
    "wernham", "prestige", "sirius", "bluth", "kramerica",
)  # fmt: skip
_REGIONS = ("prod", "eu", "us", "apac", "uk", "staging")

_PY = 'Traceback (most recent call last):\n  File "/app/{svc}/{file}", line {line}, in {fn}\n    {code}\n'
_JAVA = "\tat com.acme.{pkg}.{cls}.{fn}({cls}.java:{line})\n"
_NET = "   at Acme.{ns}.{cls}.{fn}() in /src/{ns}/{cls}.cs:line {line}\n"


def _py_stack(svc: str, frames: list[tuple[str, int, str, str]], last: str) -> str:
    text = _PY.format(svc=svc, file=frames[0][0], line=frames[0][1], fn=frames[0][2], code=frames[0][3])
    for file, line, fn, code in frames[1:]:
        text += f'  File "/app/{svc}/{file}", line {line}, in {fn}\n    {code}\n'
    return text + last


def _java_stack(first: str, frames: list[tuple[str, str, str, int]]) -> str:
    body = "".join(_JAVA.format(pkg=p, cls=c, fn=f, line=n) for p, c, f, n in frames)
    body += "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)"
    return f"{first}\n{body}"


def _net_stack(first: str, frames: list[tuple[str, str, str, int]]) -> str:
    body = "".join(_NET.format(ns=n, cls=c, fn=f, line=ln) for n, c, f, ln in frames)
    return f"{first}\n{body}   at Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.Execute()"


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    kind: str  # stable | noise | new | spike | spread
    error_type: str
    service: str
    marker: str  # fixed text only this pattern's messages contain
    render: Callable[[_Vars], tuple[str, str]]  # -> (message, stack)
    weight: float = 1.0
    miner_needed: bool = False


class _Vars:
    """The variable parts of one event, drawn from the generator's Random (deterministic)."""

    def __init__(self, rng: random.Random, customer: str, tenant: str, when: datetime, slot: int) -> None:
        self.rng, self.customer, self.tenant, self.when, self.slot = rng, customer, tenant, when, slot

    def guid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

    def order(self) -> int:
        return self.rng.randint(10_000_000_000, 99_999_999_999)

    def user(self) -> int:
        return self.rng.randint(100, 999_999)

    def stamp(self) -> str:
        moment = self.when - timedelta(seconds=self.rng.randint(0, 3600))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def small(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


def _specs() -> list[_Spec]:
    """The catalogue: ~25 patterns, each a message (and maybe a stack) with realistic variables."""

    def keyerror(v: _Vars) -> tuple[str, str]:
        msg = f"KeyError: 'currency' while building invoice {v.guid()} for tenant_id: {v.tenant}"
        frames = [
            ("invoices.py", 214, "build_invoice", 'currency = account["currency"]'),
            ("pricing.py", 57, "price_lines", "return lines[key]"),
        ]
        return msg, _py_stack("billing", frames, "KeyError: 'currency'")

    def typeerror(v: _Vars) -> tuple[str, str]:
        msg = f"TypeError: 'NoneType' object is not subscriptable (handler orders.detail, request {v.guid()})"
        frames = [("views/orders.py", 88, "detail", 'items = order["items"]')]
        return msg, _py_stack("api", frames, "TypeError: 'NoneType' object is not subscriptable")

    def loyalty(v: _Vars) -> tuple[str, str]:
        msg = (
            f"AttributeError: 'NoneType' object has no attribute 'loyalty_tier' "
            f"(order {v.order()}, user_id: {v.user()})"
        )
        frames = [
            ("checkout/promotions.py", 342, "apply_loyalty_discount", "tier = customer.profile.loyalty_tier"),
            ("checkout/cart.py", 129, "total", "discount = apply_loyalty_discount(self.customer, subtotal)"),
        ]
        return msg, _py_stack("pricing", frames, "AttributeError: 'NoneType' object has no attribute 'loyalty_tier'")

    def npe(v: _Vars) -> tuple[str, str]:
        first = 'java.lang.NullPointerException: Cannot invoke "com.acme.inventory.Sku.getId()" because "item" is null'
        frames = [("inventory", "StockService", "reserve", 118), ("inventory", "StockController", "reserve", 57)]
        return f"{first} (request {v.guid()})", _java_stack(first, frames)

    def oom(v: _Vars) -> tuple[str, str]:
        first = "java.lang.OutOfMemoryError: Java heap space"
        frames = [("reports", "PdfRenderer", "render", 402), ("reports", "ReportJob", "run", 77)]
        return f"{first} while rendering report {v.order()}", _java_stack(first, frames)

    def nre(v: _Vars) -> tuple[str, str]:
        first = "System.NullReferenceException: Object reference not set to an instance of an object."
        frames = [
            ("Portal.Services", "ProfileService", "GetPreferences", 88),
            ("Portal", "ProfileController", "Index", 31),
        ]
        return f"{first} (RequestId: {v.guid()})", _net_stack(first, frames)

    def canceled(v: _Vars) -> tuple[str, str]:
        first = "System.Threading.Tasks.TaskCanceledException: A task was canceled."
        frames = [("Portal.Clients", "CatalogClient", "GetProductsAsync", 143)]
        return f"{first} Operation {v.guid()} exceeded the 100s HttpClient timeout", _net_stack(first, frames)

    def sqlserver(v: _Vars) -> tuple[str, str]:
        first = (
            "Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired. "
            "The timeout period elapsed prior to completion of the operation"
        )
        frames = [("Reporting.Data", "SalesRepository", "GetMonthlyTotals", 212)]
        return f"{first} (query {v.guid()})", _net_stack(first, frames)

    def simple(template: str) -> Callable[[_Vars], tuple[str, str]]:
        def render(v: _Vars) -> tuple[str, str]:
            values = {"guid": v.guid, "order": v.order, "user": v.user, "ts": v.stamp}
            needed = {k: f() for k, f in values.items() if "{" + k + "}" in template}
            return template.format(tenant=v.tenant, pid=v.small(10_000, 4_194_303), **needed), ""

        return render

    def db_refused(v: _Vars) -> tuple[str, str]:
        host = 1 + (sum(map(ord, v.customer)) % 2)  # each customer talks to its own primary
        return f"Connection refused: db-{host}.internal:5432 (attempt {v.small(1, 3)} of 3)", ""

    def heartbeat(v: _Vars) -> tuple[str, str]:
        return f"Worker heartbeat missed for worker-{v.small(1, 3)} after 3 retries (job {v.guid()})", ""

    pod_hashes = ("7f9c8d6b5", "5d4b9c7f2", "6c8f7d9b4")

    def health(v: _Vars) -> tuple[str, str]:
        pod = f"web-{pod_hashes[v.slot % 3]}"
        return f"Health check failed during deploy, pod {pod} terminating (uid {v.guid()})", ""

    S = _Spec
    return [
        S("checkout_timeout", "stable", "timeout", "checkout", "calling payments-api for order",
          simple("Timeout after 30000ms calling payments-api for order {order} (user_id: {user})"), 3.0),
        S("order_deadlock", "spike", "sql", "orders", "Deadlock found when trying to get lock",
          simple("Deadlock found when trying to get lock; try restarting transaction (order {order}, txn {guid})")),
        S("invoice_keyerror", "stable", "KeyError", "billing", "while building invoice", keyerror, 1.5),
        S("stock_npe", "stable", "java.lang.NullPointerException", "inventory", "Sku.getId()", npe, 1.5),
        S("profile_nre", "stable", "NullReferenceException", "portal", "Object reference not set", nre, 1.5),
        S("search_timeout", "stable", "timeout", "search", "on index orders_v3",
          simple("Search request {guid} timed out after 10000ms on index orders_v3")),
        S("redis_lost", "stable", "connection", "cache", "Redis connection lost",
          simple("Redis connection lost: Connection closed by server (session {guid})")),
        S("jwt_expired", "stable", "auth", "api", "JWT expired at",
          simple("JWT expired at {ts} for user_id: {user}"), 2.0),
        S("upstream_502", "stable", "http", "gateway", "Upstream returned 502 Bad Gateway",
          simple("Upstream returned 502 Bad Gateway for GET /api/v2/orders/{order}"), 1.5),
        S("report_oom", "stable", "OutOfMemoryError", "reports", "Java heap space", oom, 0.5),
        S("invoice_duplicate", "spread", "sql", "billing", "invoices_pkey",
          simple('duplicate key value violates unique constraint "invoices_pkey" DETAIL: Key (id)=({order}) '
                 "already exists.")),
        S("smtp_timeout", "stable", "timeout", "notifications", "SMTP send timed out",
          simple("SMTP send timed out after 30s for message {guid} (user_id: {user})")),
        S("s3_denied", "stable", "botocore.exceptions.ClientError", "storage", "(AccessDenied)",
          simple("An error occurred (AccessDenied) when calling the PutObject operation: Access Denied "
                 "(request {guid})"), 0.7),
        S("rate_limited", "stable", "rate_limit", "gateway", "Rate limit exceeded for",
          simple("Rate limit exceeded for tenant_id: {tenant} on /api/v2/search (retry after 60s)")),
        S("catalog_canceled", "stable", "TaskCanceledException", "portal", "A task was canceled", canceled),
        S("orders_typeerror", "stable", "TypeError", "api", "handler orders.detail", typeerror),
        S("partner_tls", "stable", "connection", "gateway", "CERTIFICATE_VERIFY_FAILED",
          simple("SSL: CERTIFICATE_VERIFY_FAILED certificate verify failed: certificate has expired "
                 "(request {guid})"), 0.5),
        S("db_refused", "stable", "connection", "orders", "Connection refused: db-", db_refused, 1.0, True),
        S("export_disk_full", "stable", "OSError", "worker", "No space left on device",
          simple("OSError: [Errno 28] No space left on device: '/var/tmp/export-{order}.csv'"), 0.5),
        S("order_fk", "stable", "IntegrityError", "orders", "FOREIGN KEY constraint failed",
          simple("IntegrityError: FOREIGN KEY constraint failed for order {order} at {ts}"), 0.7),
        S("worker_heartbeat", "stable", "timeout", "worker", "Worker heartbeat missed", heartbeat, 0.8, True),
        S("sales_sql_timeout", "stable", "sql", "reporting", "Execution Timeout Expired", sqlserver, 0.8),
        S("deploy_conn_reset", "noise", "connection", "gateway", "during graceful shutdown of worker",
          simple("Connection reset by peer during graceful shutdown of worker {pid}")),
        S("deploy_health", "noise", "deploy", "web", "Health check failed during deploy", health),
        S("loyalty_attr", "new", "AttributeError", "pricing", "no attribute 'loyalty_tier'", loyalty),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoPattern:
    """One pattern in the demo fleet, as a test or a tour of the dashboard needs it."""

    name: str
    kind: str  # stable | noise | new | spike | spread
    error_type: str
    service: str
    marker: str  # a fixed substring only this pattern's messages contain
    customers: tuple[str, ...]  # every customer it occurs for, in any window
    daily_counts: tuple[int, ...]  # events per day slice, oldest first; the last is the current window
    miner_needed: bool = False  # varies small tokens: one pattern, several seed signatures


@dataclass(frozen=True)
class DemoManifest:
    """What `generate_fleet` wrote and where the anomalies are, so they can be checked."""

    path: Path
    seed: int
    start: datetime
    end: datetime
    current_start: datetime  # the last 24 h: [current_start, end)
    events: int
    customers: tuple[str, ...]
    patterns: tuple[DemoPattern, ...]
    new_pattern: str
    spike_pattern: str
    spike_customer: str
    spread_pattern: str
    spread_new_customers: tuple[str, ...]
    noise_patterns: tuple[str, ...]
    stable_patterns: tuple[str, ...] = field(default=())

    def pattern(self, name: str) -> DemoPattern:
        return next(p for p in self.patterns if p.name == name)

    def classify(self, message: str) -> str | None:
        """The demo pattern a message belongs to (by its marker), or None."""
        return next((p.name for p in self.patterns if p.marker in message), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "current_start": self.current_start.isoformat(),
            "events": self.events,
            "customers": list(self.customers),
            "new_pattern": self.new_pattern,
            "spike_pattern": self.spike_pattern,
            "spike_customer": self.spike_customer,
            "spread_pattern": self.spread_pattern,
            "spread_new_customers": list(self.spread_new_customers),
            "noise_patterns": list(self.noise_patterns),
            "patterns": {p.name: {"kind": p.kind, "daily_counts": list(p.daily_counts)} for p in self.patterns},
        }


def _customer_names(count: int) -> list[str]:
    names = [f"{c}-{r}" for r in _REGIONS for c in _COMPANIES]
    return [names[i] if i < len(names) else f"{names[i % len(names)]}-{i // len(names)}" for i in range(count)]


def _hour_weights() -> list[float]:
    """More errors in (European and US) business hours than at night: real traffic is not flat."""
    return [1.0 + 1.5 * max(0.0, 1 - abs(h - 14) / 8) for h in range(24)]


def generate_fleet(
    out_path: str | Path,
    *,
    seed: int = 7,
    customers: int = 40,
    days: int = 8,
    end: datetime | None = None,
    events_target: int = 30_000,
) -> DemoManifest:
    """Write the demo fleet to ``out_path`` (JSON Lines, time-ordered) and describe it.

    ``end`` is the end of the current window (default: this hour, UTC); the data covers ``days``
    day-slices before it, the last being the current 24 h. Needs ``customers >= 8`` and
    ``days >= 2`` so every anomaly has room to happen.
    """
    if customers < 8 or days < 2:
        raise ValueError("the demo fleet needs at least 8 customers and 2 days")
    end = (end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)).astimezone(UTC)
    start = end - timedelta(days=days)
    rng = random.Random(seed)
    names = _customer_names(customers)
    tenants = {c: f"t-{1000 + (i * 7919 + seed) % 9000}" for i, c in enumerate(names)}
    specs = _specs()
    hours = _hour_weights()

    # --- who has what: customers per pattern ------------------------------------------------
    shuffled = names[:]
    rng.shuffle(shuffled)
    owners: dict[str, list[str]] = {}
    for spec in specs:
        if spec.kind == "stable":
            owners[spec.name] = sorted(rng.sample(names, rng.randint(3, max(4, customers // 3))))
    stable = [s for s in specs if s.kind == "stable"]
    for i, customer in enumerate(names):  # every customer appears somewhere
        if not any(customer in owned for owned in owners.values()):
            owners[stable[i % len(stable)].name].append(customer)
    spike_owners, spread_owners = shuffled[:3], shuffled[3:5]
    spread_new = sorted(shuffled[5:9])
    owners["order_deadlock"] = sorted(spike_owners)
    owners["invoice_duplicate"] = sorted(spread_owners)
    owners["loyalty_attr"] = sorted(rng.sample(names, 2))
    deployers = sorted(rng.sample(names, max(4, customers * 3 // 5)))
    owners["deploy_conn_reset"] = owners["deploy_health"] = deployers
    deploy_hour = {c: rng.choice((9, 10, 11, 13, 14, 15, 16)) for c in deployers}
    customer_factor = {c: rng.lognormvariate(0, 0.5) for c in names}

    # --- volumes: per (pattern, customer) expected daily counts ------------------------------
    per_day = events_target / days
    spike_day = max(4.0, per_day * 0.005)  # per spike owner, before the spike
    spread_day = max(4.0, per_day * 0.006)  # per old owner
    new_total = max(24, round(per_day * 0.012))
    noise_per_deploy = max(3.0, per_day * 0.12 / max(1, len(deployers)))
    special = (
        3 * spike_day * (days - 1) + 3 * spike_day * 12 + 2 * spread_day * days + new_total
        + len(deployers) * noise_per_deploy * days
    )  # fmt: skip
    stable_day = max(len(stable) * 3.0, (events_target - special) / days)
    weight_sum = sum(s.weight for s in stable)

    events: list[tuple[datetime, str, str, tuple[str, str]]] = []

    def emit(spec: _Spec, customer: str, when: datetime, slot: int) -> None:
        message, stack = spec.render(_Vars(rng, customer, tenants[customer], when, slot))
        events.append((when, spec.name, customer, (message, stack)))

    def spread_over_day(day_start: datetime) -> datetime:
        hour = rng.choices(range(24), weights=hours)[0]
        return day_start + timedelta(hours=hour, seconds=rng.random() * 3600)

    by_name = {s.name: s for s in specs}
    for day in range(days):
        day_start = start + timedelta(days=day)
        current = day == days - 1
        # The current window runs a little quieter than a typical day: the seed's spike rule flags
        # any count above the busiest baseline day, and a steady pattern must stay unflagged.
        calm = 0.85 if current else 1.0
        for spec in stable:
            owned = owners[spec.name]
            share = stable_day * spec.weight / weight_sum
            norm = sum(customer_factor[c] for c in owned)
            for customer in owned:
                mean = max(1.0, share * customer_factor[customer] / norm * calm)
                for slot in range(max(1, round(rng.gauss(mean, mean * 0.12)))):
                    emit(spec, customer, spread_over_day(day_start), slot)
        deadlock = by_name["order_deadlock"]
        for i, customer in enumerate(spike_owners):
            mean = spike_day * 30 if current and i == 0 else spike_day  # one customer blows up
            for slot in range(max(1, round(rng.gauss(mean, mean * 0.1)))):
                emit(deadlock, customer, spread_over_day(day_start), slot)
        duplicate = by_name["invoice_duplicate"]
        for customer in spread_owners:  # quieter for the old owners while it spreads
            mean = spread_day * (0.5 if current else 1)
            for slot in range(max(1, round(rng.gauss(mean, mean * 0.1)))):
                emit(duplicate, customer, spread_over_day(day_start), slot)
        if current:
            for customer in spread_new:
                for slot in range(2):
                    emit(duplicate, customer, spread_over_day(day_start), slot)
            new = by_name["loyalty_attr"]
            for slot in range(new_total):
                emit(new, owners["loyalty_attr"][slot % 2], spread_over_day(day_start), slot)
        for customer in deployers:  # deploy churn: a burst in the minutes after each deploy
            deploy_at = day_start + timedelta(hours=deploy_hour[customer], minutes=rng.randint(0, 40))
            burst = max(2, round(rng.gauss(noise_per_deploy * calm, noise_per_deploy * 0.1)))
            for slot in range(burst):
                name = "deploy_health" if slot % 3 == 0 else "deploy_conn_reset"
                emit(by_name[name], customer, deploy_at + timedelta(seconds=rng.random() * 300), slot)

    events.sort(key=lambda e: (e[0], e[1], e[2]))
    counts = _write(Path(out_path), events, specs, start, seed, end, rng)
    return DemoManifest(
        path=Path(out_path),
        seed=seed,
        start=start,
        end=end,
        current_start=end - timedelta(days=1),
        events=len(events),
        customers=tuple(names),
        patterns=tuple(
            DemoPattern(
                s.name,
                s.kind,
                s.error_type,
                s.service,
                s.marker,
                tuple(sorted(counts[s.name][1])),
                tuple(counts[s.name][0]),
                s.miner_needed,
            )
            for s in specs
        ),
        new_pattern="loyalty_attr",
        spike_pattern="order_deadlock",
        spike_customer=spike_owners[0],
        spread_pattern="invoice_duplicate",
        spread_new_customers=tuple(spread_new),
        noise_patterns=("deploy_conn_reset", "deploy_health"),
        stable_patterns=tuple(s.name for s in stable),
    )


def _write(
    path: Path,
    events: list[tuple[datetime, str, str, tuple[str, str]]],
    specs: list[_Spec],
    start: datetime,
    seed: int,
    end: datetime,
    rng: random.Random,
) -> dict[str, tuple[list[int], set[str]]]:
    """Write the events as JSON Lines; return per pattern (daily counts, customers seen)."""
    by_name = {s.name: s for s in specs}
    days = round((end - start) / timedelta(days=1))
    counts: dict[str, tuple[list[int], set[str]]] = {s.name: ([0] * days, set()) for s in specs}
    versions = ("2026.11.2", "2026.11.3", "2026.11.4")
    id_salt = f"{seed}:{end.isoformat()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for index, (when, name, customer, (message, stack)) in enumerate(events):
            spec = by_name[name]
            day = min(days - 1, int((when - start) / timedelta(days=1)))
            counts[name][0][day] += 1
            counts[name][1].add(customer)
            record: dict[str, Any] = {
                "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
                "message": message,
                "error_type": spec.error_type,
                "customer": customer,
                "service": spec.service,
                "host": f"{spec.service}-{1 + rng.randrange(4)}",
                "id": hashlib.blake2b(f"{id_salt}:{index}".encode(), digest_size=12).hexdigest(),
                "level": "error",
                "version": versions[min(2, int((when - start) / (end - start) * 3))],
                "trace_id": f"{rng.getrandbits(128):032x}",
            }
            if stack:
                record["stack"] = stack
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return counts
