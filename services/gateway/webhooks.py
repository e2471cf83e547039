"""Webhook registrations and their deliveries, for the /webhooks routes.

The gateway writes the `webhooks` table (and only it) through its own small writable
engine; every article table stays read-only to it. A URL is checked against server-side
request forgery here, at registration, and again by the webhooks worker before every
delivery (shared/urlguard.py).
"""

import secrets

from sqlalchemy.orm import Session, sessionmaker

from services.gateway.errors import ApiError
from services.gateway.schemas import (
    Delivery,
    DeliveryCounts,
    DeliveryPage,
    Webhook,
    WebhookCreate,
    WebhookCreated,
)
from shared.db import webhooks as repo
from shared.db.models import Webhook as WebhookRow
from shared.urlguard import Resolver, UnsafeURLError, check_url, system_resolver


def generated_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def webhook_out(row: WebhookRow) -> Webhook:
    return Webhook(id=row.id, url=row.url, events=list(row.events), created_at=row.created_at)


class WebhookRegistry:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        allow_private: bool,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.sessions = sessions
        self.allow_private = allow_private
        self.resolve = resolve

    def check(self, url: str) -> None:
        """422 for a URL the SSRF guard refuses (resolves its host: blocking)."""
        try:
            check_url(url, allow_private=self.allow_private, resolve=self.resolve)
        except UnsafeURLError as exc:
            raise ApiError(422, ["body", "url"], str(exc), "url_refused") from exc

    def register(self, request: WebhookCreate) -> WebhookCreated:
        """Store a webhook whose URL passed `check`."""
        secret = request.secret or generated_secret()
        with self.sessions.begin() as session:
            row = repo.create_webhook(session, request.url, list(request.events), secret)
            return WebhookCreated(**webhook_out(row).model_dump(), secret=secret)

    def all(self) -> list[Webhook]:
        with self.sessions() as session:
            return [webhook_out(row) for row in repo.list_webhooks(session)]

    def get(self, webhook_id: str) -> Webhook:
        with self.sessions() as session:
            row = repo.get_webhook(session, webhook_id)
            if row is None:
                raise not_found()
            return webhook_out(row)

    def delete(self, webhook_id: str) -> None:
        with self.sessions.begin() as session:
            if not repo.delete_webhook(session, webhook_id):
                raise not_found()

    def deliveries(self, webhook_id: str, status: str | None, limit: int) -> DeliveryPage:
        with self.sessions() as session:
            if repo.get_webhook(session, webhook_id) is None:
                raise not_found()
            rows = repo.list_deliveries(session, webhook_id, status, limit)
            counts = repo.delivery_counts(session, webhook_id)
            return DeliveryPage(
                items=[Delivery.model_validate(row, from_attributes=True) for row in rows],
                counts=DeliveryCounts(**counts),
            )


def not_found() -> ApiError:
    return ApiError(404, ["path", "webhook_id"], "no webhook with this id", "not_found")
