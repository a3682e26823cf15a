"""How much supervision a metric's features had: declared, never guessed from names.

The paper's Table 5 groups metrics by the supervision behind their features: low-level metrics,
a random (Gaussian) network, an unsupervised one (stacked k-means initialisation), self-supervised
ones (BiGAN, Split-Brain, Puzzle, "watching objects move"), supervised ImageNet classifiers, and
LPIPS lin / scratch / tune. A trunk checkpoint is just tensors, so its level is **declared** in a
sidecar file written next to it, ``<checkpoint>.meta.json``::

    {"perceptlab_trunk_meta": 1, "supervision": "unsupervised", "method": "kmeans",
     "label": "K-means (Krähenbühl et al.)", "arch": "alexnet", "source": "..."}

Whoever makes a checkpoint (``python -m metrics kmeans-init``, ``convert-trunk``) calls
:func:`write_trunk_meta`; :func:`trunk_declaration` reads it back for a ``trunk_weights`` option.
The two built-in trunk settings need no file: ``"imagenet"`` is supervised (method
``imagenet``) and ``None`` (a seeded random trunk) is random (method ``gaussian``). A checkpoint
without a sidecar is ``"undeclared"``: the Table-5 view lists it apart and says how to declare
it. The LPIPS and zoo metrics put the declaration in their ``provenance()`` (``"trunk"``), so
the platform's score runs carry it in ``computed_with`` and the web tier reads it without torch.

Torch-free: the web process and ``metrics.table5`` import this module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

META_VERSION = 1
SIDECAR_SUFFIX = ".meta.json"

# Supervision levels of a trunk (what a sidecar may declare).
RANDOM = "random"
UNSUPERVISED = "unsupervised"
SELF_SUPERVISED = "self-supervised"
SUPERVISED = "supervised"
TRUNK_LEVELS = (RANDOM, UNSUPERVISED, SELF_SUPERVISED, SUPERVISED)
UNDECLARED = "undeclared"

# Methods with a row in the paper's Table 5, and the level each belongs to. A sidecar may name
# another method (its row then goes under its level, after the paper's rows).
PAPER_METHODS = {
    "gaussian": RANDOM,
    "kmeans": UNSUPERVISED,
    "watching": SELF_SUPERVISED,
    "split-brain": SELF_SUPERVISED,
    "puzzle": SELF_SUPERVISED,
    "bigan": SELF_SUPERVISED,
    "imagenet": SUPERVISED,
}

_IMAGENET = "imagenet"


def sidecar_path(checkpoint: str | os.PathLike[str]) -> Path:
    """The metadata file of a checkpoint: the checkpoint's path with ``.meta.json`` appended."""
    return Path(str(checkpoint) + SIDECAR_SUFFIX)


def _check(meta: Any, where: str) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: trunk metadata must be a JSON object")
    if meta.get("perceptlab_trunk_meta") != META_VERSION:
        raise ValueError(f"{where}: 'perceptlab_trunk_meta' must be {META_VERSION}")
    level = meta.get("supervision")
    if level not in TRUNK_LEVELS:
        raise ValueError(
            f"{where}: 'supervision' must be one of {', '.join(TRUNK_LEVELS)}, got {level!r}"
        )
    method = meta.get("method")
    if not isinstance(method, str) or not method.strip():
        raise ValueError(f"{where}: 'method' must be a non-empty string (e.g. 'kmeans', 'bigan')")
    if method in PAPER_METHODS and PAPER_METHODS[method] != level:
        raise ValueError(
            f"{where}: method {method!r} is {PAPER_METHODS[method]} in the paper's Table 5, "
            f"not {level}"
        )
    label = meta.get("label")
    if label is not None and not isinstance(label, str):
        raise ValueError(f"{where}: 'label' must be a string")
    return meta


def write_trunk_meta(
    checkpoint: str | os.PathLike[str],
    *,
    supervision: str,
    method: str,
    label: str | None = None,
    **extra: Any,
) -> Path:
    """Declare a trunk checkpoint's supervision in its sidecar file; returns the sidecar's path.

    Args:
        checkpoint: The torchvision-layout checkpoint (it need not exist yet).
        supervision: One of ``TRUNK_LEVELS``.
        method: ``kmeans``, ``watching``, ``split-brain``, ``puzzle``, ``bigan`` (the paper's
            rows; see ``PAPER_METHODS``) or another name.
        label: Row label (default: the method).
        **extra: Anything JSON-serialisable worth keeping (arch, source file, seed, sha256...).

    Raises:
        ValueError: Unknown level, empty method, or a paper method under another level.
    """
    meta = {"perceptlab_trunk_meta": META_VERSION, "supervision": supervision, "method": method}
    if label is not None:
        meta["label"] = label
    meta.update(extra)
    path = sidecar_path(checkpoint)
    _check(meta, str(path))
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_trunk_meta(checkpoint: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The checkpoint's declared metadata, or None when it has no sidecar.

    Raises:
        ValueError: A sidecar that is not valid JSON or does not declare a known level.
    """
    path = sidecar_path(checkpoint)
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not readable trunk metadata ({exc})") from None
    return _check(meta, str(path))


def trunk_declaration(trunk_weights: str | os.PathLike[str] | None) -> dict[str, Any]:
    """What a metric's ``trunk_weights`` option declares about the trunk's supervision.

    Returns:
        ``{"weights": "imagenet" | "random" | <file name>, "supervision": level or
        "undeclared", "method": str | None, "label": str | None, "declared_by": "builtin" |
        "sidecar" | None}``.

    Raises:
        ValueError: As :func:`read_trunk_meta`.
    """
    if trunk_weights is None:
        return {
            "weights": "random", "supervision": RANDOM, "method": "gaussian",
            "label": None, "declared_by": "builtin",
        }  # fmt: skip
    if str(trunk_weights) == _IMAGENET:
        return {
            "weights": _IMAGENET, "supervision": SUPERVISED, "method": _IMAGENET,
            "label": None, "declared_by": "builtin",
        }  # fmt: skip
    meta = read_trunk_meta(trunk_weights)
    name = Path(trunk_weights).name
    if meta is None:
        return {
            "weights": name, "supervision": UNDECLARED, "method": None,
            "label": None, "declared_by": None,
        }  # fmt: skip
    return {
        "weights": name,
        "supervision": meta["supervision"],
        "method": meta["method"],
        "label": meta.get("label"),
        "declared_by": "sidecar",
    }
