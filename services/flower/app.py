"""The Celery app Flower watches: `celery -A services.flower.app flower`.

Only the pipeline's broker and its base configuration (queues, visibility timeout), from
the same settings as every service; none of the workers' start-up hooks, and no task.
"""

from celery import Celery

from shared.celery_app import base_config
from shared.settings import get_settings

app = Celery("newsflow-flower")
app.conf.update(base_config(get_settings()))
