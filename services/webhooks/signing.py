"""Webhook signatures, Stripe-style: `Newsflow-Signature: t=<unix time>,v1=<hex>` where
hex = HMAC-SHA256(secret, "<t>.<body>"). The time is signed with the body, so a captured
delivery cannot be replayed later than the receiver's tolerance (5 minutes suggested);
each attempt is signed afresh with its own time.

A receiver verifies with `verify` (or the few lines of it shown in the README).
"""

import hashlib
import hmac

SIGNATURE_HEADER = "Newsflow-Signature"
VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Newsflow-Signature header's value for `body` sent at `timestamp`."""
    return f"t={timestamp},{VERSION}={signature(secret, timestamp, body)}"


def parse_header(header: str) -> tuple[int, list[str]] | None:
    """(t, every v1 signature) of a header value; None when malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            if not value.isdigit():
                return None
            timestamp = int(value)
        elif key == VERSION:
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify(
    secret: str, body: bytes, header: str, now: float, tolerance_s: int = DEFAULT_TOLERANCE_S
) -> bool:
    """Whether `header` signs exactly `body` with `secret`, at a time within `tolerance_s`
    of `now` (either way: clocks differ)."""
    parsed = parse_header(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    # Every candidate compared, in constant time (a rotated secret may send two).
    return any([hmac.compare_digest(expected, candidate) for candidate in signatures])
