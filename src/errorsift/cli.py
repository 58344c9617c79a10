"""The `errorsift` command: parse, call the library, render (rich for people, --json for machines)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from errorsift import __version__
from errorsift.build import (
    ANALYZERS,
    GROUPINGS,
    make_analyzer,
    make_grouper,
    make_redactor,
    open_configured_source,
    run_config,
)
from errorsift.errors import ConfigError, ErrorsiftError
from errorsift.settings import Settings, load_settings, parse_duration
from errorsift.store.store import Store

F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True, soft_wrap=True)  # one event, one line, whatever the terminal width
out = Console(soft_wrap=True)


def friendly_errors(func: F) -> F:
    """Expected failures become one line on stderr and exit code 2; no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ErrorsiftError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def parse_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--at {value!r} is not an ISO 8601 time (e.g. 2026-11-20T06:00:00Z)") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="errorsift")
@click.option("--config", "config_path", metavar="PATH", help="Config file (else ERRORSIFT_CONFIG, ./errorsift.toml).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Turn a fleet's raw production errors into a short, owned list of patterns that matter.

    \b
    Example:
      errorsift demo
      errorsift run --source errors.jsonl --at 2026-11-20T06:00:00Z
    """
    ctx.obj = {"config": config_path}


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return load_settings(ctx.obj.get("config")).with_overrides(**overrides)
    except ErrorsiftError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


db_option = click.option("--db", metavar="URL", help="Database URL or SQLite path (env ERRORSIFT_DB).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")


def _step_printer(enabled: bool) -> Callable[[str, str], None]:
    started = datetime.now(UTC)
    names: dict[str, int] = {}

    def log(step: str, detail: str) -> None:
        if not enabled:
            return
        if step not in names:
            names[step] = len(names) + 1
        err.print(f"[dim]{started:%H:%M:%S}[/] [bold]Step {names[step]}[/] {step:<10} {detail}", highlight=False)

    return log


@main.command()
@click.option(
    "--source", "source_spec", metavar="SPEC", help="datadog, jsonl:PATH, text:PATH, PATH, a glob, a .gz file, or -."
)
@click.option("--query", "datadog_query", metavar="QUERY", help="Datadog search query (with --source datadog).")
@click.option("--indexes", "datadog_indexes", metavar="A,B", help="Datadog log indexes (with --source datadog).")
@click.option("--at", "at", metavar="ISO", help="End of the current window (default now).")
@click.option("--window", metavar="DURATION", help="Current window length (default 24h).")
@click.option("--baseline-days", type=int, help="Days of history for the baseline (default 7).")
@click.option(
    "--analyzer",
    type=click.Choice(ANALYZERS),
    help="Analyzer (default auto: anthropic when ANTHROPIC_API_KEY is set, else offline rules).",
)
@click.option("--batch/--no-batch", default=None, help="Send non-urgent analyses through the Message Batches API.")
@click.option("--budget", "run_budget_usd", type=float, metavar="USD", help="Most this run may spend on model calls.")
@click.option("--grouping", type=click.Choice(GROUPINGS), help="Grouping strategy.")
@db_option
@json_option
@click.pass_context
@friendly_errors
def run(ctx: click.Context, source_spec: str | None, at: str | None, as_json: bool, **flags: Any) -> None:
    """Ingest a source, then analyse, flag and route the patterns of the current window.

    \b
    Example:
      errorsift run --source errors.jsonl --at 2026-11-20T06:00:00Z --json
    """
    settings = settings_from(ctx, **flags)
    result = run_pipeline(settings, source_spec or settings.source, parse_at(at), verbose=not as_json)
    if as_json:
        print_json(result.as_dict())
    else:
        render_patterns([p.as_dict() for p in result.patterns])


def _missing_sqlite_file(settings: Settings) -> str | None:
    """The SQLite file the settings name when it does not exist yet (None for servers and present files)."""
    from errorsift.store.db import database_url

    url = database_url(settings.db)
    path = url.removeprefix("sqlite:///")
    return path if url.startswith("sqlite:///") and not Path(path).exists() else None


def existing_store(settings: Settings) -> Store:
    """Open a database that must already exist: a read-only command on a mistyped path should say
    so, not create an empty database and report that nothing happened."""
    missing = _missing_sqlite_file(settings)
    if missing is not None:
        raise ConfigError(f"no database at {missing}: run `errorsift run` first, or pass --db")
    return Store(settings.db)


def run_pipeline(settings: Settings, source_spec: str, at: datetime | None, *, verbose: bool) -> Any:
    from errorsift.pipeline import Pipeline

    if not source_spec:
        raise ConfigError("no source: pass --source PATH (or set `source` in the config file)")
    log = _step_printer(verbose)
    if settings.config_file:
        log("config", f"using {settings.config_file}")
    from errorsift.service.lease import Lease, LeaseBusy
    from errorsift.service.retention import drop_events_before, seen_horizon

    store = Store(settings.db)
    lease = Lease(store, ttl=parse_duration(settings.lease_ttl))
    try:
        # One run at a time per database, like the scheduler's; a crashed local run is taken over.
        if not lease.acquire(parse_duration(settings.lease_wait).total_seconds(), reclaim_dead=True):
            raise LeaseBusy(lease.busy_message())
        # A Datadog pull ends at `--at` when given, else now; undated text lines count as written
        # just before it (the window ends at `--at`, exclusive).
        end = at - timedelta(microseconds=1) if at else datetime.now(UTC)
        source = open_configured_source(settings, source_spec, store, end)
        pipeline = Pipeline(
            store,
            make_grouper(settings, store),
            make_redactor(settings),
            make_analyzer(settings),
            run_config(settings, at),
            log,
        )
        # Ids older than the retention horizon are gone; re-reading such events must not recount them.
        return pipeline.run(drop_events_before(source, seen_horizon(store)))
    finally:
        lease.release()
        store.close()


def render_patterns(patterns: list[dict[str, Any]]) -> None:
    table = Table(title="errorsift — patterns in the current window, most urgent first", show_lines=False)
    wide = out.width >= 140  # a narrow terminal gets the pattern alone; the summary is on the dashboard
    for col in ("#", "flags", "severity", "owner", "occ", "cust", "pattern", *(("summary",) if wide else ())):
        table.add_column(col, overflow="fold")
    for i, p in enumerate(patterns, 1):
        a = p["anomaly"]
        flags = " ".join(
            f for f, on in (("NEW", a["new_signature"]), ("SPIKE", a["spike"]), ("SPREAD", a["spread"])) if on
        )
        owner = p["triage"]["bucket"] + (" (suppressed)" if p["triage"]["suppressed"] else "")
        table.add_row(
            str(i),
            flags,
            p["analysis"].get("severity", ""),
            owner,
            str(p["occurrences"]),
            str(len(p["customers"])),
            _gist(p.get("template") or p["normalized"]),
            *((p["analysis"].get("summary", "")[:100],) if wide else ()),
        )
    out.print(table)


def _gist(text: str, width: int = 60) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _input_lines(messages: tuple[str, ...]) -> Iterator[str]:
    if messages and messages != ("-",):
        yield from messages
        return
    data = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    yield from data.splitlines()


@main.command()
@click.argument("messages", nargs=-1)
@db_option
@click.option("--grouping", type=click.Choice(GROUPINGS), help="Grouping strategy.")
@json_option
@click.pass_context
@friendly_errors
def signature(ctx: click.Context, messages: tuple[str, ...], as_json: bool, **flags: Any) -> None:
    """Show the signature of each MESSAGE (or each stdin line, or `-`), as `run` would store it.

    \b
    Example:
      echo "Timeout after 30000ms for tenant_id: t-9" | errorsift signature --json
    """
    from errorsift.ingest import resolve_key
    from errorsift.signatures.signer import Signer

    settings = settings_from(ctx, **flags)
    # Signing needs no database; one that exists lends its learned templates and merges.
    store = None if _missing_sqlite_file(settings) is not None else Store(settings.db)
    try:
        grouper = make_grouper(settings, store)
        aliases: dict[str, str] = {}
        if store is not None:
            with store.read() as conn:
                aliases = conn.aliases()
    finally:
        if store is not None:
            store.close()
    redact = make_redactor(settings)
    signer = Signer(grouper, redact)
    results = [(signer.sign(line)[0], line) for line in _input_lines(messages)]
    learned = getattr(grouper, "aliases", None)
    table = {**(learned() if callable(learned) else {}), **aliases}
    for result, line in results:
        key = resolve_key(table, result.key)
        normalized = grouper.normalize(redact(line)[0])
        if as_json:
            print_json({"signature": key, "normalized": normalized, "template": result.template})
        else:
            out.print(f"{key}  {normalized}", highlight=False, markup=False)


@main.command()
@db_option
@json_option
@click.pass_context
@friendly_errors
def patterns(ctx: click.Context, as_json: bool, db: str | None) -> None:
    """The latest run's patterns (the morning cards) as a table.

    \b
    Example:
      errorsift patterns --json
    """
    from errorsift.views import latest_patterns

    settings = settings_from(ctx, db=db)
    store = existing_store(settings)
    try:
        data = latest_patterns(store)
    finally:
        store.close()
    if as_json:
        print_json(data)
    elif data["run"] is None:
        err.print("no completed run yet: try `errorsift run --source FILE` or `errorsift demo`")
    else:
        render_patterns(data["patterns"])


@main.group()
def noise() -> None:
    """Manage known-noise rules (suppressed unless NEW or spreading to new customers)."""


@noise.command("add")
@click.option("--signature", "key", metavar="KEY", help="Signature key to mark as noise.")
@click.option("--regex", metavar="PATTERN", help="Regex searched in the normalized text.")
@click.option("--reason", required=True, help="Why this is benign (shown on the card).")
@db_option
@click.pass_context
@friendly_errors
def noise_add(ctx: click.Context, key: str | None, regex: str | None, reason: str, db: str | None) -> None:
    """Add a known-noise rule.

    \b
    Example:
      errorsift noise add --regex "during graceful shutdown" --reason "deploy churn"
    """
    from errorsift.triage import validate_noise_rule

    if bool(key) == bool(regex):
        raise ConfigError("give exactly one of --signature KEY or --regex PATTERN")
    kind, value = ("signature", key) if key else ("regex", regex)
    assert value is not None
    try:
        validate_noise_rule(kind, value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    store = Store(settings_from(ctx, db=db).db)
    try:
        with store.begin() as conn:
            rule_id = conn.add_noise_rule(kind, value, reason, created_by="cli")
    finally:
        store.close()
    out.print(f"added noise rule {rule_id}: {kind} {value!r} ({reason})", highlight=False, markup=False)


@noise.command("list")
@db_option
@json_option
@click.pass_context
@friendly_errors
def noise_list(ctx: click.Context, as_json: bool, db: str | None) -> None:
    """List known-noise rules.

    \b
    Example:
      errorsift noise list --json
    """
    store = existing_store(settings_from(ctx, db=db))
    try:
        with store.read() as conn:
            rules = conn.noise_rules()
    finally:
        store.close()
    if as_json:
        print_json([{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rules])
        return
    for r in rules:
        out.print(f"{r['id']:>4}  {r['kind']:<9} {r['value']}  — {r['reason']}", highlight=False, markup=False)


@noise.command("remove")
@click.argument("rule_id", type=int)
@db_option
@click.pass_context
@friendly_errors
def noise_remove(ctx: click.Context, rule_id: int, db: str | None) -> None:
    """Remove a known-noise rule by id.

    \b
    Example:
      errorsift noise remove 3
    """
    store = Store(settings_from(ctx, db=db).db)
    try:
        with store.begin() as conn:
            removed = conn.remove_noise_rule(rule_id)
    finally:
        store.close()
    if not removed:
        raise ConfigError(f"no noise rule with id {rule_id} (see `errorsift noise list`)")
    out.print(f"removed noise rule {rule_id}")


@main.group()
def signatures() -> None:
    """Inspect and merge signatures."""


@signatures.command("merge")
@click.argument("source_key")
@click.argument("target_key")
@db_option
@click.pass_context
@friendly_errors
def signatures_merge(ctx: click.Context, source_key: str, target_key: str, db: str | None) -> None:
    """Merge signature SOURCE_KEY into TARGET_KEY, for good: history moves, future events follow.

    \b
    Example:
      errorsift signatures merge 3f2a9c1d0b7e4a55 9b1c2d3e4f5a6b7c
    """
    from errorsift.ingest import resolve_key

    store = existing_store(settings_from(ctx, db=db))
    try:
        with store.begin() as conn:
            aliases = conn.aliases()
            source, target = resolve_key(aliases, source_key), resolve_key(aliases, target_key)
            known = conn.signature_rows([source, target])
            for key, asked in ((source, source_key), (target, target_key)):
                if key not in known:
                    raise ConfigError(f"no signature {asked} in {store.url} (see `errorsift patterns`)")
            if target == source:
                raise ConfigError(f"{source_key} and {target_key} are already one signature")
            conn.add_alias(source, target, "merged")
    finally:
        store.close()
    out.print(f"merged {source_key} into {target}")


DEMO_NOISE = (
    ("during graceful shutdown", "deploy churn: workers restart during every deploy"),
    ("Health check failed during deploy", "deploy churn: pods cycle during rollout"),
)


def seed_demo_noise_rules(db: str) -> None:
    """The demo's team has already marked deploy churn as known noise (idempotent)."""
    store = Store(db)
    try:
        with store.begin() as conn:
            have = {r["value"] for r in conn.noise_rules()}
            for pattern, reason in DEMO_NOISE:
                if pattern not in have:
                    conn.add_noise_rule("regex", pattern, reason, created_by="demo")
    finally:
        store.close()


@signatures.command("explain")
@click.argument("key")
@db_option
@json_option
@click.pass_context
@friendly_errors
def signatures_explain(ctx: click.Context, key: str, as_json: bool, db: str | None) -> None:
    """Say why lines share signature KEY: masks, varying template tokens, stack frames, merges.

    \b
    Example:
      errorsift signatures explain 3f2a9c1d0b7e4a55
    """
    from errorsift.ingest import resolve_key

    settings = settings_from(ctx, db=db)
    store = existing_store(settings)
    try:
        grouper = make_grouper(settings, store)
        with store.read() as conn:
            final = resolve_key(conn.aliases(), key)
            row = conn.signature_rows([final]).get(final)
    finally:
        store.close()
    if row is None:
        raise ConfigError(f"no signature {key} in {settings.db} (see `errorsift patterns`)")
    explain = getattr(grouper, "explain", None)
    why = explain(final) if callable(explain) and row["strategy"] == grouper.strategy_id else f"{row['strategy']}"
    if final != key:
        why = f"{key} was merged into {final}; {why}"
    data = {
        "signature": final,
        "strategy": row["strategy"],
        "template": row["template"],
        "normalized": row["normalized"],
        "explanation": why,
    }
    if as_json:
        print_json(data)
    else:
        for name, value in data.items():
            out.print(f"{name:<12} {value}", highlight=False, markup=False)


@main.command()
@click.option("--out", "out_dir", default="demo-data", show_default=True, help="Folder for the generated fleet.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same fleet).")
@click.option("--grouping", type=click.Choice(GROUPINGS), help="Grouping strategy.")
@db_option
@json_option
@click.pass_context
@friendly_errors
def demo(ctx: click.Context, out_dir: str, seed: int, as_json: bool, **flags: Any) -> None:
    """Generate a realistic 40-customer, 8-day fleet and triage it with the offline analyzer.

    \b
    Example:
      errorsift demo --db demo.db
    """
    from errorsift.demo import generate_fleet

    flags["db"] = flags.get("db") or str(Path(out_dir) / "demo.db")
    settings = settings_from(ctx, analyzer="offline", **flags)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    path = folder / "fleet.jsonl"
    manifest = generate_fleet(path, seed=seed, end=at)
    seed_demo_noise_rules(settings.db)
    if not as_json:
        err.print(
            f"generated {manifest.events:,} events for {len(manifest.customers)} customers in {path}", highlight=False
        )
    result = run_pipeline(settings, str(path), at, verbose=not as_json)
    if as_json:
        print_json(result.as_dict())
    else:
        render_patterns([p.as_dict() for p in result.patterns])
        err.print(f"database: {settings.db}  (errorsift patterns --db {settings.db})", highlight=False)


def _register_subcommands() -> None:
    """Commands that live beside their feature (analysis, dashboard, service)."""
    from errorsift.analysis.command import analysis
    from errorsift.service.command import prune_command, worker
    from errorsift.web.command import serve

    for command in (analysis, worker, prune_command, serve):
        main.add_command(command)


_register_subcommands()
