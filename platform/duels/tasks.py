"""Celery tasks of duel generation (queue `stimuli`, like every study's generation). Thin: take
ids, call `duels.generation` and the study services.

`duel_prepare` freezes the pool and fans out one `duel_chunk` job per unit of work (a metric's
pool scoring, an ordered pair's MAD synthesis); the chunk that finds every chunk done assembles
the trials (once: the duel row is locked) and fans the study's sentinels and practice out as
`studies.tasks.generate_chunk` jobs, the last of which moves the study to `ready`.

Failure policy (`common.tasks.recording_failure`): a failing step moves the study to `failed`
with the error, as for every study; `studies.services.study_generation_retry` runs it again
(chunks already done are kept).
"""

from __future__ import annotations

from celery import shared_task

from common.jobs import tracked
from config.celery_app import LONG_TASK_OPTIONS


def _failure(study_id: int):
    from common.tasks import recording_failure
    from studies.models import GeneratingStudy, Study

    return recording_failure(GeneratingStudy, study_id, status=Study.Status.FAILED)


def _enqueue(task: str, *args) -> None:
    from common import jobs
    from studies.models import GeneratingStudy, Study

    jobs.enqueue(
        task,
        *args,
        target=(GeneratingStudy, args[0]),
        failed={"status": Study.Status.FAILED},
    )


def _duel(study_id: int):
    from studies.models import Study

    from .models import DuelStudy

    duel = DuelStudy.objects.select_related("study").filter(study_id=study_id).first()
    if duel is None:
        return None, {"skipped": "no duel design"}
    if duel.study.status != Study.Status.GENERATING:
        return None, {"skipped": f"study is {duel.study.status}"}
    return duel, None


@shared_task(name="duels.tasks.duel_prepare", **LONG_TASK_OPTIONS)
@tracked
def duel_prepare(study_id: int) -> dict:
    from django.db import transaction

    from . import generation

    duel, skipped = _duel(study_id)
    if skipped:
        return skipped
    keys: list[str] = []
    with _failure(study_id) as failure:
        keys = generation.prepare(duel)
    if failure.error:
        return {"failed": failure.error}
    with transaction.atomic():
        for key in keys:
            _enqueue("duels.tasks.duel_chunk", study_id, key)
        if not keys and not duel.assembled:  # every chunk was done: assembling failed
            _enqueue("duels.tasks.duel_assemble", study_id)
        elif not keys:  # assembled: a sentinel or practice chunk failed; run them again
            from studies import generation as study_generation

            study = duel.study
            for start, stop in study_generation.chunks(study_generation.plan_blocks(study.design)):
                _enqueue("studies.tasks.generate_chunk", study_id, start, stop)
    return {"chunks": len(keys)}


@shared_task(name="duels.tasks.duel_chunk", **LONG_TASK_OPTIONS)
@tracked
def duel_chunk(study_id: int, key: str) -> dict:
    from . import generation
    from .models import DuelChunk

    duel, skipped = _duel(study_id)
    if skipped:
        return skipped
    with _failure(study_id) as failure:
        generation.run_chunk(duel, key)
    if failure.error:
        return {"failed": failure.error}
    if not DuelChunk.objects.filter(duel=duel, done=False).exists():
        return duel_assemble_now(study_id)
    return {"done": key}


@shared_task(name="duels.tasks.duel_assemble", **LONG_TASK_OPTIONS)
@tracked
def duel_assemble(study_id: int) -> dict:
    return duel_assemble_now(study_id)


def duel_assemble_now(study_id: int) -> dict:
    from django.db import transaction

    from studies import services as study_services

    from . import generation
    from .models import DuelStudy

    duel, skipped = _duel(study_id)
    if skipped:
        return skipped
    pieces: list[tuple[int, int]] = []
    with _failure(study_id) as failure, transaction.atomic():
        locked = DuelStudy.objects.select_for_update().select_related("study").get(pk=duel.pk)
        if locked.assembled:
            return {"skipped": "already assembled"}
        pieces = generation.assemble(locked)
        for start, stop in pieces:
            _enqueue("studies.tasks.generate_chunk", study_id, start, stop)
    if failure.error:
        return {"failed": failure.error}
    if not pieces:
        with _failure(study_id):
            study_services.study_generation_finish(study=duel.study)
    return {"assembled": True, "chunks": len(pieces)}
