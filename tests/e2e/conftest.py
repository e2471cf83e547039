"""The whole compose stack, built and started by pytest-docker, driven over HTTP."""

import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import ROOT, SEEDS, free_port

FINAL = {"stored", "failed"}
# The e2e stack's only API key (the `api` client sends it).
API_KEY = secrets.token_urlsafe(24)

# The production timing scaled down so the chaos tests settle in minutes: Redis hands a
# dead worker's task to another after VISIBILITY_TIMEOUT, still above every time limit.
# The limits keep a wide margin over any normal article even on a saturated machine
# (a seed-sized article takes about 0.2 s in spaCy idle): load must never become failure.
# The poison article of test_chaos is refused by length (ENTITIES_MAX_CHARS), which does
# not depend on the machine's speed.
CHAOS_TIMING = {
    "VISIBILITY_TIMEOUT": "60",
    "TASK_TIME_LIMIT": "45",
    "TASK_SOFT_TIME_LIMIT": "40",
    "ENTITIES_TIME_LIMIT": "45",
    "ENTITIES_SOFT_TIME_LIMIT": "40",
    "ENTITIES_MAX_CHARS": "50000",
    "RETRY_BACKOFF_MAX": "20",
    "MAX_RETRIES": "12",
}

# Webhooks in the test stack: the receiver (tests/compose.test.yml) is a container on the
# compose network, a private address, so the gateway and the webhooks worker allow those;
# retries come quickly (1, 2, 4, 8, 8, ... s) so a receiver that was down is caught up
# within seconds of coming back, and give up only after about 8 minutes.
WEBHOOK_RECEIVER_SECRET = secrets.token_urlsafe(24)
WEBHOOK_SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    "WEBHOOK_BACKOFF_BASE_SECONDS": "1",
    "WEBHOOK_BACKOFF_MAX_SECONDS": "8",
    "WEBHOOK_TIMEOUT_SECONDS": "5",
    "WEBHOOK_MAX_ATTEMPTS": "60",
    "WEBHOOK_RECEIVER_SECRET": WEBHOOK_RECEIVER_SECRET,
}


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return f"nf-e2e-{os.getpid()}"


@pytest.fixture(scope="session")
def docker_setup(docker_compose_project_name: str, docker_compose_file: list[str]) -> list[str]:
    # Set before compose runs: the stack's gateway gets a free host port, and
    # docker/compose.sh (used below to scale and to wait) finds this project.
    os.environ["GATEWAY_PORT"] = str(free_port())
    os.environ["COMPOSE_PROJECT_NAME"] = docker_compose_project_name
    os.environ["COMPOSE_FILE"] = os.pathsep.join(docker_compose_file)
    os.environ.update(CHAOS_TIMING)
    os.environ.update(WEBHOOK_SETTINGS)
    os.environ["API_KEYS"] = API_KEY
    # Counted on every write (the Redis script runs), never reached by the suite's volume;
    # the 429 itself is tested against real Redis in tests/integration/test_rate_limit.py.
    os.environ["RATE_LIMIT_WRITES_PER_MINUTE"] = "100000"
    return ["up -d --build"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    # With the profiles: Flower and Prometheus, and test_web's browser, too, when a test
    # started them (compose does not count an inactive profile's containers as orphans).
    return ["--profile monitoring --profile browser down -v --remove-orphans"]


def compose(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(ROOT / "docker" / "compose.sh"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"compose {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def wait_healthy(timeout: int = 600) -> None:
    done = subprocess.run(
        [str(ROOT / "docker" / "wait-healthy.sh"), str(timeout)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"stack not healthy:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def stack(docker_services: Any) -> Any:
    wait_healthy()
    return docker_services


@pytest.fixture(scope="session")
def api(stack: Any, docker_ip: str) -> Iterator[httpx.Client]:
    port = stack.port_for("gateway", 8000)
    with httpx.Client(
        base_url=f"http://{docker_ip}:{port}", timeout=30, headers={"X-API-Key": API_KEY}
    ) as client:
        yield client


def pg_dsn(docker_ip: str = "127.0.0.1") -> str:
    """The stack's PostgreSQL, asked afresh: a restarted container gets a new host port."""
    port = compose("port", "postgres", "5432").strip().rsplit(":", 1)[-1]
    return (
        f"postgresql://{os.environ['POSTGRES_USER']}:{os.environ['POSTGRES_PASSWORD']}"
        f"@{docker_ip}:{port}/{os.environ['POSTGRES_DB']}"
    )


@pytest.fixture()
def pg(stack: Any, docker_ip: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_dsn(docker_ip), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def wait_final(api: httpx.Client) -> Callable[..., dict[str, dict[str, Any]]]:
    """Poll GET /articles/{id} until every id is stored or failed."""

    def wait(ids: list[str], timeout: float = 300) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        done: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline and len(done) < len(set(ids)):
            for aid in set(ids) - set(done):
                answer = api.get(f"/articles/{aid}")
                assert answer.status_code == 200, answer.text  # never 404 once accepted
                if answer.json()["status"] in FINAL:
                    done[aid] = answer.json()
            time.sleep(0.5)
        missing = set(ids) - set(done)
        assert not missing, f"{len(missing)} articles not final after {timeout}s"
        return done

    return wait


@pytest.fixture(scope="session")
def seeds(
    api: httpx.Client, wait_final: Callable[..., dict[str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """The seed files submitted as text/plain, each a new article (202, queued), and
    followed until final; by file name. Once per session: test_pipeline checks the seeds
    are new when submitted and `duplicate_of` nobody, and test_cli submits them again."""
    files = sorted(SEEDS.glob("*.txt"))
    ids = []
    for path in files:
        answer = api.post(
            "/articles",
            content=path.read_text(encoding="utf-8").encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "queued"
        ids.append(answer.json()["id"])
    final = wait_final(ids)
    return {path.name: final[aid] for path, aid in zip(files, ids, strict=True)}
