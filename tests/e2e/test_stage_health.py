"""A stage that cannot work says so. With the entities worker's model load hanging:
/health/pipeline names the stage within 60 s, its container is never healthy, the worker
exits non-zero so the restart policy tries again, and the article waiting for it is
stored once the stage is fixed."""

import json
import subprocess
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, SEEDS
from tests.e2e.conftest import compose, wait_healthy

pytestmark = pytest.mark.e2e

HANG_OVERLAY = ROOT / "tests" / "compose.entities-hang.yml"
NAMED_WITHIN_S = 60


def stages(api: httpx.Client) -> tuple[int, dict[str, dict[str, Any]]]:
    answer = api.get("/health/pipeline")
    return answer.status_code, {s["stage"]: s for s in answer.json()["stages"]}


def container_state(container: str) -> dict[str, Any]:
    done = subprocess.run(
        ["docker", "inspect", "--format", "{{json .State}}|{{.RestartCount}}", container],
        capture_output=True,
        text=True,
        check=True,
    )
    state, restarts = done.stdout.strip().rsplit("|", 1)
    return {**json.loads(state), "RestartCount": int(restarts)}


def test_pipeline_health_reports_every_stage_live(api: httpx.Client, stack: Any) -> None:
    code, by_stage = stages(api)
    assert code == 200, by_stage
    assert list(by_stage) == ["ingest", "language", "entities", "storage"]
    for stage in by_stage.values():
        assert stage["status"] == "ok", stage
        assert stage["live_workers"] >= 1
        assert all(w["processes_up"] >= 1 for w in stage["workers"])


def test_stage_that_cannot_start_is_named_and_unhealthy(
    api: httpx.Client, stack: Any, docker_compose_file: list[str]
) -> None:
    files = [flag for path in (*docker_compose_file, str(HANG_OVERLAY)) for flag in ("-f", path)]
    compose(*files, "up", "-d", "--no-deps", "entities")
    [container] = compose("ps", "-q", "entities").split()
    try:
        started = time.monotonic()
        seed = sorted(SEEDS.glob("*.txt"))[0].read_text(encoding="utf-8")
        text = f"Dépêche {uuid.uuid4().hex} du service santé.\n\n{seed}"  # not a duplicate
        accepted = api.post("/articles", json={"text": text, "external_id": "stage-health"})
        assert accepted.status_code in (200, 202), accepted.text
        article = accepted.json()["id"]

        code, entities = 200, {}
        while time.monotonic() - started < NAMED_WITHIN_S:
            code, by_stage = stages(api)
            entities = by_stage["entities"]
            if entities["status"] == "stuck":
                break
            time.sleep(1)
        named_after = time.monotonic() - started
        print(f"\nSTAGE HEALTH: entities named {entities['status']} after {named_after:.1f}s")
        assert entities["status"] == "stuck", entities
        assert code == 503
        assert entities["live_workers"] == 0 and entities["queue_depth"] >= 1
        assert "no worker can take tasks" in entities["reason"]
        assert by_stage["ingest"]["status"] == "ok"  # only the broken stage is named

        # Never healthy; the start-up deadline (90 s) ends the process non-zero and
        # the restart policy starts it again.
        seen: set[str] = set()
        deadline = time.monotonic() + 180
        state = container_state(container)
        while time.monotonic() < deadline:
            state = container_state(container)
            seen.add(state.get("Health", {}).get("Status", "none"))
            if state["RestartCount"] >= 1 and "unhealthy" in seen:
                break
            time.sleep(1)
        restarts = state["RestartCount"]
        print(f"STAGE HEALTH: container health seen {sorted(seen)}, {restarts} restarts")
        assert "healthy" not in seen
        assert "unhealthy" in seen
        assert state["RestartCount"] >= 1
        logs = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, check=False
        )
        assert "start-up took too long" in logs.stdout + logs.stderr
    finally:
        compose("up", "-d", "--no-deps", "entities")  # the stack's own configuration
        wait_healthy(600)

    # Nothing was lost: the waiting article goes on once the stage works again.
    deadline = time.monotonic() + 300
    while api.get(f"/articles/{article}").json()["status"] != "stored":
        assert time.monotonic() < deadline, "article not stored after the stage came back"
        time.sleep(1)
    code, by_stage = stages(api)
    assert by_stage["entities"]["status"] == "ok", by_stage["entities"]
