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
