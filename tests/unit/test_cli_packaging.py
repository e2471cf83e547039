"""`pip install .` is the command line only; the images get what every service shares
(the `server` extra) plus their own extra, as before the command line existed."""

import importlib.util
import re
import subprocess
import sys
import tomllib
from types import ModuleType

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SERVICES = ("gateway", "ingest", "language", "entities", "storage")
SERVER_ONLY = ("celery", "redis", "pydantic", "fastapi", "uvicorn", "sqlalchemy", "spacy")


def name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return match.group().lower()


def requirements_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reqs", ROOT / "docker" / "requirements.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_base_install_is_the_command_line_and_nothing_of_the_server() -> None:
    project = PYPROJECT["project"]
    assert {name(r) for r in project["dependencies"]} == {"httpx", "typer", "rich"}
    assert project["scripts"] == {"newsflow": "cli.main:app"}
    assert PYPROJECT["tool"]["setuptools"]["packages"] == ["cli"]


def test_the_server_extra_holds_what_every_service_shares() -> None:
    server = {name(r) for r in PYPROJECT["project"]["optional-dependencies"]["server"]}
    assert server == {"celery", "redis", "pydantic", "pydantic-settings"}


def test_images_install_the_server_extra_and_their_own_not_the_cli() -> None:
    dockerfile = (ROOT / "services" / "Dockerfile").read_text()
    assert "requirements.py /tmp/build/pyproject.toml server > /tmp/build/base.txt" in dockerfile
    assert '/tmp/build/pyproject.toml "$SERVICE" > /tmp/build/extra.txt' in dockerfile
    requirements = requirements_module().requirements
    for service in (*SERVICES, "flower"):
        image = {name(r) for r in requirements(str(ROOT / "pyproject.toml"), ["server", service])}
        assert {"celery", "pydantic-settings"} <= image, service
        assert not {"typer", "rich", "httpx"} & image, service


def test_the_dev_venv_installs_the_server_and_every_service() -> None:
    # flower too (the monitoring profile's image), so that `make constraints` pins it.
    makefile = (ROOT / "Makefile").read_text()
    assert '-e ".[server,gateway,ingest,language,entities,storage,webhooks,flower,dev]"' in makefile


def test_the_command_line_imports_no_server_code() -> None:
    forbidden = (*SERVER_ONLY, "shared", "services")
    probe = (
        "import sys, cli.main; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
