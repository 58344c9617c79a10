"""Server-side render time of the dashboard's home page on a large store.

    python benchmarks/web_home.py [--signatures 10000] [--customers 1000] [--active N] [--repeat 25] [--keep DIR]

Fills a fresh SQLite store (through the store's own API) with N signatures, M customers, 8 days of
hourly counts, a cached analysis per signature, a few noise rules and owner overrides, and one run
whose triage holds every signature (the worst case: all of them active in the window; `--active`
sets fewer). Then it
requests `/` in-process through the ASGI app and prints the median and p90 wall time per request,
for the steady state (cards cached), a filtered view, the first view after an action (live triage
recomputed over cached rows) and the first view of a run (everything rebuilt, split into building
the context and rendering the template). The target is a median under 200 ms. Prints figures;
never passes or fails on time.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from errorsift.store.store import SignatureInfo, Store

AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
END_HOUR = int(AT.timestamp() // 3600)
SEVERITIES = ("Critical", "High", "Medium", "Low")
CATEGORIES = ("Application", "Infrastructure", "Database", "Network", "Configuration", None)
SERVICES = tuple(f"svc-{i:02d}" for i in range(40))
TYPES = ("timeout", "connection", "sql", "KeyError", "TypeError", "NullPointerException", "")


def analysis(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "summary": f"Pattern {i}: something failed in a plausible way ({rng.randint(1, 999)} variants)",
        "explanation": "Plain English for support staff. " * 6,
        "severity": rng.choice(SEVERITIES),
        "user_impact": "Users see an error page when saving an order.",
        "root_cause": {"likely_cause": "A dependency times out under load.", "confidence": 0.6},
        "recommendations": {
            "immediate_actions": ["Check the dependency", "Roll back if recent"],
            "resolution_priority": "High",
        },
        "customer_communication": "We are aware of the issue and are working on it.",
        "technical_details": {
            "error_category": rng.choice(CATEGORIES),
            "real_application_bug": rng.random() < 0.3,
            "affects_critical_operation": False,
        },
        "fallback": False,
        "analyzer": "offline",
    }


def fill(db: Path, n_sigs: int, n_customers: int, active: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    customers = [f"cust-{i:04d}-prod" for i in range(n_customers)]
    store = Store(str(db))
    first = AT - timedelta(days=8)
    infos: dict[str, SignatureInfo] = {}
    counts: dict[tuple[str, str, int], int] = {}
    triage: list[dict[str, Any]] = []
    for i in range(n_sigs):
        key = f"{i:016x}"
        text = f"Error {i} in handler <*> for order [ID] after [DURATION] on host <*> (svc {i % 40})"
        infos[key] = SignatureInfo(
            text, text, rng.choice(TYPES), rng.choice(SERVICES), "mined-v1", first, AT, 0, [text.replace("<*>", "x")]
        )
        hit = rng.sample(customers, min(n_customers, max(1, int(rng.paretovariate(1.3)))))
        window_customers = set()
        occ = 0
        for c in hit:
            for h in rng.sample(range(END_HOUR - 24 * 8, END_HOUR), rng.randint(1, 6)):
                n = rng.randint(1, 20)
                counts[(key, c, h)] = n
                infos[key].count += n
                if h >= END_HOUR - 24:
                    window_customers.add(c)
                    occ += n
        new = rng.random() < 0.01
        anomaly = {
            "new_signature": new,
            "spike": rng.random() < 0.02,
            "spread": rng.random() < 0.02,
            "new_customers": sorted(window_customers)[:3] if new else [],
            "baseline_days_present": 5,
            "baseline_mean": 3.5,
            "baseline_max": 9,
            "why_flagged": "SPIKE: 40 in window vs max 9/day",
        }
        triage.append(
            {
                "signature": key,
                "rank": i,
                "occurrences": max(occ, 1),
                "customers": sorted(window_customers),
                "anomaly": anomaly,
                "bucket": "platform",
                "owner": "platform",
                "reason": "Categorized as network",
                "suppressed": False,
            }
        )
    with store.begin() as conn:
        conn.upsert_signatures(infos)
        conn.add_counts(counts)
        for i, key in enumerate(infos):
            conn.save_analysis(key, "recent", analysis(rng, i), "offline", AT, "")
        for j in range(5):
            conn.add_noise_rule("regex", f"svc {j}\\)$", "deploy churn", created_by="bench")
        for j in range(20):
            conn.set_owner_override(f"{j * 7:016x}", "application", "payments", "ours", created_by="bench")
        run_id = conn.start_run("bench", {"baseline_days": 7}, AT)
        conn.save_triage(run_id, triage[:active])
        conn.finish_run(
            run_id,
            "ok",
            {
                "window_start": (AT - timedelta(hours=24)).isoformat(),
                "window_end": AT.isoformat(),
                "raw_events": sum(counts.values()),
                "patterns": len(triage),
                "analyzer": "offline",
            },
        )
    store.close()
    print(
        f"store: {n_sigs:,} signatures ({min(active, n_sigs):,} active in the run), {n_customers:,} customers,"
        f" {len(counts):,} hourly cells",
        file=sys.stderr,
    )


def _ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:6.1f} ms, p90 {sorted(xs)[int(len(xs) * 0.9)] * 1000:6.1f} ms"


def measure(db: Path, repeat: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from starlette.datastructures import QueryParams

    from errorsift.web.app import create_app
    from errorsift.web.live import load_human_state
    from errorsift.web.pages.cards import CardCache
    from errorsift.web.pages.home import home_context
    from errorsift.web.render import UI, Renderer

    app = create_app(str(db), warm_every=None)  # measure on-demand builds, not the background warmer
    store, renderer = app.state.store, Renderer()
    ui = UI(csrf="x", user="", auth_enabled=False, path="/", query={}, section="cards")
    warm, filtered, cold_build, cold_render = [], [], [], []
    renderer.html("error.html", {"status": 200, "message": ""}, ui)  # compile the base template
    for _ in range(repeat):
        t0 = time.perf_counter()
        with store.read() as sc:  # cold: a fresh cache, as on the first request after a run or an action
            ctx = home_context(sc, load_human_state(sc), QueryParams(), CardCache())
        t1 = time.perf_counter()
        renderer.html("home.html", ctx, ui)
        cold_build.append(t1 - t0)
        cold_render.append(time.perf_counter() - t1)
    after_action: list[float] = []
    with TestClient(app) as client:
        response = client.get("/")  # warm up: template compile, connection pool, card cache
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        for i in range(repeat):
            key = f"{(i * 37) % 10_000:016x}"
            done = client.post(
                f"/patterns/{key}/noise",
                data={"csrf_token": token, "reason": "bench"},
                headers={"Accept": "application/json"},
            )
            t0 = time.perf_counter()
            client.get("/")  # the first view after marking a pattern as noise
            after_action.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            response = client.get("/")
            warm.append(time.perf_counter() - t0)
            assert response.status_code == 200
            t0 = time.perf_counter()
            client.get("/?bucket=application&severity=High&q=handler")
            filtered.append(time.perf_counter() - t0)
            client.post(f"/actions/{done.json()['action_id']}/undo", data={"csrf_token": token})
    cold = [b + r for b, r in zip(cold_build, cold_render, strict=True)]
    print(f"GET /  (steady state)            {_ms(warm)}   html {len(response.content) / 1024:.0f} KiB")
    print(f"GET /?bucket=…&severity=…&q=…    {_ms(filtered)}")
    print(f"GET /  after mark-as-noise       {_ms(after_action)}")
    print(f"home, cold (first view of a run) {_ms(cold)}")
    print(f"  of which: build context        {_ms(cold_build)}")
    print(f"            render template      {_ms(cold_render)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--active", type=int, default=None, help="Patterns active in the run (default: all).")
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--keep", metavar="DIR", help="Keep the database in DIR (reused if present).")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="errorsift-web-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "web_home.db"
    if not db.exists():
        t0 = time.perf_counter()
        fill(db, args.signatures, args.customers, args.active or args.signatures)
        print(f"filled in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    measure(db, args.repeat)


if __name__ == "__main__":
    main()
