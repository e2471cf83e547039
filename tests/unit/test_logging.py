import json
import logging

from shared.ids import task_id
from shared.logging import JsonFormatter, article_context


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": msg})
    rec.__dict__.update(extra)
    return rec


def test_article_id_from_context() -> None:
    with article_context("a" * 32):
        line = json.loads(JsonFormatter("ingest").format(record("hello", chars=12)))
    assert line["article_id"] == "a" * 32
    assert (line["service"], line["msg"], line["chars"]) == ("ingest", "hello", 12)


def test_celery_lines_name_the_article_and_drop_its_text() -> None:
    tid = task_id("b" * 32)
    data = {"id": tid, "name": "newsflow.ingest.process", "args": "[{'text': 'long article'}]"}
    line = json.loads(JsonFormatter("ingest").format(record("Task received", data=data)))
    assert line["article_id"] == "b" * 32
    assert line["task_id"] == tid
    assert "long article" not in json.dumps(line)


def test_no_article_outside_a_task() -> None:
    line = json.loads(JsonFormatter("ingest").format(record("worker ready")))
    assert line["article_id"] is None


def test_worker_start_up_is_logged_before_celery_sets_up_logging() -> None:
    # worker_init (where the entities worker loads its models and logs their RSS) comes
    # before Celery's setup_logging: the app configures logging on worker_init as well.
    from celery import signals

    from shared.celery_app import create_celery_app
    from shared.settings import get_settings

    create_celery_app("probe")
    handlers = [
        receiver
        for _, receiver in signals.worker_init.receivers
        if "create_celery_app" in getattr(receiver, "__qualname__", "")
    ]
    assert handlers, "no worker_init handler from create_celery_app"
    settings = get_settings()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        root.handlers[:] = []
        root.setLevel(logging.WARNING)
        handlers[-1]()
        assert len(root.handlers) == 1
        formatter = root.handlers[0].formatter
        assert isinstance(formatter, JsonFormatter) is settings.log_json
        assert root.level == logging.getLevelName(settings.log_level.upper())
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
