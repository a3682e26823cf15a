"""Training and validation triplets: in-memory arrays or BAPPS folders, behind one interface.

A *source* has a length, its ``judges()`` (fraction of humans preferring p1, float64 (N,)),
``load(indices)`` returning three float32 CPU tensors N×3×H×W in [-1, 1] (the official
``ToTensor`` + ``Normalize(0.5, 0.5)`` values) and a ``fingerprint()`` that changes when the data
do, so that a checkpoint or a feature cache is never reused for other data.

``training_source`` and ``validation_sources`` turn what a caller passes to ``fit`` (a BAPPS root,
a ``BappsDataset``, ``TwoAFCSet`` objects, :class:`TripletArrays` or a mapping of them) into
sources, with clear errors for folders without the needed split.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metrics.bapps import BappsDataset, TwoAFCSet, to_official_float
from metrics.training.config import TrainingError


@dataclass(frozen=True)
class TripletArrays:
    """2AFC triplets held in memory.

    Attributes:
        ref, p0, p1: Either uint8 arrays N×H×W×3 (as ``metrics.bapps`` reads them) or float
            tensors/arrays N×3×H×W in [-1, 1].
        judge: (N,) fractions in [0, 1] of humans who preferred p1.
    """

    ref: Any
    p0: Any
    p1: Any
    judge: Any


class ArraySource:
    """A :class:`TripletArrays` as a source (see the module docstring)."""

    def __init__(self, arrays: TripletArrays, label: str = "arrays") -> None:
        self.label = label
        members = [_as_nchw(getattr(arrays, m), m) for m in ("ref", "p0", "p1")]
        shapes = {tuple(m.shape) for m in members}
        if len(shapes) != 1:
            raise TrainingError(f"ref, p0 and p1 must have one shape, got {sorted(shapes)}")
        judge = np.asarray(arrays.judge, dtype=np.float64).reshape(-1)
        if judge.shape[0] != members[0].shape[0]:
            raise TrainingError(
                f"judge has {judge.shape[0]} values for {members[0].shape[0]} triplets"
            )
        if not np.all((judge >= 0.0) & (judge <= 1.0)):
            raise TrainingError("judge values must lie in [0, 1] (fraction preferring p1)")
        if judge.shape[0] == 0:
            raise TrainingError(f"{label}: no triplets")
        self._members = members
        self._judge = judge

    def __len__(self) -> int:
        return int(self._judge.shape[0])

    def judges(self) -> np.ndarray:
        return self._judge.copy()

    def load(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return tuple(_to_float(m.index_select(0, idx)) for m in self._members)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(b"arrays")
        for m in self._members:
            digest.update(str(tuple(m.shape)).encode())
            digest.update(m.contiguous().numpy().tobytes())
        digest.update(self._judge.tobytes())
        return digest.hexdigest()


class BappsSource:
    """One or more BAPPS ``TwoAFCSet`` folders concatenated into one index space."""

    def __init__(self, sets: Sequence[TwoAFCSet], label: str) -> None:
        if not sets:
            raise TrainingError(f"{label}: no 2AFC sets")
        self.label = label
        self.sets = list(sets)
        self._offsets = np.cumsum([0] + [len(s) for s in self.sets])
        self._judge: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def judges(self) -> np.ndarray:
        if self._judge is None:
            self._judge = np.concatenate([s.judges() for s in self.sets])
        return self._judge.copy()

    def load(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        indices = np.asarray(indices, dtype=np.int64)
        owner = np.searchsorted(self._offsets, indices, side="right") - 1
        parts: dict[str, np.ndarray] = {}
        for k in np.unique(owner):
            where = np.flatnonzero(owner == k)
            batch = self.sets[k].batch((indices[where] - self._offsets[k]).tolist())
            for member in ("ref", "p0", "p1"):
                pixels = getattr(batch, member)
                if member not in parts:
                    parts[member] = np.empty((len(indices), *pixels.shape[1:]), np.uint8)
                elif parts[member].shape[1:] != pixels.shape[1:]:
                    raise TrainingError(
                        f"{self.label}: images of different sizes in one batch "
                        f"({parts[member].shape[1:3]} and {pixels.shape[1:3]}); set load_size"
                    )
                parts[member][where] = pixels
        return tuple(
            _to_float(torch.from_numpy(parts[m]).permute(0, 3, 1, 2)) for m in ("ref", "p0", "p1")
        )

    def fingerprint(self) -> str:
        # Folder paths, item names, judges and load size: cheap (no image is decoded) and it
        # changes whenever items are added, removed, renamed or re-judged.
        digest = hashlib.sha256(b"bapps")
        for s in self.sets:
            digest.update(f"{os.path.abspath(s.path)}|{s.load_size}|".encode())
            digest.update("\n".join(s.names).encode())
        digest.update(self.judges().tobytes())
        return digest.hexdigest()


Source = ArraySource | BappsSource


def _as_nchw(x: Any, name: str) -> torch.Tensor:
    """Keep uint8 as N×3×H×W uint8, floats as N×3×H×W float32 (checked to lie in [-1, 1])."""
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x.detach().cpu()
    if t.dtype == torch.uint8:
        if t.ndim != 4 or t.shape[-1] != 3:
            raise TrainingError(f"{name}: uint8 images must be N×H×W×3, got {tuple(t.shape)}")
        return t.permute(0, 3, 1, 2)
    if not t.is_floating_point():
        raise TrainingError(f"{name}: expected uint8 N×H×W×3 or float N×3×H×W, got {t.dtype}")
    if t.ndim != 4 or t.shape[1] != 3:
        raise TrainingError(f"{name}: float images must be N×3×H×W, got {tuple(t.shape)}")
    t = t.float()
    if t.numel() and not (t.min() >= -1.0 and t.max() <= 1.0):
        raise TrainingError(f"{name}: float images must lie in [-1, 1] (map [0, 1] with 2x − 1)")
    return t


def _to_float(t: torch.Tensor) -> torch.Tensor:
    """uint8 N×3×H×W → the official float32 values in [-1, 1]; floats pass through."""
    if t.dtype != torch.uint8:
        return t.contiguous()
    return torch.from_numpy(to_official_float(t.numpy())).contiguous()


def loader_threads() -> int:
    """Threads that decode batches ahead: the cores torch's own threads leave free, up to 4.

    0 when torch uses every core (as on a 2-core machine with 2 torch threads): a decoding
    thread would then only preempt torch's threads, which wait for each other at every
    operation, and measured slower than decoding in turn (docs/performance.md).
    """
    return max(0, min(4, (os.cpu_count() or 1) - torch.get_num_threads()))


def prefetched(
    batches: Sequence[Any], load, *, threads: int | None = None
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(batch, load(batch))`` in order, with threads loading the next batches.

    Decoding PNGs overlaps with the trunk's compute where there are cores to spare (Pillow and
    libspng release the GIL while they decode).

    Args:
        batches: What to load, in order.
        load: Called with one batch, in a worker thread (in the calling thread when
            ``threads`` is 0).
        threads: Worker threads (default :func:`loader_threads`); ``threads + 1`` batches are
            in flight.
    """
    if not batches:
        return
    threads = loader_threads() if threads is None else threads
    if threads == 0:
        for batch in batches:
            yield batch, load(batch)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending = deque(pool.submit(load, b) for b in batches[: threads + 1])
        for i, batch in enumerate(batches):
            data = pending.popleft().result()
            if i + threads + 1 < len(batches):
                pending.append(pool.submit(load, batches[i + threads + 1]))
            yield batch, data


