"""JND mAP: how well a metric's distances rank "same" pairs first (LPIPS paper; reference §3.2).

Each JND pair (p0, p1) has a distance d and ``same`` s, the fraction of humans who said the two
patches were the same. Pairs are sorted by ascending distance and s acts as a *soft* label:

    TP = cumsum(s), FP = cumsum(1 - s), FN = Σs - TP
    precision = TP / (TP + FP), recall = TP / (TP + FN)

The score is the area under that precision-recall curve computed as the VOC AP, non-07 variant:
recall padded with 0 and 1, precision with 0 and 0, precision made monotone by a running maximum
from the right, then Σ Δrecall x precision over the points where recall changes. There is no
11-point interpolation.

Two details that matter for reproducing numbers:

* Distances are **flattened** first. The official master sorts LPIPS's Nx1x1x1 output along an
  axis of length one, so its AP collapses to the first pair's label; we do not reproduce that bug.
* Ties (equal distances) keep the order of ``np.argsort`` with its default kind ("quicksort",
  an unstable introsort), as the official code does. That order is deterministic for a given
  input array and NumPy version, but tied pairs with different ``same`` values make the AP depend
  on it; metrics with quantised outputs should be compared with this in mind.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from metrics.scoring._checks import check_distances, check_fractions, check_same_length


def voc_ap(recall: ArrayLike, precision: ArrayLike) -> float:
    """Area under a precision-recall curve, VOC style without 11-point interpolation.

    Args:
        recall: Recall at each rank, non-decreasing, values in [0, 1], shape (K,).
        precision: Precision at each rank, shape (K,).

    Returns:
        The average precision, a fraction in [0, 1].

    Raises:
        ValueError: If the two arrays differ in length, are empty or hold NaN.
    """
    rec = check_fractions("recall", recall)
    prec = check_fractions("precision", precision)
    check_same_length(recall=rec, precision=prec)
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    # Interpolated precision at recall r is the best precision at any recall >= r.
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    changed = np.flatnonzero(mrec[1:] != mrec[:-1])
    return math.fsum(((mrec[changed + 1] - mrec[changed]) * mpre[changed + 1]).tolist())


def _checked(distances: ArrayLike, same: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    d = check_distances("distances", distances)
    s = check_fractions("same", same)
    check_same_length(distances=d, same=s)
    if not s.any():
        raise ValueError("same is all zero: no pair was judged 'same', so JND mAP is undefined")
    return d, s


def _pr_from_ranked(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Soft-label precision and recall of (K,) labels already in rank order (sum > 0)."""
    tp = np.cumsum(labels)
    fp = np.cumsum(1.0 - labels)
    # Σs is the last cumulative TP, so recall reaches exactly 1 at the end of the ranking.
    fn = tp[-1] - tp
    return tp / (tp + fp), tp / (tp + fn)


def jnd_pr_curve(distances: ArrayLike, same: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at every rank of the ascending-distance ordering.

    Args:
        distances: Distances d(p0, p1), any shape with N elements (flattened).
        same: Fraction of humans who said "same", N values in [0, 1], not all zero.

    Returns:
        ``(precision, recall)``, two float64 arrays of shape (N,).

    Raises:
        ValueError: On empty input, a length mismatch, NaN distances, ``same`` outside [0, 1]
            or all zero.
    """
    d, s = _checked(distances, same)
    order = np.argsort(d)  # default kind on purpose: the official tie order (module docstring)
    return _pr_from_ranked(s[order])


def jnd_map(distances: ArrayLike, same: ArrayLike) -> float:
    """JND mAP of a metric on one set, a fraction in [0, 1].

    Args and errors as in :func:`jnd_pr_curve`.

    Example:
        Ranks 1-4 carry same = 1, 0, 1, 0: AP = ½·1 + ½·⅔ = ⅚.

        >>> round(jnd_map([0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0]), 6)
        0.833333
    """
    precision, recall = jnd_pr_curve(distances, same)
    return voc_ap(recall, precision)
