"""`errorsift serve`: the dashboard over uvicorn, refusing to face a network without credentials.

Registered on the main CLI group by `cli.py` (`main.add_command(serve)`); everything heavy (FastAPI,
uvicorn, the pipeline) is imported inside the command so `errorsift --help` stays fast and the CLI
still works where the web extras are not installed.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from errorsift.errors import ErrorsiftError

__all__ = ["serve"]


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (non-loopback needs auth).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--db", metavar="URL", help="Database URL or SQLite path (env ERRORSIFT_DB).")
@click.option(
    "--source", "source_spec", metavar="SPEC", help="What the Run now button pulls (default: the `source` setting)."
)
@click.option(
    "--schedule/--no-schedule",
    "scheduled",
    default=True,
    show_default=True,
    help="Also run the pipeline on the `schedule` setting (when a source is known).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, db: str | None, source_spec: str | None, scheduled: bool) -> None:
    """Serve the dashboard: the morning cards, patterns, customers, runs and actions.

    Authentication comes from the environment: ERRORSIFT_AUTH_TOKEN, or ERRORSIFT_AUTH_USER and
    ERRORSIFT_AUTH_PASSWORD. Without them the server only binds a loopback address.

    \b
    Example:
      errorsift demo && errorsift serve --db demo-data/demo.db --source demo-data/fleet.jsonl
    """
    from errorsift.web.security import AuthConfig, is_loopback

    auth = AuthConfig.from_env()
    if not is_loopback(host) and not auth.enabled:
        _fail(
            f"refusing to serve on {host} without authentication: set ERRORSIFT_AUTH_TOKEN "
            "(or ERRORSIFT_AUTH_USER and ERRORSIFT_AUTH_PASSWORD), or bind 127.0.0.1"
        )
    try:
        app, url = _build(ctx, host, port, db, source_spec, auth, scheduled)
    except ErrorsiftError as exc:
        _fail(str(exc))
        return
    import uvicorn

    schedule = app.state.schedule
    when = f"; pipeline every {schedule.settings.schedule} from {schedule.source_spec}" if schedule else ""
    click.echo(f"errorsift dashboard on {url}  (database {app.state.store.url}{when}; Ctrl+C to stop)", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
    finally:
        if schedule is not None:
            schedule.shutdown()


def _build(
    ctx: click.Context, host: str, port: int, db: str | None, source_spec: str | None, auth: Any, scheduled: bool
) -> tuple[Any, str]:
    from errorsift.build import run_config
    from errorsift.cli import run_pipeline
    from errorsift.service.scheduler import start_in_process
    from errorsift.settings import load_settings, parse_duration
    from errorsift.web.app import create_app

    obj = ctx.find_root().obj or {}
    settings = load_settings(obj.get("config") if isinstance(obj, dict) else None).with_overrides(db=db)
    spec = source_spec or settings.source
    routes = run_config(settings, None).category_routes

    # With a schedule, "Run now" is one more tick: same lease, notifications and retention.
    schedule = start_in_process(settings, spec) if spec and scheduled else None

    def run_now() -> Any:
        if schedule is not None:
            return schedule.tick()
        return run_pipeline(settings, spec, None, verbose=False)

    app = create_app(
        settings.db,
        auth=auth,
        run_now=run_now if spec else None,
        routes=routes,
        schedule=schedule,
        healthz_max_age=parse_duration(settings.healthz_max_age),
    )
    app.state.schedule = schedule
    shown = f"[{host}]" if ":" in host else host
    return app, f"http://{shown}:{port}/"
