"""Score any registered metric on a BAPPS folder: the paper's 2AFC table and JND mAP (§3).

Images are read by ``metrics.bapps`` exactly as the official loader reads them (sorted order,
``Resize(64)``), mapped onto the metric's input range (for [-1, 1] metrics the official
``ToTensor`` + ``Normalize(0.5, 0.5)`` values bit for bit), and scored in batches under
``torch.inference_mode`` with ``metric.triplet_distances`` (LPIPS runs the reference through the
trunk once per triplet instead of twice). The next batch is decoded in a thread meanwhile. The
distances then go to ``metrics.scoring`` for scores, bootstrap intervals and aggregates.

``item_set_distances`` is the scoring loop itself, over sets of uint8 images in memory or read
in batches: ``bapps_distances`` uses it for folders, the platform for its frozen datasets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metrics.bapps import BappsDataset, to_official_float
from metrics.scoring import ScoreReport, score_2afc, score_jnd
from metrics.training.config import TrainingError
from metrics.training.data import prefetched

OnBatch = Callable[[str, int], None]


@dataclass(frozen=True)
class EvaluationResult:
    """One metric on one BAPPS split.

    Attributes:
        metric: Label of the metric (registry name plus options that matter).
        twoafc: 2AFC report (per set, aggregates, intervals, human ceiling), or None.
        jnd: JND mAP report, or None when the folder has no ``jnd/<split>``.
        seconds: Wall time of the distance computation.
    """

    metric: str
    twoafc: ScoreReport | None
    jnd: ScoreReport | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "seconds": self.seconds,
            "2afc": self.twoafc.to_dict() if self.twoafc else None,
            "jnd": self.jnd.to_dict() if self.jnd else None,
        }


def to_metric_input(pixels: np.ndarray, input_range: tuple[float, float]) -> torch.Tensor:
    """uint8 B×H×W×3 → float32 B×3×H×W in ``input_range``."""
    if tuple(input_range) == (-1.0, 1.0):
        values = to_official_float(pixels)
    else:
        low, high = input_range
        values = pixels.astype(np.float32) / np.float32(255.0)
        if (low, high) != (0.0, 1.0):
            values = values * np.float32(high - low) + np.float32(low)
    return torch.from_numpy(values).permute(0, 3, 1, 2)


def _open(dataset: BappsDataset | str | os.PathLike, load_size: int | None) -> BappsDataset:
    if isinstance(dataset, BappsDataset):
        return dataset
    return BappsDataset(dataset, load_size=load_size)


def split_categories(
    data: BappsDataset, kind: str, split: str, wanted: Sequence[str] | None
) -> list[str]:
    """The sets of ``kind/split`` to use: ``wanted`` (checked to exist) or all present."""
    present = data.categories(kind, split) if split in data.splits(kind) else ()
    if wanted is None:
        return list(present)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise TrainingError(
            f"{data.root}: {kind}/{split} has no {', '.join(missing)} "
            f"(present: {', '.join(present) or 'none'})"
        )
    return list(wanted)


MEMBERS = {"2afc": ("ref", "p0", "p1"), "jnd": ("p0", "p1")}

# One set of items: uint8 N×H×W×3 arrays, one per member (2AFC: ref, p0, p1; JND: p0, p1), or,
# for a set read lazily, an iterable of such tuples (one per batch).
ItemSet = tuple[np.ndarray, ...] | Iterable[tuple[np.ndarray, ...]]


def _in_memory(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(a, np.ndarray) for a in value)


def _slices(label: str, arrays: tuple[np.ndarray, ...], n_members: int, batch_size: int):
    if len(arrays) != n_members:
        raise ValueError(f"{label}: expected {n_members} arrays, got {len(arrays)}")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"{label}: arrays of different lengths {[len(a) for a in arrays]}")
    for a in arrays:
        if a.dtype != np.uint8 or a.ndim != 4 or a.shape[-1] != 3:
            raise ValueError(
                f"{label}: expected uint8 N×H×W×3 arrays, got {a.dtype} of shape {a.shape}"
            )
    total = lengths.pop()
    for start in range(0, total, batch_size):
        yield tuple(a[start : start + batch_size] for a in arrays)


def _batch_distances(
    metric: Any, kind: str, batch: tuple[np.ndarray, ...], lo_hi: tuple[float, float]
) -> tuple[torch.Tensor, ...]:
    if kind == "2afc":
        ref, p0, p1 = (to_metric_input(x, lo_hi) for x in batch)
        return metric.triplet_distances(ref, p0, p1, range_check="bounds")
    x0, x1 = metric.prepare(*(to_metric_input(x, lo_hi) for x in batch), range_check="bounds")
    return (metric.distance(x0, x1),)


@torch.inference_mode()
def item_set_distances(
    metric: Any,
    sets: Mapping[str, Mapping[str, ItemSet]],
    *,
    batch_size: int = 50,
    on_batch: OnBatch | None = None,
) -> dict[str, dict[str, tuple[np.ndarray, ...]]]:
    """Distances of a metric on sets of 2AFC triplets and JND pairs held as uint8 images.

    The one scoring loop: ``bapps_distances`` feeds it batches read from a BAPPS folder and the
    platform's score runs feed it a frozen dataset's arrays. Each batch is mapped onto the
    metric's input range (``to_metric_input``) and scored under ``torch.inference_mode`` with
    ``metric.triplet_distances`` (2AFC) or ``metric.distance`` (JND).

    Args:
        metric: A ``metrics.base.Metric`` (from ``metrics.create_metric``).
        sets: ``{"2afc": {name: (ref, p0, p1)}, "jnd": {name: (p0, p1)}}``; each value is a
            tuple of uint8 N×H×W×3 arrays (cut into batches of ``batch_size`` here) or an
            iterable of such tuples, one per batch (used as given). Either kind may be absent.
        batch_size: Items per metric call for in-memory sets.
        on_batch: Called with (``"<kind>/<name>"``, items in this batch) after each batch.

    Returns:
        ``{"2afc": {name: (d0, d1)}, "jnd": {name: (d,)}}``, float64 arrays in item order.

    Raises:
        ValueError: An unknown kind, or arrays of the wrong count, length, dtype or shape.
    """
    unknown = sorted(set(sets) - set(MEMBERS))
    if unknown:
        raise ValueError(f"unknown item-set kind(s) {unknown}; use {', '.join(MEMBERS)}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    lo_hi = tuple(metric.info.input_range)
    out: dict[str, dict[str, tuple[np.ndarray, ...]]] = {"2afc": {}, "jnd": {}}
    for kind, n_members in (("2afc", 3), ("jnd", 2)):
        for name, value in sets.get(kind, {}).items():
            label = f"{kind}/{name}"
            batches = _slices(label, value, n_members, batch_size) if _in_memory(value) else value
            dists: list[list[np.ndarray]] = [[] for _ in range(n_members - 1)]
            for batch in batches:
                pair = _batch_distances(metric, kind, batch, lo_hi)
                for store, d in zip(dists, pair, strict=True):
                    store.append(d.double().cpu().reshape(-1).numpy())
                if on_batch is not None:
                    on_batch(label, len(batch[0]))
            out[kind][name] = tuple(
                np.concatenate(d) if d else np.zeros(0, dtype=np.float64) for d in dists
            )
    return out


def _bapps_batches(items: Any, kind: str, batch_size: int, values: list[np.ndarray]):
    """One BAPPS set as batches of image arrays (decoded ahead in threads); the judge or same
    values read with each batch are appended to ``values``."""
    starts = range(0, len(items), batch_size)
    batches = [list(range(s, min(s + batch_size, len(items)))) for s in starts]
    for _, batch in prefetched(batches, items.batch):
        values.append(np.asarray(getattr(batch, items.layout.value), dtype=np.float64))
        yield tuple(getattr(batch, m) for m in MEMBERS[kind])


def bapps_distances(
    metric: Any,
    dataset: BappsDataset | str | os.PathLike,
    *,
    split: str = "val",
    categories: Sequence[str] | None = None,
    jnd_categories: Sequence[str] | None = None,
    batch_size: int = 50,
    load_size: int | None = 64,
    on_batch: OnBatch | None = None,
) -> dict[str, dict[str, tuple[np.ndarray, ...]]]:
    """Distances of a metric on a BAPPS split (read in batches, through ``item_set_distances``).

    Args:
        metric: A ``metrics.base.Metric`` (from ``metrics.create_metric``).
        dataset: BAPPS root (the folder holding ``2afc/`` and ``jnd/``) or a ``BappsDataset``.
        split: ``"val"`` for the paper's table.
        categories: 2AFC sets (default: all present in ``2afc/<split>``); [] skips 2AFC.
        jnd_categories: JND sets (default: all present in ``jnd/<split>``); [] skips JND.
        batch_size: Triplets or pairs per metric call.
        load_size: Shorter side after resizing (the official 64) when ``dataset`` is a path.
        on_batch: Called with (set label, items done in this batch), e.g. for a progress bar.

    Returns:
        ``{"2afc": {set: (d0, d1, judge)}, "jnd": {set: (d, same)}}``, float64 arrays.

    Raises:
        TrainingError: A requested set is missing, or the folder has no 2AFC or JND sets.
        metrics.bapps.BappsError: Broken files (named).
    """
    data = _open(dataset, load_size)
    twoafc = split_categories(data, "2afc", split, categories)
    jnd = split_categories(data, "jnd", split, jnd_categories)
    if not twoafc and not jnd:
        raise TrainingError(f"{data.root}: no 2afc/{split} or jnd/{split} sets to evaluate")
    out: dict[str, dict[str, tuple[np.ndarray, ...]]] = {"2afc": {}, "jnd": {}}
    for kind, names in (("2afc", twoafc), ("jnd", jnd)):
        for name in names:
            values: list[np.ndarray] = []  # judge/same fractions, as read with the images
            items = data.open(kind, split, name)
            sets = {kind: {name: _bapps_batches(items, kind, batch_size, values)}}
            dists = item_set_distances(metric, sets, on_batch=on_batch)[kind][name]
            judged = np.concatenate(values) if values else np.zeros(0, dtype=np.float64)
            out[kind][name] = (*dists, judged)
    return out


def evaluate(
    metric: Any,
    dataset: BappsDataset | str | os.PathLike,
    *,
    label: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    **options: Any,
) -> EvaluationResult:
    """Score a metric on a BAPPS split: 2AFC report (Table 5 layout) and JND mAP report.

    Args:
        metric: A ``metrics.base.Metric``.
        dataset: BAPPS root or ``BappsDataset``.
        label: Name stored in the reports (default: the metric's registry name).
        n_resamples: Bootstrap resamples for the intervals (0: none).
        seed: Bootstrap seed.
        **options: Passed to :func:`bapps_distances` (split, categories, batch_size, ...).
    """
    label = label or metric.info.name
    started = time.perf_counter()
    dist = bapps_distances(metric, dataset, **options)
    seconds = time.perf_counter() - started
    split = options.get("split", "val")
    twoafc = jnd = None
    if dist["2afc"]:
        twoafc = score_2afc(
            dist["2afc"], metric=label, split=split, n_resamples=n_resamples, seed=seed
        )
    if dist["jnd"]:
        jnd = score_jnd(dist["jnd"], metric=label, split=split, n_resamples=n_resamples, seed=seed)
    return EvaluationResult(metric=label, twoafc=twoafc, jnd=jnd, seconds=seconds)
