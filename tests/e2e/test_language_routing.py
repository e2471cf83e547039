"""One language in its own entities container (docker-compose.entities-split.yml): a German
article is processed by `entities-de`, a French one by the catch-all `entities`.

The split is applied to the session's stack for this module and undone afterwards. The
German worker runs a tiny pipeline built at its start (tests/compose.entities-de-model.yml),
whose name on the stored article says which container ran it; the containers' logs say it
too (Celery's "Task ...[<article id>-...] received" line)."""

import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import compose, wait_healthy

pytestmark = pytest.mark.e2e

SPLIT = ROOT / "docker-compose.entities-split.yml"
GERMAN_MODEL = ROOT / "tests" / "compose.entities-de-model.yml"
PROFILE = "entities-split"

GERMAN = (
    "Die Bundesregierung hat am Dienstag in Berlin einen neuen Haushaltsentwurf vorgelegt. "
    "Finanzminister und Kanzleramt verständigten sich nach wochenlangen Verhandlungen auf "
    "Einsparungen bei den Subventionen und höhere Investitionen in die Bahn.\n\n"
    "Die Opposition kritisierte den Entwurf scharf und kündigte an, im Bundestag dagegen zu "
    "stimmen. Wirtschaftsverbände begrüßten dagegen die geplanten Entlastungen für Unternehmen."
)
FRENCH = (
    "Le gouvernement a présenté mardi à Paris un nouveau projet de budget. Le ministre de "
    "l'Économie a défendu devant l'Assemblée nationale des économies sur les subventions et "
    "davantage d'investissements dans le rail.\n\n"
    "L'opposition a vivement critiqué le texte et annoncé qu'elle voterait contre. Les "
    "organisations patronales ont en revanche salué les allègements prévus pour les entreprises."
)


def service_logs(service: str) -> str:
    text = ""
    for container in compose("ps", "-q", service).split():
        done = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, check=True
        )
        text += done.stdout + done.stderr
    return text


def received(logs: str, article: str) -> bool:
    return (
        re.search(rf"Task newsflow\.entities\.extract\[{article}-[0-9a-f]+\] received", logs)
        is not None
    )


@pytest.fixture(scope="module")
def split_stack(stack: Any, docker_compose_file: list[str]) -> Iterator[None]:
    default_files = os.environ["COMPOSE_FILE"]
    # compose.sh and wait-healthy.sh read the files from COMPOSE_FILE, like `-f` each, and the
    # profiles from COMPOSE_PROFILES (entities-de is in the profile entities-split).
    os.environ["COMPOSE_FILE"] = os.pathsep.join(
        [*docker_compose_file, str(SPLIT), str(GERMAN_MODEL)]
    )
    os.environ["COMPOSE_PROFILES"] = PROFILE
    try:
        compose("up", "-d")  # recreates gateway, language and entities; adds entities-de
        wait_healthy(600)
        yield
    finally:
        compose("rm", "--stop", "--force", "entities-de")
        os.environ.pop("COMPOSE_PROFILES", None)
        os.environ["COMPOSE_FILE"] = default_files
        compose("up", "-d", "--remove-orphans")  # the stack's own configuration again
        wait_healthy(600)


def test_german_is_processed_by_entities_de_and_french_by_the_catch_all(
    api: httpx.Client,
    split_stack: None,
    wait_final: Callable[..., dict[str, dict[str, Any]]],
) -> None:
    run = uuid.uuid4().hex[:12]  # not duplicates of an earlier run's articles
    ids = {}
    for name, text in (("de", GERMAN), ("fr", FRENCH)):
        answer = api.post("/articles", json={"text": text, "external_id": f"routing-{name}-{run}"})
        assert answer.status_code == 202, answer.text
        ids[name] = answer.json()["id"]
    final = wait_final(list(ids.values()), timeout=300)

    german, french = final[ids["de"]], final[ids["fr"]]
    assert german["status"] == "stored", german.get("error")
    assert german["language"]["code"] == "de"
    assert german["entities_status"] == "extracted"
    assert german["model"]["name"] == "de_e2e_routing"  # only entities-de has this pipeline
    assert french["status"] == "stored", french.get("error")
    assert french["language"]["code"] == "fr"
    assert french["model"]["name"].startswith("fr_core_news")

    german_worker, catch_all = service_logs("entities-de"), service_logs("entities")
    assert received(german_worker, ids["de"]) and not received(german_worker, ids["fr"])
    assert received(catch_all, ids["fr"]) and not received(catch_all, ids["de"])

    # Both containers report under the entities stage; entities.de is counted there.
    health = api.get("/health/pipeline").json()
    [entities] = [s for s in health["stages"] if s["stage"] == "entities"]
    nodes = [w["node"] for w in entities["workers"]]
    assert any(n.startswith("entities-de@") for n in nodes), nodes
    assert any(n.startswith("entities@") for n in nodes), nodes
