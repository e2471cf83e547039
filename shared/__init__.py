"""Contracts shared by the gateway and every worker: settings, envelope, names, Celery, logging."""
