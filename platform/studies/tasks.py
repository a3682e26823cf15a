"""Celery tasks of stimulus generation (queue `stimuli`). Thin: take ids, call `generation`.

`generate_study` prepares (models, frozen design) and fans the trial indices out as chunk tasks,
so several workers share the work; each chunk task is idempotent and acknowledged late, so a
chunk whose worker died is re-delivered and finishes without duplicates.
"""

from __future__ import annotations

import logging

from celery import shared_task

from config.celery_app import LONG_TASK_OPTIONS

log = logging.getLogger(__name__)


def _fail(study_id: int, exc: BaseException) -> None:
    from .models import Study

    Study.objects.filter(pk=study_id).update(generation_error=f"{type(exc).__name__}: {exc}"[:2000])


@shared_task(name="studies.tasks.generate_study", **LONG_TASK_OPTIONS)
def generate_study(study_id: int) -> dict:
    from . import generation
    from .models import Study

    study = Study.objects.get(pk=study_id)
    if study.status != Study.Status.GENERATING:
        return {"skipped": f"study is {study.status}"}
    try:
        from django.conf import settings

        blocks = generation.generation_prepare(
            study=study, model_steps=settings.PERCEPTLAB_MODEL_STEPS or None
        )
    except Exception as exc:
        _fail(study_id, exc)
        raise
    pieces = generation.chunks(blocks)
    for start, stop in pieces:
        generate_chunk.delay(study_id, start, stop)
    return {"chunks": len(pieces), "trials": study.generation_total}


@shared_task(name="studies.tasks.generate_chunk", **LONG_TASK_OPTIONS)
def generate_chunk(study_id: int, start: int, stop: int) -> dict:
    from . import generation
    from .models import Study

    study = Study.objects.get(pk=study_id)
    if study.status != Study.Status.GENERATING:
        return {"skipped": f"study is {study.status}"}
    try:
        created = generation.generation_run_chunk(study=study, start=start, stop=stop)
        finished = generation.generation_finish(study=study)
    except Exception as exc:
        log.exception("generation of study %s, trials %s-%s failed", study_id, start, stop)
        _fail(study_id, exc)
        raise
    return {"created": created, "finished": finished}
