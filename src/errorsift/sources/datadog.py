"""Datadog Logs API v2 as an errorsift source — the reference source (SPEC, Inputs).

Every customer runs in its own environment and all of them log into one Datadog account, so one
search (``status:error`` over ``[since, until)``) returns the whole fleet; the tenant is recovered per
log from a configured tag or attribute.

Design choices, and why:

* **The official client, our own page loop.** ``LogsApi.list_logs`` is called once per page with the
  cursor from ``meta.page.after``. ``list_logs_with_pagination`` is not used: it hides ``meta``
  (so a ``timeout`` status or ``warnings`` — i.e. *partial* results — would go unseen) and it stops at
  the first page shorter than the limit, which Datadog may return mid-stream. We stop only when
  ``after`` is absent or a page is empty.
* **Retries are ours, not the client's** (``enable_retry`` stays off). The client's urllib3 retry
  sleeps for real, cannot be bounded in total, and cannot be counted; here a 429 waits exactly
  ``X-RateLimit-Reset`` seconds (exponential backoff when the header is missing), every wait is
  counted in :class:`DatadogStats`, the total is capped by ``max_rate_limit_wait_s``, and ``sleep`` is
  injectable so tests never wait. 5xx answers and dropped connections get ``max_retries`` retries
  with exponential backoff, then a :class:`SourceError`.
* **Raw JSON, not typed models** (``check_return_type=False``). With type checking on, the client
  turns any custom attribute *string* that looks like a date into a ``datetime`` — silently changing
  user data — and deserializes ~5x slower. We read the wire JSON and map it ourselves.
* **Failures are one line.** Missing keys name the env var, 401/403 say which key is wrong and why.
  A :class:`SourceError` mid-run means the pull is incomplete: the caller must not advance its
  watermark. When the per-run cap stops a pull, ``stats.resume_from`` says how far it safely got.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v2.api.logs_api import LogsApi
from datadog_api_client.v2.model.logs_list_request import LogsListRequest
from datadog_api_client.v2.model.logs_list_request_page import LogsListRequestPage
from datadog_api_client.v2.model.logs_list_response import LogsListResponse
from datadog_api_client.v2.model.logs_query_filter import LogsQueryFilter
from datadog_api_client.v2.model.logs_sort import LogsSort

from errorsift.models import ErrorEvent
from errorsift.sources.base import EventIdDeriver, SourceError, SourceStats, parse_timestamp

__all__ = ["DatadogConfig", "DatadogSource", "DatadogStats", "map_log"]

ENV_API_KEY = "DD_API_KEY"
ENV_APP_KEY = "DD_APP_KEY"
ENV_SITE = "DD_SITE"
ENV_URL = "ERRORSIFT_DATADOG_URL"
MAX_PAGE_SIZE = 1000  # Datadog's limit for page[limit] on the logs list endpoint
MIN_RATE_LIMIT_WAIT_S = 1.0  # a Reset of "0" means "within the second": don't hammer the API
MAX_BACKOFF_S = 60.0
RESERVED = ("message", "service", "host", "status", "timestamp")  # top-level fields of a log


@dataclass
class DatadogConfig:
    """What to pull and how to read it. Keys come only from the environment (or explicit args).

    ``customer_keys`` are tried in order; for each, a ``key:value`` tag wins over an attribute of
    that (dotted) path, so ``["tenant", "customer_id", "env"]`` reads ``tenant:acme-prod`` first.
    Paths are relative to the log's custom attributes; ``message``/``service``/``host`` fall back
    to the log's reserved fields. A leading ``@`` or ``attributes.`` is ignored (Datadog's facet
    syntax and the brief's wording both work).
    """

    query: str = "status:error"
    indexes: list[str] | None = field(default_factory=lambda: ["*"])
    api_key: str = field(default_factory=lambda: os.environ.get(ENV_API_KEY, ""), repr=False)
    app_key: str = field(default_factory=lambda: os.environ.get(ENV_APP_KEY, ""), repr=False)
    site: str = field(default_factory=lambda: os.environ.get(ENV_SITE, "") or "datadoghq.com")
    url: str = field(default_factory=lambda: os.environ.get(ENV_URL, ""))
    page_size: int = MAX_PAGE_SIZE
    max_events: int = 200_000
    max_rate_limit_wait_s: float = 120.0
    max_retries: int = 3  # for 5xx and dropped connections; 4 attempts in all
    retry_backoff_s: float = 1.0  # first retry waits this, then doubles
    request_timeout_s: float = 60.0
    customer_keys: list[str] = field(default_factory=lambda: ["tenant", "customer_id", "customer", "env"])
    message_paths: list[str] = field(default_factory=lambda: ["error.message", "message"])
    error_type_path: str = "error.kind"
    stack_path: str = "error.stack"

    def validate(self) -> None:
        """Fail before the first request, with the fix in the message."""
        if not self.api_key:
            raise SourceError(f"{ENV_API_KEY} is not set: export {ENV_API_KEY}=<your Datadog API key>")
        if not self.app_key:
            raise SourceError(
                f"{ENV_APP_KEY} is not set: export {ENV_APP_KEY}=<an application key with logs_read_data>"
            )
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise SourceError(f"Datadog page_size must be 1..{MAX_PAGE_SIZE}, got {self.page_size}")
        if self.max_events < 1:
            raise SourceError(f"Datadog max_events must be at least 1, got {self.max_events}")


@dataclass(slots=True)
class DatadogStats(SourceStats):
    """What one pull did. ``lines`` counts logs received, ``events`` those delivered.

    ``partial`` means Datadog itself said the results may be incomplete (a page with
    ``meta.status == "timeout"`` or ``meta.warnings``); ``truncated`` means *we* stopped at
    ``max_events``, and then ``resume_from`` is the timestamp of the last delivered event — the
    furthest the caller may move its watermark (start the next pull there, inclusive, and dedupe
    on ``id``: later logs sharing that timestamp were not delivered).
    """

    requests: int = 0
    pages: int = 0
    retries: int = 0  # 5xx / connection failures retried
    rate_limit_waits: int = 0
    rate_limit_wait_s: float = 0.0
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False  # narrows SourceStats' count of cut lines: Datadog never cuts, it caps
    resume_from: datetime | None = None
    last_event_time: datetime | None = None

    def summary(self) -> str:
        parts = [f"{self.events} events", f"{self.pages} pages"]
        if self.rate_limit_waits:
            parts.append(f"{self.rate_limit_waits} rate-limit waits ({self.rate_limit_wait_s:.0f} s)")
        if self.retries:
            parts.append(f"{self.retries} retries")
        if self.partial:
            parts.append("PARTIAL: " + "; ".join(self.warnings))
        if self.truncated and self.resume_from is not None:
            parts.append(f"stopped at the cap; resume from {self.resume_from.isoformat()}")
        return ", ".join(parts)


class DatadogSource:
    """Errors in ``[since, until)`` from Datadog Logs, oldest first, as :class:`ErrorEvent`.

    ``sleep`` is how waits happen (429 resets, 5xx backoff); tests pass a recorder.

    ``count_from`` (the previous watermark) keeps the re-read overlap ``[since, count_from)`` out of
    the ``max_events`` cap. Without it, a capped run whose overlap alone holds ``max_events`` logs
    (an error spike) stops at or before the old watermark on every run and never progresses.
    """

    name = "datadog"
    id_namespace = "datadog"

    def __init__(
        self,
        config: DatadogConfig,
        since: datetime,
        until: datetime,
        *,
        sleep: Callable[[float], None] = time.sleep,
        count_from: datetime | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self.since = _utc(since)
        self.until = _utc(until)
        self.count_from = _utc(count_from) if count_from is not None else None
        if self.since >= self.until:
            raise SourceError(f"Datadog window is empty: since {self.since} is not before until {self.until}")
        self._sleep = sleep
        self.stats = DatadogStats()

    def configuration(self) -> Configuration:
        """The client configuration: our keys, our host, no client-side retry, raw JSON back."""
        cfg = self.config
        conf = Configuration(
            host=cfg.url or None,
            api_key={"apiKeyAuth": cfg.api_key, "appKeyAuth": cfg.app_key},
            request_timeout=cfg.request_timeout_s,
            check_return_type=False,
            enable_retry=False,
        )
        if not cfg.url:
            conf.server_variables["site"] = cfg.site
            try:
                conf.host  # noqa: B018 - validates the site against the client's list
            except ValueError:
                raise SourceError(
                    f"{ENV_SITE}={cfg.site!r} is not a Datadog site (e.g. datadoghq.com, datadoghq.eu, "
                    f"us5.datadoghq.com); or set {ENV_URL} to the API base URL"
                ) from None
        return conf

    def request_body(self, cursor: str | None) -> LogsListRequest:
        cfg = self.config
        filter_args: dict[str, Any] = {"query": cfg.query, "_from": _iso(self.since), "to": _iso(self.until)}
        if cfg.indexes:
            filter_args["indexes"] = list(cfg.indexes)
        page = LogsListRequestPage(limit=cfg.page_size)
        if cursor:
            page.cursor = cursor
        return LogsListRequest(
            filter=LogsQueryFilter(**filter_args), sort=LogsSort.TIMESTAMP_ASCENDING, page=page
        )

    def events(self) -> Iterator[ErrorEvent]:
        """Page through the window; stats are reset here and complete when the iterator ends.

        Raises :class:`SourceError` when the API cannot be read to the end (auth, rate-limit budget,
        repeated 5xx, connection lost); events already yielded stay valid but the pull is incomplete.
        """
        self.stats = stats = DatadogStats()
        cfg = self.config
        ids = EventIdDeriver()
        cursor: str | None = None
        capped = 0  # events that count toward max_events: all of them, or those from count_from on
        with ApiClient(self.configuration()) as client:
            api = LogsApi(client)
            while True:
                response = self._fetch(api, self.request_body(cursor))
                stats.pages += 1
                meta = _plain(response.get("meta")) or {}
                self._note_meta(meta)
                data = response.get("data") or []
                for log in data:
                    stats.lines += 1
                    if capped >= cfg.max_events:
                        stats.truncated = True
                        stats.resume_from = stats.last_event_time
                        return
                    event = map_log(_plain(log), cfg, ids)
                    if event is None:
                        stats.add_malformed(str(_plain(log).get("id", "?")), "no timestamp")
                        continue
                    stats.events += 1
                    if self.count_from is None or event.timestamp >= self.count_from:
                        capped += 1
                    stats.last_event_time = event.timestamp
                    yield event
                cursor = ((meta.get("page") or {}).get("after")) or None
                if not data or not cursor:
                    return

    def watermark(self) -> datetime:
        """How far this pull is complete: `until`, or the last delivered event when the cap stopped it.

        Only meaningful after `events()` ran to its end; the caller stores it with the run's writes.
        """
        if self.stats.truncated and self.stats.resume_from is not None:
            return self.stats.resume_from
        return self.until

    # -- one request, with the retry policy ---------------------------------------------------
    def _fetch(self, api: LogsApi, body: LogsListRequest) -> LogsListResponse:
        attempt = 0
        while True:
            self.stats.requests += 1
            try:
                return api.list_logs(body=body)
            except ApiException as exc:
                status = int(exc.status or 0)
                if status == 429:
                    self._wait_for_rate_limit(_headers(exc))
                    continue
                if status and status < 500:
                    raise SourceError(_client_error_message(status, exc, self.config)) from None
                problem = f"HTTP {status} {exc.reason or ''}".strip() if status else f"{exc.reason}"
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                problem = f"connection failed ({type(exc).__name__})"
            attempt += 1
            if attempt > self.config.max_retries:
                raise SourceError(
                    f"Datadog Logs API failed after {attempt} attempts on page {self.stats.pages + 1}: "
                    f"{problem}; the pull is incomplete"
                ) from None
            self.stats.retries += 1
            self._sleep(min(self.config.retry_backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))

    def _wait_for_rate_limit(self, headers: Mapping[str, str]) -> None:
        stats, cfg = self.stats, self.config
        reset = _float(headers.get("x-ratelimit-reset"))
        if reset is None:  # no header: exponential backoff
            reset = min(cfg.retry_backoff_s * 2**stats.rate_limit_waits, MAX_BACKOFF_S)
        wait = max(reset, MIN_RATE_LIMIT_WAIT_S)
        if stats.rate_limit_wait_s + wait > cfg.max_rate_limit_wait_s:
            name = headers.get("x-ratelimit-name", "logs")
            limit, period = headers.get("x-ratelimit-limit"), headers.get("x-ratelimit-period")
            quota = f" ({limit} requests per {period} s)" if limit and period else ""
            raise SourceError(
                f"Datadog rate limit {name}{quota} exceeded: the next reset is {wait:.0f} s away and "
                f"{stats.rate_limit_wait_s:.0f} s of max_rate_limit_wait_s={cfg.max_rate_limit_wait_s:.0f} "
                "were already spent; narrow the window or raise the bound"
            )
        stats.rate_limit_waits += 1
        stats.rate_limit_wait_s += wait
        self._sleep(wait)

    def _note_meta(self, meta: Mapping[str, Any]) -> None:
        stats = self.stats
        if meta.get("status") == "timeout":
            stats.partial = True
            stats.warnings.append(f"page {stats.pages}: Datadog search timed out; results may be incomplete")
        for warning in meta.get("warnings") or []:
            w = _plain(warning) or {}
            stats.partial = True
            text = ": ".join(str(w[k]) for k in ("code", "title", "detail") if w.get(k))
            stats.warnings.append(f"page {stats.pages}: {text or w}")


# --- mapping: one wire log → ErrorEvent (pure) ----------------------------------------------


def map_log(
    log: Mapping[str, Any], config: DatadogConfig, ids: EventIdDeriver | None = None
) -> ErrorEvent | None:
    """Map one ``data[]`` item of the search response; None when it has no usable timestamp.

    ``attributes`` keeps the custom attributes minus the ones mapped to fields (message, kind,
    stack), plus ``tags`` and ``status``, so nothing Datadog sent is lost and nothing is doubled.
    """
    top = log.get("attributes") or {}
    custom: dict[str, Any] = dict(top.get("attributes") or {})
    timestamp = parse_timestamp(top.get("timestamp"))
    if timestamp is None:
        return None
    tags = [str(t) for t in top.get("tags") or []]
    consumed: list[str] = []
    message = ""
    for path in config.message_paths:
        value = _resolve(path, custom, top)
        if value not in (None, ""):
            message = str(value)
            consumed.append(path)
            break
    error_type = _text(_resolve(config.error_type_path, custom, top))
    stack = _text(_resolve(config.stack_path, custom, top))
    consumed += [config.error_type_path, config.stack_path]
    service = _text(top.get("service")) or _tag(tags, "service")
    host = _text(top.get("host")) or _tag(tags, "host")
    customer = ""
    for key in config.customer_keys:
        customer = _tag(tags, key) or _text(_resolve(key, custom, {}))
        if customer:
            break
    for path in consumed:
        _drop_path(custom, _strip(path))
    custom.setdefault("tags", tags)
    if top.get("status") is not None:
        custom.setdefault("status", top.get("status"))
    event_id = _text(log.get("id"))
    if not event_id:
        event_id = (ids or EventIdDeriver()).derive(timestamp, customer, service, host, message)
    return ErrorEvent(
        timestamp=timestamp,
        message=message,
        error_type=error_type,
        service=service,
        customer=customer,
        host=host,
        id=event_id,
        stack=stack,
        attributes=custom,
    )


def _strip(path: str) -> str:
    path = path.removeprefix("@")
    return path.removeprefix("attributes.")


def _resolve(path: str, custom: Mapping[str, Any], top: Mapping[str, Any]) -> Any:
    """Dotted path in the custom attributes (nested, or a literal dotted key), else a reserved field."""
    path = _strip(path)
    if path in custom:
        return custom[path]
    node: Any = custom
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            node = None
            break
        node = node[part]
    if node is None and path in RESERVED:
        return top.get(path)
    return node


def _drop_path(custom: dict[str, Any], path: str) -> None:
    """Remove a mapped attribute without mutating the response: copy each dict along the path."""
    if path in custom:
        del custom[path]
        return
    parts = path.split(".")
    chain = [custom]
    for part in parts[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, Mapping):
            return
        chain[-1][part] = child = dict(child)
        chain.append(child)
    chain[-1].pop(parts[-1], None)
    for parent, part in zip(reversed(chain[:-1]), reversed(parts[:-1]), strict=True):
        if not parent[part]:
            del parent[part]


def _tag(tags: list[str], key: str) -> str:
    prefix = f"{_strip(key)}:"
    for tag in tags:
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


# --- small helpers ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """The client hands back its model objects at the top level even without type checks."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def _headers(exc: ApiException) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _errors(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, dict) and body.get("errors"):
        return "; ".join(str(e) for e in body["errors"])
    return str(exc.reason or "")


def _client_error_message(status: int, exc: ApiException, cfg: DatadogConfig) -> str:
    where = cfg.url or f"api.{cfg.site}"
    if status == 401:
        return f"Datadog rejected the API key (401) at {where}: check {ENV_API_KEY} (and {ENV_SITE})"
    if status == 403:
        return (
            f"Datadog refused the search (403) at {where}: the application key ({ENV_APP_KEY}) lacks the "
            "logs_read_data permission, or it belongs to another org than the API key"
        )
    if status == 400:
        return f"Datadog rejected the search (400): {_errors(exc)} (query {cfg.query!r})"
    return f"Datadog Logs API answered {status}: {_errors(exc)}"


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
