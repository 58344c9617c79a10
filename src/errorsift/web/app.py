"""The dashboard app: `create_app(store_url, auth=..., run_now=...)` wires pages, actions and the guard.

Pages are GET and read-only; every change is a POST with a CSRF token that answers with a 303 back
to a page (or JSON for scripts). Every page is also its context as JSON: add `?format=json`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from errorsift.service.metrics import mount as mount_service_routes
from errorsift.service.scheduler import schedule_status
from errorsift.store.store import Store, StoreConn
from errorsift.web import actions
from errorsift.web.live import HumanState, load_human_state
from errorsift.web.pages.actions_log import actions_context
from errorsift.web.pages.cards import CardCache
from errorsift.web.pages.customers import customer_context, customers_context
from errorsift.web.pages.home import home_context
from errorsift.web.pages.pattern import pattern_context
from errorsift.web.pages.runs import runs_context
from errorsift.web.render import Renderer, ui_for, wants_json
from errorsift.web.runner import RunTrigger, Warmer
from errorsift.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    AuthConfig,
    Guard,
)

__all__ = ["create_app"]

STATIC = Path(__file__).with_name("static")
_PUBLIC = ("/static/", "/login", "/healthz")


def _local_path(value: str | None, default: str) -> str:
    """Only same-site paths are followed after a POST (no open redirect to `//evil` or `https://`)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _with_query(path: str, **params: Any) -> str:
    sep = "&" if "?" in path else "?"
    return f"{path}{sep}{urlencode(params)}"


