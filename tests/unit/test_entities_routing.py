"""Many languages in the entities stage: pipeline discovery under NER_MODELS_DIR, which
languages a worker serves and which queues it consumes, per-language queues chosen by the
language stage and the gateway's re-drive, and outbox entries that keep their queue.

Pipelines are tiny real spaCy pipelines (blank + an initialised `ner`) saved to tmp dirs.
"""

import gc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import spacy
from celery import Celery
from pydantic import ValidationError

from services.entities import extract
from services.entities.extract import ModelNotInstalledError
from services.entities.serving import (
    LanguageNotServedError,
    check_served,
    process_rss_bytes,
    served_models,
)
from services.entities.tasks import entities_impl
from services.gateway.service import redrive_queue
from services.language.tasks import entities_queue_for
from shared import outbox
from shared.envelope import ArticleEnvelope, ArticleInput, CleanArticle, LanguageResult, Paragraph
from shared.names import (
    QUEUE_ENTITIES,
    STAGE_ENTITIES,
    STAGE_LANGUAGE,
    TASK_ENTITIES,
    TASK_LANGUAGE,
    entities_queue,
    stage_queue_lists,
)
from shared.settings import Settings, discover_ner_models

LABELS = ("PER", "LOC", "ORG", "MISC")


def save_pipeline(path: Path, lang: str) -> Path:
    nlp = spacy.blank(lang)
    ner = nlp.add_pipe("ner")
    for label in LABELS:
        ner.add_label(label)
    nlp.initialize()
    nlp.meta["name"] = "newsflow_ner"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/ as shipped: de/ and fr/ pipelines, plus folders that are not pipelines."""
    root = tmp_path_factory.mktemp("models")
    save_pipeline(root / "de", "de")
    save_pipeline(root / "fr", "fr")
    (root / "ner").mkdir()  # the trainer's package: a config.cfg, but no pipeline
    (root / "ner" / "config.cfg").write_text("[training]\n")
    (root / "es").mkdir()  # half copied: no meta.json
    (root / "es" / "config.cfg").write_text("[nlp]\n")
    (root / "Deutsch").mkdir()
    (root / "__init__.py").write_text("")
    return root


def settings(models_dir: Path, **fields: Any) -> Settings:
    # No .env and no NER_MODELS pairs (default ru=natasha): only what the folder holds.
    fields.setdefault("ner_models", "")
    return Settings(_env_file=None, ner_models_dir=models_dir, **fields)  # type: ignore[call-arg]


def envelope(code: str, text: str = "Angela Merkel besuchte Berlin am Montag.") -> ArticleEnvelope:
    return ArticleEnvelope(
        id="a" * 32,
        received_at=datetime.now(UTC),
        input=ArticleInput(text=text),
        clean=CleanArticle(
            title=None,
            text=text,
            paragraphs=[Paragraph(start=0, end=len(text), index=0)],
            content_hash="h",
        ),
        language=LanguageResult(code=code, confidence=0.99, paragraphs=[], detector="test"),
    )


# --- discovery -------------------------------------------------------------------------


def test_every_pipeline_folder_serves_its_language(models_dir: Path) -> None:
    found = discover_ner_models(models_dir)
    assert found == {"de": str(models_dir / "de"), "fr": str(models_dir / "fr")}
    models = settings(models_dir).spacy_models()
    # fr/ replaces the default package; en keeps its package; de comes from its folder.
    assert models == {
        "fr": str(models_dir / "fr"),
        "en": "en_core_web_sm",
        "de": str(models_dir / "de"),
    }
    assert extract.resolve_model(models["de"]) == models["de"]  # loadable as given


def test_an_explicit_model_setting_wins_over_a_folder(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPACY_MODEL_FR", "fr_core_news_sm")
    assert settings(models_dir).spacy_models()["fr"] == "fr_core_news_sm"
    monkeypatch.setenv("SPACY_MODEL_FR", "")  # empty: not set
    assert settings(models_dir).spacy_models()["fr"] == str(models_dir / "fr")


def test_no_models_folder_leaves_the_configured_packages(tmp_path: Path) -> None:
    assert discover_ner_models(tmp_path / "absent") == {}
    assert settings(tmp_path / "absent").spacy_models() == {
        "fr": "fr_core_news_md",
        "en": "en_core_web_sm",
    }


def test_a_language_folder_added_later_is_found(tmp_path: Path) -> None:
    assert discover_ner_models(tmp_path) == {}
    save_pipeline(tmp_path / "it", "it")
    assert discover_ner_models(tmp_path) == {"it": str(tmp_path / "it")}


def test_the_default_models_dir_is_the_repo_models_folder() -> None:
    import shared

    assert Settings().ner_models_dir == Path(shared.__file__).resolve().parents[1] / "models"
    # The trainer's models/ner (config.cfg, no meta.json) is not a language.
    assert "ner" not in Settings().spacy_models()


# --- ENTITIES_LANGUAGES and the worker's queues --------------------------------------------


def test_all_serves_every_language_with_a_model_but_the_routed_ones(models_dir: Path) -> None:
    assert settings(models_dir).entities_served_languages() == {"fr", "en", "de"}
    catch_all = settings(models_dir, entities_routed_languages="de")
    assert catch_all.entities_served_languages() == {"fr", "en"}
    assert catch_all.entities_queues() == [QUEUE_ENTITIES]


def test_a_language_list_is_parsed_and_checked(models_dir: Path) -> None:
    assert settings(models_dir, entities_languages=" de, fr ").entities_served_languages() == {
        "de",
        "fr",
    }
    for bad in ("DE", "de,german", "", "all,de"):
        with pytest.raises(ValidationError):
            settings(models_dir, entities_languages=bad)
    with pytest.raises(ValidationError):
        settings(models_dir, entities_routed_languages="de,und")


@pytest.mark.parametrize(
    ("languages", "routed", "queues"),
    [
        ("all", "", ["entities"]),
        ("all", "de,es", ["entities"]),
        ("de", "de", ["entities.de"]),
        ("de,es", "de,es", ["entities.de", "entities.es"]),
        ("fr,en", "", ["entities"]),
        ("de,fr", "de", ["entities", "entities.de"]),
    ],
)
def test_a_worker_consumes_its_routed_languages_and_the_shared_queue(
    models_dir: Path, languages: str, routed: str, queues: list[str]
) -> None:
    config = settings(models_dir, entities_languages=languages, entities_routed_languages=routed)
    assert config.entities_queues() == queues


# --- queue names and routing -----------------------------------------------------------


def test_routed_languages_get_their_own_queue() -> None:
    assert entities_queue("de", {"de"}) == "entities.de"
    assert entities_queue("fr", {"de"}) == QUEUE_ENTITIES
    assert entities_queue("und", {"de"}) == QUEUE_ENTITIES
    lists = stage_queue_lists({"es", "de"})
    assert list(lists) == ["ingest", "language", "entities", "storage"]
    assert lists[STAGE_ENTITIES] == ["entities", "entities.de", "entities.es"]
    assert stage_queue_lists()[STAGE_ENTITIES] == ["entities"]


def test_the_language_stage_sends_a_routed_language_to_its_queue(models_dir: Path) -> None:
    split = settings(models_dir, entities_routed_languages="de")
    assert entities_queue_for(envelope("de"), split) == "entities.de"
    assert entities_queue_for(envelope("fr"), split) == "entities"
    assert entities_queue_for(envelope("und"), split) == "entities"
    assert entities_queue_for(envelope("de"), settings(models_dir)) == "entities"


def test_redrive_of_an_entities_failure_follows_the_routing() -> None:
    message = envelope("de").to_message()
    assert redrive_queue(STAGE_ENTITIES, message, frozenset({"de"})) == "entities.de"
    assert redrive_queue(STAGE_ENTITIES, message, frozenset()) == "entities"
    assert redrive_queue(STAGE_LANGUAGE, message, frozenset({"de"})) is None
    assert redrive_queue(STAGE_ENTITIES, {"id": "x"}, frozenset({"de"})) is None


def test_the_router_sends_to_the_queue_given_not_the_tasks_own() -> None:
    from shared.celery_app import create_celery_app

    app = create_celery_app("test-routing")
    assert app.amqp.router.route({"queue": "entities.de"}, TASK_ENTITIES)["queue"].name == (
        "entities.de"
    )
    assert app.amqp.router.route({}, TASK_ENTITIES)["queue"].name == "entities"


# --- the outbox keeps the queue ---------------------------------------------------------


def test_an_outbox_entry_records_the_queue_it_was_sent_to() -> None:
    routed = json.loads(
        json.dumps(outbox.outbox_entry(TASK_ENTITIES, {"id": "x"}, 1.0, "entities.de"))
    )
    assert routed["queue"] == "entities.de"
    assert outbox.entry_queue(routed) == "entities.de"
    plain = outbox.outbox_entry(TASK_ENTITIES, {"id": "x"}, 1.0)
    assert "queue" not in plain
    assert outbox.entry_queue(plain) == "entities"
    assert outbox.entry_queue(outbox.outbox_entry(TASK_LANGUAGE, {}, 1.0)) == "language"


def test_a_message_sent_to_a_queue_lands_in_that_queue() -> None:
    """Through kombu's in-memory transport: the queue the sweeper re-sends to is honoured."""
    app = Celery("test-outbox", broker="memory://")
    app.conf.task_routes = {TASK_ENTITIES: {"queue": QUEUE_ENTITIES}}
    aid = "b" * 32
    outbox.send_to_queue(app, TASK_ENTITIES, {"id": aid}, aid, "entities.de")
    outbox.send_to_queue(app, TASK_ENTITIES, {"id": aid}, aid, None)
    with app.connection_for_read() as conn:
        routed = conn.SimpleQueue("entities.de")
        shared_queue = conn.SimpleQueue(QUEUE_ENTITIES)
        try:
            got = routed.get(timeout=2)
            assert got.headers["task"] == TASK_ENTITIES
            assert got.headers["id"].startswith(aid)
            got.ack()
            assert shared_queue.get(timeout=2).headers["task"] == TASK_ENTITIES
            assert routed.qsize() == 0
        finally:
            routed.close()
            shared_queue.close()


