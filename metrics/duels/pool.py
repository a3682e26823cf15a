"""Score a gMAD candidate pool: the distance of every candidate to its own reference, batched.

``score_pool`` flattens the pool into (reference, candidate) pairs and sends them through
``metrics.score_pairs`` in chunks, gathering each chunk's references by index, so the pool costs
what the same pairs cost through ``score_pairs`` (``benchmarks/bench_duels.py`` measures the
ratio) and memory never holds a copy of the reference per candidate beyond one chunk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from metrics.batched import score_pairs
from metrics.images import to_range

# Pairs per score_pairs call, in batches: large enough that the call overhead vanishes.
CHUNK_BATCHES = 8


def _as_pool(
    refs: torch.Tensor, candidates: torch.Tensor | Iterable[torch.Tensor]
) -> tuple[list[torch.Tensor], int]:
    if not isinstance(refs, torch.Tensor) or refs.ndim != 4 or refs.shape[1] != 3:
        shape = tuple(refs.shape) if isinstance(refs, torch.Tensor) else type(refs).__name__
        raise ValueError(f"refs must be an R×3×H×W tensor, got {shape}")
    if isinstance(candidates, torch.Tensor):
        if candidates.ndim != 5:
            raise ValueError(
                f"candidates must be an R×C×3×H×W tensor or one C×3×H×W tensor per reference, "
                f"got shape {tuple(candidates.shape)}"
            )
        per_ref = list(candidates.unbind(0))
    else:
        per_ref = list(candidates)
    if len(per_ref) != refs.shape[0]:
        raise ValueError(
            f"refs and candidates must list the same references: {refs.shape[0]} references, "
            f"candidates for {len(per_ref)}"
        )
    for r, cands in enumerate(per_ref):
        if not isinstance(cands, torch.Tensor) or cands.ndim != 4:
            raise ValueError(f"candidates of reference {r} must be a C×3×H×W tensor")
        if cands.shape[1:] != refs.shape[1:]:
            raise ValueError(
                f"candidates of reference {r} have shape {tuple(cands.shape[1:])}, "
                f"their reference {tuple(refs.shape[1:])}"
            )
    width = max((c.shape[0] for c in per_ref), default=0)
    if width == 0:
        raise ValueError("the candidate pool is empty")
    return per_ref, width


def score_pool(
    metric: Any,
    refs: torch.Tensor,
    candidates: torch.Tensor | Iterable[torch.Tensor],
    *,
    batch_size: int = 64,
    progress: bool = False,
    unit_range: bool = False,
) -> np.ndarray:
    """Distances d(ref_r, candidate_rc) of a whole pool, batched.

    Args:
        metric: A ``metrics.base.Metric`` (from ``metrics.create_metric``).
        refs: R×3×H×W float tensor in the metric's input range.
        candidates: R×C×3×H×W, or one C_r×3×H×W tensor per reference (counts may differ).
        batch_size: Pairs per batch.
        progress: Show a tqdm bar over the pool.
        unit_range: ``refs`` and ``candidates`` hold [0, 1] images; each chunk is mapped onto the
            metric's input range (``2x − 1`` for LPIPS), so one pool serves every metric.

    Returns:
        R×C float64 array (C: the largest count; the cells of absent candidates are NaN).

    Raises:
        ValueError: Malformed or empty pool, and the metric's own input errors.
    """
    per_ref, width = _as_pool(refs, candidates)
    from tqdm.auto import tqdm

    counts = [c.shape[0] for c in per_ref]
    # An R×C tensor flattens without a copy; a list of per-reference tensors is joined once.
    flat = candidates.flatten(0, 1) if isinstance(candidates, torch.Tensor) else torch.cat(per_ref)
    ref_of = torch.repeat_interleave(torch.arange(len(per_ref)), torch.tensor(counts))
    out = np.full((len(per_ref), width), np.nan)
    col_of = torch.cat([torch.arange(n) for n in counts])
    chunk = batch_size * CHUNK_BATCHES
    scores = []
    with tqdm(total=flat.shape[0], unit="pair", disable=not progress) as bar:
        for start in range(0, flat.shape[0], chunk):
            stop = min(start + chunk, flat.shape[0])
            a = refs.index_select(0, ref_of[start:stop].to(refs.device))
            b = flat[start:stop]
            if unit_range:
                a, b = to_range(a, metric.info.input_range), to_range(b, metric.info.input_range)
            scores.append(score_pairs(metric, a, b, batch_size=batch_size, progress=False))
            bar.update(stop - start)
    values = torch.cat(scores).double().numpy()
    out[ref_of.numpy(), col_of.numpy()] = values
    return out