def create_app(
    store_url: str | None = None,
    *,
    auth: AuthConfig | None = None,
    run_now: Callable[[], Any] | None = None,
    routes: Mapping[str, tuple[str, str]] | None = None,
    secret_key: bytes | None = None,
    warm_every: float | None = 5.0,
    schedule: Any = None,
    healthz_max_age: timedelta = timedelta(hours=2),
) -> FastAPI:
    """The dashboard for one database.

    `auth` None or empty means no authentication (for loopback use; `errorsift serve` refuses to
    bind elsewhere without it). `run_now` is what the runs page's button calls (in a background
    thread); None hides the button. `routes` is the configured category routing table, so the live
    overlay routes exactly as the next run will. `warm_every` seconds, the latest run's cards are
    rebuilt in the background if anything changed (None: only on demand). `schedule` is the
    in-process schedule (`errorsift.service.scheduler.Schedule`) when `serve` runs one: the runs page
    shows its next run, and /metrics its gauge.
    """
    store = Store(store_url)
    guard = Guard(auth or AuthConfig(), secret_key)
    renderer = Renderer()
    cards_cache = CardCache()

    def warm_cards() -> None:
        with store.read() as sc:
            run = sc.latest_run()
            if run is not None:
                cards_cache.cards(sc, int(run["id"]), load_human_state(sc, routes))

    trigger = RunTrigger(run_now, after=warm_cards)
    warmer = Warmer(warm_cards, warm_every) if warm_every else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warmer is not None:
            warmer.start()
        yield
        if warmer is not None:
            warmer.stop()
        trigger.wait(timeout=60)
        store.close()

    app = FastAPI(title="errorsift", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.store = store
    app.state.trigger = trigger
    app.state.guard = guard
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    def human_state(sc: StoreConn) -> HumanState:
        return load_human_state(sc, routes)

    def error_page(request: Request, status: int, message: str) -> Response:
        if wants_json(request) or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        return renderer.html("error.html", {"status": status, "message": message}, ui_for(request), status)

    @app.middleware("http")
    async def guard_requests(request: Request, call_next: Callable[[Request], Any]) -> Response:
        nonce = request.cookies.get(CSRF_COOKIE)
        fresh = None
        if not guard.nonce_ok(nonce):
            nonce = fresh = guard.new_nonce()
        assert nonce is not None
        request.state.csrf_token = guard.csrf_token(nonce)
        request.state.auth_enabled = guard.auth.enabled
        identity = guard.identify(request.headers.get("authorization", ""), request.cookies.get(SESSION_COOKIE, ""))
        request.state.identity = identity
        path = request.url.path
        if identity is None and not path.startswith(_PUBLIC):
            if wants_json(request) or "application/json" in request.headers.get("accept", ""):
                response: Response = JSONResponse({"error": "authentication required", "status": 401}, 401)
            else:
                response = renderer.html("login.html", {"next": path, "failed": False}, ui_for(request), 401)
            response.headers["WWW-Authenticate"] = guard.challenge()
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if fresh:
            response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict", path="/")
        return response

    async def checked_form(request: Request) -> FormData:
        """The POST's form, if it proves it came from one of our pages (or from a bearer-token script)."""
        form = await request.form()
        identity = request.state.identity
        if identity is not None and identity.via_header:
            return form
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HTTPException(403, "cross-site request refused")
        submitted = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not guard.csrf_ok(request.cookies.get(CSRF_COOKIE), submitted if isinstance(submitted, str) else None):
            raise HTTPException(403, "missing or invalid CSRF token: reload the page and try again")
        return form

    @app.exception_handler(StarletteHTTPException)  # ours, and the router's 404/405
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(actions.ActionError)
    async def action_error(request: Request, exc: actions.ActionError) -> Response:
        return error_page(request, exc.status, str(exc))

    def who(request: Request) -> str:
        identity = request.state.identity
        return identity.who if identity is not None else "anonymous"

    def done(request: Request, form: FormData, default: str, action_id: int, message: str) -> Response:
        if wants_json(request) or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"ok": True, "action_id": action_id, "message": message})
        nxt = form.get("next")
        target = _local_path(nxt if isinstance(nxt, str) else None, default)
        return RedirectResponse(_with_query(target, done=action_id), status_code=303)

    def field(form: FormData, name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    # --- pages ------------------------------------------------------------------------------

    # /metrics (Prometheus) and /healthz (age of the last successful run) come from the service layer.
    mount_service_routes(
        app, store, max_age=healthz_max_age, next_run=schedule.next_run_at if schedule is not None else None
    )

    @app.get("/")
    def home(request: Request) -> Response:
        with store.read() as sc:
            ctx = home_context(sc, human_state(sc), request.query_params, cards_cache)
        return renderer.page(request, "home.html", ctx, "cards")

    @app.get("/patterns/{key}")
    def pattern(request: Request, key: str) -> Response:
        with store.read() as sc:
            ctx = pattern_context(sc, human_state(sc), key)
        if ctx is None:
            raise HTTPException(404, f"no signature {key!r}")
        if "redirect" in ctx:
            target = f"/patterns/{ctx['redirect']}"
            return RedirectResponse(_with_query(target, format="json") if wants_json(request) else target, 307)
        return renderer.page(request, "pattern.html", ctx, "cards")

    @app.get("/customers")
    def customers(request: Request) -> Response:
        with store.read() as sc:
            ctx = customers_context(sc, human_state(sc), request.query_params, cards_cache)
        return renderer.page(request, "customers.html", ctx, "customers")

    @app.get("/customers/{name:path}")
    def customer(request: Request, name: str) -> Response:
        with store.read() as sc:
            ctx = customer_context(sc, human_state(sc), name, cards_cache)
        if ctx is None:
            raise HTTPException(404, f"no customer {name!r} in the latest run")
        return renderer.page(request, "customer.html", ctx, "customers")

    @app.get("/runs")
    def runs(request: Request) -> Response:
        with store.read() as sc:
            ctx = runs_context(sc, trigger.status())
        ctx["schedule"] = schedule_status(store, schedule)
        return renderer.page(request, "runs.html", ctx, "runs")

    @app.get("/actions")
    def action_log(request: Request) -> Response:
        with store.read() as sc:
            ctx = actions_context(sc)
        return renderer.page(request, "actions.html", ctx, "actions")

    # --- actions ----------------------------------------------------------------------------

    @app.post("/runs")
    def run_now_post(request: Request, form: FormData = Depends(checked_form)) -> Response:
        if not trigger.available:
            raise HTTPException(409, "no source configured for runs: start `errorsift serve --source SPEC`")
        started = trigger.start(who(request))
        if wants_json(request) or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"ok": started, "running": True}, status_code=202 if started else 409)
        return RedirectResponse("/runs", status_code=303)

    def act(request: Request, form: FormData, key: str, do: Callable[[StoreConn], int], message: str) -> Response:
        with store.begin() as sc:
            action_id = do(sc)
        return done(request, form, f"/patterns/{key}", action_id, message)

    @app.post("/patterns/{key}/noise")
    def noise(request: Request, key: str, form: FormData = Depends(checked_form)) -> Response:
        return act(
            request,
            form,
            key,
            lambda sc: actions.mark_noise(sc, key, field(form, "reason"), who(request)),
            "marked as known noise",
        )

    @app.post("/patterns/{key}/unnoise")
    def unnoise(request: Request, key: str, form: FormData = Depends(checked_form)) -> Response:
        try:
            rule_id = int(field(form, "rule_id"))
        except ValueError:
            raise HTTPException(400, "which noise rule? (rule_id)") from None
        return act(
            request,
            form,
            key,
            lambda sc: actions.unmark_noise(sc, key, rule_id, field(form, "reason"), who(request)),
            "noise rule removed",
        )

    @app.post("/patterns/{key}/owner")
    def owner(request: Request, key: str, form: FormData = Depends(checked_form)) -> Response:
        return act(
            request,
            form,
            key,
            lambda sc: actions.override_owner(
                sc, key, field(form, "bucket"), field(form, "owner"), field(form, "reason"), who(request)
            ),
            "owner overridden",
        )

    @app.post("/patterns/{key}/owner/clear")
    def owner_clear(request: Request, key: str, form: FormData = Depends(checked_form)) -> Response:
        return act(
            request,
            form,
            key,
            lambda sc: actions.clear_override(sc, key, field(form, "reason"), who(request)),
            "owner override cleared",
        )

    @app.post("/patterns/{key}/merge")
    def merge(request: Request, key: str, form: FormData = Depends(checked_form)) -> Response:
        with store.begin() as sc:
            action_id = actions.merge_into(sc, key, field(form, "into"), field(form, "reason"), who(request))
            target = sc.action(action_id)["details"]["into"]  # type: ignore[index]
        return done(request, form, f"/patterns/{target}", action_id, f"merged into {target}")

    @app.post("/patterns/{key}/reanalyze")
    def reanalyze(request: Request, key: str, form: FormData = Depends(checked_form)) -> Response:
        return act(
            request,
            form,
            key,
            lambda sc: actions.reanalyze(sc, key, field(form, "reason"), who(request)),
            "analysis expired: the next run analyzes it again",
        )

    @app.post("/actions/{action_id}/undo")
    def undo(request: Request, action_id: int, form: FormData = Depends(checked_form)) -> Response:
        with store.begin() as sc:
            undo_id = actions.undo(sc, action_id, who(request))
        nxt = field(form, "next")
        if wants_json(request) or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"ok": True, "action_id": undo_id, "message": f"undid #{action_id}"})
        return RedirectResponse(_local_path(nxt, "/actions"), status_code=303)

    # --- login --------------------------------------------------------------------------------

    @app.get("/login")
    def login_page(request: Request) -> Response:
        nxt = _local_path(request.query_params.get("next"), "/")
        return renderer.html("login.html", {"next": nxt, "failed": False}, ui_for(request))

    @app.post("/login")
    def login(request: Request, form: FormData = Depends(checked_form)) -> Response:
        name = guard.check_credentials(field(form, "token"), field(form, "user"), field(form, "password"))
        nxt = _local_path(field(form, "next"), "/")
        if name is None:
            return renderer.html("login.html", {"next": nxt, "failed": True}, ui_for(request), 401)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(SESSION_COOKIE, guard.session_cookie(name), httponly=True, samesite="strict", path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, form: FormData = Depends(checked_form)) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    return app
