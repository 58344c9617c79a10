"""Who may use the dashboard, and the headers and tokens that keep attacker-written log text inert.

Log messages, customer ids and service names are written by whoever can make the fleet log an
error, so the dashboard treats every stored string as hostile:

* every template escapes (Jinja autoescape) and a strict Content-Security-Policy forbids inline
  script and style, so an escaping slip still cannot execute;
* every change is a POST carrying a CSRF token: a random nonce in an HttpOnly SameSite=Strict
  cookie, and in the form the nonce plus its HMAC under a per-process secret (signed double submit),
  so another site can neither read nor forge it;
* authentication is a bearer token or basic-auth credentials from the environment
  (`ERRORSIFT_AUTH_TOKEN`, `ERRORSIFT_AUTH_USER` + `ERRORSIFT_AUTH_PASSWORD`); a browser that knows
  the token logs in once through `/login` and gets a signed session cookie instead.

A request authenticated by an `Authorization: Bearer` header carries no ambient credential a
browser could replay, so it needs no CSRF token (scripts can POST with the token alone).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CSP",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "AuthConfig",
    "Guard",
    "Identity",
    "is_loopback",
]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
CSRF_COOKIE = "errorsift_csrf"
SESSION_COOKIE = "errorsift_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (the one case where no auth is acceptable)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Credentials the dashboard accepts; all empty means no authentication (loopback only)."""

    token: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthConfig:
        source = os.environ if env is None else env
        return cls(
            token=source.get("ERRORSIFT_AUTH_TOKEN", ""),
            user=source.get("ERRORSIFT_AUTH_USER", ""),
            password=source.get("ERRORSIFT_AUTH_PASSWORD", ""),
        )

    @property
    def basic(self) -> bool:
        return bool(self.user and self.password)

    @property
    def enabled(self) -> bool:
        return bool(self.token) or self.basic

    def fingerprint(self) -> bytes:
        """Changes whenever a credential changes, so old session cookies stop working."""
        raw = f"{self.token}\x00{self.user}\x00{self.password}".encode()
        return hashlib.sha256(raw).digest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True, slots=True)
class Identity:
    who: str  # recorded in the action log
    via_header: bool  # Authorization header: no ambient credential, so no CSRF token needed


class Guard:
    """Authentication and CSRF checks under one per-process secret."""

    def __init__(self, auth: AuthConfig, secret: bytes | None = None) -> None:
        self.auth = auth
        self.secret = secret or secrets.token_bytes(32)

    def _mac(self, *parts: str | bytes) -> str:
        mac = hmac.new(self.secret, digestmod=hashlib.sha256)
        for part in parts:
            mac.update(part if isinstance(part, bytes) else part.encode())
            mac.update(b"\x00")
        return mac.hexdigest()

    # --- authentication -------------------------------------------------------------------

    def check_credentials(self, token: str = "", user: str = "", password: str = "") -> str | None:
        """The name to record for these credentials, or None if they are wrong."""
        if self.auth.token and token and _same(token, self.auth.token):
            return "token"
        if self.auth.basic and user and _same(user, self.auth.user) and _same(password, self.auth.password):
            return self.auth.user
        return None

    def from_header(self, authorization: str) -> str | None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return self.check_credentials(token=value.strip())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, sep, password = decoded.partition(":")
            return self.check_credentials(user=user, password=password) if sep else None
        return None

    def session_cookie(self, who: str) -> str:
        return f"{who}.{self._mac('session', who, self.auth.fingerprint())}"

    def from_session(self, cookie: str) -> str | None:
        who, _, mac = cookie.rpartition(".")
        if not who or not mac:
            return None
        return who if _same(mac, self._mac("session", who, self.auth.fingerprint())) else None

    def identify(self, authorization: str, session: str) -> Identity | None:
        """Who is asking; None means 401. With auth off everyone is `local` (loopback only)."""
        if not self.auth.enabled:
            return Identity("local", via_header=False)
        if authorization:
            who = self.from_header(authorization)
            if who is not None:
                return Identity(who, via_header=authorization.strip().lower().startswith("bearer "))
        if session:
            who = self.from_session(session)
            if who is not None:
                return Identity(who, via_header=False)
        return None

    def challenge(self) -> str:
        """The WWW-Authenticate value: basic makes a browser ask for credentials itself."""
        return 'Basic realm="errorsift", charset="UTF-8"' if self.auth.basic else 'Bearer realm="errorsift"'

    # --- CSRF -----------------------------------------------------------------------------

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(24)

    @staticmethod
    def nonce_ok(nonce: str | None) -> bool:
        """A nonce we could have issued (token_urlsafe); anything else is replaced, never echoed."""
        if not nonce or not 16 <= len(nonce) <= 64:
            return False
        return nonce.replace("-", "").replace("_", "").isalnum() and nonce.isascii()

    def csrf_token(self, nonce: str) -> str:
        return f"{nonce}.{self._mac('csrf', nonce)}"

    def csrf_ok(self, cookie_nonce: str | None, submitted: str | None) -> bool:
        """The submitted token must be this cookie's nonce, signed by this server."""
        if not cookie_nonce or not submitted or not self.nonce_ok(cookie_nonce):
            return False
        nonce, _, mac = submitted.rpartition(".")
        return _same(nonce, cookie_nonce) and _same(mac, self._mac("csrf", nonce))
