"""Celery tasks of stimulus generation (queue `stimuli`). Thin: take ids, call the planner
(`studies.generation`) and the services.

`generate_study` prepares (models, frozen design) and fans the trial indices out as chunk tasks,
so several workers share the work; each chunk is a job of its own (`common.jobs`) and idempotent,
so a chunk whose worker died is re-queued by the sweeper and finishes without duplicates.

Failure policy (`common.tasks.recording_failure`, the same for every task): a step that fails
moves the study to `failed` with the error in `Study.error`, visible in the admin and the API;
`studies.services.study_generation_retry` (admin action, API endpoint) runs it again. Only a
study still `generating` is marked (`GeneratingStudy`), so a failure arriving after the study
was moved back to draft changes nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from common.jobs import tracked
from config.celery_app import LONG_TASK_OPTIONS

log = logging.getLogger(__name__)


@worker_ready.connect
def clean_up_after_dead_workers(**_kwargs) -> None:
    """A worker starting removes what killed tasks left: temporary folders of dead worker
    processes on this host (`common.scratch`) and stored files no row names, older than
    PERCEPTLAB_ORPHAN_GRACE_S (`generation.orphan_files_delete`)."""
    from common.scratch import sweep_dead

    from . import generation

    try:
        folders = sweep_dead()
        files = generation.orphan_files_delete()
    except Exception:  # never keep a worker from starting
        log.exception("Clean-up at worker start failed")
        return
    log.info(
        "Worker start: removed %d dead temporary folder(s), %d orphan file(s)", len(folders), files
    )


def _failure(study_id: int):
    from common.tasks import recording_failure

    from .models import GeneratingStudy, Study

    return recording_failure(GeneratingStudy, study_id, status=Study.Status.FAILED)


@shared_task(name="studies.tasks.generate_study", **LONG_TASK_OPTIONS)
@tracked
def generate_study(study_id: int) -> dict:
    from django.conf import settings
    from django.db import transaction

    from common import jobs

    from . import generation
    from .models import GeneratingStudy, Study

    study = Study.objects.get(pk=study_id)
    if study.status != Study.Status.GENERATING:
        return {"skipped": f"study is {study.status}"}
    try:  # a retry: delete what killed chunks left (best effort, never fails the generation)
        generation.orphan_files_delete(study=study)
    except Exception:
        log.exception("Study %s: could not delete orphan files", study_id)
    with _failure(study_id) as failure:
        blocks = generation.generation_prepare(
            study=study, model_steps=settings.PERCEPTLAB_MODEL_STEPS or None
        )
    if failure.error:
        return {"failed": failure.error}
    pieces = generation.chunks(blocks)
    with transaction.atomic():  # one outbox entry per chunk, published after the commit
        for start, stop in pieces:
            jobs.enqueue(
                "studies.tasks.generate_chunk",
                study_id,
                start,
                stop,
                target=(GeneratingStudy, study_id),
                failed={"status": Study.Status.FAILED},
            )
    return {"chunks": len(pieces), "trials": study.generation_total}


@shared_task(name="studies.tasks.generate_chunk", **LONG_TASK_OPTIONS)
@tracked
def generate_chunk(study_id: int, start: int, stop: int) -> dict:
    from . import generation, services
    from .models import Study

    study = Study.objects.get(pk=study_id)
    if study.status != Study.Status.GENERATING:
        return {"skipped": f"study is {study.status}"}
    created, finished = 0, False
    with _failure(study_id) as failure:
        created = generation.generation_run_chunk(study=study, start=start, stop=stop)
        finished = services.study_generation_finish(study=study)
    if failure.error:
        return {"failed": failure.error}
    return {"created": created, "finished": finished}
