"""Storage tasks: the only writer to PostgreSQL. Upserts keyed by article id."""

from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from services.storage.repository import store_failure, upsert_article
from services.storage.worker import app
from shared import metrics
from shared.db.session import make_engine
from shared.envelope import ArticleEnvelope, FailureRecord, Status
from shared.names import STAGE_STORAGE, TASK_STORE, TASK_STORE_FAILURE
from shared.pipeline import TRANSIENT_ERRORS, PipelineTask
from shared.settings import get_settings


@lru_cache
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(make_engine(get_settings().database_url), expire_on_commit=False)


def store_impl(envelope: ArticleEnvelope, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        upsert_article(session, envelope)


def store_failure_impl(failure: FailureRecord, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        store_failure(
            session,
            failure.id,
            failure.stage,
            failure.reason,
            failure.message,
            attempts=failure.attempts,
            failed_at=failure.failed_at,
        )


class StorageTask(PipelineTask):
    stage = STAGE_STORAGE
    # PostgreSQL unreachable (restart, deploy) is transient: retry with backoff.
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = (
        *TRANSIENT_ERRORS,
        OperationalError,
        InterfaceError,
    )

    def article_counts(self, outcome: str) -> dict[str, int]:
        # The store task's success is an article stored (its status set last, below).
        if outcome == metrics.OUTCOME_OK:
            return {metrics.STORED: 1}
        return super().article_counts(outcome)


@app.task(bind=True, base=StorageTask, name=TASK_STORE)
def store(self: StorageTask, message: dict[str, Any]) -> None:
    envelope = ArticleEnvelope.from_message(message)
    store_impl(envelope, session_factory())
    self.status.set_status(envelope.id, Status.STORED)


class StoreFailureTask(StorageTask):
    stage = "storage_failure"  # its own delivery count, apart from the store task's

    def on_failure(self, *args: Any, **kwargs: Any) -> None:
        # Recording a failure must not itself loop into another failure record.
        return None

    def article_counts(self, outcome: str) -> dict[str, int]:
        # The article had failed already: recording it neither stores nor fails it again.
        return {}


@app.task(bind=True, base=StoreFailureTask, name=TASK_STORE_FAILURE)
def store_failed(self: StoreFailureTask, failure: dict[str, Any]) -> None:
    store_failure_impl(FailureRecord.model_validate(failure), session_factory())
