"""The web page's session: a signed cookie, sign-in with an API key, CSRF tokens.

The cookie (`newsflow_session`, Path=/web, HttpOnly, SameSite=Strict, Secure over HTTPS)
holds a signed (itsdangerous, WEB_SESSION_SECRET) and timed (WEB_SESSION_MAX_AGE_SECONDS)
JSON object: `csrf`, a random token, and once signed in `key`, the key_id (a SHA-256
prefix) of the API key that was checked at sign-in, never the key itself. Each request
asks the Authenticator whether that key is still configured, so removing a key from
API_KEYS ends its sessions too. Every form that changes something carries the session's
CSRF token, compared in constant time.
"""

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.gateway.security import Authenticator, Caller, Guard, key_id
from shared.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "newsflow_session"
COOKIE_PATH = "/web"
CSRF_FIELD = "csrf_token"
_SALT = "newsflow.web.session"


class SignInRequired(Exception):
    """A page that needs a signed-in session was asked for without one."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A change request without this session's CSRF token."""


@dataclass
class WebSession:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    key: str | None = None
    flash: str | None = None
    # Whether the cookie must be written back with this response.
    dirty: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"csrf": self.csrf}
        if self.key:
            data["key"] = self.key
        if self.flash:
            data["flash"] = self.flash
        return data

    def pop_flash(self) -> str | None:
        message, self.flash = self.flash, None
        if message:
            self.dirty = True
        return message


class Sessions:
    """Reads and writes the session cookie; one per app (app.state.web_sessions)."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.web_session_secret.get_secret_value()
        if not secret:
            secret = secrets.token_urlsafe(32)
            log.warning(
                "WEB_SESSION_SECRET is empty: a random one was generated; web sign-ins do "
                "not survive a gateway restart and are not shared between replicas"
            )
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age = settings.web_session_max_age_seconds

    def load(self, request: Request) -> WebSession:
        """The request's session; a fresh one (to be written) when there is none or it is
        not ours, was tampered with, or has expired."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._serializer.loads(raw, max_age=self.max_age)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                key = data.get("key")
                flash = data.get("flash")
                return WebSession(
                    csrf=data["csrf"],
                    key=key if isinstance(key, str) else None,
                    flash=flash if isinstance(flash, str) else None,
                )
        return WebSession(dirty=True)

    def save(self, request: Request, response: Response, session: WebSession) -> None:
        if not session.dirty:
            return
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(session.to_dict()),
            max_age=self.max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


def guard_of(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard


def caller_of(request: Request, session: WebSession) -> Caller | None:
    """The signed-in caller, if the session's key is still configured."""
    if session.key is None:
        return None
    return guard_of(request).authenticator.caller_for(session.key)


def sign_in(authenticator: Authenticator, session: WebSession, typed_key: str) -> None:
    """Check the key as the API does (Authenticator.check raises ApiError 401/403), then
    start a new session: a fresh CSRF token, the key's id."""
    # The API receives keys in HTTP headers, which arrive as Latin-1 text; a form field is
    # decoded UTF-8: turn it into what the header would have carried.
    authenticator.check(typed_key.encode("utf-8").decode("latin-1"))
    session.key = key_id(typed_key)  # the id of the configured key's own text
    session.csrf = secrets.token_urlsafe(32)
    session.dirty = True


def sign_out(session: WebSession) -> None:
    session.key = None
    session.csrf = secrets.token_urlsafe(32)
    session.dirty = True


def check_csrf(session: WebSession, presented: str | None) -> None:
    """CsrfRefused (403) unless `presented` is this session's token (constant time)."""
    if not presented or not hmac.compare_digest(
        presented.encode("utf-8", "replace"), session.csrf.encode()
    ):
        raise CsrfRefused()
