"""Structured (JSON) logs with the article id on every line logged while handling an article."""

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from shared.ids import article_id_of_task

article_id_var: ContextVar[str | None] = ContextVar("article_id", default=None)

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "data"}


def _celery_fields(record: logging.LogRecord) -> dict[str, object]:
    """Celery's `data` extra repeats the task's arguments (whole articles): keep ids only."""
    data = getattr(record, "data", None)
    if not isinstance(data, dict):
        return {}
    fields: dict[str, object] = {"task_id": data.get("id"), "task": data.get("name")}
    if "runtime" in data:
        fields["runtime_s"] = round(float(data["runtime"]), 4)
    # Task ids carry the article id (shared.ids.task_id), so Celery's own lines
    # ("Task … received", "… succeeded") can be tied to the article too.
    article_id = article_id_of_task(str(data.get("id", "")))
    if article_id:
        fields["article_id"] = article_id
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "article_id": getattr(record, "article_id", None) or article_id_var.get(),
            "msg": record.getMessage(),
        }
        celery_fields = _celery_fields(record)
        if celery_fields.get("article_id") and not payload["article_id"]:
            payload["article_id"] = celery_fields["article_id"]
        payload.update({k: v for k, v in celery_fields.items() if k not in payload})
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if as_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn installs its own plain-text handlers; route them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


@contextmanager
def article_context(article_id: str | None) -> Iterator[None]:
    token = article_id_var.set(article_id)
    try:
        yield
    finally:
        article_id_var.reset(token)
