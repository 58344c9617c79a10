"""One context, two renderings: HTML through an autoescaping Jinja2 template, or the same dict as JSON.

Every page handler builds a plain, JSON-able context dict and calls `Renderer.page`. `?format=json`
returns that dict as it is (scripts get exactly what the page shows); otherwise the template gets it
as `ctx`, plus `ui` (CSRF token, user, current URL) which is presentation and never part of the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from errorsift.web.svg import bars, sparkline

__all__ = ["TEMPLATES", "UI", "Renderer", "jsonable", "wants_json"]

TEMPLATES = Path(__file__).with_name("templates")


def jsonable(value: Any) -> Any:
    """Datetimes become ISO strings, tuples and sets lists; everything else is left as it is."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _when(value: Any) -> str:
    """`2026-11-20 06:15 UTC`: one absolute, unambiguous format everywhere."""
    parsed = _parse(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if parsed else ""


def _ago(value: Any) -> str:
    parsed = _parse(value)
    if parsed is None:
        return ""
    seconds = int((datetime.now(UTC) - parsed).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def hour_labels(end_hour: int, count: int) -> list[str]:
    """Labels for `count` hourly buckets ending at `end_hour` (exclusive), oldest first."""
    return [datetime.fromtimestamp(h * 3600, UTC).strftime("%m-%d %H:00") for h in range(end_hour - count, end_hour)]


def day_labels(end_hour: int, count: int) -> list[str]:
    """Labels for `count` 24-hour slices ending at `end_hour`: each slice's start."""
    starts = range(end_hour - 24 * count, end_hour, 24)
    return [datetime.fromtimestamp(h * 3600, UTC).strftime("%m-%d %H:00") for h in starts]


def _path(value: Any) -> str:
    """One URL path segment (a customer id may hold `/`, `?` or worse)."""
    return quote(str(value), safe="")


@dataclass(frozen=True, slots=True)
class UI:
    """Per-request presentation state for templates (never serialized)."""

    csrf: str
    user: str
    auth_enabled: bool
    path: str
    query: dict[str, str]
    section: str

    def url(self, path: str | None = None, **changes: Any) -> str:
        """This page's URL with some query parameters changed (None or "" drops one)."""
        params = {k: v for k, v in self.query.items() if k not in ("page", "format")}
        for k, v in changes.items():
            if v is None or v == "":
                params.pop(k, None)
            else:
                params[k] = str(v)
        base = path if path is not None else self.path
        return f"{base}?{urlencode(params)}" if params else base

    def json_url(self) -> str:
        return f"{self.path}?{urlencode({**self.query, 'format': 'json'})}"


class Renderer:
    def __init__(self, templates: Path = TEMPLATES) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(templates)),
            autoescape=True,  # every template, every value: log text is attacker-controlled
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(num=_number, when=_when, ago=_ago, path=_path)
        self.env.globals.update(sparkline=sparkline, bars=bars, hour_labels=hour_labels, day_labels=day_labels)

    def html(self, template: str, ctx: Mapping[str, Any], ui: UI, status: int = 200) -> HTMLResponse:
        body = self.env.get_template(template).render(ctx=ctx, ui=ui)
        return HTMLResponse(body, status_code=status)

    def page(
        self, request: Request, template: str, ctx: dict[str, Any], section: str = "", status: int = 200
    ) -> Response:
        if wants_json(request):
            return JSONResponse(jsonable(ctx), status_code=status)
        return self.html(template, ctx, ui_for(request, section), status)


def ui_for(request: Request, section: str = "") -> UI:
    state = request.state
    csrf = getattr(state, "csrf_token", "")
    identity = getattr(state, "identity", None)
    return UI(
        csrf=csrf,
        user=identity.who if identity is not None else "",
        auth_enabled=bool(getattr(state, "auth_enabled", False)),
        path=request.url.path,
        query=dict(request.query_params),
        section=section,
    )
