"""``errorsift analysis …``: look at a stored analysis, and audit exactly what was sent for it.

Thin by design (parse → read the store → render): the library does the work, this renders it as
rich text for people or one JSON object for machines. ``show --sent`` prints the prompt byte for
byte as it left the machine (system prompt, user turn, and the repair turns if there was one),
so a reviewer can check that nothing but redacted, normalized text was sent.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from errorsift.analysis.cache import CachePolicy
from errorsift.errors import ConfigError, ErrorsiftError
from errorsift.settings import load_settings
from errorsift.store.analysis_queries import latest_failure, model_calls_for, open_batches
from errorsift.store.store import Store

__all__ = ["analysis"]

F = TypeVar("F", bound=Callable[..., Any])
_out = Console()
_err = Console(stderr=True)


def _friendly(func: F) -> F:
    """Expected failures become one line on stderr and exit code 2, like every errorsift command."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ErrorsiftError as exc:
            _err.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@click.group()
def analysis() -> None:
    """Inspect stored analyses and audit what was sent to the model."""


@analysis.command("show")
@click.argument("signature")
@click.option("--sent", is_flag=True, help="Print exactly what was sent to the model for this analysis.")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["recent", "pattern"]),
    default="recent",
    show_default=True,
    help="Which analysis: the recent one or the long-term pattern one.",
)
@click.option("--db", metavar="URL", help="Database URL or SQLite path (env ERRORSIFT_DB).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")
@click.pass_context
@_friendly
def show(ctx: click.Context, signature: str, sent: bool, kind: str, db: str | None, as_json: bool) -> None:
    """Show the stored analysis of SIGNATURE, its model calls and cost (and with --sent, the prompt).

    \b
    Example:
      errorsift analysis show 3f2a9c1d0b7e4a55 --sent
      errorsift analysis show 3f2a9c1d0b7e4a55 --type pattern --json
    """
    config = (ctx.obj or {}).get("config") if isinstance(ctx.obj, dict) else None
    settings = load_settings(config).with_overrides(db=db)
    policy = CachePolicy(recent_ttl=settings.recent_ttl_delta, pattern_ttl=settings.pattern_ttl_delta)
    store = Store(settings.db)
    try:
        with store.read() as conn:
            from errorsift.ingest import resolve_key

            key = resolve_key(conn.aliases(), signature)
            cached = conn.cached_analysis(key, kind)
            calls = model_calls_for(conn, key, kind)
            failure = latest_failure(conn, key, kind)
            known = bool(conn.signature_rows([key]))
    finally:
        store.close()
    if cached is None and not calls and not known:
        raise ConfigError(f"no signature {signature!r} in {settings.db} (see `errorsift patterns`)")
    now = datetime.now(UTC)
    data: dict[str, Any] = {"signature": key, "type": kind, "analysis": None, "calls": _plain(calls)}
    if cached is not None:
        data.update(
            analysis=cached.analysis,
            analyzer=cached.analyzer,
            created_at=cached.created_at.isoformat(),
            expires_at=policy.expires_at(cached.created_at, kind).isoformat(),
            fresh=policy.is_fresh(cached.created_at, now, kind),
        )
        if sent:
            data["sent"] = cached.prompt
    if failure is not None and (cached is None or failure["created_at"] > cached.created_at):
        data["pending"] = {"error": failure["error"], "at": failure["created_at"].isoformat()}
    if as_json:
        sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
        return
    if sent:
        if cached is None or not cached.prompt:
            raise ConfigError(f"nothing was sent for the {kind} analysis of {key} (offline rules send nothing)")
        sys.stdout.write(cached.prompt + "\n")
        return
    _render(data)


def _render(data: dict[str, Any]) -> None:
    key, kind = data["signature"], data["type"]
    a = data.get("analysis")
    if a is None:
        _out.print(f"{key} — no {kind} analysis stored yet", highlight=False, markup=False)
    else:
        state = "fresh" if data["fresh"] else "expired"
        _out.print(
            f"{key} — {kind} analysis by {data['analyzer']}, {data['created_at']} ({state} until {data['expires_at']})",
            highlight=False,
            markup=False,
        )
        tech, recs, root = a.get("technical_details", {}), a.get("recommendations", {}), a.get("root_cause", {})
        table = Table(show_header=False, box=None)
        rows = [
            ("summary", a.get("summary", "")),
            ("severity", a.get("severity", "")),
            ("category", str(tech.get("error_category") or "unknown")),
            ("priority", recs.get("resolution_priority", "")),
            ("likely cause", f"{root.get('likely_cause', '')} (confidence {root.get('confidence', 0):.2f})"),
            ("explanation", a.get("explanation", "")),
            ("user impact", a.get("user_impact", "")),
            ("actions", "; ".join(recs.get("immediate_actions", []))),
            ("customer reply", a.get("customer_communication", "")),
        ]
        if kind == "pattern":
            rows += [("trend", str(a.get("trend") or "")), ("permanent fix", a.get("permanent_fix", ""))]
        if a.get("fallback"):
            rows.insert(0, ("note", "fallback: the answer could not be read or is pending"))
        for name, value in rows:
            table.add_row(name, str(value))
        _out.print(table)
    if data.get("pending"):
        _out.print(f"pending: {data['pending']['error']} ({data['pending']['at']})", highlight=False, markup=False)
    if data["calls"]:
        calls = Table(title="model calls, newest first")
        for col in ("at", "model", "in", "out", "cache w/r", "USD", "batch", "result"):
            calls.add_column(col)
        for c in data["calls"]:
            calls.add_row(
                str(c["created_at"])[:19],
                c["model"],
                str(c["input_tokens"]),
                str(c["output_tokens"]),
                f"{c['cache_write_tokens']}/{c['cache_read_tokens']}",
                f"{c['cost_usd']:.5f}",
                "yes" if c["batch"] else "",
                "ok" if c["ok"] else str(c["error"] or "failed")[:80],
            )
        _out.print(calls)


@analysis.command("batches")
@click.option("--db", metavar="URL", help="Database URL or SQLite path (env ERRORSIFT_DB).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")
@click.pass_context
@_friendly
def batches(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """List Message Batches submitted by ``--batch`` runs and not collected yet.

    \b
    Example:
      errorsift analysis batches --json
    """
    config = (ctx.obj or {}).get("config") if isinstance(ctx.obj, dict) else None
    store = Store(load_settings(config).with_overrides(db=db).db)
    try:
        with store.read() as conn:
            rows = open_batches(conn, "anthropic")
    finally:
        store.close()
    listed = [
        {
            "batch_id": r["batch_id"],
            "submitted_at": r["submitted_at"].isoformat(),
            "run_id": r["run_id"],
            "items": len(r["items"].get("requests", {})),
        }
        for r in rows
    ]
    if as_json:
        sys.stdout.write(json.dumps(listed) + "\n")
        return
    if not listed:
        _out.print("no open batches")
    for b in listed:
        _out.print(f"{b['batch_id']}  {b['items']} analyses, submitted {b['submitted_at']} (run {b['run_id']})")
