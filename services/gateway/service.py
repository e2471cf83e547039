"""What the gateway does besides HTTP: accept articles into the pipeline, read their state."""

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.gateway import queries
from services.gateway.errors import ApiError
from services.gateway.schemas import (
    Accepted,
    ArticleInFlight,
    ArticleSubmission,
    ArticleSummary,
    EntityCount,
    Redriven,
    RedrivenAll,
)
from services.gateway.schemas import Article as ArticleOut
from shared import metrics, outbox
from shared.db.models import Article
from shared.envelope import ArticleEnvelope, ArticleInput, Status
from shared.ids import article_id
from shared.logging import article_context
from shared.names import STAGE_ENTITIES, STAGE_TASKS, TASK_INGEST, entities_queue
from shared.pipeline import deliveries_key
from shared.status import StatusStore

log = logging.getLogger(__name__)

REDRIVE_LOCK = "newsflow:redrive:"


def redrive_queue(stage: str | None, message: dict[str, Any], routed: frozenset[str]) -> str | None:
    """The queue a re-driven message goes to: for the entities stage, the language's own
    queue when it is routed (as the language stage sends it); None: the task's own queue."""
    if stage != STAGE_ENTITIES:
        return None
    language = message.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    return entities_queue(code, routed) if isinstance(code, str) else None


