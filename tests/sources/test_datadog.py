"""DatadogSource through the real ``datadog-api-client`` against a fake Logs API on 127.0.0.1.

Nothing here patches the client: every behaviour (paging, 429, 5xx, auth, a dying server) is
produced by the fake server and observed through the source's events and stats.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_datadog import (
    API_KEY,
    APP_KEY,
    BASE_TIME,
    FakeDatadog,
    Fault,
    error,
    fake_datadog,
    make_log,
    make_logs,
    rate_limit,
)

from errorsift.models import ErrorEvent
from errorsift.sources.base import Source, SourceError
from errorsift.sources.datadog import DatadogConfig, DatadogSource, map_log

__all__ = ["fake_datadog"]  # the fixture, imported so pytest finds it (no conftest.py of ours)

SINCE = BASE_TIME - timedelta(hours=1)
UNTIL = BASE_TIME + timedelta(days=1)


class Sleeps(list[float]):
    """Injected sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source(
    fake: FakeDatadog,
    sleeps: Sleeps | None = None,
    since: datetime = SINCE,
    until: datetime = UNTIL,
    **overrides: Any,
) -> DatadogSource:
    config = DatadogConfig(api_key=API_KEY, app_key=APP_KEY, url=fake.url, page_size=100)
    for name, value in overrides.items():
        setattr(config, name, value)
    return DatadogSource(config, since, until, sleep=sleeps if sleeps is not None else Sleeps())


def pull(src: DatadogSource) -> list[ErrorEvent]:
    return list(src.events())


def assert_one_line(exc: pytest.ExceptionInfo[SourceError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


# --- mapping -----------------------------------------------------------------------------------

T0 = BASE_TIME + timedelta(minutes=5)
_ERR = {"kind": "KeyError", "message": "missing invoice_id", "stack": "Traceback...\nKeyError"}

# (name, log attribute overrides, config overrides, expected ErrorEvent fields)
MAPPING_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "error.message wins over message; kind and stack mapped; tenant from tag",
        {"message": "KeyError: missing invoice_id", "attributes": {"error": dict(_ERR)}},
        {},
        {
            "message": "missing invoice_id",
            "error_type": "KeyError",
            "stack": _ERR["stack"],
            "customer": "acme-prod",
        },
    ),
    (
        "no error.message: falls back to the log message",
        {"message": "disk full on /var", "attributes": {"error": {"kind": "OSError"}}},
        {},
        {"message": "disk full on /var", "error_type": "OSError", "stack": ""},
    ),
    (
        "customer from an attribute when no tag names it",
        {"tags": ["env:prod"], "attributes": {"customer_id": "cust-42", "error": dict(_ERR)}},
        {"customer_keys": ["tenant", "customer_id"]},
        {"customer": "cust-42"},
    ),
    (
        "key order decides: the first configured key found wins",
        {"tags": ["tenant:t-1", "env:staging"], "attributes": {"customer_id": "cust-42"}},
        {"customer_keys": ["customer_id", "tenant"]},
        {"customer": "cust-42"},
    ),
    (
        "nested customer attribute path",
        {"tags": [], "attributes": {"usr": {"org": "initech"}}},
        {"customer_keys": ["usr.org"]},
        {"customer": "initech"},
    ),
    (
        "custom paths with @ facet syntax",
        {"attributes": {"exc": {"type": "Boom", "msg": "it broke", "trace": "t"}}},
        {"message_paths": ["@exc.msg"], "error_type_path": "exc.type", "stack_path": "attributes.exc.trace"},
        {"message": "it broke", "error_type": "Boom", "stack": "t"},
    ),
]


@pytest.mark.parametrize(
    ("overrides", "config", "expected"),
    [case[1:] for case in MAPPING_CASES],
    ids=[case[0] for case in MAPPING_CASES],
)
def test_mapping(
    fake_datadog: FakeDatadog, overrides: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]
) -> None:
    base = {"tags": ["tenant:acme-prod", "service:checkout"], "service": "checkout", "host": "i-0001"}
    fake_datadog.set_logs([make_log(7, T0, **{**base, **overrides})])
    [event] = pull(source(fake_datadog, **config))
    assert event.timestamp == T0 and event.timestamp.tzinfo is UTC
    assert event.id == "AQAAAY0000000007"
    assert (event.service, event.host) == ("checkout", "i-0001")
    for name, value in expected.items():
        assert getattr(event, name) == value, name


def test_attributes_keep_the_rest_verbatim(fake_datadog: FakeDatadog) -> None:
    extra = {
        "error": dict(_ERR),
        "when": "2024-05-01T00:00:00Z",
        "uid": "123e4567-e89b-12d3-a456-426614174000",
    }
    fake_datadog.set_logs([make_log(1, T0, attributes=extra)])
    [event] = pull(source(fake_datadog))
    # date-like strings stay strings (the client's typed models would turn them into datetimes)
    assert event.attributes["when"] == "2024-05-01T00:00:00Z"
    assert event.attributes["uid"] == extra["uid"]
    assert "error" not in event.attributes  # mapped fields are not duplicated
    assert event.attributes["status"] == "error"
    assert "tenant:globex-prod" in event.attributes["tags"]


