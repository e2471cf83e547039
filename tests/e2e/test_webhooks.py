"""Webhooks end to end: the receiver container of the test stack (tests/compose.test.yml,
tests/e2e/webhook_receiver.py) gets signed deliveries and verifies them on its own; then it
is stopped while articles are stored, and every delivery still arrives once it is back.
The chaos test prints its delivery figures (the issue's closing note quotes them).

WEBHOOK_SETTINGS in conftest.py: retries after 1, 2, 4, 8, 8, ... s, 60 attempts.
"""

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import WEBHOOK_RECEIVER_SECRET, compose, wait_healthy
from tests.e2e.test_chaos import articles, submit

pytestmark = pytest.mark.e2e

RECEIVER = "http://webhook-receiver:8080"
BATCH = int(os.environ.get("WEBHOOK_CHAOS_BATCH", "20"))
DOWN_S = float(os.environ.get("WEBHOOK_CHAOS_DOWN_S", "30"))
SETTLE_S = 300

WaitFinal = Callable[..., dict[str, dict[str, Any]]]
Register = Callable[..., dict[str, Any]]


def received(path: str) -> list[dict[str, Any]]:
    """What the receiver recorded for `path` (read inside its container)."""
    out = compose(
        "exec", "-T", "webhook-receiver", "sh", "-c", "cat /tmp/received.jsonl 2>/dev/null || true"
    )
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [r for r in records if r["path"] == path]


def wait_until(check: Callable[[], Any], what: str, timeout: float = SETTLE_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)
    return value


def deliveries(api: httpx.Client, webhook_id: str) -> dict[str, Any]:
    answer = api.get(f"/webhooks/{webhook_id}/deliveries", params={"limit": 500})
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


@pytest.fixture()
def register(api: httpx.Client) -> Iterator[Register]:
    """Register webhooks to the receiver, each under a path of its own; deleted afterwards,
    so that later tests' articles make no deliveries."""
    made: list[str] = []

    def make(events: list[str] | None = None) -> dict[str, Any]:
        path = f"/hooks/{uuid.uuid4().hex}"
        answer = api.post(
            "/webhooks",
            json={
                "url": f"{RECEIVER}{path}",
                "events": events or ["stored", "failed"],
                "secret": WEBHOOK_RECEIVER_SECRET,
            },
        )
        assert answer.status_code == 201, answer.text
        hook: dict[str, Any] = {**answer.json(), "path": path}
        made.append(hook["id"])
        return hook

    yield make
    for webhook_id in made:
        api.delete(f"/webhooks/{webhook_id}")


def test_a_signed_delivery_reaches_the_receiver(
    api: httpx.Client, register: Register, wait_final: WaitFinal
) -> None:
    hook = register()
    assert hook["secret"] == WEBHOOK_RECEIVER_SECRET  # shown once, at registration
    listed = api.get("/webhooks").json()["items"]
    assert any(h["id"] == hook["id"] for h in listed)
    assert all("secret" not in h for h in listed)
    assert api.get(f"/webhooks/{hook['id']}").json()["url"] == f"{RECEIVER}{hook['path']}"

    [article] = submit(api, articles(f"hook-{uuid.uuid4().hex[:8]}", 1))
    assert wait_final([article])[article]["status"] == "stored"
    [record] = wait_until(lambda: received(hook["path"]), "the delivery at the receiver")
    assert record["valid"], record  # the receiver verified Newsflow-Signature itself
    assert (record["event"], record["status"], record["article_id"]) == (
        "stored",
        "stored",
        article,
    )
    assert record["delivery"] == record["body_id"]

    page = wait_until(
        lambda: (p := deliveries(api, hook["id"]))["counts"]["delivered"] == 1 and p,
        "the delivery recorded as delivered",
    )
    [delivery] = page["items"]
    assert delivery["id"] == record["delivery"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered",
        1,
        204,
    )

    assert api.delete(f"/webhooks/{hook['id']}").status_code == 204
    assert api.get(f"/webhooks/{hook['id']}").status_code == 404
    assert api.get(f"/webhooks/{hook['id']}/deliveries").status_code == 404


def test_deliveries_arrive_after_the_receiver_was_down(
    api: httpx.Client, register: Register, wait_final: WaitFinal
) -> None:
    hook = register()
    started = time.monotonic()
    compose("stop", "webhook-receiver")
    try:
        ids = submit(api, articles(f"hookdown-{uuid.uuid4().hex[:8]}", BATCH))
        # The pipeline does not wait for receivers: every article is stored meanwhile.
        final = wait_final(ids, timeout=SETTLE_S)
        assert {a["status"] for a in final.values()} == {"stored"}
        # Each delivery has failed at least once against the stopped receiver.
        wait_until(
            lambda: (
                (c := deliveries(api, hook["id"])["counts"])["deliveries"] == BATCH
                and c["retrying"] == BATCH
            ),
            "every delivery to fail once",
        )
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - started)))
        during = deliveries(api, hook["id"])["counts"]
        assert during["delivered"] == 0 and during["failed"] == 0
    finally:
        compose("start", "webhook-receiver")
    down_for = time.monotonic() - started
    wait_healthy(120)

    page = wait_until(
        lambda: (p := deliveries(api, hook["id"]))["counts"]["delivered"] == BATCH and p,
        "every delivery delivered",
    )
    settled = time.monotonic() - started
    counts = page["counts"]

    def all_received() -> list[dict[str, Any]]:
        got = received(hook["path"])
        return got if len({r["delivery"] for r in got}) >= BATCH else []

    records = wait_until(all_received, "every delivery at the receiver")
    distinct = {r["delivery"] for r in records}
    invalid = sum(1 for r in records if not r["valid"])
    print(
        f"\nWEBHOOKS receiver-down-{down_for:.0f}s: articles={BATCH} "
        f"deliveries={counts['deliveries']} sent={counts['attempts']} "
        f"retried={counts['retried']} retries={counts['attempts'] - counts['deliveries']} "
        f"delivered={counts['delivered']} failed={counts['failed']} "
        f"received={len(records)} distinct={len(distinct)} bad_signatures={invalid} "
        f"settled_in={settled:.1f}s"
    )
    assert counts["failed"] == 0
    assert counts["retried"] == BATCH  # every one needed a retry, and got there
    assert {r["article_id"] for r in records} == set(ids)
    assert distinct == {d["id"] for d in page["items"]}
    assert invalid == 0
