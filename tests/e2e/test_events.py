"""Live events end to end: Server-Sent Events from the gateway while the stack processes
articles (GET /articles/{id}/events and GET /events, Last-Event-ID, the status filter)."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.e2e

RUN = ["queued", "ingested", "language_detected", "entities_extracted", "stored"]
STAGES = ["gateway", "ingest", "language", "entities", "storage"]
# Pings come every 15 s: a read never waits longer unless the gateway is gone.
STREAM_TIMEOUT = httpx.Timeout(30.0, read=60.0)
SETTLE_S = 300

WaitFinal = Callable[..., dict[str, dict[str, Any]]]


def parse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """SSE messages ({id, event, data}) from a response's lines; comments (pings) skipped."""
    message: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "data" in message:
                yield message
            message = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            message["data"] = json.loads(value)
        elif name in {"id", "event"}:
            message[name] = value


def read_until(
    response: httpx.Response, done: Callable[[list[dict[str, Any]]], bool], timeout: float
) -> list[dict[str, Any]]:
    """Messages until `done(messages)` or the stream closes; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    for message in parse(response.iter_lines()):
        messages.append(message)
        if done(messages):
            return messages
        assert time.monotonic() < deadline, f"timed out; got {messages}"
    return messages


def seed_text(tag: str) -> str:
    seed = sorted(SEEDS.glob("*.txt"))[0].read_text(encoding="utf-8")
    return f"Dépêche {tag} des événements en direct.\n\n{seed}"


def submit(api: httpx.Client, tag: str) -> str:
    answer = api.post("/articles", json={"text": seed_text(tag), "external_id": f"events-{tag}"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def article_events(api: httpx.Client, article: str, **headers: str) -> list[dict[str, Any]]:
    with api.stream(
        "GET", f"/articles/{article}/events", headers=headers, timeout=STREAM_TIMEOUT
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        # The gateway closes the stream after the final event.
        return read_until(response, lambda _: False, SETTLE_S)


def test_sse_follows_a_seed_to_stored(api: httpx.Client) -> None:
    article = submit(api, uuid.uuid4().hex)
    messages = article_events(api, article)
    assert [m["data"]["status"] for m in messages] == RUN
    assert [m["data"]["stage"] for m in messages] == STAGES
    assert all(m["data"]["article_id"] == article for m in messages)
    ids = [tuple(map(int, m["id"].split("-"))) for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(datetime.fromisoformat(m["data"]["at"]).tzinfo is not None for m in messages)
    assert api.get(f"/articles/{article}").json()["status"] == "stored"

    # Reconnecting after the final event is answered 204: EventSource stops there.
    again = api.get(f"/articles/{article}/events", headers={"Last-Event-ID": messages[-1]["id"]})
    assert again.status_code == 204
    # ... and after an earlier one, the stream resumes right after it.
    resumed = article_events(api, article, **{"Last-Event-ID": messages[1]["id"]})
    assert [m["id"] for m in resumed] == [m["id"] for m in messages[2:]]


def test_all_events_filtered_by_status(api: httpx.Client) -> None:
    tag = uuid.uuid4().hex
    with api.stream(
        "GET", "/events", params={"status": "stored"}, timeout=STREAM_TIMEOUT
    ) as response:
        assert response.status_code == 200
        # Submitted once the stream is open: GET /events starts from now.
        ids = {submit(api, f"{tag}-{n}") for n in range(2)}
        messages = read_until(
            response,
            lambda got: ids <= {m["data"]["article_id"] for m in got},
            SETTLE_S,
        )
    assert {m["data"]["status"] for m in messages} == {"stored"}
    assert ids <= {m["data"]["article_id"] for m in messages}


def test_last_event_id_resumes_the_stream_of_every_article(
    api: httpx.Client, wait_final: WaitFinal
) -> None:
    article = submit(api, uuid.uuid4().hex)
    wait_final([article])
    own = article_events(api, article)
    after = own[1]["id"]  # its `ingested`

    with api.stream(
        "GET", "/events", headers={"Last-Event-ID": after}, timeout=STREAM_TIMEOUT
    ) as response:
        messages = read_until(
            response,
            lambda got: any(
                m["data"]["article_id"] == article and m["data"]["status"] == "stored" for m in got
            ),
            SETTLE_S,
        )
    mine = [m for m in messages if m["data"]["article_id"] == article]
    assert [m["id"] for m in mine] == [m["id"] for m in own[2:]]  # nothing missed, no repeat
    first = tuple(map(int, after.split("-")))
    assert all(tuple(map(int, m["id"].split("-"))) > first for m in messages)

    # With a filter too: only its `stored`, still resumed after the id.
    with api.stream(
        "GET",
        "/events",
        params={"status": ["stored", "failed"]},
        headers={"Last-Event-ID": own[0]["id"]},
        timeout=STREAM_TIMEOUT,
    ) as response:
        filtered = read_until(
            response, lambda got: any(m["data"]["article_id"] == article for m in got), SETTLE_S
        )
    assert {m["data"]["status"] for m in filtered} <= {"stored", "failed"}
    assert [m["id"] for m in filtered if m["data"]["article_id"] == article] == [own[-1]["id"]]
