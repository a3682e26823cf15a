"""Input checks shared by the scoring functions.

Every public scoring function funnels its arrays through these helpers, so bad input fails early
with a ``ValueError`` that names the argument and the problem instead of producing a silently
wrong score (a NaN distance compares False both ways and would quietly count as a "tie").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def as_flat(name: str, values: ArrayLike) -> np.ndarray:
    """Return ``values`` as a flat float64 array, rejecting empty input.

    Distances are flattened rather than required to be 1-D because LPIPS returns Nx1x1x1; the
    official JND scorer forgot to flatten and sorted along an axis of length one (reference §3.2).

    Args:
        name: Argument name used in error messages.
        values: Any array-like of numbers (a NumPy array, a list, a CPU tensor).

    Returns:
        A 1-D float64 array (a copy only when a conversion was needed).

    Raises:
        ValueError: If the values are not numeric or the array is empty.
    """
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    if arr.size == 0:
        raise ValueError(f"{name} is empty: nothing to score")
    return arr


def check_distances(name: str, values: ArrayLike) -> np.ndarray:
    """Flatten distances and reject NaN (infinities order fine and are allowed)."""
    arr = as_flat(name, values)
    bad = np.flatnonzero(np.isnan(arr))
    if bad.size:
        raise ValueError(f"{name} contains {bad.size} NaN value(s), first at index {bad[0]}")
    return arr


def check_fractions(name: str, values: ArrayLike) -> np.ndarray:
    """Flatten human fractions (judge or same) and require every value to lie in [0, 1]."""
    arr = as_flat(name, values)
    # NaN fails both comparisons, so `~(in range)` catches it along with out-of-range values.
    bad = np.flatnonzero(~((arr >= 0.0) & (arr <= 1.0)))
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{name} must be fractions in [0, 1]; {bad.size} value(s) are not, "
            f"first at index {i}: {float(arr[i])!r}"
        )
    return arr


def check_same_length(**arrays: np.ndarray) -> int:
    """Require all arrays to have one length and return it."""
    lengths = {name: arr.size for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"length mismatch: {desc}")
    return next(iter(lengths.values()))


def check_confidence(confidence: float) -> float:
    """Require a confidence level strictly between 0 and 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def check_resamples(n_resamples: int, *, allow_zero: bool) -> int:
    """Require a non-negative (or positive) integer number of bootstrap resamples."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer):
        raise ValueError(f"n_resamples must be an integer, got {n_resamples!r}")
    low = 0 if allow_zero else 1
    if n_resamples < low:
        raise ValueError(f"n_resamples must be >= {low}, got {n_resamples}")
    return int(n_resamples)
