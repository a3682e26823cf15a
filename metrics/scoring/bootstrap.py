"""Bootstrap confidence intervals and paired tests for 2AFC scores and JND mAP (beyond the paper).

The paper reports point scores only. Here every score can carry a percentile bootstrap interval:
triplets (or JND pairs) are resampled with replacement, the score is recomputed on each resample,
and the interval runs between the alpha/2 and 1 - alpha/2 quantiles of those replicates
(alpha = 1 - confidence). A *paired* bootstrap compares two metrics on the same triplets: each
resample draws one set of indices and scores both metrics on it, so the per-triplet correlation
between the metrics is kept.

Everything is vectorised. Indices come from :func:`bootstrap_indices` in row blocks whose size
depends only on N (at most one million indices per block), so memory stays bounded and the
random stream is a function of ``(seed, N, n_resamples)`` alone.

* 2AFC replicates are means of gathered per-triplet credits.
* JND replicates reuse one ascending sort of the full sample: each resampled pair is mapped to
  its position in that ranking, the positions are put in order by a counting sort and the labels
  are read in that order. Ties between *different* pairs keep the full sample's ``np.argsort``
  order, which is the order :func:`~metrics.scoring.jnd.jnd_map` would give the same resample
  whenever distances are distinct. A replicate that drew no "same"
  mass has no defined AP; it is NaN and left out of the percentiles.

P-value of the paired test: the replicate differences are centred on the observed difference δ
to approximate the null distribution, and p = (1 + #{|δ* - δ| ≥ |δ|}) / (B + 1), the usual
add-one correction so that a finite number of resamples never reports p = 0.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from metrics.scoring._checks import (
    check_confidence,
    check_distances,
    check_fractions,
    check_resamples,
    check_same_length,
)
from metrics.scoring.jnd import jnd_map
from metrics.scoring.twoafc import mean_of, twoafc_credit

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
# Bounds one block of resampled indices (int64) to 8 MB; the JND path holds a few float arrays of
# that size at once, so peak memory stays near 100 MB whatever N and n_resamples are.
_BLOCK_ELEMENTS = 1_000_000

Seed = int | np.random.SeedSequence | np.random.Generator | None


def make_rng(seed: Seed, *, stream: str | None = None) -> np.random.Generator:
    """Build the NumPy Generator for one bootstrap.

    Args:
        seed: An int or SeedSequence (reproducible), an existing Generator (used as is, so the
            result depends on its state), or None (fresh OS entropy, not reproducible).
        stream: Optional label (e.g. a category name) mixed into an int seed so that each
            category gets its own independent stream and its interval does not depend on which
            other categories are scored with it.

    Returns:
        A ``np.random.Generator``.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if stream is None or seed is None:
        return np.random.default_rng(seed)
    entropy = seed.entropy if isinstance(seed, np.random.SeedSequence) else seed
    # crc32 rather than hash(): Python's str hash is salted per process.
    return np.random.default_rng([int(entropy), zlib.crc32(stream.encode("utf-8"))])