def test_map_log_without_timestamp_is_none_and_input_unchanged() -> None:
    log = make_log(3, T0)
    before = repr(log)
    assert map_log(log, DatadogConfig(api_key="k", app_key="a")) is not None
    assert repr(log) == before  # dropping mapped attributes copies, never mutates the response
    log["attributes"].pop("timestamp")
    assert map_log(log, DatadogConfig(api_key="k", app_key="a")) is None


def test_is_a_source(fake_datadog: FakeDatadog) -> None:
    src = source(fake_datadog)
    assert isinstance(src, Source) and src.name == "datadog"


# --- pagination --------------------------------------------------------------------------------


def test_pages_through_every_log_once_in_order(fake_datadog: FakeDatadog) -> None:
    src = source(fake_datadog)
    events = pull(src)
    assert [e.id for e in events] == [log["id"] for log in fake_datadog.logs]  # 250, once each
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert all(body["page"]["limit"] == 100 for body in fake_datadog.requests)
    assert "cursor" not in fake_datadog.requests[0]["page"]
    assert all(body["page"].get("cursor") for body in fake_datadog.requests[1:])
    assert src.stats.pages == 4 and src.stats.events == 250  # 100 + 100 + 50 + empty last page
    assert not src.stats.partial and not src.stats.truncated
    assert src.stats.last_event_time == events[-1].timestamp


def test_request_body_is_the_configured_search(fake_datadog: FakeDatadog) -> None:
    since, until = BASE_TIME + timedelta(seconds=10), BASE_TIME + timedelta(seconds=20)
    events = pull(source(fake_datadog, since=since, until=until, indexes=["main", "errors"]))
    assert [e.attributes["seq"] for e in events] == list(range(10, 20))  # [since, until)
    body = fake_datadog.requests[0]
    assert body["filter"] == {
        "query": "status:error",
        "indexes": ["main", "errors"],
        "from": "2024-05-01T00:00:10.000Z",
        "to": "2024-05-01T00:00:20.000Z",
    }
    assert body["sort"] == "timestamp"


def test_full_pages_of_1000(fake_datadog: FakeDatadog) -> None:
    fake_datadog.set_logs(make_logs(2500))
    src = source(fake_datadog, page_size=1000)
    events = pull(src)
    assert len({e.id for e in events}) == len(events) == 2500
    assert {body["page"]["limit"] for body in fake_datadog.requests} == {1000}
    assert src.stats.pages == 4


def test_short_page_mid_stream_does_not_end_the_pull(fake_datadog: FakeDatadog) -> None:
    fake_datadog.script(Fault("short", count=7))
    events = pull(source(fake_datadog))
    assert len(events) == 250 and len({e.id for e in events}) == 250


# --- rate limits and retries -------------------------------------------------------------------


def test_429_waits_for_reset_then_continues(fake_datadog: FakeDatadog) -> None:
    sleeps = Sleeps()
    fake_datadog.script(Fault("done"), rate_limit(reset=3), rate_limit(reset=0))
    src = source(fake_datadog, sleeps)
    assert len(pull(src)) == 250
    assert sleeps == [3.0, 1.0]  # Reset honoured; a Reset of 0 still waits the 1 s floor
    assert (src.stats.rate_limit_waits, src.stats.rate_limit_wait_s) == (2, 4.0)
    assert src.stats.requests == 6


def test_429_without_headers_backs_off_exponentially(fake_datadog: FakeDatadog) -> None:
    sleeps = Sleeps()
    fake_datadog.script(rate_limit(None), rate_limit(None), rate_limit(None))
    src = source(fake_datadog, sleeps, retry_backoff_s=1.0)
    assert len(pull(src)) == 250
    assert sleeps == [1.0, 2.0, 4.0]


def test_rate_limit_budget_exceeded_raises(fake_datadog: FakeDatadog) -> None:
    sleeps = Sleeps()
    fake_datadog.script(*[rate_limit(reset=40)] * 5)
    src = source(fake_datadog, sleeps, max_rate_limit_wait_s=100)
    with pytest.raises(SourceError) as exc:
        pull(src)
    text = assert_one_line(exc)
    assert "rate limit logs_list (300 requests per 3600 s)" in text
    assert "max_rate_limit_wait_s=100" in text
    assert sleeps == [40.0, 40.0] and sum(sleeps) <= 100


def test_500_is_retried_then_succeeds(fake_datadog: FakeDatadog) -> None:
    sleeps = Sleeps()
    fake_datadog.script(Fault("done"), error(500), error(503))
    src = source(fake_datadog, sleeps)
    assert len(pull(src)) == 250
    assert src.stats.retries == 2 and sleeps == [1.0, 2.0]


def test_500_beyond_retries_raises(fake_datadog: FakeDatadog) -> None:
    fake_datadog.script(*[error(500)] * 4)
    with pytest.raises(SourceError) as exc:
        pull(source(fake_datadog, max_retries=3))
    assert "failed after 4 attempts on page 1: HTTP 500" in assert_one_line(exc)
    assert fake_datadog.request_count == 4