# ---- turning fit() arguments into sources -------------------------------------------------------


def _dataset(obj: Any, load_size: int) -> BappsDataset | None:
    if isinstance(obj, BappsDataset):
        return obj
    if isinstance(obj, str | os.PathLike):
        return BappsDataset(obj, load_size=load_size)
    return None


def _split_sets(data: BappsDataset, split: str, categories: Sequence[str] | None) -> list:
    if split not in data.splits("2afc"):
        present = ", ".join(data.splits("2afc")) or "none"
        raise TrainingError(
            f"{data.root}: no 2afc/{split} split (expected {data.root}/2afc/{split}/<category>/"
            f"{{ref,p0,p1,judge}}/; 2afc splits present: {present})"
        )
    available = data.categories("2afc", split)
    wanted = list(categories) if categories else list(available)
    missing = [c for c in wanted if c not in available]
    if missing:
        raise TrainingError(
            f"{data.root}: 2afc/{split} has no {', '.join(missing)} "
            f"(present: {', '.join(available) or 'none'})"
        )
    if not wanted:
        raise TrainingError(f"{data.root}: 2afc/{split} holds no category")
    return [(c, data.twoafc(split, c)) for c in wanted]


def training_source(
    train: Any, *, categories: Sequence[str] | None = None, load_size: int = 64
) -> Source:
    """The training triplets as one source.

    Args:
        train: A BAPPS root folder or ``BappsDataset`` (its ``2afc/train`` categories), a
            ``TwoAFCSet``, a list of them, :class:`TripletArrays`, or a mapping of name →
            ``TwoAFCSet`` / :class:`TripletArrays`.
        categories: For a BAPPS root: the train categories to use (default: all present, which
            for BAPPS is traditional, cnn and mix).
        load_size: Shorter side for images read from a root folder.

    Raises:
        TrainingError: No train split, a missing category, or malformed arrays.
        metrics.bapps.BappsError: A broken BAPPS folder.
    """
    data = _dataset(train, load_size)
    if data is not None:
        return BappsSource(
            [s for _, s in _split_sets(data, "train", categories)], f"{data.root}/2afc/train"
        )
    if isinstance(train, TripletArrays):
        return ArraySource(train, "train")
    if isinstance(train, TwoAFCSet):
        return BappsSource([train], str(train.path))
    if isinstance(train, Mapping):
        values = list(train.values())
        if values and all(isinstance(v, TwoAFCSet) for v in values):
            return BappsSource(values, "train")
        if len(values) == 1 and isinstance(values[0], TripletArrays):
            return ArraySource(values[0], "train")
    if isinstance(train, Sequence) and train and all(isinstance(s, TwoAFCSet) for s in train):
        return BappsSource(list(train), "train")
    raise TrainingError(
        f"cannot train on a {type(train).__name__}: pass a BAPPS folder, a BappsDataset, "
        "TwoAFCSet(s) or TripletArrays"
    )


