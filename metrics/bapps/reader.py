"""Lazy readers for BAPPS folders: one object per (kind, split, category), and the whole dataset.

Opening a set lists its files and checks names (cheap: no image is decoded); images and ``.npy``
fractions are read only when an item or a batch is requested, and checked as they are read.
:meth:`BappsSet.validate` reads everything once for a full check.

Items come back as NumPy arrays, H×W×3 uint8 by default, or float32 in [-1, 1] (the official
tensors' values) with ``as_float=True``; converting to torch tensors is the caller's job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metrics.bapps._layout import (
    JND,
    KNOWN_CATEGORIES,
    KNOWN_SPLITS,
    LAYOUTS,
    TWOAFC,
    BappsError,
    KindLayout,
    match_members,
    ordered,
    subfolders,
)
from metrics.bapps.images import load_fraction, load_image


@dataclass(frozen=True)
class TwoAFCItem:
    """One 2AFC triplet: H×W×3 images and ``judge``, the fraction of humans preferring p1."""

    name: str
    ref: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    judge: float


@dataclass(frozen=True)
class JNDItem:
    """One JND pair: H×W×3 images and ``same``, the fraction of humans answering "same"."""

    name: str
    p0: np.ndarray
    p1: np.ndarray
    same: float


@dataclass(frozen=True)
class TwoAFCBatch:
    """Stacked triplets: images B×H×W×3, ``judge`` of shape (B,), ``names`` of length B."""

    names: tuple[str, ...]
    ref: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    judge: np.ndarray


@dataclass(frozen=True)
class JNDBatch:
    """Stacked pairs: images B×H×W×3, ``same`` of shape (B,), ``names`` of length B."""

    names: tuple[str, ...]
    p0: np.ndarray
    p1: np.ndarray
    same: np.ndarray


class BappsSet(Sequence):
    """The items of one category folder, read lazily in the official loader's order.

    Args:
        path: The category folder, ``<root>/<kind>/<split>/<category>``.
        load_size: Shorter side after resizing (default 64, as the official loader); ``None``
            keeps the stored size.
        as_float: Yield float32 images in [-1, 1] instead of uint8.

    Raises:
        BappsError: On open, if a member folder is missing, the category is empty, or the files
            of the member folders do not name the same items.
    """

    layout: KindLayout

    def __init__(
        self, path: str | os.PathLike, *, load_size: int | None = 64, as_float: bool = False
    ) -> None:
        if load_size is not None and (isinstance(load_size, bool) or int(load_size) < 1):
            raise ValueError(f"load_size must be a positive int or None, got {load_size!r}")
        self.path = Path(path)
        self.load_size = load_size
        self.as_float = as_float
        self.names, self._paths = match_members(self.path, self.layout)

    @property
    def category(self) -> str:
        return self.path.name

    @property
    def split(self) -> str:
        return self.path.parent.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, n={len(self)})"

    def __len__(self) -> int:
        return len(self.names)

    def _index(self, index: int) -> int:
        if isinstance(index, slice):
            raise TypeError("slices are not supported; use batch(indices) or batches()")
        i = int(index)
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return i % len(self)

    def paths(self, index: int) -> dict[str, Path]:
        """Member folder → file path of one item."""
        i = self._index(index)
        return {member: files[i] for member, files in self._paths.items()}

    def _read(self, i: int) -> dict:
        files = self.paths(i)
        out: dict = {
            m: load_image(files[m], load_size=self.load_size, as_float=self.as_float)
            for m in self.layout.images
        }
        out[self.layout.value] = load_fraction(files[self.layout.value], self.layout.value_meaning)
        return out

    def values(self) -> np.ndarray:
        """All fractions (``judge`` or ``same``) in item order, float64 of shape (N,).

        Reads only the small ``.npy`` files, e.g. for a human ceiling without decoding images.
        """
        files = self._paths[self.layout.value]
        return np.array([load_fraction(f, self.layout.value_meaning) for f in files])

    def _stacked(self, indices: Sequence[int]) -> dict:
        reads = [self._read(self._index(i)) for i in indices]
        if not reads:
            raise ValueError("batch needs at least one index")
        out: dict = {}
        for member in self.layout.images:
            shapes = [r[member].shape for r in reads]
            for i, shape in zip(indices, shapes, strict=True):
                if shape != shapes[0]:
                    path = self.paths(i)[member]
                    raise BappsError(
                        f"{path}: size {shape[1]}x{shape[0]} differs from the batch's "
                        f"{shapes[0][1]}x{shapes[0][0]}; set load_size or use batch size 1",
                        path,
                    )
            out[member] = np.stack([r[member] for r in reads])
        out[self.layout.value] = np.array([r[self.layout.value] for r in reads])
        out["names"] = tuple(self.names[self._index(i)] for i in indices)
        return out

    def batches(self, batch_size: int = 50) -> Iterator:
        """Yield consecutive batches in loader order (the last one may be shorter)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        for start in range(0, len(self), batch_size):
            yield self.batch(range(start, min(start + batch_size, len(self))))

    def batch(self, indices: Sequence[int]) -> TwoAFCBatch | JNDBatch:
        """Stack the given items (any order, e.g. shuffled) into one batch."""
        raise NotImplementedError  # each kind builds its own batch type

    def validate(self, *, images: bool = True) -> None:
        """Read every fraction (and, with ``images``, decode every image) once.

        Raises:
            BappsError: At the first bad file, naming it.
        """
        self.values()
        if images:
            for files in zip(*(self._paths[m] for m in self.layout.images), strict=True):
                for f in files:
                    load_image(f, load_size=None)


