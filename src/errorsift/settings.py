"""One declared table of settings, found in one documented order.

Order (later wins): built-in default → config file → environment → command-line flag.
The config file is `--config PATH`, else `ERRORSIFT_CONFIG`, else `./errorsift.toml` if present;
the run log names the file used. Secrets (API keys) come only from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from errorsift.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    help: str
    env: str = ""

    @property
    def env_var(self) -> str:
        return self.env or f"ERRORSIFT_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "errorsift.db", "Database: a SQLite path or a SQLAlchemy URL (postgresql+psycopg://…)."),
    Setting("source", "", "Default source for `run` when --source is not given (jsonl:PATH, text:PATH, PATH, -)."),
    Setting(
        "analyzer",
        "auto",
        "Analyzer: auto (anthropic when ANTHROPIC_API_KEY is set, else offline), offline, anthropic or"
        " openai-compatible (OpenAI, Ollama, vLLM, llama.cpp via base_url).",
    ),
    Setting("model", "claude-sonnet-4-5", "Model name for the model analyzer (set it for openai-compatible)."),
    Setting(
        "base_url",
        "",
        "Model API base URL: a proxy for anthropic, or the server for openai-compatible"
        " (e.g. http://localhost:11434/v1); empty = the provider's default.",
    ),
    Setting("run_budget_usd", 0.0, "Most a run may spend on model calls; the rest stays pending (0 = no limit)."),
    Setting("daily_budget_usd", 0.0, "Most all runs of a UTC day may spend on model calls (0 = no limit)."),
    Setting("concurrency", 4, "Model calls in flight at once."),
    Setting("batch", False, "Send non-urgent analyses through the Anthropic Message Batches API (half price)."),
    Setting("batch_wait", "0s", "How long a --batch run waits for its own batch before leaving it to a later run."),
    Setting("request_timeout", "60s", "Timeout of one model call."),
    Setting("max_retries", 2, "Retries of a model call after a rate limit, overload, timeout or 5xx."),
    Setting("max_output_tokens", 1500, "Largest answer a model call may return."),
    Setting(
        "grouping",
        "mined",
        "Grouping strategy: mined (masks + template mining + stack traces) or seed (SPEC rules only).",
    ),
    Setting("window", "24h", "Length of the current window evaluated for anomalies (e.g. 24h, 90m, 2d)."),
    Setting("baseline_days", 7, "Days of history before the window that form the baseline."),
    Setting("recent_ttl", "6h", "How long a `recent` analysis is reused."),
    Setting("pattern_ttl", "7d", "How long a long-term `pattern` analysis is reused."),
    Setting("max_line_bytes", 65536, "Lines longer than this are truncated (and counted)."),
    Setting("samples", 3, "Redacted sample messages kept per signature in the prompt."),
    Setting(
        "prices",
        {},
        "Price table: {as_of, model: {input, output, cache_write, cache_read, tiers}} in USD/Mtok (config file only).",
    ),
    Setting("category_routes", {}, "Extra/overriding routes: {category: [bucket, owner]} (config file only)."),
    Setting("extra_rules", [], "Extra normalization rules: [{name, pattern, placeholder}] (config file only)."),
    Setting("fields", {}, "JSON Lines field names: {message: 'msg', customer: 'tenant', …} (config file only)."),
    Setting("datadog_query", "status:error", "Datadog Logs search query for `--source datadog`."),
    Setting("datadog_indexes", "*", "Comma-separated Datadog log indexes to search."),
    Setting(
        "datadog_customer_keys",
        "tenant,customer_id,customer,env",
        "Tags or attributes naming the customer/environment, tried in order.",
    ),
    Setting("datadog_overlap", "5m", "Each Datadog pull starts this long before the last watermark (late logs)."),
    Setting("datadog_max_events", 200000, "Per-run cap on pulled events; the rest is pulled next run."),
    Setting("datadog_url", "", "Override the Datadog API base URL (proxies, tests).", "ERRORSIFT_DATADOG_URL"),
    # --- the service: schedule, lease, notifications, health, retention (errorsift.service) ---
    Setting("schedule", "30m", "How often `worker`/`serve` run the pipeline: a duration (30m) or a cron line (UTC)."),
    Setting("lease_ttl", "5m", "A lease lapses this long after its last heartbeat; then another worker may take over."),
    Setting("lease_wait", "0s", "How long a run waits for another run's lease before giving up (0 = exit at once)."),
    Setting(
        "notify_routes",
        {},
        "Escalation channels per owner bucket: {bucket: {slack, webhook, pagerduty}}; '*' = other buckets;"
        " a value 'env:NAME' is read from $NAME (config file only).",
    ),
    Setting("slack_webhook_url", "", "Slack incoming webhook for escalations of buckets without a route (a secret)."),
    Setting("notify_webhook_url", "", "Generic JSON webhook for escalations of buckets without a route."),
    Setting("pagerduty_routing_key", "", "PagerDuty Events API v2 routing key: Critical escalations page (a secret)."),
    Setting("pagerduty_url", "https://events.pagerduty.com/v2/enqueue", "PagerDuty Events API v2 endpoint."),
    Setting("dashboard_url", "", "The dashboard's base URL, for the link to the card in notifications."),
    Setting("notify_dedup", "24h", "At most one notification per signature, flag and channel in this period."),
    Setting("healthz_max_age", "2h", "/healthz fails when the last successful run is older than this."),
    Setting("retain_hourly", "35d", "Hourly counts older than this roll up into daily counts (never in the baseline)."),
    Setting("retain_seen_events", "35d", "Seen event ids older than this are deleted; older events are then ignored."),
    Setting("retain_runs", "90d", "Runs and triage rows older than this are deleted (the latest good run stays)."),
    Setting("metrics_port", 0, "`errorsift worker` serves /metrics and /healthz on this port (0 = off)."),
    Setting(
        "metrics_host",
        "127.0.0.1",
        "Address for the worker's /metrics and /healthz; use 0.0.0.0 only behind a network you trust"
        " (they expose counts and spend).",
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str | int | float) -> timedelta:
    """`24h`, `90m`, `7d`, `3600` (seconds) → timedelta; anything else is a ConfigError."""
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"invalid duration {text!r}: use a number with s, m, h, d or w (e.g. 24h)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return timedelta(**{_UNITS[unit]: value})


@dataclass(frozen=True)
class Settings:
    db: str = "errorsift.db"
    source: str = ""
    analyzer: str = "auto"
    model: str = "claude-sonnet-4-5"
    base_url: str = ""
    run_budget_usd: float = 0.0
    daily_budget_usd: float = 0.0
    concurrency: int = 4
    batch: bool = False
    batch_wait: str = "0s"
    request_timeout: str = "60s"
    max_retries: int = 2
    max_output_tokens: int = 1500
    grouping: str = "mined"
    window: str = "24h"
    baseline_days: int = 7
    recent_ttl: str = "6h"
    pattern_ttl: str = "7d"
    max_line_bytes: int = 65536
    samples: int = 3
    prices: dict[str, Any] = field(default_factory=dict)
    category_routes: dict[str, Any] = field(default_factory=dict)
    extra_rules: list[dict[str, str]] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    datadog_query: str = "status:error"
    datadog_indexes: str = "*"
    datadog_customer_keys: str = "tenant,customer_id,customer,env"
    datadog_overlap: str = "5m"
    datadog_max_events: int = 200000
    datadog_url: str = ""
    schedule: str = "30m"
    lease_ttl: str = "5m"
    lease_wait: str = "0s"
    notify_routes: dict[str, Any] = field(default_factory=dict)
    slack_webhook_url: str = ""
    notify_webhook_url: str = ""
    pagerduty_routing_key: str = ""
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    dashboard_url: str = ""
    notify_dedup: str = "24h"
    healthz_max_age: str = "2h"
    retain_hourly: str = "35d"
    retain_seen_events: str = "35d"
    retain_runs: str = "90d"
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    config_file: str = ""  # which file was read, for the run log

    def with_overrides(self, **values: Any) -> Settings:
        """CLI flags: only the ones given (not None) override."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @property
    def window_delta(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def recent_ttl_delta(self) -> timedelta:
        return parse_duration(self.recent_ttl)

    @property
    def pattern_ttl_delta(self) -> timedelta:
        return parse_duration(self.pattern_ttl)


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    if isinstance(setting.default, bool):
        return str(raw).lower() in {"1", "true", "yes", "on"}
    if isinstance(setting.default, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {setting.name} must be a number, got {raw!r}") from None
    if isinstance(setting.default, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {setting.name} must be an integer, got {raw!r}") from None
    if isinstance(setting.default, dict | list) and not isinstance(raw, type(setting.default)):
        raise ConfigError(f"{origin}: {setting.name} must be a {type(setting.default).__name__}")
    return raw


def find_config_file(explicit: str | None = None) -> Path | None:
    candidate = explicit or os.environ.get("ERRORSIFT_CONFIG")
    if candidate:
        path = Path(candidate)
        if not path.is_file():
            raise ConfigError(f"config file {candidate} does not exist")
        return path
    default = Path("errorsift.toml")
    return default if default.is_file() else None


def load_settings(config: str | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then the config file, then ERRORSIFT_* environment variables."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = find_config_file(config)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        section = data.get("errorsift", data)
        for key, raw in section.items():
            if key not in _BY_NAME:
                raise ConfigError(f"{path}: unknown setting {key!r} (see docs/configuration.md)")
            values[key] = _coerce(_BY_NAME[key], raw, str(path))
        values["config_file"] = str(path)
    for setting in SETTINGS:
        if isinstance(setting.default, dict | list):
            continue
        if setting.env_var in env:
            values[setting.name] = _coerce(setting, env[setting.env_var], setting.env_var)
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})
