"""Stable article ids: the same article submitted twice gets the same id."""

import hashlib
import re
import unicodedata
import uuid

_WS = re.compile(r"\s+")


def normalise_for_id(text: str) -> str:
    """Unicode NFC and collapsed whitespace: cosmetic differences do not change the id."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def article_id(text: str, external_id: str | None = None) -> str:
    """32 hex chars of SHA-256 over the external id if given, else the normalised text."""
    key = (
        f"ext:{external_id.strip()}"
        if external_id and external_id.strip()
        else (f"txt:{normalise_for_id(text)}")
    )
    return sha256_hex(key)[:32]


def task_id(article_id: str) -> str:
    """A Celery task id that carries the article id, so every log line can name it."""
    return f"{article_id}-{uuid.uuid4().hex[:12]}"
