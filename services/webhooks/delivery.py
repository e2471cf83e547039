"""One webhook delivery attempt, and what comes after it.

- The body is the event as JSON (`payload`), serialised the same way at every attempt;
  each attempt is signed afresh (signing.py) with its own time.
- It is POSTed to the address the SSRF guard checked (shared/urlguard.py), never to a
  fresh DNS answer; no redirect is followed, no proxy is used.
- A 2xx answer delivers it. Anything else (another status, a refused connection, a
  timeout, an address the guard refuses now) is a failed attempt: retried after
  `retry_delay` (exponential, capped, with a little jitter that only shortens it) until
  WEBHOOK_MAX_ATTEMPTS attempts, then the delivery is `failed`.
"""

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.webhooks.signing import SIGNATURE_HEADER, sign
from shared.db.webhooks import DELIVERED, FAILED, PENDING, RETRYING
from shared.events import Event
from shared.urlguard import Target, pin

USER_AGENT = "Newsflow-Webhooks/1"
# At most this many of a host's addresses are tried in one attempt (one timeout each).
MAX_ADDRESSES = 2
# A scheduled retry may arrive this much before its time (another container's clock).
EARLY_S = 2.0
ERROR_CHARS = 500


def payload(delivery_id: str, event_id: str, event: Event) -> dict[str, Any]:
    """What is POSTed: the delivery's id (the same at every attempt: receivers deduplicate
    on it), the event's name and id, and the event itself (as GET /events sends it)."""
    return {
        "id": delivery_id,
        "event": event.status,
        "event_id": event_id,
        "data": event.model_dump(mode="json"),
    }


def body_of(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def headers_for(
    delivery_id: str, event: str, secret: str, body: bytes, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Newsflow-Event": event,
        "Newsflow-Delivery": delivery_id,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def retry_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (from 1): base, 2 x base,
    4 x base, ... never more than `cap_s`."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return float(min(cap_s, base_s * 2.0 ** min(attempt - 1, 62)))


def jittered(
    delay_s: float, rng: Callable[[], float] = random.random, spread: float = 0.1
) -> float:
    """`delay_s` shortened by up to `spread` of it, at random: receivers coming back are
    not hit by every retry at the same instant, and no wait outgrows the schedule."""
    return delay_s * (1 - spread * rng())


def schedule(max_attempts: int, base_s: float, cap_s: float) -> list[float]:
    """The waits between the attempts of a delivery that always fails (before jitter)."""
    return [retry_delay(n, base_s, cap_s) for n in range(1, max_attempts)]


def next_step(
    attempt: int, ok: bool, max_attempts: int, base_s: float, cap_s: float
) -> tuple[str, float | None]:
    """(the delivery's status after attempt number `attempt`, the wait before the next
    attempt or None when there is none)."""
    if ok:
        return DELIVERED, None
    if attempt >= max_attempts:
        return FAILED, None
    return RETRYING, retry_delay(attempt, base_s, cap_s)


def due(status: str, next_attempt_at: datetime | None, now: datetime) -> bool:
    """Whether a delivery message arriving `now` should make an attempt: not for a
    finished delivery, nor for a retry scheduled later (a duplicate message)."""
    if status == PENDING:
        return True
    if status != RETRYING:
        return False
    return next_attempt_at is None or next_attempt_at <= now + timedelta(seconds=EARLY_S)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:ERROR_CHARS]


def post(
    target: Target,
    body: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    transport: httpx.BaseTransport | None = None,
) -> Attempt:
    """POST `body` to the target's checked addresses in turn, until one answers."""
    failure = Attempt(ok=False, error="no address")
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with httpx.Client(
        timeout=timeout_s, follow_redirects=False, trust_env=False, transport=transport
    ) as client:
        for address in target.addresses[:MAX_ADDRESSES]:
            try:
                response = client.post(
                    pin(target, address),
                    content=body,
                    headers={**headers, "Host": target.host_header},
                    extensions=extensions,
                )
            except httpx.TransportError as exc:
                failure = Attempt(ok=False, error=describe(exc))
                continue
            code = response.status_code
            if 200 <= code < 300:
                return Attempt(ok=True, status_code=code)
            return Attempt(ok=False, status_code=code, error=f"HTTP {code}")
    return failure
