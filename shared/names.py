"""Queue and task names: the only coupling between services (tasks are sent by name)."""

from collections.abc import Collection, Iterable

QUEUE_INGEST = "ingest"
QUEUE_LANGUAGE = "language"
QUEUE_ENTITIES = "entities"
QUEUE_STORAGE = "storage"
# Not a pipeline stage: webhook deliveries, off the pipeline's path (services/webhooks).
QUEUE_WEBHOOKS = "webhooks"

TASK_INGEST = "newsflow.ingest.process"
TASK_LANGUAGE = "newsflow.language.detect"
TASK_ENTITIES = "newsflow.entities.extract"
TASK_STORE = "newsflow.storage.store"
TASK_STORE_FAILURE = "newsflow.storage.store_failure"
TASK_WEBHOOK_DELIVER = "newsflow.webhooks.deliver"

TASK_QUEUES: dict[str, str] = {
    TASK_INGEST: QUEUE_INGEST,
    TASK_LANGUAGE: QUEUE_LANGUAGE,
    TASK_ENTITIES: QUEUE_ENTITIES,
    TASK_STORE: QUEUE_STORAGE,
    TASK_STORE_FAILURE: QUEUE_STORAGE,
    TASK_WEBHOOK_DELIVER: QUEUE_WEBHOOKS,
}

# Stage names as they appear in status and error.stage.
STAGE_GATEWAY = "gateway"
STAGE_INGEST = "ingest"
STAGE_LANGUAGE = "language"
STAGE_ENTITIES = "entities"
STAGE_STORAGE = "storage"

# Where a failed article is re-driven from: the task of the stage that failed.
STAGE_TASKS: dict[str, str] = {
    STAGE_INGEST: TASK_INGEST,
    STAGE_LANGUAGE: TASK_LANGUAGE,
    STAGE_ENTITIES: TASK_ENTITIES,
    STAGE_STORAGE: TASK_STORE,
}

# The pipeline's stages in order, each with the queue it consumes (health reports and
# /health/pipeline walk this; a worker's stage is its service name).
STAGE_QUEUES: dict[str, str] = {
    STAGE_INGEST: QUEUE_INGEST,
    STAGE_LANGUAGE: QUEUE_LANGUAGE,
    STAGE_ENTITIES: QUEUE_ENTITIES,
    STAGE_STORAGE: QUEUE_STORAGE,
}


# Languages routed to their own entities queue (ENTITIES_ROUTED_LANGUAGES) wait in
# `entities.<lang>`, consumed by the entities workers that serve that language; every other
# language waits in the shared `entities` queue.
ENTITIES_QUEUE_PREFIX = f"{QUEUE_ENTITIES}."


def entities_queue(language: str, routed: Collection[str]) -> str:
    """The queue an article in `language` waits in for the entities stage."""
    return f"{ENTITIES_QUEUE_PREFIX}{language}" if language in routed else QUEUE_ENTITIES


def stage_queue_lists(routed: Iterable[str] = ()) -> dict[str, list[str]]:
    """Every queue of each stage, in pipeline order: STAGE_QUEUES plus the entities stage's
    routed queues (one per routed language)."""
    queues = {stage: [queue] for stage, queue in STAGE_QUEUES.items()}
    queues[STAGE_ENTITIES] += [entities_queue(lang, {lang}) for lang in sorted(set(routed))]
    return queues
