"""Real Redis and PostgreSQL from the project's compose file, started by pytest-docker."""

import os
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from shared.db.session import make_engine, make_session_factory
from shared.envelope import ArticleEnvelope
from shared.settings import get_settings


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return f"nf-it-{os.getpid()}"


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up -d redis postgres"]


def _wait(check: Any, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            check()
            return
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.5)
    raise RuntimeError(f"{what} did not come up: {last}")


@pytest.fixture(scope="session")
def redis_url(docker_ip: str, docker_services: Any) -> str:
    port = docker_services.port_for("redis", 6379)
    # DB 1: nothing else in the project uses it.
    url = f"redis://:{os.environ['REDIS_PASSWORD']}@{docker_ip}:{port}/1"
    _wait(lambda: redis.Redis.from_url(url).ping(), "redis")
    return url


@pytest.fixture(scope="session")
def pg_url(docker_ip: str, docker_services: Any) -> str:
    """An empty database (no tables) on the compose file's PostgreSQL."""
    port = docker_services.port_for("postgres", 5432)
    user, password = os.environ["POSTGRES_USER"], os.environ["POSTGRES_PASSWORD"]
    admin = f"postgresql://{user}:{password}@{docker_ip}:{port}/postgres"

    def create() -> None:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP DATABASE IF EXISTS newsflow_it")
            conn.execute("CREATE DATABASE newsflow_it")

    _wait(create, "postgres")
    return f"postgresql+psycopg://{user}:{password}@{docker_ip}:{port}/newsflow_it"


@pytest.fixture()
def stack_env(
    redis_url: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Point shared.settings at the test Redis and PostgreSQL for one test."""
    host_port = pg_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    env = {
        "REDIS_URL": redis_url,
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": port,
        "POSTGRES_DB": "newsflow_it",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def engine(pg_url: str) -> Iterator[Engine]:
    """The test database, migrated to head, for one test module."""
    from services.storage import migrate

    migrate.upgrade(pg_url)
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.fixture()
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the migrated test database, emptied for this test."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE articles CASCADE"))
    return make_session_factory(engine)


def store(sessions: sessionmaker[Session], envelope: ArticleEnvelope) -> None:
    from services.storage.repository import upsert_article

    with sessions.begin() as session:
        upsert_article(session, envelope)
