"""Writes of studies: create, update, delete, status transitions and the generation lifecycle.

Status changes go through `study_transition` (row-locked, checked against `Study.TRANSITIONS`,
recorded in `StudyStatusChange`). Generation is planned by `studies.generation` (this module
calls it; it never calls back) and run by `studies.tasks`, which are enqueued on commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from common.exceptions import ApplicationError, ConflictError, DomainError
from common.utils import model_update

from .. import generation, generators, selectors
from ..models import Study, StudyStatusChange
from ..signals import study_status_changed
from ._access import require_owner

# Fields that shape the generated stimuli and trials: frozen once a study leaves draft.
STUDY_FROZEN_FIELDS = [
    "kind",
    "image_set",
    "seed",
    "patch_size",
    "judgments_train",
    "judgments_val",
    "judgments_jnd",
    "jnd_identical_share",
]
# Presentation, recruitment and QC settings: may change at any time.
STUDY_SETTING_FIELDS = [
    "name",
    "instructions",
    "display_scale",
    "assignment_size",
    "sentinel_rate",
    "jnd_first_ms",
    "jnd_gap_ms",
    "jnd_second_ms",
    "break_every",
    "max_assignments_per_participant",
    "lease_minutes",
    "completion_url",
    "completion_code",
    "completion_code_failed",
    "estimated_minutes",
    "payment",
    "contact",
    "desktop_only",
    "qc_min_sentinel_accuracy",
    "qc_rt_floor_ms",
    "qc_max_fast_share",
    "qc_max_side_bias",
]
STUDY_DESIGN_FIELDS = STUDY_FROZEN_FIELDS + STUDY_SETTING_FIELDS


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "study"
    slug, n = base, 2
    while Study.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_image_set(*, study: Study, by: AbstractBaseUser | None) -> None:
    image_set = study.image_set
    if image_set is None:
        return
    if by is not None and not selectors.user_can_access_image_set(user=by, image_set=image_set):
        # Another researcher's image set looks like a missing one: ids must not leak.
        raise ApplicationError(
            f"Image set {image_set.pk} not found.", fields={"image_set": ["not found"]}
        )
    if image_set.min_side < study.patch_size:
        smaller = image_set.images.filter(width__lt=study.patch_size) | image_set.images.filter(
            height__lt=study.patch_size
        )
        if smaller.exists():
            raise ApplicationError(
                f"patch_size {study.patch_size} is larger than {smaller.count()} image(s) in image set "
                f"{image_set.name!r}.",
                fields={"patch_size": ["larger than some images"]},
            )


@transaction.atomic
def study_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    slug: str | None = None,
    collaborators: Iterable[AbstractBaseUser] = (),
    **design,
) -> Study:
    unknown = set(design) - set(STUDY_DESIGN_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown study fields: {sorted(unknown)}")
    if slug and Study.objects.filter(slug=slug).exists():
        raise ApplicationError(
            f"A study with slug {slug!r} already exists.", fields={"slug": ["taken"]}
        )
    study = Study(owner=owner, name=name, slug=slug or _unique_slug(name), **design)
    study.full_clean()
    _check_image_set(study=study, by=owner)
    study.save()
    study.collaborators.set(list(collaborators))
    return study


@transaction.atomic
def study_update(*, study: Study, data: dict, by: AbstractBaseUser | None = None) -> Study:
    """Change a study's design (drafts only) or settings (any time). `by`: who asks (only the
    owner may change collaborators; an image set must be one `by` can see); None: the system."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if "collaborators" in data:
        require_owner(study, by=by, action="change collaborators")
    design_changes = {k: v for k, v in data.items() if k in STUDY_FROZEN_FIELDS}
    if design_changes and study.status != Study.Status.DRAFT:
        changed = sorted(k for k, v in design_changes.items() if getattr(study, k) != v)
        if changed:
            raise ConflictError(
                f"The design of a study can only change while it is a draft (it is {study.status}); "
                f"cannot change {changed}.",
                code="not_draft",
            )
    # Only a newly named image set must be one `by` can see (a collaborator on the study need
    # not be one on its image set to rename the study).
    new_image_set = "image_set" in data and data["image_set"] != study.image_set
    study, _ = model_update(instance=study, data=data, fields=STUDY_DESIGN_FIELDS)
    _check_image_set(study=study, by=by if new_image_set else None)
    if "collaborators" in data:
        study.collaborators.set(data["collaborators"])
    return study


