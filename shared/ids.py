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


_TASK_ID_RE = re.compile(r"^([0-9a-f]{32})-[0-9a-f]+$")


def article_id_of_task(task_id_: str) -> str | None:
    """The article id a task_id() carries, or None for a task id of another shape."""
    match = _TASK_ID_RE.match(task_id_)
    return match.group(1) if match else None
