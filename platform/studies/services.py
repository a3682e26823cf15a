"""Writes for study design: image sets, reference images, studies and their status.

Every service is keyword-only and transactional: bad input raises `ApplicationError` (or
`ValidationError`) before anything is written, or rolls the transaction back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from common.exceptions import ApplicationError
from common.utils import model_update

from .images import (
    IMAGE_SUFFIXES,
    DecodedImage,
    ImageRejected,
    decode_image,
    encode_png,
    is_zip,
    iter_zip_members,
    make_thumbnail,
)
from .models import ImageSet, ReferenceImage, Study, StudyStatusChange

# ---------------------------------------------------------------------------------------------
# Image sets and images
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def image_set_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    description: str = "",
    min_side: int = 64,
    collaborators: Iterable[AbstractBaseUser] = (),
) -> ImageSet:
    image_set = ImageSet(owner=owner, name=name, description=description, min_side=min_side)
    image_set.full_clean()
    image_set.save()
    image_set.collaborators.set(list(collaborators))
    return image_set


@transaction.atomic
def image_set_update(*, image_set: ImageSet, data: dict) -> ImageSet:
    if "min_side" in data and data["min_side"] > image_set.min_side:
        too_small = image_set.images.filter(width__lt=data["min_side"]) | image_set.images.filter(
            height__lt=data["min_side"]
        )
        if too_small.exists():
            raise ApplicationError(
                f"min_side cannot rise to {data['min_side']}: {too_small.count()} image(s) in the set are smaller.",
                fields={"min_side": ["smaller images exist"]},
            )
    image_set, _ = model_update(
        instance=image_set, data=data, fields=["name", "description", "min_side"]
    )
    if "collaborators" in data:
        image_set.collaborators.set(data["collaborators"])
    return image_set


@transaction.atomic
def image_set_delete(*, image_set: ImageSet) -> None:
    if image_set.studies.exists():
        raise ApplicationError(
            "This image set is used by a study; delete or re-point the study first.",
            code="in_use",
            status_code=409,
        )
    for image in image_set.images.all():
        _delete_files(image)
    image_set.delete()


@dataclass
class UploadResult:
    created: list[ReferenceImage] = field(default_factory=list)
    duplicates: list[ReferenceImage] = field(default_factory=list)


def _decode_upload(*, data: bytes, name: str, min_side: int) -> list[DecodedImage]:
    max_pixels = settings.PERCEPTLAB_MAX_IMAGE_PIXELS
    if is_zip(data):
        if len(data) > settings.PERCEPTLAB_MAX_ZIP_BYTES:
            raise ImageRejected(
                f"{name}: archive is {len(data):,} bytes; the limit is {settings.PERCEPTLAB_MAX_ZIP_BYTES:,}."
            )
        decoded = []
        for member, content in iter_zip_members(
            data,
            name=name,
            max_members=settings.PERCEPTLAB_MAX_ZIP_MEMBERS,
            max_total_bytes=settings.PERCEPTLAB_MAX_ZIP_BYTES,
        ):
            if not member.lower().endswith(IMAGE_SUFFIXES):
                raise ImageRejected(
                    f"{name}: member {member!r} is not an image file (by its extension)."
                )
            decoded.append(
                decode_image(
                    content, name=f"{name}:{member}", min_side=min_side, max_pixels=max_pixels
                )
            )
        return decoded
    if len(data) > settings.PERCEPTLAB_MAX_IMAGE_BYTES:
        raise ImageRejected(
            f"{name}: file is {len(data):,} bytes; the limit is {settings.PERCEPTLAB_MAX_IMAGE_BYTES:,}."
        )
    return [decode_image(data, name=name, min_side=min_side, max_pixels=max_pixels)]


def reference_images_upload(
    *, image_set: ImageSet, data: bytes, name: str, source: str = "", licence: str = ""
) -> UploadResult:
    """Add one image, or every image of a zip archive, to an image set.

    All files are decoded and checked before anything is stored: one bad member refuses the
    whole archive. Images whose pixels are already in the set are reported as duplicates.
    """
    if not data:
        raise ApplicationError(
            f"{name or 'upload'}: the file is empty.", fields={"file": ["empty file"]}
        )
    try:
        decoded = _decode_upload(data=data, name=name, min_side=image_set.min_side)
    except ImageRejected as exc:
        raise ApplicationError(
            str(exc), code="invalid_image", fields={"file": [str(exc)]}
        ) from None

    result = UploadResult()
    written: list[ReferenceImage] = []
    try:
        with transaction.atomic():
            seen: dict[str, ReferenceImage] = {}
            for item in decoded:
                existing = (
                    seen.get(item.sha256) or image_set.images.filter(sha256=item.sha256).first()
                )
                if existing is not None:
                    result.duplicates.append(existing)
                    continue
                image = ReferenceImage(
                    image_set=image_set,
                    sha256=item.sha256,
                    original_name=item.name[-255:],
                    original_mode=item.original_mode,
                    original_format=item.original_format,
                    conversion=item.conversion,
                    source=source,
                    licence=licence,
                    width=item.rgb.width,
                    height=item.rgb.height,
                )
                image.file.save("image.png", ContentFile(encode_png(item.rgb)), save=False)
                written.append(image)
                image.thumbnail.save("thumb.png", ContentFile(make_thumbnail(item.rgb)), save=False)
                image.save()
                seen[item.sha256] = image
                result.created.append(image)
    except (IntegrityError, OSError) as exc:
        for image in written:
            _delete_files(image)
        raise ApplicationError(
            f"Could not store the upload: {exc}", code="store_failed", status_code=409
        ) from None
    except BaseException:
        for image in written:
            _delete_files(image)
        raise
    return result


def _delete_files(image: ReferenceImage) -> None:
    # Content-addressed files may be shared by another set holding the same pixels.
    for fieldfile in (image.file, image.thumbnail):
        if not fieldfile.name:
            continue
        shared = ReferenceImage.objects.exclude(pk=image.pk).filter(sha256=image.sha256).exists()
        if not shared:
            fieldfile.storage.delete(fieldfile.name)


@transaction.atomic
def reference_image_delete(*, image: ReferenceImage) -> None:
    busy = image.image_set.studies.exclude(status=Study.Status.DRAFT)
    if busy.exists():
        raise ApplicationError(
            "This image belongs to a study that is past the draft stage; it cannot be deleted.",
            code="in_use",
            status_code=409,
        )
    _delete_files(image)
    image.delete()


# ---------------------------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------------------------

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


def _check_image_set(*, study: Study) -> None:
    image_set = study.image_set
    if image_set is None:
        return
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
    _check_image_set(study=study)
    study.save()
    study.collaborators.set(list(collaborators))
    return study


@transaction.atomic
def study_update(*, study: Study, data: dict) -> Study:
    study = Study.objects.select_for_update().get(pk=study.pk)
    design_changes = {k: v for k, v in data.items() if k in STUDY_FROZEN_FIELDS}
    if design_changes and study.status != Study.Status.DRAFT:
        changed = sorted(k for k, v in design_changes.items() if getattr(study, k) != v)
        if changed:
            raise ApplicationError(
                f"The design of a study can only change while it is a draft (it is {study.status}); "
                f"cannot change {changed}.",
                code="not_draft",
                status_code=409,
            )
    study, _ = model_update(instance=study, data=data, fields=STUDY_DESIGN_FIELDS)
    _check_image_set(study=study)
    if "collaborators" in data:
        study.collaborators.set(data["collaborators"])
    return study


@transaction.atomic
def study_delete(*, study: Study) -> None:
    if study.status not in (Study.Status.DRAFT, Study.Status.READY):
        raise ApplicationError(
            f"Only draft or ready studies can be deleted (this one is {study.status}).",
            code="not_deletable",
            status_code=409,
        )
    study.delete()


def study_transition(
    *, study: Study, to: str, by: AbstractBaseUser | None = None, note: str = ""
) -> Study:
    """Move a study to another status, if `Study.TRANSITIONS` allows it.

    The row is locked while checking, so two concurrent requests cannot both move it. Side
    effects of entering a status (e.g. starting stimulus generation) are enqueued after commit.
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
            raise ApplicationError(
                f"Cannot move study from {locked.status} to {to}; allowed: {', '.join(allowed) or 'none'}.",
                code="illegal_transition",
                fields={"status": [f"not allowed from {locked.status}"]},
                status_code=409,
            )
        if to == Study.Status.GENERATING and locked.image_set is None:
            raise ApplicationError(
                "Choose an image set before generating stimuli.", fields={"image_set": ["required"]}
            )
        if to == Study.Status.GENERATING:
            from .generation import validate_design

            validate_design(locked)  # a bad design is refused here, before anything is written
        if to == Study.Status.READY:
            planned, made = locked.generation_total, locked.trials.count()
            if not planned or made < planned:
                raise ApplicationError(
                    f"Generation is not finished ({made} of {planned} trials).",
                    code="not_generated",
                    status_code=409,
                )
        if to == Study.Status.DRAFT:
            from .generation import generation_discard

            generation_discard(study=locked)
        if (
            to == Study.Status.LIVE
            and not locked.trials.filter(is_sentinel=False, is_practice=False).exists()
        ):
            raise ApplicationError(
                "This study has no trials to collect judgments for.",
                code="no_trials",
                status_code=409,
            )
        StudyStatusChange.objects.create(
            study=locked, from_status=locked.status, to_status=to, by=by, note=note
        )
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        if to == Study.Status.GENERATING:
            from .tasks import generate_study as generate_study_task

            study_id = locked.pk
            transaction.on_commit(lambda: generate_study_task.delay(study_id))
    study.status = locked.status
    return locked


