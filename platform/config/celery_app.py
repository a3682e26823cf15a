"""The Celery application.

Run a worker with `celery -A config.celery_app worker -Q default,stimuli` (and `-Q gpu` on GPU
machines). Queues: `default` (exports, QC recomputation), `stimuli` (generation, CPU), `gpu`
(fitting and scoring; CUDA when present, else CPU). Tasks take primary keys, are enqueued with
`transaction.on_commit`, and long ones are acknowledged late so a dead worker's task is re-delivered.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("perceptlab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("stimuli"), Queue("gpu"))
app.autodiscover_tasks()

QUEUES = tuple(queue.name for queue in app.conf.task_queues)

# Options for tasks that run for minutes to hours: acknowledge only after the task finished, and
# re-queue it when the worker process dies (SIGKILL, OOM), so another worker resumes from the
# task's own checkpoint. Such tasks must be idempotent.
LONG_TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}
