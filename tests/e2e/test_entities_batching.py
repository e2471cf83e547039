"""Batching in the entities worker on the live stack (issue #12, item 2).

Articles that wait for the entities worker (paused while they are submitted) are taken in
batches once it resumes: the batched-articles counter of /metrics goes up, and every one
of them is stored with its own entities, as when it runs alone. The chaos tests
(test_chaos*.py) run with batching on as well: it is on by default (ENTITIES_BATCH_SIZE=8).
"""

import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import compose
from tests.e2e.test_metrics import scrape_inside, total, wait_status

pytestmark = pytest.mark.e2e

WAITING = 12  # articles queued for the paused entities worker
BATCHED = "newsflow_entities_batched_articles"


def batched_so_far() -> float:
    return total(scrape_inside(), BATCHED, f"{BATCHED}_total")


def test_articles_waiting_for_the_entities_worker_are_extracted_in_batches(
    api: httpx.Client, wait_final: Callable[..., dict[str, dict[str, Any]]]
) -> None:
    before = batched_so_far()
    workers = compose("ps", "-q", "entities").split()
    subprocess.run(["docker", "pause", *workers], check=True, capture_output=True)
    try:
        articles = [
            {
                "external_id": f"batch-{uuid.uuid4().hex}",
                "text": f"Dépêche {i} ({uuid.uuid4().hex[:6]}).\n\n"
                "Emmanuel Macron a reçu le chancelier Olaf Scholz à l'Élysée, à Paris, "
                "pour parler de la Banque centrale européenne et de l'OTAN.",
            }
            for i in range(WAITING)
        ]
        answer = api.post("/articles/batch", json={"articles": articles})
        assert answer.status_code == 202, answer.text
        ids = answer.json()["ids"]
        wait_status(api, ids, "language_detected")  # all waiting for the paused stage
    finally:
        subprocess.run(["docker", "unpause", *workers], check=True, capture_output=True)
    final = wait_final(ids)
    for article in final.values():
        assert article["status"] == "stored", article
        labels = {e["label"]: e["text"] for e in article["entities"]}
        assert labels.get("PER") and labels.get("LOC") and labels.get("ORG"), article
    # At least one batch of two or more: the worker took them together, not one by one.
    assert batched_so_far() - before >= 2
