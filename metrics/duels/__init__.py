"""Metric duels: the images two metrics disagree on most (gMAD selection, MAD synthesis), and who
people side with (Bradley–Terry over duel outcomes).

- ``score_pool`` scores a candidate pool (R references × C distorted versions) with one metric,
  batched; ``select_gmad_pairs`` picks, per quality level of a defender metric, the pairs of one
  reference it rates equal and an attacker rates furthest apart (Ma et al., TPAMI 2018).
- ``synthesize_mad_pair(s)`` moves a distorted image to maximise and to minimise one metric while
  holding another fixed (Wang & Simoncelli, J. Vision 2008); ``is_differentiable`` says which
  metrics it can follow.
- ``DuelOutcome``, ``gmad_scores``, ``wins_matrix`` and ``bradley_terry`` turn votes into shares
  with intervals, aggressiveness and resistance, and a ranking.

Importing this package never imports torch (the selection and the statistics are numpy, the
differentiability flag is registry data); ``score_pool``, ``synthesize_mad_pair(s)`` and
``MadResult`` load torch on first access. See ``docs/duels.md`` for the method.
"""

from __future__ import annotations

from typing import Any

from metrics.duels.differentiable import is_differentiable
from metrics.duels.outcomes import (
    BTResult,
    DuelOutcome,
    RoleScore,
    bradley_terry,
    gmad_scores,
    wilson_interval,
    wins_matrix,
)
from metrics.duels.selection import GmadPair, assign_levels, level_edges, select_gmad_pairs

_LAZY = {
    "score_pool": "metrics.duels.pool",
    "MadResult": "metrics.duels.mad",
    "synthesize_mad_pairs": "metrics.duels.mad",
}

__all__ = [
    "BTResult",
    "DuelOutcome",
    "GmadPair",
    "MadResult",
    "RoleScore",
    "assign_levels",
    "bradley_terry",
    "gmad_scores",
    "is_differentiable",
    "level_edges",
    "score_pool",
    "select_gmad_pairs",
    "synthesize_mad_pair",
    "synthesize_mad_pairs",
    "wilson_interval",
    "wins_matrix",
]


def synthesize_mad_pair(
    fixed_metric: Any, moved_metric: Any, ref: Any, start: Any, **options: Any
) -> Any:
    """One MAD pair from a 3×H×W reference and start image in [0, 1]; see
    ``metrics.duels.mad.synthesize_mad_pairs`` for the options (``tolerance`` is required).

    Returns:
        A ``MadResult``.
    """
    from metrics.duels.mad import synthesize_mad_pairs

    for name, x in (("ref", ref), ("start", start)):
        if getattr(x, "ndim", None) != 3:
            raise ValueError(
                f"{name} must be one 3×H×W image (use synthesize_mad_pairs for batches), got "
                f"shape {tuple(getattr(x, 'shape', ()))}"
            )
    (result,) = synthesize_mad_pairs(
        fixed_metric, moved_metric, ref.unsqueeze(0), start.unsqueeze(0), **options
    )
    return result


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metrics.duels' has no attribute {name!r}")
