"""Every page as HTML and as JSON on the triaged demo fleet: the cards, filters, pattern, customers, runs."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from errorsift.store.store import Store
from errorsift.views import latest_patterns
from errorsift.web.app import create_app

from .conftest import Fleet, TestClient


def home(client: TestClient, query: str = "") -> dict:
    response = client.get(f"/?{query}&format=json" if query else "/?format=json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_home_lists_the_latest_run_most_urgent_first_with_noise_folded(client: TestClient, demo: Fleet) -> None:
    ctx = home(client)
    cards, folded = ctx["cards"], ctx["suppressed"]
    store = Store(str(demo.db))
    try:
        stored = latest_patterns(store)
    finally:
        store.close()
    assert ctx["totals"]["patterns"] == len(stored["patterns"]) == len(cards) + len(folded)
    assert ctx["totals"]["suppressed"] == len(folded) == sum(p["triage"]["suppressed"] for p in stored["patterns"]) > 0
    assert not any(c["triage"]["suppressed"] for c in cards) and all(c["triage"]["suppressed"] for c in folded)
    # escalations (NEW, SPIKE, SPREAD) first, in the pipeline's own order
    active = [p["signature"] for p in stored["patterns"] if not p["triage"]["suppressed"]]
    assert [c["signature"] for c in cards] == active
    escalated = [bool(c["flags"]) for c in cards]
    assert escalated == sorted(escalated, reverse=True) and escalated[0]
    first = cards[0]
    assert first["why_flagged"] and first["summary"] and first["severity"] in {"Critical", "High", "Medium", "Low"}
    assert (
        first["triage"]["reason"]
        and first["occurrences"] > 0
        and first["customers_affected"] == len(first["customers"])
    )
    assert len(first["sparkline"]) == 7 and first["sparkline"][-1] > 0
    assert {"new", "spike", "spread"} <= set(ctx["totals"]["by_flag"])

    html = client.get("/").text
    assert html.count('class="card ') == len(cards) + len(folded)
    assert '<details class="folded" id="suppressed">' in html
    assert f"{len(folded)} suppressed as known noise" in html
    assert first["why_flagged"].split(" (")[0] in html
    assert '<svg class="spark"' in html and "<polyline" in html


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("bucket=platform", lambda c: c["triage"]["bucket"] == "platform"),
        ("severity=Critical", lambda c: c["severity"] == "Critical"),
        ("flag=new", lambda c: "NEW" in c["flags"]),
        ("flag=escalated", lambda c: bool(c["flags"])),
        ("flag=quiet", lambda c: not c["flags"]),
        ("service=billing", lambda c: c["service"] == "billing"),
        ("customer=acme-prod", lambda c: "acme-prod" in c["customers"]),
        ("q=deadlock", lambda c: "deadlock" in (c["summary"] + c["template"]).lower()),
    ],
)
def test_filters_narrow_the_cards_and_stay_in_the_url(client: TestClient, query: str, check: object) -> None:
    everything = home(client)
    ctx = home(client, query)
    name, _, value = query.partition("=")
    assert ctx["filters"][name] == value
    assert ctx["cards"], f"the demo has cards for {query}"
    assert all(check(c) for c in ctx["cards"])  # type: ignore[operator]
    assert ctx["matched"]["active"] == len(ctx["cards"]) < len(everything["cards"])
    assert ctx["totals"] == everything["totals"]  # totals are the whole run, always
    html = client.get(f"/?{query}").text
    assert f'value="{value}"' in html or f'value="{value}" selected' in html
    assert f"/?{query}&amp;format=json" in html  # the JSON link keeps the filter too


def test_filters_combine_and_an_impossible_one_says_so(client: TestClient) -> None:
    ctx = home(client, "bucket=platform&flag=spike")
    assert ctx["cards"] and all(c["triage"]["bucket"] == "platform" and "SPIKE" in c["flags"] for c in ctx["cards"])
    assert home(client, "q=no-such-text-anywhere")["cards"] == []
    assert "Nothing needs attention with these filters" in client.get("/?q=no-such-text-anywhere").text


def test_pagination_keeps_counts_correct(client: TestClient) -> None:
    everything = home(client)["cards"]
    first, second = home(client, "limit=5"), home(client, "limit=5&page=2")
    assert [c["signature"] for c in first["cards"] + second["cards"]] == [c["signature"] for c in everything[:10]]
    assert first["matched"]["active"] == len(everything) and first["page"]["pages"] == -(-len(everything) // 5)
    assert 'href="/?limit=5&amp;page=2"' in client.get("/?limit=5").text


def test_pattern_page_has_every_audience_and_the_evidence(client: TestClient) -> None:
    card = home(client)["cards"][0]
    key = card["signature"]
    ctx = client.get(f"/patterns/{key}?format=json").json()
    a = ctx["recent"]["analysis"]
    assert ctx["card"]["signature"] == key and ctx["card"]["why_flagged"] == card["why_flagged"]
    assert ctx["signature"]["template"] and ctx["signature"]["samples"] and ctx["grouping"]["why"]
    assert ctx["recent"]["analyzer"] == "offline" and ctx["recent"]["sent_note"]
    assert sum(c["window"] for c in ctx["customers"]) == card["occurrences"]
    assert {c["customer"] for c in ctx["customers"] if c["window"]} >= set(card["customers"])
    assert len(ctx["hourly"]) == 48 and len(ctx["daily"]) == 8 and ctx["daily"][-1] == card["occurrences"]
    html = client.get(f"/patterns/{key}").text
    for section in ('id="support"', 'id="operations"', 'id="leadership"', 'id="customers"', 'id="signature"'):
        assert section in html
    for text in (a["explanation"], a["customer_communication"], a["user_impact"], a["root_cause"]["likely_cause"]):
        assert text.replace("'", "&#39;") in html
    assert 'data-copy="customer-text"' in html and 'id="customer-text"' in html
    assert "What was sent" in html and '<figure class="chart">' in html
    for form in ("/noise", "/owner", "/merge", "/reanalyze"):
        assert f'action="/patterns/{key}{form}"' in html


def test_pattern_page_shows_the_prompt_and_model_when_a_model_answered(demo: Fleet) -> None:
    store = Store(str(demo.db))
    with store.begin() as sc:
        key = next(iter(sc.signature_rows()))
        cached = sc.cached_analysis(key, "recent")
        assert cached is not None
        model, when = "anthropic:claude-sonnet-4-5", cached.created_at
        sc.save_analysis(key, "recent", {**cached.analysis, "analyzer": model}, model, when, "PROMPT <sent>")
        sc.save_analysis(key, "pattern", {"summary": "Weekly: recurs after each deploy"}, model, when, "")
    store.close()
    with TestClient(create_app(str(demo.db))) as client:
        html = client.get(f"/patterns/{key}").text
    assert "PROMPT &lt;sent&gt;" in html and "anthropic:claude-sonnet-4-5" in html
    assert "Long-term pattern analysis" in html and "Weekly: recurs after each deploy" in html


def test_pattern_page_shows_the_long_term_trend_fix_and_what_was_sent_for_each_type(demo: Fleet) -> None:
    store = Store(str(demo.db))
    with store.begin() as sc:
        key = next(iter(sc.signature_rows()))
        recent = sc.cached_analysis(key, "recent")
        assert recent is not None and recent.analyzer == "offline" and not recent.prompt
        model, when = "anthropic:claude-sonnet-4-5", recent.created_at
        pattern = {
            "summary": "Weekly: recurs after each deploy",
            "trend": "worsening",
            "permanent_fix": "Drain <connections> before the pool restarts",
        }
        sc.save_analysis(key, "pattern", pattern, model, when, "PATTERN PROMPT <daily history>")
    store.close()
    with TestClient(create_app(str(demo.db))) as client:
        ctx = client.get(f"/patterns/{key}?format=json").json()
        html = client.get(f"/patterns/{key}").text
    pa = ctx["pattern_analysis"]
    assert pa["analysis"]["trend"] == "worsening" and pa["analysis"]["permanent_fix"] == pattern["permanent_fix"]
    assert pa["analyzer"] == model and pa["prompt"] == "PATTERN PROMPT <daily history>" and not pa["sent_note"]
    assert ctx["recent"]["sent_note"].startswith("Nothing was sent")
    section = html[html.index('id="pattern-analysis"') : html.index('id="provenance"')]
    assert "worsening" in section and "Drain &lt;connections&gt; before the pool restarts" in section
    assert model in section
    provenance = html[html.index('id="provenance"') : html.index('id="actions"')]
    recent_part = provenance[provenance.index('id="provenance-recent"') : provenance.index('id="provenance-pattern"')]
    pattern_part = provenance[provenance.index('id="provenance-pattern"') :]
    assert "Nothing was sent to a model" in recent_part and "offline" in recent_part
    assert "PATTERN PROMPT &lt;daily history&gt;" in pattern_part and model in pattern_part
    assert "Nothing was sent to a model" not in pattern_part


def test_a_pattern_analysis_with_an_unknown_trend_keeps_its_other_fields() -> None:
    from errorsift.models import AnalysisType
    from errorsift.web.pages.pattern import _complete

    shown = _complete(
        {"summary": "s", "severity": "High", "trend": "stable", "permanent_fix": "fix"}, AnalysisType.PATTERN
    )
    assert (shown["trend"], shown["permanent_fix"], shown["severity"], shown["fallback"]) == (
        None,
        "fix",
        "High",
        False,
    )
    assert "trend" not in _complete({"summary": "s", "trend": "worsening"}, AnalysisType.RECENT)


def test_unknown_pages_are_404_in_both_formats(client: TestClient) -> None:
    assert client.get("/patterns/ffffffffffffffff").status_code == 404
    response = client.get("/patterns/ffffffffffffffff?format=json")
    assert response.status_code == 404 and "no signature" in response.json()["error"]
    assert client.get("/customers/nobody-at-all").status_code == 404
    assert client.get("/nope").status_code == 404


def test_customers_page_ranks_who_is_hit_and_how_badly(client: TestClient) -> None:
    ctx = client.get("/customers?format=json").json()
    rows = ctx["customers"]
    assert ctx["total"] == len(rows) > 10
    assert rows[0]["new_for_it"] >= 1  # a pattern spreading into their environment ranks first
    keys = [(-r["new_for_it"], -r["escalated"]) for r in rows]
    assert keys == sorted(keys)
    assert all(r["patterns"] + r["suppressed"] >= 1 for r in rows)
    html = client.get("/customers").text
    assert f'href="/customers/{quote(rows[0]["customer"], safe="")}"' in html
    only = client.get(f"/customers?q={rows[0]['customer']}&format=json").json()
    assert [r["customer"] for r in only["customers"]] == [rows[0]["customer"]]


def test_one_customer_page_lists_its_patterns_and_what_is_new_for_it(client: TestClient) -> None:
    spread = home(client, "flag=spread")["cards"][0]
    name = spread["new_customers"][0]
    ctx = client.get(f"/customers/{quote(name)}?format=json").json()
    assert ctx["customer"] == name and spread["signature"] in ctx["new_for_it"]
    here = {p["signature"]: p for p in ctx["patterns"]}
    assert here[spread["signature"]]["new_here"] and here[spread["signature"]]["here"] > 0
    assert ctx["occurrences"] >= sum(p["here"] for p in ctx["patterns"]) and len(ctx["daily"]) == 7
    html = client.get(f"/customers/{quote(name)}").text
    assert "new for this customer" in html and spread["summary"].replace("'", "&#39;") in html


def test_runs_page_shows_each_run_with_its_step_log(client: TestClient) -> None:
    ctx = client.get("/runs?format=json").json()
    run = ctx["runs"][0]
    assert run["status"] == "ok" and run["raw_events"] > 1000 and run["patterns"] > 0
    assert [s["name"] for s in run["steps"]] == [
        "pull", "signatures", "cache", "analysis", "anomalies", "routing", "store",
    ]  # fmt: skip
    assert "raw lines →" in run["steps"][1]["detail"]
    assert ctx["run_now"]["available"] is False
    html = client.get("/runs").text
    assert "Step log" in html and "dedup ratio" in html and "needs a source" in html
    assert client.post("/runs", data={"csrf_token": "x"}).status_code == 403


def test_empty_store_pages_say_what_to_do(tmp_path: object) -> None:
    with TestClient(create_app(f"{tmp_path}/empty.db")) as client:
        assert "No completed run yet" in client.get("/").text
        assert client.get("/?format=json").json()["cards"] == []
        assert client.get("/customers?format=json").json()["customers"] == []
        assert client.get("/runs?format=json").json()["runs"] == []
        assert client.get("/actions").status_code == 200


def test_static_assets_are_served_and_vendored(client: TestClient) -> None:
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert client.get("/static/style.css").status_code == 200
    html = client.get("/").text
    assert '<script src="/static/htmx.min.js" defer></script>' in html
    assert "https://" not in html.split("<main")[0]  # no CDN in the head
