"""Celery tasks of analysis, all of them. Thin: take an id, call a service.

Every task is requested as a job (`common.jobs.enqueue`, a transactional outbox) and runs under
`common.jobs.tracked`: only the job's current attempt runs, beating a heartbeat, and a job whose
worker died is re-queued by the sweeper under its next attempt. Every task follows the one
failure policy (`common.tasks.recording_failure`): when its work
fails, its object is marked failed with the error (visible in the admin and the API) and can be
re-queued by the entity's `<entity>_retry` service. A message for an object that is gone, or
already finished or failed, is skipped (a retry resets the status before it enqueues).

Queues (by the `analysis.tasks.*` routes in settings, and the explicit queue below):
fit, k-means trunks and score on `gpu` (CUDA when the worker has it), acknowledged late and re-queued when their
worker dies (a fit resumes from its last checkpoint in shared storage); upload validation on
`gpu` too, as it loads the file with torch; imports, exports and the leaderboard's significance
refresh (`analysis.leaderboard.tasks`) on `default`.
"""

from __future__ import annotations

import socket

from celery import shared_task

from common.jobs import heartbeat, tracked
from common.tasks import recording_failure
from config.celery_app import LONG_TASK_OPTIONS


def _outcome(failure, **done) -> dict:
    return {"failed": failure.error} if failure.error else done


@shared_task(name="analysis.tasks.fit_lpips", **LONG_TASK_OPTIONS)
@tracked
def fit_lpips(fit_id: int) -> dict:
    from .models import FitRun, RunStatus
    from .services import fit_run_execute

    run = FitRun.objects.filter(pk=fit_id).first()
    if run is None or run.status in (RunStatus.DONE, RunStatus.CANCELLED, RunStatus.FAILED):
        return {"skipped": run.status if run else "missing"}
    with recording_failure(FitRun, fit_id, status=RunStatus.FAILED) as failure:
        run = fit_run_execute(run=run, worker=socket.gethostname())
    return _outcome(failure, status=run.status, result=run.result)


@shared_task(name="analysis.tasks.score_metric", **LONG_TASK_OPTIONS)
@tracked
def score_metric(score_id: int) -> dict:
    from .models import RunStatus, ScoreRun
    from .services import score_run_execute

    run = ScoreRun.objects.filter(pk=score_id).first()
    if run is None or run.status in (RunStatus.DONE, RunStatus.CANCELLED, RunStatus.FAILED):
        return {"skipped": run.status if run else "missing"}

    def progress(event: dict) -> None:
        heartbeat()  # stops before writing when this attempt was superseded (common.jobs)
        ScoreRun.objects.filter(pk=score_id).update(progress=event)

    with recording_failure(ScoreRun, score_id, status=RunStatus.FAILED) as failure:
        run = score_run_execute(run=run, progress=progress)
    return _outcome(failure, status=run.status)


@shared_task(name="analysis.tasks.fit_kmeans_trunk", **LONG_TASK_OPTIONS)
@tracked
def fit_kmeans_trunk(trunk_id: int) -> dict:
    """A k-means trunk (queue `gpu` by the `fit_*` route; CPU when the worker has no CUDA)."""
    from .models import KMeansTrunk, RunStatus
    from .services import kmeans_trunk_execute

    trunk = KMeansTrunk.objects.filter(pk=trunk_id).first()
    if trunk is None or trunk.status in (RunStatus.DONE, RunStatus.CANCELLED, RunStatus.FAILED):
        return {"skipped": trunk.status if trunk else "missing"}

    def progress(event: dict) -> None:
        heartbeat()
        KMeansTrunk.objects.filter(pk=trunk_id).update(progress=event)

    with recording_failure(KMeansTrunk, trunk_id, status=RunStatus.FAILED) as failure:
        trunk = kmeans_trunk_execute(trunk=trunk, worker=socket.gethostname(), progress=progress)
    return _outcome(failure, status=trunk.status, sha256=trunk.sha256)


@shared_task(name="analysis.tasks.validate_uploaded_metric", **LONG_TASK_OPTIONS)
@tracked
def validate_uploaded_metric(upload_id: int) -> dict:
    from .models import UploadedMetric
    from .services import uploaded_metric_validate

    upload = UploadedMetric.objects.filter(pk=upload_id).first()
    finished = (UploadedMetric.Status.READY, UploadedMetric.Status.FAILED)
    if upload is None or upload.status in finished:
        return {"skipped": upload.status if upload else "missing"}
    with recording_failure(
        UploadedMetric, upload_id, status=UploadedMetric.Status.FAILED
    ) as failure:
        upload = uploaded_metric_validate(upload=upload)
    return _outcome(failure, status=upload.status)


@shared_task(name="analysis.tasks.import_dataset", **LONG_TASK_OPTIONS)
@tracked
def import_dataset(dataset_id: int) -> dict:
    from .datasets import dataset_import_run
    from .models import Dataset

    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None or dataset.status != Dataset.Status.BUILDING:
        return {"skipped": dataset.status if dataset else "missing"}

    def progress(done: int, total: int) -> None:
        heartbeat()
        Dataset.objects.filter(pk=dataset_id).update(progress={"done": done, "total": total})

    with recording_failure(Dataset, dataset_id, status=Dataset.Status.FAILED) as failure:
        dataset_import_run(dataset=dataset, progress=progress)
    return _outcome(failure, status="ready")


@shared_task(name="analysis.tasks.export_dataset", **LONG_TASK_OPTIONS)
@tracked
def export_dataset(export_id: int) -> dict:
    from .exports import export_run
    from .models import Export

    export = Export.objects.select_related("dataset").filter(pk=export_id).first()
    finished = (Export.Status.READY, Export.Status.FAILED)
    if export is None or export.status in finished:
        return {"skipped": export.status if export else "missing"}
    with recording_failure(Export, export_id, status=Export.Status.FAILED) as failure:
        export = export_run(export=export)
    return _outcome(failure, status=export.status, sha256=export.sha256, size=export.size)


# The leaderboard's task lives with the leaderboard; importing it here registers it with workers
# (which autodiscover `analysis.tasks`).
from .leaderboard.tasks import board_significance_refresh  # noqa: E402, F401
