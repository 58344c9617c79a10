"""Authentication, CSRF, headers and the loopback rule: the dashboard's safety promises, one by one."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from errorsift.web.app import create_app
from errorsift.web.command import serve
from errorsift.web.security import CSP, AuthConfig, Guard, is_loopback

from .conftest import CSRF_INPUT, Fleet, TestClient, csrf_token

TOKEN = "s3cret-token"
AUTH = AuthConfig(token=TOKEN, user="ops", password="hunter2")


@pytest.fixture
def guarded(demo: Fleet) -> Iterator[TestClient]:
    with TestClient(create_app(str(demo.db), auth=AUTH)) as c:
        yield c


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("path", ["/", "/?format=json", "/customers", "/runs", "/actions", "/patterns/abc"])
def test_every_page_needs_credentials_when_auth_is_on(guarded: TestClient, path: str) -> None:
    response = guarded.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["content-security-policy"] == CSP
    if "json" in path:
        assert response.json()["error"] == "authentication required"
    else:
        assert 'action="/login"' in response.text  # the token can be typed in


def test_posts_need_credentials_too(guarded: TestClient) -> None:
    assert guarded.post("/runs").status_code == 401
    assert guarded.post("/patterns/x/noise", data={"reason": "x"}).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        basic("ops", "hunter2"),
    ],
)
def test_token_or_basic_credentials_open_the_pages(guarded: TestClient, headers: dict[str, str]) -> None:
    assert guarded.get("/", headers=headers).status_code == 200
    assert guarded.get("/?format=json", headers=headers).json()["cards"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        basic("ops", "wrong"),
        basic("other", "hunter2"),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Digest whatever"},
    ],
)
def test_wrong_credentials_are_refused(guarded: TestClient, headers: dict[str, str]) -> None:
    assert guarded.get("/", headers=headers).status_code == 401


def test_login_with_the_token_sets_a_session_and_logout_ends_it(guarded: TestClient) -> None:
    page = guarded.get("/login")
    token = CSRF_INPUT.search(page.text).group(1)  # type: ignore[union-attr]
    wrong = guarded.post("/login", data={"csrf_token": token, "token": "nope", "next": "/runs"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    ok = guarded.post("/login", data={"csrf_token": token, "token": TOKEN, "next": "/runs"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/runs"
    assert "httponly" in ok.headers["set-cookie"].lower() and "samesite=strict" in ok.headers["set-cookie"].lower()
    assert guarded.get("/").status_code == 200
    out = guarded.post("/logout", data={"csrf_token": csrf_token(guarded)}, follow_redirects=False)
    assert out.status_code == 303
    assert guarded.get("/").status_code == 401


def test_login_never_redirects_off_site(guarded: TestClient) -> None:
    token = CSRF_INPUT.search(guarded.get("/login").text).group(1)  # type: ignore[union-attr]
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = guarded.post(
            "/login", data={"csrf_token": token, "token": TOKEN, "next": evil}, follow_redirects=False
        )
        assert response.headers["location"] == "/"


def test_a_forged_session_cookie_is_refused(guarded: TestClient) -> None:
    guarded.cookies.set("errorsift_session", "token.0000")
    assert guarded.get("/").status_code == 401
    other = Guard(AUTH)  # another server's secret signs a different cookie
    guarded.cookies.set("errorsift_session", other.session_cookie("token"))
    assert guarded.get("/").status_code == 401


def test_a_post_without_a_valid_csrf_token_is_refused(client: TestClient) -> None:
    key = client.get("/?format=json").json()["cards"][0]["signature"]
    url = f"/patterns/{key}/noise"
    assert client.post(url, data={"reason": "no token"}).status_code == 403
    assert client.post(url, data={"reason": "bad", "csrf_token": "abc.def"}).status_code == 403
    token = csrf_token(client)
    forged = token.rsplit(".", 1)[0] + "." + "0" * 64
    assert client.post(url, data={"reason": "forged", "csrf_token": forged}).status_code == 403
    cookie = client.cookies.get("errorsift_csrf")
    client.cookies.set("errorsift_csrf", Guard.new_nonce())  # a token minted for another cookie
    assert client.post(url, data={"reason": "other cookie", "csrf_token": token}).status_code == 403
    client.cookies.set("errorsift_csrf", cookie)
    cross = client.post(url, data={"reason": "x", "csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert client.get("/actions?format=json").json()["actions"] == []  # nothing happened
    ok = client.post(url, data={"reason": "deploy churn", "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_a_bearer_token_script_needs_no_csrf_token(guarded: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    key = guarded.get("/?format=json", headers=headers).json()["cards"][0]["signature"]
    response = guarded.post(f"/patterns/{key}/noise", data={"reason": "scripted"}, headers=headers)
    assert response.status_code == 200 and response.json()["ok"]
    assert guarded.get("/actions?format=json", headers=headers).json()["actions"][0]["who"] == "token"
    # basic credentials are ambient in a browser: they still need the CSRF token
    ambient = guarded.post(f"/patterns/{key}/noise", data={"reason": "x"}, headers=basic("ops", "hunter2"))
    assert ambient.status_code == 403


@pytest.mark.parametrize("path", ["/", "/?format=json", "/runs", "/static/style.css", "/nope", "/login"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CSP
    assert "default-src 'self'" in CSP and "script-src 'self'" in CSP and "unsafe" not in CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    key = client.get("/?format=json").json()["cards"][0]["signature"]
    for path in ("/", f"/patterns/{key}", "/customers", "/runs", "/actions", "/login"):
        html = client.get(path).text
        assert "<script>" not in html and " style=" not in html and "<style" not in html
        assert " onclick=" not in html and "javascript:" not in html
        assert html.count("<script ") == 2  # htmx and app.js, both from /static


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.1.2.3", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example.com", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_serve_refuses_a_public_address_without_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ERRORSIFT_AUTH_TOKEN", "ERRORSIFT_AUTH_USER", "ERRORSIFT_AUTH_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(serve, ["--host", "0.0.0.0", "--port", "8765"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: refusing to serve on 0.0.0.0 without authentication")
    assert "ERRORSIFT_AUTH_TOKEN" in lines[0] and "Traceback" not in result.output


def test_auth_config_from_env() -> None:
    assert not AuthConfig.from_env({}).enabled
    assert AuthConfig.from_env({"ERRORSIFT_AUTH_TOKEN": "t"}).enabled
    assert not AuthConfig.from_env({"ERRORSIFT_AUTH_USER": "u"}).enabled  # a user alone is not a credential
    assert AuthConfig.from_env({"ERRORSIFT_AUTH_USER": "u", "ERRORSIFT_AUTH_PASSWORD": "p"}).basic


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_the_dashboard_as_a_real_process(demo: Fleet, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "ERRORSIFT_AUTH_TOKEN": TOKEN}
    code = "from errorsift.web.command import serve; serve()"
    args = [sys.executable, "-c", code, "--port", str(port), "--db", str(demo.db), "--host", "127.0.0.1"]
    proc = subprocess.Popen(args, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 401
        page = httpx.get(f"http://127.0.0.1:{port}/?format=json", headers={"Authorization": f"Bearer {TOKEN}"})
        assert page.status_code == 200 and page.json()["cards"]
        assert "server" not in page.headers
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert f"errorsift dashboard on http://127.0.0.1:{port}/" in (proc.stderr.read() if proc.stderr else "")