class TwoAFCSet(BappsSet):
    """A 2AFC category folder (``ref``, ``p0``, ``p1``, ``judge``) of :class:`TwoAFCItem`."""

    layout = TWOAFC

    def __getitem__(self, index: int) -> TwoAFCItem:
        i = self._index(index)
        r = self._read(i)
        return TwoAFCItem(self.names[i], r["ref"], r["p0"], r["p1"], r["judge"])

    def judges(self) -> np.ndarray:
        """All judge values (fraction preferring p1), float64 of shape (N,)."""
        return self.values()

    def batch(self, indices: Sequence[int]) -> TwoAFCBatch:
        """Stack the given items (any order, e.g. shuffled) into a :class:`TwoAFCBatch`."""
        s = self._stacked(list(indices))
        return TwoAFCBatch(s["names"], s["ref"], s["p0"], s["p1"], s["judge"])


class JNDSet(BappsSet):
    """A JND category folder (``p0``, ``p1``, ``same``); items are :class:`JNDItem`."""

    layout = JND

    def __getitem__(self, index: int) -> JNDItem:
        i = self._index(index)
        r = self._read(i)
        return JNDItem(self.names[i], r["p0"], r["p1"], r["same"])

    def sames(self) -> np.ndarray:
        """All same values (fraction answering "same"), float64 of shape (N,)."""
        return self.values()

    def batch(self, indices: Sequence[int]) -> JNDBatch:
        """Stack the given items into a :class:`JNDBatch`."""
        s = self._stacked(list(indices))
        return JNDBatch(s["names"], s["p0"], s["p1"], s["same"])


SET_CLASSES: dict[str, type[BappsSet]] = {"2afc": TwoAFCSet, "jnd": JNDSet}


class BappsDataset:
    """A BAPPS root folder: discovers which kinds, splits and categories are present.

    Discovery only looks at folder names; a set's files are listed (and checked) when it is
    opened with :meth:`twoafc`, :meth:`jnd` or :meth:`open`, or counted by :meth:`counts`.

    Args:
        root: Folder holding ``2afc/`` and/or ``jnd/`` (the extracted ``dataset/`` folder).
        load_size: Default for the sets it opens (see :class:`BappsSet`).
        as_float: Default for the sets it opens.

    Raises:
        BappsError: If ``root`` holds neither ``2afc/`` nor ``jnd/``.
    """

    def __init__(
        self, root: str | os.PathLike, *, load_size: int | None = 64, as_float: bool = False
    ) -> None:
        self.root = Path(root)
        self.load_size = load_size
        self.as_float = as_float
        if not any((self.root / kind).is_dir() for kind in LAYOUTS):
            hint = (
                " (did you mean its dataset/ folder?)" if (self.root / "dataset").is_dir() else ""
            )
            raise BappsError(f"{self.root}: no 2afc/ or jnd/ folder{hint}", self.root)

    def __repr__(self) -> str:
        return f"BappsDataset({str(self.root)!r})"

    def splits(self, kind: str) -> tuple[str, ...]:
        """Splits present for ``kind`` (``"2afc"`` or ``"jnd"``), train/val first."""
        _check_kind(kind)
        return ordered(subfolders(self.root / kind), KNOWN_SPLITS)

    def categories(self, kind: str, split: str) -> tuple[str, ...]:
        """Categories present for ``kind``/``split``, in the paper's order, others after."""
        _check_kind(kind)
        return ordered(subfolders(self.root / kind / split), KNOWN_CATEGORIES)

    def sets(self) -> Iterator[tuple[str, str, str]]:
        """Yield every ``(kind, split, category)`` present."""
        for kind in LAYOUTS:
            for split in self.splits(kind):
                for category in self.categories(kind, split):
                    yield kind, split, category

    def open(self, kind: str, split: str, category: str, **options) -> BappsSet:
        """Open one set; ``options`` override ``load_size`` / ``as_float``."""
        _check_kind(kind)
        path = self.root / kind / split / category
        if not path.is_dir():
            present = ", ".join(self.categories(kind, split)) or "none"
            raise BappsError(f"{path}: no such set (present in {kind}/{split}: {present})", path)
        settings = {"load_size": self.load_size, "as_float": self.as_float, **options}
        return SET_CLASSES[kind](path, **settings)

    def twoafc(self, split: str, category: str, **options) -> TwoAFCSet:
        """Open ``2afc/<split>/<category>``."""
        return self.open("2afc", split, category, **options)  # type: ignore[return-value]

    def jnd(self, split: str, category: str, **options) -> JNDSet:
        """Open ``jnd/<split>/<category>``."""
        return self.open("jnd", split, category, **options)  # type: ignore[return-value]

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{kind: {split: {category: n}}}`` for every set present (lists and checks names)."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for kind, split, category in self.sets():
            n = len(self.open(kind, split, category))
            out.setdefault(kind, {}).setdefault(split, {})[category] = n
        return out

    def summary(self) -> str:
        """Human-readable counts, one line per set."""
        lines = [f"BAPPS at {self.root}"]
        for kind, splits in self.counts().items():
            unit = "triplets" if kind == "2afc" else "pairs"
            for split, cats in splits.items():
                for category, n in cats.items():
                    lines.append(f"  {kind}/{split}/{category}: {n} {unit}")
        return "\n".join(lines)


def _check_kind(kind: str) -> None:
    if kind not in LAYOUTS:
        raise ValueError(f"kind must be one of {', '.join(LAYOUTS)}, got {kind!r}")
