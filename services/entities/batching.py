"""Batching in the entities worker: one nlp.pipe call per language over several articles,
while every article stays its own Celery task.

How it works:

- **In the worker's main process** (`batching_strategy`, the entities task's Celery
  Strategy): Celery's own strategy turns each message into a request as usual, but hands it
  to a `BatchBuffer` instead of the pool. The buffer holds up to ENTITIES_BATCH_SIZE
  requests, or, ENTITIES_BATCH_WAIT_MS after the first one (a timer on the consumer's event
  loop), as many as came while the pool had nothing else to do, then sends them all to
  the pool in their order, each as its own job. The first job
  of a batch also carries the other articles' messages (`BATCH_KEY` in its request).
- **In the pool process**, the first job runs NER for the whole batch at once
  (`prefetch`: one nlp.pipe per model) and keeps the results by model and text
  (`PrefetchedEntities`); every job then takes its own article's result from there, or
  computes it alone when it is not there. Post-processing stays per article.

Why this is safe (at least once, nothing lost, one article never fails another):

- Each message is still acknowledged by Celery only after its own task ran and sent its
  result on (acks_late), with its own time limit, retries, failure record and redelivery
  when its worker dies (reject_on_worker_lost): none of that is changed here. A message in
  the buffer is reserved and unacknowledged, like any prefetched one: if the worker dies or
  stops, Redis hands it out again.
- A batch's NER is only a precomputation. If it raises, it is dropped (each article then
  runs its model alone, and its own error is its own); if it kills the pool process, only
  the first job's delivery is lost, and Redis redelivers it like any other. A job whose
  earlier delivery never finished, and an article whose earlier delivery never finished,
  never take part in a batch again: an article that kills its worker can only kill itself.
- Retries (an ETA) and rate-limited tasks go to the pool at once, alone, as before.

With several pool processes (ENTITIES_CONCURRENCY), a batch is cut in one part per
process, and the parts' first jobs go to the pool ahead of the rest: each process runs one
part's NER before it takes any other job of the batch. As the other jobs may then run in
either process, the results are also kept in Redis for a few minutes (`SharedResults`,
taken once); with one process they stay in it.

celery-batches was weighed and not used: it hands a whole batch to one task call, so the
per-article retries, failure records, time limits and redelivery of the base task
(shared/pipeline.py) would all have to be rebuilt for lists, and it acknowledges nothing
when a pool process dies.
"""

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter
from spacy.language import Language

from services.entities.extract import (
    MAX_CHUNK_CHARS,
    UNDETERMINED,
    join_broken_words,
    load_pipeline,
    model_entities,
    model_package_name,
    spans_entities,
)
from shared.envelope import ArticleEnvelope, Entity

log = logging.getLogger(__name__)

# The request-dict key of a batch's first job: the messages of the other articles.
BATCH_KEY = "newsflow_batch"
# Results kept for articles of a batch whose jobs have not come yet.
PREFETCH_CAPACITY = 256
# How long a result shared between pool processes waits for its article's job.
SHARED_RESULTS_TTL_S = 600


