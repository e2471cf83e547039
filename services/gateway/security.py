"""API keys, the per-key write rate limit, and the security schemes shown in OpenAPI.

Any router gets the same rules with a dependency:

    router = APIRouter(dependencies=[Depends(require_write)])   # POST: key + rate limit
    @router.get("/x", dependencies=[Depends(require_read)])     # GET: key unless PUBLIC_READ

Keys come from API_KEYS (comma-separated). A presented key is hashed (SHA-256) and
compared with every configured key's hash in constant time (hmac.compare_digest, all
keys, no early exit). Keys are never logged nor stored: the rate limit counts per
key hash. With no key configured, every protected endpoint refuses (401/403).
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Any

import redis
from fastapi import Depends, FastAPI, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.errors import ApiError
from services.gateway.intake import check_params
from shared.settings import Settings

log = logging.getLogger(__name__)

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="An API key from API_KEYS.",
    auto_error=False,
)
BEARER = HTTPBearer(
    scheme_name="Bearer",
    description="An API key from API_KEYS, as `Authorization: Bearer <key>`.",
    auto_error=False,
)

RATE_LIMIT_PREFIX = "newsflow:ratelimit:writes:"
RATE_WINDOW_SECONDS = 60

# Fixed window per key hash, opened by the window's first request and closed by the
# key's expiry: atomic (one script), shared by every gateway replica, no clock needed.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


def key_id(key: str) -> str:
    """A stable, non-reversible name for a key (rate limit buckets, logs)."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the hash of the key presented (never the key)."""

    key_id: str


class Authenticator:
    def __init__(self, keys: list[str]) -> None:
        self._digests = [hashlib.sha256(key.encode("utf-8")).digest() for key in keys]
        self._key_ids = [key_id(key) for key in keys]

    def caller_for(self, known_id: str) -> Caller | None:
        """The caller of a key that was checked earlier (a web session holds its key_id, not
        the key): None once that key is no longer configured. Constant time, every key."""
        matched = False
        for kid in self._key_ids:
            matched |= hmac.compare_digest(kid.encode(), known_id.encode("utf-8", "replace"))
        return Caller(key_id=known_id) if matched else None

    @property
    def configured(self) -> bool:
        return bool(self._digests)

    def check(self, presented: str | None) -> Caller:
        if not presented:
            raise ApiError(
                401,
                ["header", "X-API-Key"],
                "an API key is required: send 'X-API-Key: <key>' or 'Authorization: Bearer <key>'",
                "missing_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # Latin-1 is how HTTP header bytes became this str: the same bytes come back.
        digest = hashlib.sha256(presented.encode("latin-1", "replace")).digest()
        matched = False
        for known in self._digests:  # every key, no early exit
            matched |= hmac.compare_digest(digest, known)
        if not matched:
            msg = (
                "the API key is not valid"
                if self.configured
                else "the API key is not valid: no key is configured on this server (API_KEYS)"
            )
            raise ApiError(403, ["header", "X-API-Key"], msg, "invalid_api_key")
        return Caller(key_id=key_id(presented))


class RateLimiter:
    """At most `per_minute` write requests per key in any window of 60 s (Redis)."""

    def __init__(self, client: "redis.Redis[Any]", per_minute: int) -> None:
        self.per_minute = per_minute
        self._hit = client.register_script(_HIT_SCRIPT)

    def hit(self, caller: Caller) -> None:
        if self.per_minute <= 0:
            return
        count, ttl = self._hit(keys=[RATE_LIMIT_PREFIX + caller.key_id], args=[RATE_WINDOW_SECONDS])
        if int(count) > self.per_minute:
            retry_after = max(int(ttl), 1)
            raise ApiError(
                429,
                [],
                f"rate limit exceeded: {self.per_minute} write requests per minute for this "
                f"API key; retry in {retry_after} s",
                "rate_limited",
                headers={"Retry-After": str(retry_after)},
            )


@dataclass(frozen=True)
class Guard:
    authenticator: Authenticator
    limiter: RateLimiter
    public_read: bool


def install(app: FastAPI, settings: Settings, client: "redis.Redis[Any]") -> Guard:
    """Put the guard on `app.state`, where the dependencies below find it."""
    guard = Guard(
        authenticator=Authenticator(settings.api_key_list()),
        limiter=RateLimiter(client, settings.rate_limit_writes_per_minute),
        public_read=settings.public_read,
    )
    if not guard.authenticator.configured:
        log.warning(
            "API_KEYS is empty: every write%s endpoint answers 401/403 until a key is set",
            "" if settings.public_read else " and read",
        )
    app.state.guard = guard
    return guard


def _guard(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard


def presented_key(
    api_key: Annotated[str | None, Security(API_KEY_HEADER)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> str | None:
    """X-API-Key wins over Authorization: Bearer when both are sent."""
    if api_key:
        return api_key
    return bearer.credentials if bearer else None


PresentedKey = Annotated[str | None, Depends(presented_key)]


def require_key(request: Request, key: PresentedKey) -> Caller:
    """A valid API key (401 without one, 403 with a wrong one); no rate limit, no I/O.

    Then no control character in the query or path parameters (422)."""
    caller = _guard(request).authenticator.check(key)
    check_params(request)
    return caller


async def charge_write(request: Request, caller: Caller) -> None:
    """Count one write against the caller's rate limit (429 beyond it)."""
    await run_in_threadpool(_guard(request).limiter.hit, caller)


async def require_write(request: Request, key: PresentedKey) -> Caller:
    """For write endpoints: a valid key, then one write counted (429 beyond the limit)."""
    caller = require_key(request, key)
    await charge_write(request, caller)
    return caller


def require_read(request: Request, key: PresentedKey) -> Caller | None:
    """For read endpoints: a valid key, unless PUBLIC_READ=true."""
    guard = _guard(request)
    caller = None if guard.public_read else guard.authenticator.check(key)
    check_params(request)
    return caller
