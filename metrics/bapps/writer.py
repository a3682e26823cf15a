"""Write BAPPS-layout folders that code written for BAPPS (including the official loader) reads.

Files are named by zero-padded position, ``000000.png`` and ``000000.npy``, so that sorting the
names (what the official loader does) gives back the order in which items were written. Images
are written as RGB PNG with fixed encoder settings (see :mod:`metrics.bapps.images`), fractions
as float64 ``.npy`` arrays of shape (1,), so writing the same items twice gives identical files.

A category is written into a hidden sibling folder and renamed into place only once every item
has been checked and written: bad input (a judge of 1.7, an unreadable image) raises and leaves
the target untouched, and readers never see a half-written category.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from metrics.bapps._layout import JND, TWOAFC, BappsError, KindLayout
from metrics.bapps.images import save_fraction, save_png
from metrics.bapps.reader import JNDSet, TwoAFCSet

NAME_WIDTH = 6
MAX_ITEMS = 10**NAME_WIDTH  # beyond this, "1000000" would sort before "999999"

ImageInput = np.ndarray | str | os.PathLike


def _pixels(image: Any, where: str) -> np.ndarray:
    """Turn an item's image (uint8 H×W×3 array or an image file path) into pixels."""
    if isinstance(image, str | os.PathLike):
        try:
            with Image.open(image) as opened:
                return np.asarray(opened.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise BappsError(f"{where}: unreadable image {image} ({exc})", image) from exc
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(
            f"{where}: expected a uint8 HxWx3 array or an image path, "
            f"got {arr.dtype} array of shape {arr.shape}"
        )
    return arr


def _fraction(value: Any, where: str) -> float:
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(f"{where}: expected one number, got {value!r}")
    v = float(arr.reshape(-1)[0])
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ValueError(f"{where}: {v!r} is outside [0, 1]")
    return v


def _fields(item: Any, layout: KindLayout, index: int) -> tuple:
    """Unpack an item given as a tuple or as an object with the member attributes."""
    names = layout.members
    if all(hasattr(item, n) for n in names):
        return tuple(getattr(item, n) for n in names)
    try:
        values = tuple(item)
    except TypeError:
        values = ()
    if len(values) != len(names):
        raise ValueError(
            f"item {index}: expected a ({', '.join(names)}) tuple or an object with those "
            f"attributes, got {type(item).__name__}"
        )
    return values


def _write(
    root: str | os.PathLike,
    layout: KindLayout,
    split: str,
    category: str,
    items: Iterable,
    overwrite: bool,
) -> Path:
    for label, name in (("split", split), ("category", category)):
        if not name or name.startswith(".") or "/" in name or os.sep in name:
            raise ValueError(f"{label} must be a plain folder name, got {name!r}")
    target = Path(root) / layout.kind / split / category
    if target.exists() and not overwrite:
        raise BappsError(f"{target}: already exists (pass overwrite=True to replace it)", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{category}.partial-", dir=target.parent))
    try:
        count = _write_items(staging, layout, items)
        if count == 0:
            raise ValueError(f"{target}: nothing to write (an empty category cannot be read back)")
        _replace(staging, target, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _write_items(folder: Path, layout: KindLayout, items: Iterable) -> int:
    for member in layout.members:
        (folder / member).mkdir()
    count = 0
    for index, item in enumerate(items):
        if index >= MAX_ITEMS:
            raise ValueError(f"more than {MAX_ITEMS} items: names would no longer sort in order")
        stem = f"{index:0{NAME_WIDTH}d}"
        *images, value = _fields(item, layout, index)
        for member, image in zip(layout.images, images, strict=True):
            save_png(_pixels(image, f"item {index}, {member}"), folder / member / f"{stem}.png")
        where = f"item {index}, {layout.value}"
        save_fraction(_fraction(value, where), folder / layout.value / f"{stem}.npy")
        count += 1
    return count


def _replace(staging: Path, target: Path, overwrite: bool) -> None:
    if not target.exists():
        staging.rename(target)
        return
    if not overwrite:  # it appeared while we were writing
        raise BappsError(f"{target}: already exists (pass overwrite=True to replace it)", target)
    # Move the old folder aside first so the swap is two renames; delete it only afterwards.
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    target.rename(old / target.name)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def write_2afc(
    root: str | os.PathLike,
    split: str,
    category: str,
    triplets: Iterable,
    *,
    overwrite: bool = False,
) -> TwoAFCSet:
    """Write a 2AFC category: ``<root>/2afc/<split>/<category>/{ref,p0,p1,judge}``.

    Args:
        root: Dataset root (created if needed).
        split: e.g. ``"train"`` or ``"val"``.
        category: e.g. ``"traditional"`` or a study's own set name.
        triplets: Iterable of ``(ref, p0, p1, judge)`` tuples, or of objects with those
            attributes (such as :class:`~metrics.bapps.reader.TwoAFCItem`, so a set read with
            ``load_size=None`` can be copied). Images are uint8 H×W×3 arrays or image file paths
            (decoded and re-encoded as RGB PNG); ``judge`` is the fraction of humans preferring
            p1, in [0, 1].
        overwrite: Replace an existing category folder instead of refusing.

    Returns:
        The written set, opened with ``load_size=None`` (stored size).

    Raises:
        ValueError: Bad item (wrong array type or shape, judge outside [0, 1]), no items, or a
            bad split/category name; nothing is written.
        BappsError: The category exists and ``overwrite`` is false, or an image path is
            unreadable; nothing is written.
    """
    return TwoAFCSet(_write(root, TWOAFC, split, category, triplets, overwrite), load_size=None)


def write_jnd(
    root: str | os.PathLike,
    split: str,
    category: str,
    pairs: Iterable,
    *,
    overwrite: bool = False,
) -> JNDSet:
    """Write a JND category: ``<root>/jnd/<split>/<category>/{p0,p1,same}``.

    Args:
        root, split, category, overwrite: As in :func:`write_2afc` (BAPPS uses split ``"val"``).
        pairs: Iterable of ``(p0, p1, same)`` tuples or objects with those attributes; ``same``
            is the fraction of humans answering "same", in [0, 1].

    Returns:
        The written set, opened with ``load_size=None``.

    Raises:
        ValueError, BappsError: As :func:`write_2afc`.
    """
    return JNDSet(_write(root, JND, split, category, pairs, overwrite), load_size=None)