# --- serving: preload set, not-served failure, und -----------------------------------------


def test_the_preload_set_is_exactly_the_served_languages(models_dir: Path) -> None:
    assert served_models(settings(models_dir, entities_languages="de")) == {
        "de": str(models_dir / "de")
    }
    assert set(served_models(settings(models_dir))) == {"fr", "en", "de"}
    assert set(served_models(settings(models_dir, entities_routed_languages="de"))) == {
        "fr",
        "en",
    }
    with pytest.raises(ModelNotInstalledError, match=r"names \['pt'\]"):
        served_models(settings(models_dir, entities_languages="de,pt"))


def test_a_language_this_worker_does_not_serve_fails_with_the_reason(models_dir: Path) -> None:
    french_only = settings(models_dir, entities_languages="fr,en")
    with pytest.raises(LanguageNotServedError) as raised:
        entities_impl(envelope("de"), french_only)
    assert str(raised.value) == "de is not served by this worker (ENTITIES_LANGUAGES=fr,en)"

    catch_all = settings(models_dir, entities_routed_languages="de")
    with pytest.raises(LanguageNotServedError, match="ENTITIES_ROUTED_LANGUAGES=de"):
        check_served("de", catch_all.spacy_models(), catch_all)


def test_a_served_language_runs_its_pipeline(models_dir: Path) -> None:
    result = entities_impl(envelope("de"), settings(models_dir, entities_languages="de"))
    assert result.entities is not None
    assert result.entities.status == "extracted"
    assert result.entities.model == "de_newsflow_ner"


