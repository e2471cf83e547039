"""Fixtures shared by the Docker tiers: compose command, files and credentials."""

import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

# Credentials for the stacks the tests start; never the developer's .env.
os.environ.setdefault("POSTGRES_USER", "newsflow")
os.environ.setdefault("POSTGRES_DB", "newsflow")
os.environ.setdefault("POSTGRES_PASSWORD", secrets.token_urlsafe(16))
os.environ.setdefault("REDIS_PASSWORD", secrets.token_urlsafe(16))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def compose_command() -> str:
    """`docker compose` (v2) when installed, else `docker-compose` (v1)."""
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return "docker compose"
    if shutil.which("docker-compose"):
        return "docker-compose"
    pytest.fail("neither 'docker compose' nor 'docker-compose' is installed")


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    return compose_command()


@pytest.fixture(scope="session")
def docker_compose_file() -> list[str]:
    return [str(ROOT / "docker-compose.yml"), str(ROOT / "tests" / "compose.test.yml")]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    return ["down -v --remove-orphans"]
