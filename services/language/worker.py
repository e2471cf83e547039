"""Celery app of the language worker: `celery -A services.language.worker worker -Q language`."""

from shared.celery_app import create_celery_app

app = create_celery_app("language", include=["services.language.tasks"])
