"""Actions persist, are logged with who/when/why, change the NEXT pipeline run, and undo cleanly."""

from __future__ import annotations

from typing import Any

import pytest

from errorsift.store.store import Store

from .conftest import Fleet, TestClient, csrf_token


def cards(client: TestClient, query: str = "") -> dict[str, Any]:
    ctx = client.get(f"/?{query}&format=json").json()
    return {c["signature"]: c for c in ctx["cards"] + ctx["suppressed"]}


def post(client: TestClient, path: str, **form: str) -> Any:
    response = client.post(path, data={"csrf_token": csrf_token(client), **form}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def action_id(response: Any) -> int:
    return int(response.headers["location"].rsplit("done=", 1)[1])


def undo(client: TestClient, number: int) -> None:
    post(client, f"/actions/{number}/undo")


def next_run(demo: Fleet) -> dict[str, Any]:
    """The next scheduled run's triage, per signature."""
    return {p.signature: p for p in demo.rerun().patterns}


def quiet_card(client: TestClient, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """An active pattern with no flag, so known noise would really suppress it."""
    return next(c for c in client.get("/?flag=quiet&format=json").json()["cards"] if c["signature"] not in skip)


def test_mark_noise_folds_the_card_now_suppresses_it_next_run_and_undoes(client: TestClient, demo: Fleet) -> None:
    card = quiet_card(client)
    key = card["signature"]
    response = post(client, f"/patterns/{key}/noise", reason="expected during failover drills")
    assert response.headers["location"].startswith(f"/patterns/{key}?done=")
    flash = client.get(response.headers["location"]).text
    assert f'action="/actions/{action_id(response)}/undo"' in flash and "Unmark noise" in flash

    now = cards(client)[key]
    assert now["triage"]["suppressed"] and now["pending"] and not now["run_triage"]["suppressed"]
    assert key in {c["signature"] for c in client.get("/?format=json").json()["suppressed"]}
    log = client.get("/actions?format=json").json()["actions"][0]
    assert (log["action"], log["target"], log["who"], log["reason"]) == (
        "noise_add",
        key,
        "local",
        "expected during failover drills",
    )
    assert log["at"] and log["undoable"]

    after = next_run(demo)[key]
    assert after.triage.suppressed and after.triage.bucket == "non_issue"
    assert "expected during failover drills" in after.triage.reason
    assert not cards(client)[key]["pending"]  # the run agrees now

    undo(client, action_id(response))
    assert client.get("/actions?format=json").json()["actions"][1]["undone_at"]
    assert not cards(client)[key]["triage"]["suppressed"]
    assert not next_run(demo)[key].triage.suppressed


def test_unmarking_a_regex_rule_unfolds_the_pattern_and_undo_restores_the_rule(client: TestClient, demo: Fleet) -> None:
    folded = client.get("/?format=json").json()["suppressed"][0]
    key, rule_id = folded["signature"], folded["noise_rule"]
    assert rule_id is not None
    response = post(client, f"/patterns/{key}/unnoise", rule_id=str(rule_id), reason="not deploy churn after all")
    assert not cards(client)[key]["triage"]["suppressed"]
    assert not next_run(demo)[key].triage.suppressed
    undo(client, action_id(response))
    assert cards(client)[key]["triage"]["suppressed"]
    assert next_run(demo)[key].triage.suppressed


def test_owner_override_becomes_a_routing_rule_and_undoes_in_order(client: TestClient, demo: Fleet) -> None:
    card = quiet_card(client)
    key, before = card["signature"], card["triage"]
    first = post(client, f"/patterns/{key}/owner", bucket="application", owner="payments", reason="payments code")
    now = cards(client)[key]
    assert (now["triage"]["bucket"], now["triage"]["owner"], now["pending"]) == ("application", "payments", True)
    assert "payments code" in now["triage"]["reason"]
    assert key in {c["signature"] for c in client.get("/?bucket=application&format=json").json()["cards"]}

    run = next_run(demo)[key]
    assert (run.triage.bucket, run.triage.owner) == ("application", "payments")
    assert run.triage.reason.startswith("Owner overridden: payments code")

    second = post(client, f"/patterns/{key}/owner", bucket="platform", owner="sre", reason="no, infra")
    refused = client.post(f"/actions/{action_id(first)}/undo", data={"csrf_token": csrf_token(client)})
    assert refused.status_code == 409 and "newer owner change" in refused.text
    undo(client, action_id(second))
    assert cards(client)[key]["triage"]["owner"] == "payments"
    undo(client, action_id(first))
    restored = next_run(demo)[key].triage
    assert (restored.bucket, restored.owner) == (before["bucket"], before["owner"])


def test_clearing_an_override_is_logged_and_undoable(client: TestClient) -> None:
    key = quiet_card(client)["signature"]
    post(client, f"/patterns/{key}/owner", bucket="application", owner="web", reason="ours")
    cleared = post(client, f"/patterns/{key}/owner/clear", reason="routing was right")
    assert cards(client)[key]["overridden"] is False
    undo(client, action_id(cleared))
    assert cards(client)[key]["triage"]["owner"] == "web"


def test_merge_moves_history_follows_in_the_next_run_and_undo_splits_it_back(client: TestClient, demo: Fleet) -> None:
    a = quiet_card(client)
    b = quiet_card(client, skip=(a["signature"],))
    ka, kb = a["signature"], b["signature"]
    response = post(client, f"/patterns/{ka}/merge", into=kb, reason="same root cause")
    assert response.headers["location"].startswith(f"/patterns/{kb}?done=")
    moved = client.get(f"/patterns/{ka}", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"] == f"/patterns/{kb}"
    home = client.get("/?format=json").json()
    assert ka not in {c["signature"] for c in home["cards"]} and home["totals"]["merged"] == 1
    page = client.get(f"/patterns/{kb}?format=json").json()
    assert ka in {al["alias"] for al in page["aliases"]}
    assert sum(c["window"] for c in page["customers"]) == a["occurrences"] + b["occurrences"]

    run = next_run(demo)
    assert ka not in run and run[kb].occurrences == a["occurrences"] + b["occurrences"]

    undo(client, action_id(response))
    assert client.get(f"/patterns/{ka}").status_code == 200
    store = Store(str(demo.db))
    try:
        with store.read() as sc:
            assert ka in sc.signature_rows([ka]) and ka not in sc.aliases()
    finally:
        store.close()
    split = next_run(demo)
    assert split[ka].occurrences == a["occurrences"] and split[kb].occurrences == b["occurrences"]


def test_reanalyze_expires_the_cache_for_the_next_run_and_undo_restores_it(client: TestClient, demo: Fleet) -> None:
    key = quiet_card(client)["signature"]
    response = post(client, f"/patterns/{key}/reanalyze", reason="the deploy changed the code path")
    assert client.get(f"/patterns/{key}?format=json").json()["recent"] is None
    assert cards(client)[key]["summary"]  # the card still reads (its template) until the next run
    undo(client, action_id(response))
    assert client.get(f"/patterns/{key}?format=json").json()["recent"]["analyzer"] == "offline"
    assert demo.rerun().report["cache_misses"] == 0

    post(client, f"/patterns/{key}/reanalyze", reason="again")
    report = demo.rerun().report
    assert report["cache_misses"] == 1 and client.get(f"/patterns/{key}?format=json").json()["recent"]


@pytest.mark.parametrize(
    ("path", "form", "status", "says"),
    [
        ("/patterns/{key}/noise", {"reason": "  "}, 400, "reason"),
        ("/patterns/ffffffffffffffff/noise", {"reason": "x"}, 404, "no signature"),
        ("/patterns/{key}/owner", {"bucket": "", "owner": "x", "reason": "x"}, 400, "bucket"),
        ("/patterns/{key}/owner", {"bucket": "a" * 40, "owner": "x", "reason": "x"}, 400, "bucket"),
        ("/patterns/{key}/merge", {"into": "{key}", "reason": "x"}, 400, "already one signature"),
        ("/patterns/{key}/merge", {"into": "0000000000000000", "reason": "x"}, 404, "no signature"),
        ("/patterns/{key}/unnoise", {"rule_id": "999", "reason": "x"}, 404, "no noise rule"),
        ("/patterns/{key}/owner/clear", {"reason": "x"}, 404, "no owner override"),
        ("/actions/999/undo", {}, 404, "no action"),
    ],
)
def test_bad_actions_are_refused_with_a_sentence(
    client: TestClient, path: str, form: dict[str, str], status: int, says: str
) -> None:
    key = quiet_card(client)["signature"]
    data = {k: v.replace("{key}", key) for k, v in form.items()}
    response = client.post(path.replace("{key}", key), data={"csrf_token": csrf_token(client), **data})
    assert response.status_code == status and says in response.text
    assert client.get("/actions?format=json").json()["actions"] == []
    as_json = client.post(
        path.replace("{key}", key),
        data={"csrf_token": csrf_token(client), **data},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == status and says in as_json.json()["error"]


def test_an_action_is_undone_once(client: TestClient) -> None:
    key = quiet_card(client)["signature"]
    number = action_id(post(client, f"/patterns/{key}/noise", reason="x"))
    undo(client, number)
    again = client.post(f"/actions/{number}/undo", data={"csrf_token": csrf_token(client)})
    assert again.status_code == 409 and "already undone" in again.text
    log = client.get("/actions?format=json").json()["actions"]
    assert [a["action"] for a in log] == ["undo", "noise_add"] and not log[0]["undoable"]
    html = client.get("/actions").text
    assert "undid #" in html and "marked as known noise" in html