# ---------------------------------------------------------------------------------------------
# Distortion choices and trial counts (draft only)
# ---------------------------------------------------------------------------------------------


def _require_draft(study: Study) -> None:
    if study.status != Study.Status.DRAFT:
        raise ApplicationError(
            f"Distortions and trial counts can only change while the study is a draft "
            f"(it is {study.status}).",
            code="not_draft",
            status_code=409,
        )


@transaction.atomic
def distortion_spec_add(
    *,
    study: Study,
    name: str,
    category: str = "traditional",
    severity_min: float = 0.0,
    severity_max: float = 1.0,
    weight: float = 1.0,
):
    import difflib

    import experiments

    from .models import DistortionSpec

    _require_draft(study)
    names = [info.name for info in experiments.list_distortions()]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ApplicationError(f"Unknown distortion {name!r}.{hint}", fields={"name": ["unknown"]})
    if not (0.0 <= severity_min <= severity_max <= 1.0):
        raise ApplicationError(
            f"Severity range [{severity_min}, {severity_max}] must lie within [0, 1] with "
            "min ≤ max.",
            fields={"severity_min": ["out of range"]},
        )
    if DistortionSpec.objects.filter(study=study, name=name, category=category).exists():
        raise ApplicationError(
            f"{name} is already chosen for category {category!r}.", fields={"name": ["duplicate"]}
        )
    spec = DistortionSpec(
        study=study,
        name=name,
        family=experiments.get_distortion(name).info.family,
        category=category,
        severity_min=severity_min,
        severity_max=severity_max,
        weight=weight,
    )
    spec.full_clean()
    spec.save()
    return spec


@transaction.atomic
def distortion_spec_remove(*, spec) -> None:
    _require_draft(spec.study)
    spec.delete()


@transaction.atomic
def trial_quota_set(*, study: Study, kind: str, split: str, category: str, count: int):
    from .models import TrialQuota

    _require_draft(study)
    if count < 1:
        raise ApplicationError(
            "Zero trials requested: count must be at least 1 (remove the row instead).",
            fields={"count": ["must be >= 1"]},
        )
    allowed = {"both": ("2afc", "jnd")}.get(study.kind, (study.kind,))
    if kind not in allowed:
        raise ApplicationError(
            f"This is a {study.kind} study; trial kind must be one of {list(allowed)}.",
            fields={"kind": ["invalid"]},
        )
    quota, _ = TrialQuota.objects.update_or_create(
        study=study, kind=kind, split=split, category=category, defaults={"count": count}
    )
    quota.full_clean()
    return quota