def bootstrap_indices(n: int, n_resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield resampled index blocks of shape (rows, n) until ``n_resamples`` rows were drawn."""
    rows = max(1, _BLOCK_ELEMENTS // n)
    done = 0
    while done < n_resamples:
        take = min(rows, n_resamples - done)
        yield rng.integers(0, n, size=(take, n))
        done += take


def mean_replicates(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the mean of ``values`` (1-D), shape (n_resamples,)."""
    blocks = [values[idx].mean(axis=1) for idx in bootstrap_indices(values.size, n_resamples, rng)]
    return np.concatenate(blocks) if blocks else np.empty(0)


def _ap_rows(labels: np.ndarray) -> np.ndarray:
    """VOC AP (non-07) of every row of a (B, K) stack of rank-ordered soft labels.

    Uses the algebraically identical form AP = sum_i s_i * P_interp(i) / sum(s): recall moves by
    s_i / sum(s) at rank i, and the padding terms vanish (recall already ends at 1, and the first
    step starts from recall 0). It takes four passes over the data instead of a dozen; results
    match :func:`~metrics.scoring.jnd.jnd_map` to rounding (about 1e-15).
    """
    tp = np.cumsum(labels, axis=1)
    precision = tp / np.arange(1, labels.shape[1] + 1)  # TP + FP is the rank
    interp = np.flip(np.maximum.accumulate(np.flip(precision, axis=1), axis=1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("ij,ij->i", labels, interp) / tp[:, -1]


def _ranking(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, rank)``: the ascending ``np.argsort`` order and each pair's position in it."""
    order = np.argsort(distances)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return order, rank


def _ap_of_resamples(ranked: np.ndarray, rank: np.ndarray, idx: np.ndarray) -> np.ndarray:
    # A resample's own ranking is its pairs' positions in the full ranking, sorted. Those are
    # integers below n, so a counting sort (bincount, then repeat) replaces any distance sort.
    rows, n = idx.shape
    counts = np.bincount((rank[idx] + n * np.arange(rows)[:, None]).ravel(), minlength=rows * n)
    positions = np.repeat(np.tile(np.arange(n), rows), counts).reshape(rows, n)
    return _ap_rows(ranked[positions])


def jnd_replicates(
    distances: np.ndarray, same: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap replicates of JND mAP, shape (n_resamples,); NaN where a resample has no "same".

    Replicate b scores the pairs ``idx[b]`` drawn by :func:`bootstrap_indices`, the same indices
    a 2AFC bootstrap with the same generator would draw.
    """
    order, rank = _ranking(distances)
    ranked = same[order]
    blocks = [
        _ap_of_resamples(ranked, rank, idx)
        for idx in bootstrap_indices(ranked.size, n_resamples, rng)
    ]
    return np.concatenate(blocks) if blocks else np.empty(0)


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates, ignoring NaN replicates."""
    finite = replicates[~np.isnan(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(finite, [alpha, 100.0 - alpha])
    return float(low), float(high)


def bootstrap_mean_ci(
    values: ArrayLike,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (e.g. of per-triplet 2AFC credits).

    Args:
        values: Per-item values, N elements (flattened).
        n_resamples: Number of bootstrap resamples (>= 1).
        confidence: Interval coverage, default 0.95.
        seed: See :func:`make_rng`.

    Returns:
        ``(low, high)``.
    """
    arr = check_distances("values", values)
    rng = make_rng(seed)
    reps = mean_replicates(arr, check_resamples(n_resamples, allow_zero=False), rng)
    return percentile_interval(reps, check_confidence(confidence))


def twoafc_ci(
    d0: ArrayLike,
    d1: ArrayLike,
    judge: ArrayLike,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a 2AFC score, resampling triplets; ``(low, high)``."""
    return bootstrap_mean_ci(
        twoafc_credit(d0, d1, judge), n_resamples=n_resamples, confidence=confidence, seed=seed
    )


def jnd_ci(
    distances: ArrayLike,
    same: ArrayLike,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of JND mAP, resampling pairs; ``(low, high)``."""
    jnd_map(distances, same)  # validates and rejects an undefined AP up front
    d = check_distances("distances", distances)
    s = check_fractions("same", same)
    reps = jnd_replicates(d, s, check_resamples(n_resamples, allow_zero=False), make_rng(seed))
    return percentile_interval(reps, check_confidence(confidence))


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired bootstrap comparison of metric A against metric B.

    Attributes:
        score_a: A's score on the full set.
        score_b: B's score on the full set.
        difference: ``score_a - score_b`` (positive: A agrees with humans more).
        ci_low, ci_high: Percentile interval of the difference.
        p_value: Two-sided bootstrap p-value for "no difference" (see module docstring).
        n: Number of triplets (or pairs).
        n_resamples, confidence: The bootstrap settings.
    """

    score_a: float
    score_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_resamples: int
    confidence: float

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PairedTest:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**data)


def _paired_result(
    score_a: float, score_b: float, diffs: np.ndarray, n: int, n_resamples: int, confidence: float
) -> PairedTest:
    delta = score_a - score_b
    low, high = percentile_interval(diffs, confidence)
    finite = diffs[~np.isnan(diffs)]
    extreme = int(np.count_nonzero(np.abs(finite - delta) >= abs(delta)))
    return PairedTest(
        score_a=score_a,
        score_b=score_b,
        difference=delta,
        ci_low=low,
        ci_high=high,
        p_value=(1 + extreme) / (finite.size + 1),
        n=n,
        n_resamples=n_resamples,
        confidence=confidence,
    )


def paired_bootstrap_credits(
    credit_a: ArrayLike,
    credit_b: ArrayLike,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> PairedTest:
    """Paired bootstrap test on per-item credits of two metrics (same items, same order).

    The statistic is the difference of means; use it for 2AFC credits from
    :func:`~metrics.scoring.twoafc.twoafc_credit` or any per-item agreement measure.
    """
    a = check_distances("credit_a", credit_a)
    b = check_distances("credit_b", credit_b)
    n = check_same_length(credit_a=a, credit_b=b)
    n_resamples = check_resamples(n_resamples, allow_zero=False)
    confidence = check_confidence(confidence)
    # The mean of differences equals the difference of means, so one gather serves both metrics.
    diffs = mean_replicates(a - b, n_resamples, make_rng(seed))
    return _paired_result(mean_of(a), mean_of(b), diffs, n, n_resamples, confidence)


def paired_bootstrap_2afc(
    d0_a: ArrayLike,
    d1_a: ArrayLike,
    d0_b: ArrayLike,
    d1_b: ArrayLike,
    judge: ArrayLike,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> PairedTest:
    """Paired bootstrap test of two metrics' 2AFC scores on the same triplets.

    Args:
        d0_a, d1_a: Metric A's distances to p0 and p1.
        d0_b, d1_b: Metric B's distances on the same triplets, in the same order.
        judge: The shared human fractions preferring p1.
        n_resamples, confidence, seed: Bootstrap settings (see :func:`make_rng` for ``seed``).

    Returns:
        A :class:`PairedTest` with difference = score(A) - score(B).
    """
    credit_a = twoafc_credit(d0_a, d1_a, judge)
    credit_b = twoafc_credit(d0_b, d1_b, judge)  # both checked against judge, so same length
    return paired_bootstrap_credits(
        credit_a, credit_b, n_resamples=n_resamples, confidence=confidence, seed=seed
    )


def paired_bootstrap_jnd(
    distances_a: ArrayLike,
    distances_b: ArrayLike,
    same: ArrayLike,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> PairedTest:
    """Paired bootstrap test of two metrics' JND mAP on the same pairs (same resampled indices).

    Returns:
        A :class:`PairedTest` with difference = mAP(A) - mAP(B).
    """
    score_a = jnd_map(distances_a, same)
    score_b = jnd_map(distances_b, same)
    da = check_distances("distances_a", distances_a)
    db = check_distances("distances_b", distances_b)
    s = check_fractions("same", same)
    n = check_same_length(distances_a=da, distances_b=db, same=s)
    n_resamples = check_resamples(n_resamples, allow_zero=False)
    confidence = check_confidence(confidence)
    order_a, rank_a = _ranking(da)
    order_b, rank_b = _ranking(db)
    ranked_a, ranked_b = s[order_a], s[order_b]
    blocks = [
        _ap_of_resamples(ranked_a, rank_a, idx) - _ap_of_resamples(ranked_b, rank_b, idx)
        for idx in bootstrap_indices(n, n_resamples, make_rng(seed))
    ]
    return _paired_result(score_a, score_b, np.concatenate(blocks), n, n_resamples, confidence)
