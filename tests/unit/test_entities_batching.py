"""Batching in the entities worker (services/entities/batching.py): the buffer in the main
process, and the batched NER a batch's first job runs for the others, with the real French
model (the batched results must be exactly those of one article at a time)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from services.entities.batching import (
    BATCH_KEY,
    BatchBuffer,
    PrefetchedEntities,
    batch_messages,
    batchable_texts,
    prefetch,
    result_key,
)
from services.entities.extract import load_pipeline, model_entities
from services.entities.tasks import batch_impl, entities_impl
from services.entities.worker import prefetch_multiplier
from shared.envelope import (
    ArticleEnvelope,
    ArticleInput,
    CleanArticle,
    LanguageResult,
    Paragraph,
)
from shared.settings import Settings

FR = "fr_core_news_md"

TEXTS = [
    "Emmanuel Macron a reçu Olaf Scholz à l'Élysée, à Paris, ce mardi.",
    "La Banque centrale européenne a relevé ses taux, a annoncé Christine Lagarde à Francfort.",
    "Le club de l'Olympique de Marseille a battu le Paris Saint-Germain au Vélodrome.",
    "Selon l'AFP, des manifestations ont eu lieu à Lyon et à Bordeaux samedi.",
]


class FakeRequest:
    """What the buffer reads of a Celery request: its arguments and its request dict."""

    def __init__(self, message: dict[str, Any]) -> None:
        self.args = [message]
        self.request_dict: dict[str, Any] = {"id": message["id"]}


class FakeTimer:
    def __init__(self) -> None:
        self.calls: list[tuple[float, Any]] = []
        self.cancelled = 0

    def call_after(self, seconds: float, fun: Any) -> "FakeTimer":
        self.calls.append((seconds, fun))
        return self

    def cancel(self) -> None:
        self.cancelled += 1


def buffer(size: int, busy: int = 0) -> tuple[BatchBuffer, list[FakeRequest], FakeTimer]:
    handled: list[FakeRequest] = []
    timer = FakeTimer()
    return BatchBuffer(size, 0.02, handled.append, timer.call_after, lambda: busy), handled, timer


def test_a_full_batch_goes_to_the_pool_at_once_in_order_the_first_carrying_the_others() -> None:
    buf, handled, timer = buffer(3)
    requests = [FakeRequest({"id": f"a{i}"}) for i in range(3)]
    for request in requests[:2]:
        buf.add(request)
    assert handled == []  # waiting for the batch to fill
    buf.add(requests[2])
    assert handled == requests
    assert requests[0].request_dict[BATCH_KEY] == [{"id": "a1"}, {"id": "a2"}]
    assert BATCH_KEY not in requests[1].request_dict
    assert len(timer.calls) == 1 and timer.cancelled == 1  # the wait timer is stopped


def test_a_batch_that_does_not_fill_goes_when_the_wait_is_over() -> None:
    buf, handled, timer = buffer(8)
    first, second = FakeRequest({"id": "a"}), FakeRequest({"id": "b"})
    buf.add(first)
    buf.add(second)
    (seconds, fire), *_ = timer.calls
    assert seconds == pytest.approx(0.02) and len(timer.calls) == 1  # one timer per batch
    fire()
    assert handled == [first, second]
    assert first.request_dict[BATCH_KEY] == [{"id": "b"}]
    buf.add(FakeRequest({"id": "c"}))
    assert len(timer.calls) == 2  # the next batch starts its own wait


def test_a_batch_keeps_growing_while_the_pool_is_at_work_and_goes_once_it_is_idle() -> None:
    buf, handled, timer = buffer(8, busy=3)
    first, second = FakeRequest({"id": "a"}), FakeRequest({"id": "b"})
    buf.add(first)
    timer.calls[-1][1]()  # the wait is over, but the pool still runs 3 jobs
    assert handled == [] and len(timer.calls) == 2  # waits again
    buf.add(second)
    buf.busy = lambda: 0  # the pool is done
    timer.calls[-1][1]()
    assert handled == [first, second]
    assert first.request_dict[BATCH_KEY] == [{"id": "b"}]


def test_an_article_alone_carries_no_batch() -> None:
    buf, handled, timer = buffer(8)
    only = FakeRequest({"id": "a"})
    buf.add(only)
    timer.calls[0][1]()
    assert handled == [only] and BATCH_KEY not in only.request_dict


def test_the_batch_is_taken_off_the_request_so_a_retry_does_not_carry_it() -> None:
    class Context:
        pass

    request = Context()
    request.__dict__[BATCH_KEY] = [{"id": "b"}, "not a message"]
    assert batch_messages(request) == [{"id": "b"}]
    assert BATCH_KEY not in request.__dict__
    assert batch_messages(request) == []


def test_the_worker_reserves_two_batches_only_when_it_batches() -> None:
    assert prefetch_multiplier(8) == 16
    assert prefetch_multiplier(1) == 1


def test_with_two_pool_processes_each_takes_the_first_job_of_its_part_first() -> None:
    handled: list[FakeRequest] = []
    timer = FakeTimer()
    buf = BatchBuffer(5, 0.02, handled.append, timer.call_after, lambda: 0, processes=2)
    requests = [FakeRequest({"id": f"a{i}"}) for i in range(5)]
    for request in requests:
        buf.add(request)
    assert [r.args[0]["id"] for r in handled] == ["a0", "a1", "a2", "a4", "a3"]
    assert requests[0].request_dict[BATCH_KEY] == [{"id": "a2"}, {"id": "a4"}]
    assert requests[1].request_dict[BATCH_KEY] == [{"id": "a3"}]
    # A part of one article carries nothing; the wait goes on while both processes work.
    buf = BatchBuffer(8, 0.02, handled.append, timer.call_after, lambda: 2, processes=2)
    buf.add(FakeRequest({"id": "b"}))
    timer.calls[-1][1]()
    assert buf.waiting and len(handled) == 5


def test_results_shared_between_pool_processes_are_taken_once() -> None:
    from services.entities.batching import SharedResults
    from shared.envelope import Entity
    from tests.unit.fake_redis import FakeRedis

    client = FakeRedis()
    entity = Entity(text="Paris", label="LOC", model_label="LOC", start=0, end=5)
    here = PrefetchedEntities(shared=SharedResults(client, ttl_s=60))
    here.put_batch({"k1": [entity], "k2": []})
    other = PrefetchedEntities(shared=SharedResults(client, ttl_s=60))  # another process
    assert other.take("k1") == [entity]
    assert other.take("k1") is None  # taken once
    assert here.take("k2") == []  # from its own memory first
    client.down = True  # Redis unreachable: a miss, computed alone, never an error
    assert other.take("k2") is None


def test_a_result_is_taken_once_and_the_oldest_go_when_full() -> None:
    kept = PrefetchedEntities(capacity=2)
    kept.put("a", [])
    kept.put("b", [])
    kept.put("c", [])
    assert len(kept) == 2
    assert kept.take("a") is None  # dropped: its article went to another process
    assert kept.take("b") == []
    assert kept.take("b") is None
    assert (kept.hits, kept.misses) == (1, 2)


def test_batched_ner_gives_exactly_what_one_article_at_a_time_gives() -> None:
    nlp = load_pipeline(FR)
    kept = PrefetchedEntities()
    assert prefetch({FR: TEXTS}, kept) == len(TEXTS)
    for text in TEXTS:
        assert kept.entities(text, nlp) == model_entities(text, nlp)
    assert kept.hits == len(TEXTS)
    assert len(kept) == 0


def test_a_batch_that_fails_is_dropped_and_each_article_runs_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(model: str) -> Any:
        raise RuntimeError("model broke")

    kept = PrefetchedEntities()
    assert prefetch({FR: TEXTS}, kept, load=broken) == 0
    assert len(kept) == 0 and "batched NER failed" in caplog.text
    nlp = load_pipeline(FR)
    assert kept.entities(TEXTS[0], nlp) == model_entities(TEXTS[0], nlp)  # computed alone


def envelope(article_id: str, text: str, code: str = "fr") -> ArticleEnvelope:
    return ArticleEnvelope(
        id=article_id,
        received_at=datetime.now(UTC),
        input=ArticleInput(text=text),
        clean=CleanArticle(
            title=None,
            text=text,
            paragraphs=[Paragraph(index=0, start=0, end=len(text))],
            content_hash="0" * 64,
        ),
        language=LanguageResult(code=code, confidence=0.99, paragraphs=[], detector="test"),
    )


def test_only_articles_with_a_model_here_and_short_enough_are_batched() -> None:
    batch = [
        envelope("a" * 32, TEXTS[0]),
        envelope("b" * 32, TEXTS[1], code="und"),
        envelope("c" * 32, TEXTS[2], code="xx"),
        envelope("d" * 32, "Mots coupés: Massa\u00ad\nchusetts " + TEXTS[3]),
    ]
    by_model = batchable_texts(batch, {"fr": FR}, max_chars=10_000)
    assert by_model == {FR: [TEXTS[0], "Mots coupés: Massachusetts " + TEXTS[3]]}
    assert batchable_texts(batch, {"fr": FR}, max_chars=70) == {FR: [TEXTS[0]]}


def test_a_batch_leaves_out_articles_whose_earlier_delivery_never_finished() -> None:
    settings = Settings(spacy_model_fr=FR, entities_languages="fr")
    first, suspect, fine = (
        envelope("a" * 32, TEXTS[0]),
        envelope("b" * 32, TEXTS[1]),
        envelope("c" * 32, TEXTS[2]),
    )
    kept = PrefetchedEntities()
    done = batch_impl(
        first,
        [suspect.to_message(), fine.to_message(), {"id": "not an envelope"}],
        settings,
        unfinished=lambda ids: {suspect.id} & set(ids),
        into=kept,
    )
    nlp = load_pipeline(FR)
    assert done == 2
    assert kept.take(result_key(nlp, TEXTS[1])) is None  # the suspect runs alone
    assert kept.take(result_key(nlp, TEXTS[2])) is not None
    # Every other article left out: nothing is batched.
    assert batch_impl(first, [suspect.to_message()], settings, lambda ids: set(ids), kept) == 0


def test_an_article_of_a_batch_gets_the_same_entities_as_alone() -> None:
    settings = Settings(spacy_model_fr=FR, entities_languages="fr")
    articles = [envelope(f"{i}" * 32, text) for i, text in enumerate(TEXTS)]
    kept = PrefetchedEntities()
    batch_impl(articles[0], [a.to_message() for a in articles[1:]], settings, lambda _: set(), kept)
    for article in articles:
        batched = entities_impl(article, settings, ner=kept.entities).entities
        alone = entities_impl(article, settings).entities
        assert batched == alone and batched is not None and batched.entities
    assert kept.hits == len(TEXTS)


def test_the_first_job_of_a_batch_counts_its_batch_in_the_metrics() -> None:
    from services.entities.tasks import extract
    from shared import metrics

    extract.batched = 3
    try:
        assert extract.article_counts(metrics.OUTCOME_OK) == {metrics.ENTITIES_BATCHED: 3}
    finally:
        extract.batched = 0
    assert extract.article_counts(metrics.OUTCOME_OK) == {}
