"""Writes of image sets and their reference images."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from common.exceptions import ApplicationError, ConflictError
from common.utils import model_update

from ..images import (
    IMAGE_SUFFIXES,
    DecodedImage,
    ImageRejected,
    decode_image,
    encode_png,
    is_zip,
    iter_zip_members,
    make_thumbnail,
)
from ..models import ImageSet, ReferenceImage, Study
from ._access import require_owner

IMAGE_SET_FIELDS = ["name", "description", "min_side"]
REFERENCE_IMAGE_FIELDS = ["source", "licence"]


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
def image_set_update(
    *, image_set: ImageSet, data: dict, by: AbstractBaseUser | None = None
) -> ImageSet:
    """Change an image set's fields and collaborators (`by`: who asks; None for the system)."""
    if "collaborators" in data:
        require_owner(image_set, by=by, action="change collaborators")
    if "min_side" in data and data["min_side"] > image_set.min_side:
        too_small = image_set.images.filter(width__lt=data["min_side"]) | image_set.images.filter(
            height__lt=data["min_side"]
        )
        if too_small.exists():
            raise ApplicationError(
                f"min_side cannot rise to {data['min_side']}: {too_small.count()} image(s) in the set are smaller.",
                fields={"min_side": ["smaller images exist"]},
            )
    image_set, _ = model_update(instance=image_set, data=data, fields=IMAGE_SET_FIELDS)
    if "collaborators" in data:
        image_set.collaborators.set(data["collaborators"])
    return image_set


@transaction.atomic
def image_set_delete(*, image_set: ImageSet, by: AbstractBaseUser | None = None) -> None:
    require_owner(image_set, by=by, action="delete an image set")
    if image_set.studies.exists():
        raise ConflictError(
            "This image set is used by a study; delete or re-point the study first.",
            code="in_use",
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
        raise ConflictError(f"Could not store the upload: {exc}", code="store_failed") from None
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
def reference_image_update(*, image: ReferenceImage, data: dict) -> ReferenceImage:
    """Change what is recorded about a picture's origin (source, licence); pixels never change."""
    image, _ = model_update(instance=image, data=data, fields=REFERENCE_IMAGE_FIELDS)
    return image


@transaction.atomic
def reference_image_delete(*, image: ReferenceImage) -> None:
    busy = image.image_set.studies.exclude(status=Study.Status.DRAFT)
    if busy.exists():
        raise ConflictError(
            "This image belongs to a study that is past the draft stage; it cannot be deleted.",
            code="in_use",
        )
    _delete_files(image)
    image.delete()
