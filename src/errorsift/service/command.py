"""`errorsift worker` (the schedule, or one run with `--once`) and `errorsift prune` (retention).

Registered on the main CLI by `cli.py` (``main.add_command(worker)``); also runnable on their own
as ``python -m errorsift.service worker …`` so deployments and tests need nothing else.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import Any

import click

from errorsift.build import ANALYZERS
from errorsift.errors import ErrorsiftError
from errorsift.settings import Settings, load_settings, parse_duration

__all__ = ["prune_command", "service_cli", "worker"]

EXIT_BUSY = 3  # `worker --once` found the lease held by another run


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    config = (ctx.obj or {}).get("config") if isinstance(ctx.obj, dict) else None
    try:
        return load_settings(config).with_overrides(**overrides)
    except ErrorsiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("apscheduler", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM/SIGINT ask for a clean stop: the current step finishes, then the process exits."""

    def handler(signum: int, _frame: Any) -> None:
        logging.getLogger("errorsift.worker").warning(
            "%s received: finishing the current step, then exiting", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@click.command()
@click.option("--source", "source_spec", metavar="SPEC", help="What to pull each run (default: `source` setting).")
@click.option("--schedule", metavar="EVERY", help="30m, 1h, or a cron line like '*/30 * * * *' (UTC).")
@click.option("--once", is_flag=True, help="Run once under the lease and exit (cron, systemd timers, CI).")
@click.option("--wait", metavar="DURATION", help="With --once: wait this long for a held lease (default lease_wait).")
@click.option("--at", "at", metavar="ISO", help="With --once: end of the current window (default now).")
@click.option("--lease-ttl", metavar="DURATION", help="Lease expiry after the last heartbeat (default 5m).")
@click.option(
    "--analyzer",
    type=click.Choice(ANALYZERS),
    help="Analyzer (default auto: anthropic when ANTHROPIC_API_KEY is set, else offline rules).",
)
@click.option("--metrics-port", type=int, help="Serve /metrics and /healthz on this port (default off).")
@click.option(
    "--metrics-host",
    metavar="ADDR",
    help="Address for /metrics and /healthz (default 127.0.0.1; 0.0.0.0 only on a network you trust).",
)
@click.option("--db", metavar="URL", help="Database URL or SQLite path (env ERRORSIFT_DB).")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the result as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only.")
@click.pass_context
def worker(
    ctx: click.Context,
    source_spec: str | None,
    once: bool,
    wait: str | None,
    at: str | None,
    as_json: bool,
    quiet: bool,
    **flags: Any,
) -> None:
    """Run the pipeline on the schedule, one run at a time across every worker sharing the database.

    A second worker waits its turn: each tick takes a lease in the database first and skips the
    tick if another run holds it; a killed worker's lease is taken over once it expires. SIGTERM
    finishes the current step and exits cleanly.

    \b
    Example:
      errorsift worker --source datadog --schedule 30m --db postgresql+psycopg://errorsift@db/errorsift
      errorsift worker --once --source errors.jsonl --json
    """
    from errorsift.cli import parse_at

    settings = _settings(ctx, **flags)
    _logging(not quiet)
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        if once:
            from errorsift.service.once import run_once

            wait_s = parse_duration(wait).total_seconds() if wait else None
            result = run_once(settings, source_spec, at=parse_at(at), wait=wait_s, stop=stop)
            if as_json:
                sys.stdout.write(json.dumps(result.as_dict(), default=str) + "\n")
            elif result.status != "ok":
                click.echo(f"{result.status}: {result.message}", err=True)
            sys.exit({"ok": 0, "stopped": 0, "busy": EXIT_BUSY}.get(result.status, 1))
        _serve_schedule(settings, source_spec, stop)
    except ErrorsiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _serve_schedule(settings: Settings, source_spec: str | None, stop: threading.Event) -> None:
    from errorsift.service.scheduler import Schedule

    schedule = Schedule(settings, source_spec, stop=stop).start()
    server = None
    if settings.metrics_port:
        from errorsift.service.metrics import serve_http

        server = serve_http(
            schedule.store,
            settings.metrics_port,
            host=settings.metrics_host,
            max_age=parse_duration(settings.healthz_max_age),
            next_run=schedule.next_run_at,
        )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if server is not None:
            server.shutdown()
        schedule.shutdown(wait=True)
        logging.getLogger("errorsift.worker").info("worker %s stopped", schedule.worker_id)


@click.command("prune")
@click.option("--db", metavar="URL", help="Database URL or SQLite path (env ERRORSIFT_DB).")
@click.option("--json", "as_json", is_flag=True, help="Print what was pruned as one JSON object.")
@click.pass_context
def prune_command(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """Apply retention now: roll old hourly counts into days, delete old seen ids, runs, workers.

    Workers do this by themselves at most once a day; run it by hand after changing retain_*.

    \b
    Example:
      errorsift prune --json
    """
    from errorsift.service.retention import RetentionPolicy, prune
    from errorsift.store.store import Store

    settings = _settings(ctx, db=db)
    try:
        store = Store(settings.db)
        try:
            report = prune(store, RetentionPolicy.from_settings(settings), force=True)
        finally:
            store.close()
    except ErrorsiftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if as_json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        for key, value in report.items():
            click.echo(f"{key:<22} {value}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", help="Config file (else ERRORSIFT_CONFIG, ./errorsift.toml).")
@click.pass_context
def service_cli(ctx: click.Context, config_path: str | None) -> None:
    """errorsift's service commands on their own (the same as `errorsift worker` / `errorsift prune`)."""
    ctx.obj = {"config": config_path}


service_cli.add_command(worker)
service_cli.add_command(prune_command)
