"""Celery tasks of analysis. Thin: take ids, call a service.

Fit and score tasks run on queue `gpu` (CUDA when the worker has it), acknowledged late and
re-queued when their worker dies: a fit resumes from its last checkpoint in shared storage.
Imports and exports run on `default`.
"""

from __future__ import annotations

import logging
import socket

from celery import shared_task

from config.celery_app import LONG_TASK_OPTIONS

log = logging.getLogger(__name__)


@shared_task(name="analysis.tasks.fit_lpips", **LONG_TASK_OPTIONS)
def fit_lpips(fit_id: int) -> dict:
    from .models import FitRun, RunStatus
    from .services import fit_run_execute

    run = FitRun.objects.get(pk=fit_id)
    if run.status in (RunStatus.DONE, RunStatus.CANCELLED):
        return {"skipped": run.status}
    try:
        run = fit_run_execute(run=run, worker=socket.gethostname())
    except Exception as exc:
        log.exception("fit %s failed", fit_id)
        FitRun.objects.filter(pk=fit_id).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000]
        )
        raise
    return {"status": run.status, "result": run.result}


@shared_task(name="analysis.tasks.score_metric", **LONG_TASK_OPTIONS)
def score_metric(score_id: int) -> dict:
    from .models import RunStatus, ScoreRun
    from .services import score_run_execute

    run = ScoreRun.objects.get(pk=score_id)
    if run.status == RunStatus.DONE:
        return {"skipped": "done"}

    def progress(event: dict) -> None:
        ScoreRun.objects.filter(pk=score_id).update(progress=event)

    try:
        run = score_run_execute(run=run, progress=progress)
    except Exception as exc:
        log.exception("score run %s failed", score_id)
        ScoreRun.objects.filter(pk=score_id).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000]
        )
        raise
    return {"status": run.status}


@shared_task(name="analysis.tasks.import_dataset", **LONG_TASK_OPTIONS)
def import_dataset(dataset_id: int) -> dict:
    from common.exceptions import ApplicationError

    from .datasets import dataset_import_run
    from .models import Dataset

    dataset = Dataset.objects.get(pk=dataset_id)
    if dataset.status == Dataset.Status.READY:
        return {"skipped": "ready"}

    def progress(done: int, total: int) -> None:
        Dataset.objects.filter(pk=dataset_id).update(progress={"done": done, "total": total})

    try:
        dataset_import_run(dataset=dataset, progress=progress)
    except ApplicationError as exc:
        return {"failed": exc.message}  # recorded on the dataset; retrying cannot fix bad files
    return {"status": "ready"}


from .export_tasks import export_dataset  # noqa: E402,F401  (registers analysis.tasks.export_dataset)
