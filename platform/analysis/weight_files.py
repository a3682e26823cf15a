"""Which weight files a researcher may name, and where workers find them.

Fits take `trunk_weights`, and score runs take options that name files (`trunk_weights` of the
LPIPS and DISTS trunks, LPIPS `lin_weights`, DISTS `weights`). These used to take any path,
which the worker then opened: any researcher could have a worker read any file it can read, and
learn from the error whether it exists. Now a request names one of:

- for trunks, torchvision's ImageNet weights (blank for a fit, ``"imagenet"`` as an option), found
  in the worker's torch hub cache, or a seeded random trunk (``"random"`` for a fit, ``None`` as an
  option); for `lin_weights`, ``None`` (the shipped official weights);
- the **file name** of a file an operator placed in ``PERCEPTLAB_WEIGHTS_DIR`` on the workers (a
  self-supervised or k-means-initialised trunk, DISTS' α/β, other lin weights): letters, digits
  and ``._-`` only.

- for ``trunk_weights`` only, ``kmeans:<id>``: a finished k-means trunk of the researcher's own
  (`KMeansTrunk`, initialised from one of their image sets by a worker; AlexNet, so for
  ``lpips-alex`` and ``deep-alexnet``). Another researcher's id, an unfinished one and a missing
  one get one and the same error.

The web tier checks the form (torch-free); the worker resolves the name inside that folder, and a
name that is missing there, or that leads out of it through a link, gets one error that says
neither which. A ``kmeans:<id>`` trunk is copied from storage to a local cache file named by its
sha256 on the worker.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from common.exceptions import ApplicationError

FILE_OPTIONS = ("trunk_weights", "lin_weights", "weights")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_NAMED = ("", "random", "imagenet")
_KMEANS = re.compile(r"kmeans:([1-9][0-9]{0,17})")
KMEANS_NETS = ("alex", "deep-alexnet")  # a k-means trunk is an AlexNet
KMEANS_METRICS = ("lpips-alex", "deep-alexnet")


def kmeans_trunk_pk(value) -> int | None:
    """The id in a ``kmeans:<id>`` value, else None."""
    match = _KMEANS.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def weights_name_check(value, *, field: str = "trunk_weights", user=None) -> None:
    """Refuse anything but the named choices or a bare file name (web tier); for
    ``trunk_weights`` also ``kmeans:<id>`` of a finished k-means trunk ``user`` owns."""
    pk = kmeans_trunk_pk(value)
    if pk is not None and field.rsplit(".", 1)[-1] == "trunk_weights":
        from .selectors import usable_kmeans_trunk_list

        if user is None or not usable_kmeans_trunk_list(user=user).filter(pk=pk).exists():
            raise ApplicationError(
                f"{value} is not available (no such finished k-means trunk of yours).",
                code="unavailable_trunk",
                fields={field: ["unavailable"]},
            )
        return
    if value is None or value in _NAMED:
        return
    if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
        raise ApplicationError(
            f"{field} must be one of the named choices (blank or 'imagenet' for torchvision's "
            "ImageNet weights, 'random'; null for the default), kmeans:<id> for a trunk "
            "(trunk_weights only), or the file name of a file in the workers' "
            "PERCEPTLAB_WEIGHTS_DIR (letters, digits and ._- only; no folders).",
            code="bad_weights_file",
            fields={field: ["invalid"]},
        )


def options_check(options: dict, *, user=None) -> None:
    """Every option of a score run that names a file (web tier)."""
    for name in FILE_OPTIONS:
        if name in options:
            weights_name_check(options[name], field=f"options.{name}", user=user)


def weights_on_worker(option: str | None) -> str | None:
    """The option a worker passes on: None and "imagenet" as they are, a file name resolved
    inside PERCEPTLAB_WEIGHTS_DIR (ValueError when not available)."""
    if option is None or option == "imagenet":
        return option
    pk = kmeans_trunk_pk(option)
    if pk is not None:
        return kmeans_trunk_file(pk)
    weights_name_check(option)
    folder = settings.PERCEPTLAB_WEIGHTS_DIR
    unavailable = ValueError(
        f"weights file {option!r} is not available on this worker "
        "(PERCEPTLAB_WEIGHTS_DIR names the folder of researcher-supplied weight files)"
    )
    if not folder:
        raise unavailable
    root = Path(folder).resolve()
    path = (root / option).resolve()
    if path.parent != root or not path.is_file():
        raise unavailable
    return str(path)


def options_on_worker(options: dict) -> dict:
    """A score run's options with every file name resolved on the worker."""
    return {
        name: weights_on_worker(value) if name in FILE_OPTIONS else value
        for name, value in options.items()
    }


def kmeans_trunk_file(pk: int) -> str:
    """Worker side: a local copy of finished k-means trunk ``pk``'s checkpoint (cached under
    the temporary folder by sha256), as a path (ValueError when it is not finished)."""
    import hashlib
    import os
    import tempfile

    from .models import KMeansTrunk, RunStatus

    trunk = KMeansTrunk.objects.filter(pk=pk, status=RunStatus.DONE).exclude(weights="").first()
    if trunk is None or not trunk.sha256:
        raise ValueError(f"kmeans:{pk} is not a finished k-means trunk")
    folder = Path(tempfile.gettempdir()) / "perceptlab-trunks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{trunk.sha256}.pt"
    if not path.is_file():
        with trunk.weights.open("rb") as handle:
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != trunk.sha256:
            raise ValueError(f"kmeans:{pk}: the stored checkpoint does not match its sha256")
        partial = folder / f".{trunk.sha256}.{os.getpid()}.part"
        partial.write_bytes(data)
        partial.replace(path)
    return str(path)