def test_400_is_not_retried(fake_datadog: FakeDatadog) -> None:
    fake_datadog.script(error(400))
    with pytest.raises(SourceError) as exc:
        pull(source(fake_datadog))
    assert "(400)" in assert_one_line(exc) and fake_datadog.request_count == 1


# --- partial results ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "expect"), [("timeout", "timed out"), ("warning", "unknown_index")])
def test_datadog_partial_results_are_flagged(fake_datadog: FakeDatadog, fault: str, expect: str) -> None:
    fake_datadog.script(Fault("done"), Fault(fault))
    src = source(fake_datadog)
    assert len(pull(src)) == 250
    assert src.stats.partial
    assert len(src.stats.warnings) == 1 and src.stats.warnings[0].startswith("page 2: ")
    assert expect in src.stats.warnings[0] and "PARTIAL" in src.stats.summary()


# --- the per-run cap ---------------------------------------------------------------------------


def test_cap_truncates_and_resume_from_moves_the_watermark_only_that_far(fake_datadog: FakeDatadog) -> None:
    # Two logs share the timestamp at the cut, so resuming must be inclusive + dedupe on id.
    logs = make_logs(250)
    logs[150]["attributes"]["timestamp"] = logs[149]["attributes"]["timestamp"]
    fake_datadog.set_logs(logs)
    first = source(fake_datadog, max_events=150)
    got = pull(first)
    assert len(got) == 150 and first.stats.truncated
    assert first.stats.resume_from == got[-1].timestamp == first.stats.last_event_time
    assert "resume from" in first.stats.summary()
    assert first.stats.resume_from is not None
    second = source(fake_datadog, since=first.stats.resume_from)
    seen = {e.id for e in got}
    rest = [e for e in pull(second) if e.id not in seen]
    assert len(got) + len(rest) == 250 and not second.stats.truncated


def test_cap_equal_to_total_is_not_truncation(fake_datadog: FakeDatadog) -> None:
    src = source(fake_datadog, max_events=250)
    assert len(pull(src)) == 250 and not src.stats.truncated and src.stats.resume_from is None


# --- configuration and auth --------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["DD_API_KEY", "DD_APP_KEY"])
def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.delenv(missing)
    with pytest.raises(SourceError) as exc:
        DatadogSource(DatadogConfig(), SINCE, UNTIL)
    assert assert_one_line(exc).startswith(f"{missing} is not set: export {missing}=")


def test_keys_and_url_from_env(monkeypatch: pytest.MonkeyPatch, fake_datadog: FakeDatadog) -> None:
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.setenv("ERRORSIFT_DATADOG_URL", fake_datadog.url)
    assert len(list(DatadogSource(DatadogConfig(), SINCE, UNTIL).events())) == 250


def test_unknown_site_is_one_line(fake_datadog: FakeDatadog) -> None:
    src = DatadogSource(DatadogConfig(api_key="k", app_key="a", url="", site="datadoghq.nope"), SINCE, UNTIL)
    with pytest.raises(SourceError) as exc:
        pull(src)
    assert "DD_SITE='datadoghq.nope' is not a Datadog site" in assert_one_line(exc)


def test_401_says_the_api_key_is_invalid(fake_datadog: FakeDatadog) -> None:
    src = source(fake_datadog, api_key="wrong")
    with pytest.raises(SourceError) as exc:
        pull(src)
    assert "rejected the API key (401)" in assert_one_line(exc) and "DD_API_KEY" in str(exc.value)


def test_403_says_logs_read_data(fake_datadog: FakeDatadog) -> None:
    fake_datadog.logs_read_data = False
    with pytest.raises(SourceError) as exc:
        pull(source(fake_datadog))
    assert "logs_read_data" in assert_one_line(exc) and fake_datadog.request_count == 1


# --- the server goes away mid-pull -------------------------------------------------------------


def test_killed_between_pages_raises_after_retries(fake_datadog: FakeDatadog) -> None:
    sleeps = Sleeps()
    fake_datadog.kill_after_pages = 2
    src = source(fake_datadog, sleeps, max_retries=2)
    delivered: list[ErrorEvent] = []
    with pytest.raises(SourceError) as exc:
        for event in src.events():
            delivered.append(event)
    assert "failed after 3 attempts on page 3: connection failed" in assert_one_line(exc)
    assert len(delivered) == 200  # what came before stays valid, but the pull is incomplete:
    assert not src.stats.truncated and src.stats.resume_from is None  # no watermark to move to
    assert fake_datadog.request_count == 2 + 3 and sleeps == [1.0, 2.0]


def test_dropped_connection_once_is_retried(fake_datadog: FakeDatadog) -> None:
    fake_datadog.script(Fault("done"), Fault("drop"))
    src = source(fake_datadog)
    assert len(pull(src)) == 250 and src.stats.retries == 1


def test_hung_server_times_out(fake_datadog: FakeDatadog) -> None:
    fake_datadog.script(Fault("hang", seconds=1.0))
    with pytest.raises(SourceError) as exc:
        pull(source(fake_datadog, request_timeout_s=0.2, max_retries=0))
    assert "connection failed" in assert_one_line(exc)