class Gateway:
    def __init__(
        self,
        celery: Celery,
        status: StatusStore,
        sessions: sessionmaker[Session],
        routed_languages: frozenset[str] = frozenset(),
    ) -> None:
        self.celery = celery
        self.status = status
        self.sessions = sessions
        # ENTITIES_ROUTED_LANGUAGES: where a failed entities message is re-driven to.
        self.routed_languages = routed_languages

    def _stored_status(self, ids: list[str]) -> dict[str, str]:
        with self.sessions() as session:
            rows = session.execute(select(Article.id, Article.status).where(Article.id.in_(ids)))
            return {row.id: row.status for row in rows}

    def accept(self, submissions: list[ArticleSubmission]) -> list[Accepted]:
        """Enqueue new articles by task name; a known article is not processed again."""
        ids = [article_id(s.text, s.external_id) for s in submissions]
        known = self._stored_status(ids)
        results: list[Accepted] = []
        try:
            for submission, aid in zip(submissions, ids, strict=True):
                with article_context(aid):
                    results.append(self._accept_one(submission, aid, known.get(aid)))
        finally:
            # Counted once per request (one round trip): the articles queued, also when a
            # later one of the batch could not be.
            queued = sum(1 for result in results if not result.duplicate)
            metrics.count(self.status.client, {metrics.ACCEPTED: queued})
        return results

    def _accept_one(self, submission: ArticleSubmission, aid: str, stored: str | None) -> Accepted:
        if stored == Status.STORED.value:
            return Accepted(id=aid, status=Status.STORED.value, duplicate=True)
        if not self.status.claim(aid, submission.title):
            current = self.status.get(aid) or {}
            status = str(current.get("status", Status.QUEUED.value))
            return Accepted(id=aid, status=status, duplicate=True)
        envelope = ArticleEnvelope(
            id=aid,
            received_at=datetime.now(UTC),
            input=ArticleInput.model_validate(submission.model_dump()),
        )
        try:
            outbox.send(
                self.celery,
                self.status.client,
                TASK_INGEST,
                envelope.to_message(),
                aid,
                self.status.ttl,
            )
        except Exception:
            # Not enqueued: forget the claim so the client's retry is not a "duplicate".
            self.status.release(aid)
            raise
        log.info("article accepted", extra={"chars": len(submission.text)})
        return Accepted(id=aid, status=Status.QUEUED.value)

    def redrive(self, aid: str) -> Redriven:
        """Send a failed article again to the stage that failed, with the message it failed on.

        Idempotent: an article already re-driven (in flight again) is left alone, and a
        short Redis lock stops two concurrent calls from sending it twice.
        """
        with self.sessions() as session:
            row = session.execute(
                select(Article.status, Article.error_stage, Article.failed_message).where(
                    Article.id == aid
                )
            ).one_or_none()
        live = self.status.get(aid)
        if row is None:
            if live is None:
                raise ApiError(404, ["path", "article_id"], "no article with this id", "not_found")
            raise ApiError(
                409,
                ["path", "article_id"],
                f"article is {live.get('status')}; only failed articles can be re-driven",
                "not_failed",
            )
        if row.status != Status.FAILED.value:
            raise ApiError(
                409,
                ["path", "article_id"],
                f"article is {row.status}; only failed articles can be re-driven",
                "not_failed",
            )
        if live is not None and live.get("status") != Status.FAILED.value:
            return Redriven(
                id=aid, status=str(live.get("status")), stage=row.error_stage, redriven=False
            )
        task = STAGE_TASKS.get(row.error_stage or "")
        if task is None or not row.failed_message:
            raise ApiError(
                409,
                ["path", "article_id"],
                "no message was recorded for this failure; submit the article again",
                "not_redrivable",
            )
        if not self.status.client.set(f"{REDRIVE_LOCK}{aid}", "1", nx=True, ex=60):
            return Redriven(
                id=aid, status=Status.QUEUED.value, stage=row.error_stage, redriven=False
            )
        with article_context(aid):
            self.status.set_status(aid, Status.QUEUED, redriven_from=row.error_stage)
            # A fresh start: earlier unfinished deliveries must not count against it.
            self.status.client.delete(deliveries_key(aid, row.error_stage or ""))
            queue = redrive_queue(row.error_stage, row.failed_message, self.routed_languages)
            outbox.send(
                self.celery,
                self.status.client,
                task,
                row.failed_message,
                aid,
                self.status.ttl,
                queue=queue,
            )
            log.info("article re-driven", extra={"stage": row.error_stage, "queue": queue})
        return Redriven(id=aid, status=Status.QUEUED.value, stage=row.error_stage, redriven=True)

    def redrive_all(self, limit: int) -> RedrivenAll:
        """Re-drive every failed article, oldest failure first, up to `limit`; articles
        already re-driven and still in flight are skipped."""
        results = [self.redrive(aid) for aid in self.failed_ids(limit)]
        redriven = [r.id for r in results if r.redriven]
        return RedrivenAll(
            redriven=len(redriven), skipped=len(results) - len(redriven), ids=redriven
        )

    def list_articles(
        self,
        *,
        language: str | None = None,
        entity: str | None = None,
        label: str | None = None,
        q: str | None = None,
        status: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> tuple[list[ArticleSummary], str | None]:
        """Article summaries, newest first, and the next page's cursor (queries.list_articles);
        ValueError for a cursor we did not make."""
        with self.sessions() as session:
            return queries.list_articles(
                session,
                language=language,
                entity=entity,
                label=label,
                q=q,
                status=status,
                limit=limit,
                cursor=cursor,
            )

    def list_entities(
        self, *, label: str | None = None, q: str | None = None, limit: int = 50
    ) -> list[EntityCount]:
        """Distinct entities across stored articles, most mentioned first."""
        with self.sessions() as session:
            return queries.list_entities(session, label=label, q=q, limit=limit)

    def failed_ids(self, limit: int) -> list[str]:
        with self.sessions() as session:
            rows = session.execute(
                select(Article.id)
                .where(Article.status == Status.FAILED.value)
                .order_by(Article.last_error_at, Article.id)
                .limit(limit)
            )
            return [r.id for r in rows]

    def article(self, aid: str) -> ArticleOut | ArticleInFlight | None:
        with self.sessions() as session:
            row = queries.get_article(session, aid)
        if row is not None and row.status == Status.STORED.value:
            return row
        live = self.status.get(aid)
        # A re-driven article is in flight again: its live status is newer than the row.
        if live is not None and (row is None or live.get("status") != Status.FAILED.value):
            return ArticleInFlight(
                id=aid,
                status=live.get("status") or Status.QUEUED.value,
                title=live.get("title"),
                error=live.get("error"),
                accepted_at=live.get("accepted_at"),
                updated_at=live.get("updated_at"),
            )
        return row