@transaction.atomic
def study_delete(*, study: Study, by: AbstractBaseUser | None = None) -> None:
    require_owner(study, by=by, action="delete a study")
    if study.status not in (Study.Status.DRAFT, Study.Status.READY, Study.Status.FAILED):
        raise ConflictError(
            f"Only draft, failed or ready studies can be deleted (this one is {study.status}).",
            code="not_deletable",
        )
    _discard(study)  # stored stimulus and model files too
    study.delete()


def _generation_check(study: Study) -> None:
    """Raise the DomainError that stops `study` from being generated as it stands."""
    if study.image_set is None:
        raise ApplicationError(
            "Choose an image set before generating stimuli.", fields={"image_set": ["required"]}
        )
    if study.generator:
        generators.get(study.generator).validate(study)
    else:
        generation.validate_design(study)


def study_generation_problem(*, study: Study) -> str:
    """Why `study` cannot be generated as it stands (the message generating it would give), or
    "" when it can. Reads only."""
    try:
        _generation_check(study)
    except DomainError as exc:
        return exc.message
    return ""


def study_transition(
    *, study: Study, to: str, by: AbstractBaseUser | None = None, note: str = ""
) -> Study:
    """Move a study to another status, if `Study.TRANSITIONS` allows it.

    The row is locked while checking, so two concurrent requests cannot both move it. Side
    effects of entering a status (e.g. starting stimulus generation) are enqueued after commit;
    `studies.signals.study_status_changed` is sent inside the transaction.
    """
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if to not in Study.Status.values:
            raise ApplicationError(
                f"Unknown status {to!r}; statuses are {list(Study.Status.values)}.",
                fields={"status": ["unknown"]},
            )
        allowed = locked.allowed_transitions()
        if to not in allowed:
            raise ConflictError(
                f"Cannot move study from {locked.status} to {to}; allowed: {', '.join(allowed) or 'none'}.",
                code="illegal_transition",
                fields={"status": [f"not allowed from {locked.status}"]},
            )
        if to == Study.Status.GENERATING:
            _generation_check(locked)  # a bad design is refused before anything is written
        if to == Study.Status.READY:
            made, planned = generation.generation_progress(study=locked)
            if not planned or made < planned:
                raise ConflictError(
                    f"Generation is not finished ({made} of {planned} trials).",
                    code="not_generated",
                )
        if to == Study.Status.DRAFT:
            _discard(locked)
        if (
            to == Study.Status.LIVE
            and not locked.trials.filter(is_sentinel=False, is_practice=False).exists()
        ):
            raise ConflictError(
                "This study has no trials to collect judgments for.", code="no_trials"
            )
        from_status = locked.status
        StudyStatusChange.objects.create(
            study=locked, from_status=from_status, to_status=to, by=by, note=note
        )
        locked.status = to
        locked.error = ""
        locked.save(update_fields=["status", "error", "updated_at"])
        study_status_changed.send(sender=Study, study=locked, from_status=from_status, to_status=to)
        if to == Study.Status.GENERATING:
            _enqueue_generation(locked.pk, generator=locked.generator)
    study.status = locked.status
    return locked


def _discard(study: Study) -> None:
    if study.generator:
        discard = generators.get(study.generator).discard
        if discard is not None:
            discard(study)
    generation.generation_discard(study=study)


def _enqueue_generation(study_id: int, *, generator: str = "") -> None:
    from common import jobs

    from ..models import GeneratingStudy

    if generator:
        generators.get(generator).enqueue(study_id)
        return

    jobs.enqueue(
        "studies.tasks.generate_study",
        study_id,
        target=(GeneratingStudy, study_id),
        failed={"status": Study.Status.FAILED},
    )


def study_generation_retry(*, study: Study, by: AbstractBaseUser | None = None) -> Study:
    """Run a study's generation again: a failed one (failed → generating, with the error
    cleared) or one still generating whose workers were lost. Trials already made are kept;
    the tasks skip them."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status == Study.Status.FAILED:
            return study_transition(study=locked, to=Study.Status.GENERATING, by=by, note="retry")
        if locked.status != Study.Status.GENERATING:
            raise ConflictError(
                f"Only a failed or generating study's generation can be retried "
                f"(this one is {locked.status}).",
                code="not_generating",
            )
        locked.error = ""
        locked.save(update_fields=["error", "updated_at"])
        _enqueue_generation(locked.pk, generator=locked.generator)
    return locked


def study_generation_finish(*, study: Study) -> bool:
    """Move a generating study to `ready` once every planned trial exists. Idempotent: chunks
    finishing together all call this; the first moves the study, the others see it moved."""
    made, planned = generation.generation_progress(study=study)
    if not planned or made < planned:
        return False
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status == Study.Status.GENERATING:
            study_transition(study=locked, to=Study.Status.READY, note=f"{made} trials generated")
    return True
