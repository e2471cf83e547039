"""Flower, the Celery monitor of the `monitoring` compose profile: no stage, no tasks."""