def test_und_and_model_less_languages_are_skipped_without_a_model(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_model(name: str) -> None:
        raise AssertionError(f"a model was loaded: {name}")

    monkeypatch.setattr(extract, "load_pipeline", no_model)
    for code, served in (("und", "de"), ("und", "all"), ("pt", "all"), ("pt", "de")):
        config = settings(models_dir, entities_languages=served)
        result = entities_impl(envelope(code), config).entities
        assert result is not None
        assert result.status == "skipped"
        assert result.reason == f"no spaCy model for language {code!r}"


# --- the worker at start-up ----------------------------------------------------------------


def test_worker_init_consumes_its_queues_and_preloads_its_languages(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services.entities import worker

    config = settings(models_dir, entities_languages="de", entities_routed_languages="de")
    monkeypatch.setattr(worker, "get_settings", lambda: config)
    queues = worker.app.amqp.queues
    monkeypatch.setattr(queues, "_consume_from", None)
    caplog.set_level("INFO", logger=worker.log.name)
    try:
        worker._serve_languages(sender=None)
    finally:
        gc.unfreeze()
    assert sorted(queues.consume_from) == ["entities.de"]
    loaded = [r for r in caplog.records if r.getMessage() == "spaCy model loaded"]
    assert [(r.language, r.model) for r in loaded] == [("de", str(models_dir / "de"))]  # type: ignore[attr-defined]
    [total] = [r for r in caplog.records if r.getMessage() == "spaCy models loaded"]
    assert total.languages == ["de"] and total.rss_mib > 0  # type: ignore[attr-defined]


def test_rss_is_read_from_proc_status(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tcelery\nVmRSS:\t  204800 kB\nThreads:\t3\n")
    assert process_rss_bytes(status) == 200 * 2**20
    assert process_rss_bytes(tmp_path / "missing") > 0  # falls back to the peak


def test_ner_models_pairs_win_over_discovered_and_packages(tmp_path: Path) -> None:
    settings = Settings(ner_models_dir=tmp_path, ner_models="ru=natasha, fr=/models/fr")
    models = settings.spacy_models()
    assert models["ru"] == "natasha" and models["fr"] == "/models/fr"
    for bad in ("ru", "=natasha", "ru=", "russian=natasha"):
        with pytest.raises(ValueError):
            Settings(ner_models_dir=tmp_path, ner_models=bad).spacy_models()
