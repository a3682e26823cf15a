"""Which trunk weights a researcher may name, and where workers find them.

A fit's `trunk_weights` and a score run's `trunk_weights` option used to take any path, which the
worker then opened: any researcher could have a worker read any file it can read, and learn from
the error whether it exists. Now a request names one of:

- the ImageNet weights of torchvision (blank for a fit, ``"imagenet"`` as an option), found in the
  worker's torch hub cache;
- a seeded random trunk (``"random"`` for a fit, ``None`` as an option);
- the **file name** of a checkpoint an operator placed in ``PERCEPTLAB_TRUNK_WEIGHTS_DIR`` on the
  workers (e.g. a self-supervised or k-means-initialised trunk): letters, digits, ``._-`` only.

The web tier checks the form (torch-free); the worker resolves the name inside that folder, and a
name that is missing there, or that leads out of it through a link, gets one error that says
neither which.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from common.exceptions import ApplicationError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_NAMED = ("", "random", "imagenet")


def trunk_weights_check(value, *, field: str = "trunk_weights") -> None:
    """Refuse anything but the named choices or a bare file name (web tier)."""
    if value is None or value in _NAMED:
        return
    if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
        raise ApplicationError(
            f"{field} must be blank or 'imagenet' (torchvision's ImageNet weights), 'random', "
            "or the file name of a checkpoint in the workers' PERCEPTLAB_TRUNK_WEIGHTS_DIR "
            "(letters, digits and ._- only; no folders).",
            code="bad_trunk_weights",
            fields={field: ["invalid"]},
        )


def trunk_weights_on_worker(option: str | None) -> str | None:
    """The LPIPS `trunk_weights` option a worker passes on: None and "imagenet" as they are, a
    file name resolved inside PERCEPTLAB_TRUNK_WEIGHTS_DIR (ValueError when not available)."""
    if option is None or option == "imagenet":
        return option
    trunk_weights_check(option)
    folder = settings.PERCEPTLAB_TRUNK_WEIGHTS_DIR
    unavailable = ValueError(
        f"trunk weights {option!r} are not available on this worker "
        "(PERCEPTLAB_TRUNK_WEIGHTS_DIR names the folder of researcher-supplied trunk checkpoints)"
    )
    if not folder:
        raise unavailable
    root = Path(folder).resolve()
    path = (root / option).resolve()
    if path.parent != root or not path.is_file():
        raise unavailable
    return str(path)
