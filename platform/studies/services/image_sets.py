"""Writes of image sets and their reference images."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q

from common.exceptions import ApplicationError, ConflictError
from common.stored_files import save_content_addressed
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


def _size(file: IO[bytes]) -> int:
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _decoded_images(*, file: IO[bytes], name: str, min_side: int) -> Iterator[DecodedImage]:
    """Decode the upload (one image, or each image of a zip, one at a time: an archive is read
    from the file, never whole into memory). Raises ImageRejected for the first bad file."""
    max_pixels = settings.PERCEPTLAB_MAX_IMAGE_PIXELS
    size = _size(file)
    head = file.read(4)
    file.seek(0)
    if is_zip(head):
        if size > settings.PERCEPTLAB_MAX_ZIP_BYTES:
            raise ImageRejected(
                f"{name}: archive is {size:,} bytes; the limit is {settings.PERCEPTLAB_MAX_ZIP_BYTES:,}."
            )
        for member, content in iter_zip_members(
            file,
            name=name,
            max_members=settings.PERCEPTLAB_MAX_ZIP_MEMBERS,
            max_total_bytes=settings.PERCEPTLAB_MAX_ZIP_BYTES,
        ):
            if not member.lower().endswith(IMAGE_SUFFIXES):
                raise ImageRejected(
                    f"{name}: member {member!r} is not an image file (by its extension)."
                )
            yield decode_image(
                content, name=f"{name}:{member}", min_side=min_side, max_pixels=max_pixels
            )
        return
    if size > settings.PERCEPTLAB_MAX_IMAGE_BYTES:
        raise ImageRejected(
            f"{name}: file is {size:,} bytes; the limit is {settings.PERCEPTLAB_MAX_IMAGE_BYTES:,}."
        )
    yield decode_image(file.read(), name=name, min_side=min_side, max_pixels=max_pixels)


def reference_images_upload(
    *,
    image_set: ImageSet,
    name: str,
    file: IO[bytes] | None = None,
    data: bytes | None = None,
    source: str = "",
    licence: str = "",
) -> UploadResult:
    """Add one image, or every image of a zip archive, to an image set.

    `file` is the upload (a seekable binary file, e.g. Django's temporary upload file), or
    `data` its bytes. Images are decoded and stored one at a time inside one transaction; any
    bad file refuses the whole upload, and the files this upload wrote are deleted again, so a
    refused upload leaves no row and no file. Images whose pixels are already in the set are
    reported as duplicates.
    """
    file = io.BytesIO(data or b"") if file is None else file
    if _size(file) == 0:
        raise ApplicationError(
            f"{name or 'upload'}: the file is empty.", fields={"file": ["empty file"]}
        )
    result = UploadResult()
    written: list[str] = []  # storage names this upload created (not ones that existed before)
    try:
        with transaction.atomic():
            seen: dict[str, ReferenceImage] = {}
            for item in _decoded_images(file=file, name=name, min_side=image_set.min_side):
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
                _store(image.file, encode_png(item.rgb), written)
                _store(image.thumbnail, make_thumbnail(item.rgb), written)
                image.save()
                seen[item.sha256] = image
                result.created.append(image)
    except ImageRejected as exc:
        _delete_names(written)
        raise ApplicationError(
            str(exc), code="invalid_image", fields={"file": [str(exc)]}
        ) from None
    except (IntegrityError, OSError) as exc:
        _delete_names(written)
        raise ConflictError(f"Could not store the upload: {exc}", code="store_failed") from None
    except BaseException:
        _delete_names(written)
        raise
    return result


def _store(fieldfile, content: bytes, written: list[str]) -> None:
    """Save content-addressed bytes under the field's name. A file already there with the same
    bytes (another set's copy, or one left by an upload that was killed) is used as it is, so
    no second copy under a suffixed name is made."""
    name = fieldfile.field.generate_filename(fieldfile.instance, "image.png")
    fieldfile.name, created = save_content_addressed(fieldfile.storage, name, content)
    if created:
        written.append(fieldfile.name)


def _delete_names(names: list[str]) -> None:
    storage = ReferenceImage._meta.get_field("file").storage
    for name in names:
        if not ReferenceImage.objects.filter(file=name).exists() and not (
            ReferenceImage.objects.filter(thumbnail=name).exists()
        ):
            storage.delete(name)


def _delete_files(image: ReferenceImage) -> None:
    """Delete the picture's files once the deletion of its row has committed (a rollback keeps
    both); content-addressed files another set still names (the same pixels) stay."""
    names = [f.name for f in (image.file, image.thumbnail) if f.name]
    storage = ReferenceImage._meta.get_field("file").storage

    def delete() -> None:
        for name in names:
            if not ReferenceImage.objects.filter(Q(file=name) | Q(thumbnail=name)).exists():
                storage.delete(name)

    transaction.on_commit(delete)


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
