"""Celery app of the ingest worker: `celery -A services.ingest.worker worker -Q ingest`."""

from shared.celery_app import create_celery_app

app = create_celery_app("ingest", include=["services.ingest.tasks"])
