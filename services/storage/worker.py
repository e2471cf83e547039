"""Celery app of the storage worker: `celery -A services.storage.worker worker -Q storage`."""

from shared.celery_app import create_celery_app

app = create_celery_app("storage", include=["services.storage.tasks"])
