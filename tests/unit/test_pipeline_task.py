"""The base task's failure paths that need no live backend: Redis and the broker are
unreachable here on purpose (port 9 on loopback refuses at once)."""

from typing import Any

import pytest
import redis
from celery import Celery
from celery.exceptions import Reject

from shared.pipeline import PipelineTask, backoff_seconds, failure_reason
from shared.status import StatusStore

DEAD = "redis://127.0.0.1:9/0"


def test_backoff_is_jittered_and_capped() -> None:
    for retries in range(12):
        for _ in range(20):
            assert 0 <= backoff_seconds(retries, cap=60) <= min(60, 2**retries)


def test_failure_reason_names_the_error_in_one_line() -> None:
    assert failure_reason(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert failure_reason(KeyError()) == "KeyError"
    assert len(failure_reason(RuntimeError("x" * 2000))) == 500


def test_retry_that_cannot_reach_the_broker_hands_the_message_back() -> None:
    """Celery rejects WITHOUT requeue when it cannot publish a retry: that would lose the
    article during a Redis restart. The task must hand the message back instead."""
    app = Celery("test", broker=DEAD)
    app.conf.task_publish_retry = False

    class Stage(PipelineTask):
        stage = "test"

    @app.task(bind=True, base=Stage, name="test.flaky")
    def flaky(self: Stage, message: dict[str, Any]) -> None:
        raise AssertionError("not reached: counting the delivery already fails")

    flaky._status = StatusStore(redis.Redis.from_url(DEAD, socket_connect_timeout=1), 60)
    # As the worker runs it (not called directly, not eager), so retry() really publishes.
    flaky.push_request(
        retries=0,
        is_eager=False,
        called_directly=False,
        id="t-1",
        args=[{"id": "a" * 32}],
        kwargs={},
        delivery_info={},
    )
    try:
        with pytest.raises(Reject) as rejected:
            flaky({"id": "a" * 32})
    finally:
        flaky.pop_request()
    assert rejected.value.requeue is True
