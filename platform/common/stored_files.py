"""Content-addressed files in the storage backend, and the ones a killed task left behind.

Stimuli, reference images, imported dataset images and generated models are stored under names
made from their content's hash. A task killed between writing such a file and committing the
row that names it leaves the file behind: `save_content_addressed` lets the re-run use it (same
name, same bytes) instead of writing a second copy under a suffixed name, and
`delete_unreferenced` removes such files once no row names them and they are older than a grace
period (so a file written a moment ago by a task still running is never taken).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.utils import timezone


def save_content_addressed(storage: Storage, name: str, content: bytes) -> tuple[str, bool]:
    """Store `content` under `name`; (the name, whether a file was written). A file already
    there with the same bytes is kept; one with other bytes (cut short by a kill) is replaced."""
    if storage.exists(name):
        with storage.open(name, "rb") as handle:
            if handle.read() == content:
                return name, False
        storage.delete(name)
    return storage.save(name, ContentFile(content)), True


def walk(storage: Storage, folder: str) -> Iterator[str]:
    """Every file name under `folder` (recursively), as storage names."""
    try:
        folders, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for file in files:
        yield f"{folder}/{file}"
    for sub in folders:
        yield from walk(storage, f"{folder}/{sub}")


def delete_unreferenced(
    storage: Storage,
    folder: str,
    *,
    referenced: Callable[[list[str]], Iterable[str]],
    older_than_s: int,
) -> list[str]:
    """Delete files under `folder` that no row names (`referenced(names)` returns those of
    `names` that are) and that are older than `older_than_s`; returns the deleted names."""
    now = timezone.now()
    names = list(walk(storage, folder))
    if not names:
        return []
    named = set(referenced(names))
    deleted = []
    for name in names:
        if name in named:
            continue
        with contextlib.suppress(OSError, NotImplementedError):
            if (now - storage.get_modified_time(name)).total_seconds() < older_than_s:
                continue
            storage.delete(name)
            deleted.append(name)
    return deleted
