"""Fast batched scoring: many pairs or 2AFC triplets through one metric.

``score_pairs`` and ``score_triplets`` take large tensors or lists of image files, cut them into
batches, run them under ``torch.inference_mode()`` on the metric's device (CUDA when present, via
the metric), and return CPU tensors. For LPIPS a triplet costs one trunk pass over reference, p0
and p1 together, where the official code runs the reference twice; the trunk uses channels-last
memory on CPU (``metrics.lpips.model``). A tqdm progress bar appears on long runs.

Image files are grouped by size, so folders with mixed sizes batch well; the images compared
with each other must share a size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from metrics.images import image_size, load_batch, to_range

Source = torch.Tensor | Iterable[str | os.PathLike[str]]

# Show a progress bar on its own only from this many batches on (and only on a terminal).
AUTO_PROGRESS_BATCHES = 10


def _as_inputs(sources: dict[str, Source]) -> tuple[list[Any], int, bool]:
    """Return the sources as tensors or path lists, their common length, and whether files."""
    tensors = [isinstance(s, torch.Tensor) for s in sources.values()]
    if any(tensors) and not all(tensors):
        raise TypeError(f"{', '.join(sources)} must all be tensors or all be lists of image files")
    if all(tensors):
        items = list(sources.values())
        lengths = [t.shape[0] if t.ndim else -1 for t in items]
    else:
        if any(isinstance(s, str | bytes | os.PathLike) for s in sources.values()):
            raise TypeError(
                "pass lists of image paths (or tensors), not a single path; "
                "metrics.images.list_images lists a folder"
            )
        items = [list(s) for s in sources.values()]
        lengths = [len(s) for s in items]
    if len(set(lengths)) != 1:
        detail = ", ".join(f"{n}: {k}" for n, k in zip(sources, lengths, strict=True))
        raise ValueError(f"{', '.join(sources)} must have the same length, got {detail}")
    return items, lengths[0], not all(tensors)


def _index_batches(
    items: list[Any], total: int, batch_size: int, files: bool
) -> Iterator[list[int]]:
    """Indices of each batch: consecutive for tensors, grouped by image size for files."""
    if not files:
        for start in range(0, total, batch_size):
            yield list(range(start, min(start + batch_size, total)))
        return
    groups: dict[tuple[int, int], list[int]] = {}
    for i in range(total):
        sizes = [image_size(seq[i]) for seq in items]
        if len(set(sizes)) != 1:
            detail = ", ".join(
                f"{os.fspath(seq[i])} ({w}×{h})" for seq, (w, h) in zip(items, sizes, strict=True)
            )
            raise ValueError(f"images compared with each other must share a size: {detail}")
        groups.setdefault(sizes[0], []).append(i)
    for indices in groups.values():
        for start in range(0, len(indices), batch_size):
            yield indices[start : start + batch_size]


def _run(
    metric: Any,
    sources: dict[str, Source],
    batch_size: int,
    progress: bool | None,
    unit: str,
    step: Callable[[list[torch.Tensor], str | None], tuple[torch.Tensor, ...]],
    n_outputs: int,
) -> tuple[torch.Tensor, ...]:
    """Batch the sources, apply ``step`` to each batch and reassemble its outputs in order."""
    from tqdm.auto import tqdm

    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    items, total, files = _as_inputs(sources)
    if progress is None:
        # None lets tqdm switch itself off when stderr is not a terminal.
        disable = None if total >= AUTO_PROGRESS_BATCHES * batch_size else True
    else:
        disable = not progress
    # Files are mapped onto the metric's range here, so only the bounds need checking.
    check = "bounds" if files else None
    pieces: list[tuple[list[int], tuple[torch.Tensor, ...]]] = []
    with torch.inference_mode(), tqdm(total=total, unit=unit, disable=disable) as bar:
        for indices in _index_batches(items, total, batch_size, files):
            if files:
                batch = [
                    to_range(load_batch([seq[i] for i in indices]), metric.info.input_range)
                    for seq in items
                ]
            else:
                batch = [seq[indices[0] : indices[-1] + 1] for seq in items]
            outputs = step(batch, check)
            pieces.append((indices, tuple(o.float().cpu() for o in outputs)))
            bar.update(len(indices))
    if not pieces:
        return tuple(torch.empty(0) for _ in range(n_outputs))
    order = torch.tensor([i for indices, _ in pieces for i in indices])
    results = []
    for k in range(n_outputs):
        try:
            joined = torch.cat([outs[k] for _, outs in pieces])
        except RuntimeError:
            raise ValueError(
                "spatial maps of differently sized images cannot be returned as one tensor; "
                "score each size separately"
            ) from None
        result = torch.empty_like(joined)
        result[order] = joined
        results.append(result)
    return tuple(results)


def score_pairs(
    metric: Any,
    a: Source,
    b: Source,
    *,
    batch_size: int = 64,
    progress: bool | None = None,
) -> torch.Tensor:
    """Distances between corresponding images of two large sets, batched.

    Args:
        metric: A ``metrics.base.Metric`` (from ``create_metric``).
        a: N×3×H×W tensor in the metric's input range, or N image file paths (read as RGB and
            mapped onto the metric's range; sizes may vary between pairs).
        b: The same kind and length as ``a``.
        batch_size: Pairs per batch.
        progress: Show a tqdm bar; None shows one for runs of 10 batches or more on a terminal.

    Returns:
        Float tensor of shape (N,) on the CPU (N×H×W for LPIPS with ``spatial=True``).

    Raises:
        TypeError, ValueError: Mismatched kinds, lengths or image sizes, and the metric's own
            input errors.
    """

    def step(batch: list[torch.Tensor], check: str | None) -> tuple[torch.Tensor]:
        x0, x1 = metric.prepare(*batch, range_check=check)
        return (metric.distance(x0, x1),)

    return _run(metric, {"a": a, "b": b}, batch_size, progress, "pair", step, 1)[0]


def score_triplets(
    metric: Any,
    ref: Source,
    p0: Source,
    p1: Source,
    *,
    batch_size: int = 64,
    progress: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """2AFC distances d(ref, p0) and d(ref, p1) for many triplets, batched.

    Uses the metric's ``triplet_distances``: LPIPS computes each reference's trunk features once.

    Args:
        metric: A ``metrics.base.Metric``.
        ref: N×3×H×W tensor in the metric's range, or N image file paths.
        p0: Same kind and length as ``ref``.
        p1: Same kind and length as ``ref``.
        batch_size: Triplets per batch.
        progress: As in ``score_pairs``.

    Returns:
        ``(d0, d1)``, float tensors of shape (N,) on the CPU.
    """

    def step(batch: list[torch.Tensor], check: str | None) -> tuple[torch.Tensor, torch.Tensor]:
        return metric.triplet_distances(*batch, range_check=check)

    d0, d1 = _run(
        metric, {"ref": ref, "p0": p0, "p1": p1}, batch_size, progress, "triplet", step, 2
    )
    return d0, d1