def validation_sources(
    val: Any, train: Any, *, categories: Sequence[str] | None = None, load_size: int = 64
) -> dict[str, Source]:
    """Validation sets by name (the paper scores each set and averages them).

    Args:
        val: None (the ``2afc/val`` sets of ``train`` when it is a BAPPS root that has them,
            else no validation), False (no validation), a BAPPS root or ``BappsDataset`` (its
            ``2afc/val`` sets), a ``TwoAFCSet``, :class:`TripletArrays`, or a mapping of name →
            either.
        train: What was passed as training data (for the default).
        categories: Val categories to use from a root (default: all present).
        load_size: Shorter side for images read from a root folder.
    """
    if val is False:
        return {}
    if val is None:
        data = _dataset(train, load_size)
        if data is None or "val" not in data.splits("2afc"):
            return {}
        val = data
    data = _dataset(val, load_size)
    if data is not None:
        return {
            c: BappsSource([s], f"{data.root}/2afc/val/{c}")
            for c, s in _split_sets(data, "val", categories)
        }
    if isinstance(val, TripletArrays):
        return {"val": ArraySource(val, "val")}
    if isinstance(val, TwoAFCSet):
        return {val.category: BappsSource([val], str(val.path))}
    if isinstance(val, Mapping) and val:
        out: dict[str, Source] = {}
        for name, item in val.items():
            if isinstance(item, TripletArrays):
                out[str(name)] = ArraySource(item, str(name))
            elif isinstance(item, TwoAFCSet):
                out[str(name)] = BappsSource([item], str(item.path))
            else:
                raise TrainingError(f"validation set {name!r} is a {type(item).__name__}")
        return out
    raise TrainingError(f"cannot validate on a {type(val).__name__}")
