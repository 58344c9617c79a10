"""Assembling the parts a run needs from settings: the one place that knows every adapter."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from errorsift.analysis.base import Analyzer
from errorsift.analysis.cache import CachePolicy
from errorsift.analysis.step import AnalysisOptions
from errorsift.errors import ConfigError
from errorsift.pipeline import RunConfig
from errorsift.settings import Settings, parse_duration
from errorsift.signatures.base import Grouper, Rule
from errorsift.signatures.redact import Redactor
from errorsift.signatures.seed import SeedNormalizer
from errorsift.sources.base import Source
from errorsift.store.store import Store
from errorsift.triage import DEFAULT_CATEGORY_ROUTES

ANALYZERS = ("auto", "offline", "anthropic", "openai-compatible")
GROUPINGS = ("seed", "mined")


def extra_rules(settings: Settings) -> list[Rule]:
    rules = []
    for i, row in enumerate(settings.extra_rules):
        try:
            rule = Rule(row.get("name", f"extra_{i}"), row["pattern"], row["placeholder"])
            rule.compiled()
        except (KeyError, re.error) as exc:
            raise ConfigError(f"extra_rules[{i}]: needs a valid `pattern` and a `placeholder` ({exc})") from None
        rules.append(rule)
    return rules


def make_grouper(settings: Settings, store: Store | None) -> Grouper:
    """The configured grouping strategy, with its learned state reloaded from the store."""
    if settings.grouping == "seed":
        return SeedNormalizer(extra_rules(settings))
    if settings.grouping == "mined":
        from errorsift.signatures.mined import MinedGrouper

        state = None
        if store is not None:
            with store.read() as conn:
                state = conn.grouping_state(MinedGrouper.strategy_id)
        return MinedGrouper.from_state(state) if state else MinedGrouper()
    raise ConfigError(f"unknown grouping {settings.grouping!r}: choose one of {', '.join(GROUPINGS)}")


def make_redactor(settings: Settings) -> Callable[[str], tuple[str, dict[str, int]]]:
    return Redactor().redact_with_counts


def resolve_analyzer(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """``auto`` means anthropic when ANTHROPIC_API_KEY is set, else offline (no key, no network)."""
    if settings.analyzer != "auto":
        return settings.analyzer
    env = os.environ if env is None else env
    return "anthropic" if env.get("ANTHROPIC_API_KEY", "").strip() else "offline"


def make_analyzer(settings: Settings) -> Analyzer:
    """The configured analyzer; a missing key or model is one clear `AnalyzerError`/`ConfigError`."""
    kind = resolve_analyzer(settings)
    if kind == "offline":
        from errorsift.analysis.offline import OfflineAnalyzer

        return OfflineAnalyzer()
    if kind not in ("anthropic", "openai-compatible"):
        raise ConfigError(f"unknown analyzer {settings.analyzer!r}: choose one of {', '.join(ANALYZERS)}")
    from errorsift.analysis.pricing import PriceTable

    common: dict[str, Any] = {
        "base_url": settings.base_url or None,
        "prices": PriceTable(settings.prices),
        "timeout": parse_duration(settings.request_timeout).total_seconds(),
        "max_retries": settings.max_retries,
        "max_tokens": settings.max_output_tokens,
    }
    if kind == "anthropic":
        from errorsift.analysis.anthropic_analyzer import AnthropicAnalyzer

        return AnthropicAnalyzer(model=settings.model, **common)
    from errorsift.analysis.openai_analyzer import OpenAICompatibleAnalyzer

    if settings.model.startswith("claude-"):
        raise ConfigError("the openai-compatible analyzer needs `model` set to the server's model (e.g. llama3.1)")
    return OpenAICompatibleAnalyzer(settings.model, **common)


def analysis_options(settings: Settings) -> AnalysisOptions:
    """Budgets, concurrency and batch mode for the analysis step."""
    return AnalysisOptions(
        run_budget_usd=float(settings.run_budget_usd),
        daily_budget_usd=float(settings.daily_budget_usd),
        concurrency=settings.concurrency,
        batch=settings.batch,
        batch_wait_s=parse_duration(settings.batch_wait).total_seconds(),
    )


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def open_configured_source(settings: Settings, spec: str, store: Store, now: datetime) -> Source:
    """`datadog` pulls from the last committed watermark (minus the overlap) up to now; the first
    run backfills the baseline window. Anything else is a file, glob or stdin spec."""
    if spec != "datadog":
        from errorsift.sources.files import open_source

        return open_source(spec, fields=settings.fields or None, default_time=now)
    from errorsift.sources.datadog import DatadogConfig, DatadogSource

    config = DatadogConfig(
        query=settings.datadog_query,
        indexes=_csv(settings.datadog_indexes) or None,
        customer_keys=_csv(settings.datadog_customer_keys),
        max_events=settings.datadog_max_events,
    )
    if settings.datadog_url:
        config.url = settings.datadog_url
    with store.read() as conn:
        watermark = conn.checkpoint(DatadogSource.name)
    if watermark is None:
        since = now - settings.window_delta - timedelta(days=settings.baseline_days)
    else:
        since = watermark - parse_duration(settings.datadog_overlap)
    return DatadogSource(config, since, now, count_from=watermark)


def run_config(settings: Settings, at: datetime | None) -> RunConfig:
    routes = dict(DEFAULT_CATEGORY_ROUTES)
    for category, target in settings.category_routes.items():
        if not (isinstance(target, list | tuple) and len(target) == 2):
            raise ConfigError(f"category_routes.{category} must be [bucket, owner]")
        routes[category.lower()] = (str(target[0]), str(target[1]))
    if settings.baseline_days < 1:
        raise ConfigError("baseline_days must be at least 1")
    return RunConfig(
        at=at,
        window=settings.window_delta,
        baseline_days=settings.baseline_days,
        cache=CachePolicy(recent_ttl=settings.recent_ttl_delta, pattern_ttl=settings.pattern_ttl_delta),
        category_routes=routes,
        samples=settings.samples,
        analysis=analysis_options(settings),
    )