def result_key(nlp: Language, text: str) -> str:
    """What a model's result on a text is kept under: the model and the exact text."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
    return f"{model_package_name(nlp)}:{nlp.meta.get('version', '')}:{digest.hexdigest()}"


_ENTITIES = TypeAdapter(list[Entity])


class SharedResults:
    """Batch results in Redis, for the worker's other pool processes (ENTITIES_CONCURRENCY
    above 1): an article of a batch may run in another process than the batch's NER."""

    PREFIX = "newsflow:ner-batch:"

    def __init__(self, client: Any, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s

    def put_many(self, results: Mapping[str, list[Entity]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key, entities in results.items():
            pipe.set(self.PREFIX + key, _ENTITIES.dump_json(entities), ex=self.ttl_s)
        pipe.execute()

    def take(self, key: str) -> list[Entity] | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.PREFIX + key)
        pipe.delete(self.PREFIX + key)
        raw = pipe.execute()[0]
        return None if raw is None else _ENTITIES.validate_json(raw)


class PrefetchedEntities:
    """A pool process's results of batched NER, each taken once by its article's job; with
    `shared`, also handed to the worker's other pool processes through Redis."""

    def __init__(
        self, capacity: int = PREFETCH_CAPACITY, shared: SharedResults | None = None
    ) -> None:
        self.capacity = capacity
        self.shared = shared
        self._results: OrderedDict[str, list[Entity]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._results)

    def put(self, key: str, entities: list[Entity]) -> None:
        self._results[key] = entities
        self._results.move_to_end(key)
        while len(self._results) > self.capacity:
            self._results.popitem(last=False)  # an article that went elsewhere

    def put_batch(self, results: Mapping[str, list[Entity]]) -> None:
        """A batch's results: here, and for the other pool processes when shared."""
        for key, entities in results.items():
            self.put(key, entities)
        if self.shared is not None and results:
            try:
                self.shared.put_many(results)
            except Exception:  # Redis down: the other processes compute theirs alone
                log.warning("could not share the batch's NER results", exc_info=True)

    def take(self, key: str) -> list[Entity] | None:
        found = self._results.pop(key, None)
        if found is None and self.shared is not None:
            try:
                found = self.shared.take(key)
            except Exception:
                log.warning("could not read a shared NER result", exc_info=True)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def entities(self, text: str, nlp: Language) -> list[Entity]:
        """The model's entities on `text`: from the batch when it was in one, else computed
        now (extract_entities's `ner`)."""
        found = self.take(result_key(nlp, text))
        return found if found is not None else model_entities(text, nlp)


PREFETCHED = PrefetchedEntities()


def batchable_texts(
    envelopes: Iterable[ArticleEnvelope], models: Mapping[str, str], max_chars: int
) -> dict[str, list[str]]:
    """{model name: texts the model would be run on} for the articles of a batch that
    have a model here: the text as extract_entities gives it to the model (broken words
    joined). Texts too long for one call are left to their own job."""
    by_model: dict[str, list[str]] = {}
    for envelope in envelopes:
        if envelope.clean is None or envelope.language is None:
            continue
        code = envelope.language.code
        model = None if code == UNDETERMINED else models.get(code)
        text = envelope.clean.text
        if model is None or len(text) > min(max_chars, MAX_CHUNK_CHARS):
            continue
        by_model.setdefault(model, []).append(join_broken_words(text)[0])
    return by_model


def prefetch(
    by_model: Mapping[str, Sequence[str]],
    into: PrefetchedEntities,
    load: Callable[[str], Language] = load_pipeline,
) -> int:
    """Run each model once (nlp.pipe) over its texts and keep the results; how many. A
    failure drops the batch's results: every article then runs its model alone."""
    results: dict[str, list[Entity]] = {}
    for model, texts in by_model.items():
        try:
            nlp = load(model)
            found = {
                result_key(nlp, text): spans_entities(doc, text, 0)
                for text, doc in zip(texts, nlp.pipe(texts, batch_size=len(texts)), strict=True)
            }
        except Exception:
            # Including a soft time limit: the first job's own article is then computed
            # alone, inside what is left of its limit, and fails on its own if it must.
            log.warning("batched NER failed; its articles run alone", exc_info=True)
            continue
        results.update(found)
    into.put_batch(results)
    return len(results)


def batch_messages(request: Any) -> list[dict[str, Any]]:
    """The other articles' messages carried by a batch's first job (removed from the
    request, so a retry of this task does not carry them on)."""
    found = request.__dict__.pop(BATCH_KEY, None)
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


class BatchBuffer:
    """In the worker's main process: requests wait here until `size` of them are in, or
    until the pool has nothing left to do, checked `wait_s` after the first and every
    `wait_s` after that; then they go to the pool in order, each as its own job.

    While the pool still runs earlier jobs (`busy`: requests handed over and not finished),
    a batch keeps growing: its articles could not start sooner anyway, and a timer alone
    (the first version) flushed batches of two under load, as acknowledgements let new
    messages in one at a time."""

    def __init__(
        self,
        size: int,
        wait_s: float,
        handle: Callable[[Any], Any],
        call_after: Callable[..., Any],
        busy: Callable[[], int] = lambda: 0,
        processes: int = 1,
    ) -> None:
        self.size = size
        self.wait_s = wait_s
        self.handle = handle
        self.call_after = call_after
        self.busy = busy
        self.processes = processes
        self.waiting: list[Any] = []
        self._timer: Any = None

    def add(self, request: Any) -> None:
        self.waiting.append(request)
        if len(self.waiting) >= self.size:
            self.flush()
        elif self._timer is None:
            self._timer = self.call_after(self.wait_s, self._waited)

    def _waited(self) -> None:
        self._timer = None
        if self.waiting and self.busy() >= self.processes:
            self._timer = self.call_after(self.wait_s, self._waited)  # the pool is at work
            return
        self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()  # a no-op when it already fired (it is what called us)
            self._timer = None
        batch, self.waiting = self.waiting, []
        if not batch:
            return
        # One part per pool process, their first jobs ahead of the rest: each process takes
        # one first job (it runs its part's NER) before any other job of the batch.
        parts = [batch[i :: self.processes] for i in range(min(self.processes, len(batch)))]
        for part in parts:
            if len(part) > 1:
                part[0].request_dict[BATCH_KEY] = [
                    request.args[0]
                    for request in part[1:]
                    if request.args and isinstance(request.args[0], dict)
                ]
        for request in [part[0] for part in parts] + [r for part in parts for r in part[1:]]:
            self.handle(request)


class _Intercepted:
    """The consumer as Celery's default strategy sees it, with its hand-over to the pool
    (on_task_request) going through the buffer; everything else is the consumer's own."""

    def __init__(self, consumer: Any, on_task_request: Callable[[Any], Any]) -> None:
        self._consumer = consumer
        self.on_task_request = on_task_request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def batching_strategy(task: Any, app: Any, consumer: Any, **kwargs: Any) -> Any:
    """The entities task's Strategy: Celery's default one, with a BatchBuffer in front of
    the pool (not when batching is off), its batches cut in one part per pool process."""
    from celery.worker.strategy import default

    from shared.settings import get_settings

    settings = get_settings()
    processes = int(getattr(consumer.pool, "limit", None) or settings.worker_concurrency)
    if settings.entities_batch_size <= 1:
        log.info("entities batching off", extra={"batch_size": settings.entities_batch_size})
        return default(task, app, consumer, **kwargs)
    from celery.worker import state

    def busy() -> int:
        # Requests received and not finished (celery.worker.state), less those waiting here.
        return len(state.reserved_requests) - len(buffer.waiting)

    buffer = BatchBuffer(
        settings.entities_batch_size,
        settings.entities_batch_wait_ms / 1000,
        consumer.on_task_request,
        consumer.timer.call_after,
        busy,
        processes,
    )
    log.info(
        "entities batching on",
        extra={
            "batch_size": settings.entities_batch_size,
            "wait_ms": settings.entities_batch_wait_ms,
            "processes": processes,
        },
    )
    return default(task, app, _Intercepted(consumer, buffer.add), **kwargs)
