"""The Celery application.

Run a worker with `celery -A config.celery_app worker -Q default,stimuli --beat` (and `-Q gpu` on
GPU machines; exactly one worker runs `--beat`, the sweeper's clock). Queues: `default` (exports,
imports, the job sweeper), `stimuli` (generation, CPU), `gpu` (fitting and scoring; CUDA when
present, else CPU). Tasks take primary keys and are requested through `common.jobs.enqueue` (a
transactional outbox, published after the commit); a job whose worker died is re-queued by the
sweeper (`common.jobs.sweep`), and every worker sweeps once as it starts (`common.apps`).
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


app = Celery("perceptlab")
app.config_from_object("django.conf:settings", namespace="CELERY")
QUEUES = ("default", "stimuli", "gpu")
app.conf.task_queues = tuple(Queue(name) for name in QUEUES)
app.autodiscover_tasks()


@app.on_configure.connect
def _prepare_local_state(**_kwargs) -> None:
    """The first use of Celery in a process (a worker starting, a task being sent), before it
    reads Django's settings, makes the embedded defaults' folders (kombu's filesystem broker and
    result store) and the development secret key; importing this module, as importing settings
    does, makes nothing."""
    from config.local_state import prepare

    prepare()


# Options for tasks that run for minutes to hours: acknowledge only after the task finished, and
# re-queue it when a pool process dies (SIGKILL, OOM), so another worker resumes from the task's
# own checkpoint. Such tasks must be idempotent. A whole worker that dies is noticed by the
# sweeper through the job's heartbeat (common.jobs), long before Redis' visibility timeout.
LONG_TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}
