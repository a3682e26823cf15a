"""2AFC agreement between a distance metric and human judgments (LPIPS paper; reference §3.1).

A 2AFC triplet shows a reference and two distorted patches p0 and p1; ``judge`` g is the fraction of
humans who said p1 is closer to the reference. A metric with distances d0 = d(ref, p0) and
d1 = d(ref, p1) earns, per triplet::

    credit = (1 - g)·[d0 < d1] + g·[d1 < d0] + 0.5·[d0 = d1]

and the set score is the mean credit (a fraction in [0, 1]; the paper prints it x100). The human
ceiling is the expected agreement of one random human with another, p² + (1 - p)², and the oracle
the best any deterministic answer can do, max(p, 1 - p) (paper, Appendix A).

Set scores are summed with :func:`math.fsum`: the result is the correctly rounded mean of the
per-triplet credits, independent of triplet order, so the CLI, the platform and a hand computation
print the same number bit-for-bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from metrics.scoring._checks import check_distances, check_fractions, check_same_length


def _checked(d0: ArrayLike, d1: ArrayLike, judge: ArrayLike) -> tuple[np.ndarray, ...]:
    a = check_distances("d0", d0)
    b = check_distances("d1", d1)
    g = check_fractions("judge", judge)
    check_same_length(d0=a, d1=b, judge=g)
    return a, b, g


def _credit(d0: np.ndarray, d1: np.ndarray, g: np.ndarray) -> np.ndarray:
    # The three cases are exclusive once NaN is ruled out, so nested where() is the formula.
    return np.where(d0 < d1, 1.0 - g, np.where(d1 < d0, g, 0.5))


def mean_of(values: np.ndarray) -> float:
    """Correctly rounded mean of a 1-D float array (order-independent, see module docstring)."""
    return math.fsum(values.tolist()) / values.size


def twoafc_credit(d0: ArrayLike, d1: ArrayLike, judge: ArrayLike) -> np.ndarray:
    """Per-triplet 2AFC credit of a metric.

    Args:
        d0: Distances d(ref, p0), any shape with N elements (flattened, e.g. LPIPS's Nx1x1x1).
        d1: Distances d(ref, p1), N elements.
        judge: Fraction of humans preferring p1, N values in [0, 1].

    Returns:
        Float64 array of shape (N,): 1 - g where the metric prefers p0, g where it prefers p1,
        0.5 on a tie (d0 == d1).

    Raises:
        ValueError: On empty input, a length mismatch, NaN distances or judge outside [0, 1].
    """
    return _credit(*_checked(d0, d1, judge))


def twoafc_score(d0: ArrayLike, d1: ArrayLike, judge: ArrayLike) -> float:
    """2AFC score of a metric on one set: the mean per-triplet credit, a fraction in [0, 1].

    Args and errors as in :func:`twoafc_credit`.

    Example:
        4 of 5 humans chose p0 (judge 0.2) and the metric rates p0 closer: the score is 0.8.

        >>> twoafc_score([0.1], [0.3], [0.2])
        0.8
    """
    return mean_of(twoafc_credit(d0, d1, judge))


def human_credit(judge: ArrayLike) -> np.ndarray:
    """Per-triplet human ceiling p² + (1 - p)², p = judge (values in [0, 1])."""
    p = check_fractions("judge", judge)
    return p * p + (1.0 - p) * (1.0 - p)


def human_ceiling(judge: ArrayLike) -> float:
    """Human ceiling of a set: the mean of p² + (1 - p)² over its triplets."""
    return mean_of(human_credit(judge))


def oracle_credit(judge: ArrayLike) -> np.ndarray:
    """Per-triplet oracle credit max(p, 1 - p), p = judge (values in [0, 1])."""
    p = check_fractions("judge", judge)
    return np.maximum(p, 1.0 - p)


def oracle_score(judge: ArrayLike) -> float:
    """Oracle score of a set: the mean of max(p, 1 - p), the best any metric can reach."""
    return mean_of(oracle_credit(judge))


@dataclass(frozen=True)
class TripletCredits:
    """Per-triplet export: the inputs, the metric's credit and the human/oracle references.

    Attributes:
        names: Triplet identifiers (e.g. BAPPS file stems), or ``None`` to use positions.
        d0, d1, judge, credit, human, oracle: Float64 arrays of shape (N,).
    """

    names: tuple[str, ...] | None
    d0: np.ndarray
    d1: np.ndarray
    judge: np.ndarray
    credit: np.ndarray
    human: np.ndarray
    oracle: np.ndarray

    COLUMNS = ("name", "d0", "d1", "judge", "credit", "human", "oracle")

    def __len__(self) -> int:
        return self.credit.size

    def columns(self) -> dict[str, list]:
        """Column name → list of plain Python values (JSON-ready)."""
        names = list(self.names) if self.names is not None else list(range(len(self)))
        out: dict[str, list] = {"name": names}
        for col in self.COLUMNS[1:]:
            out[col] = getattr(self, col).tolist()
        return out

    def rows(self) -> Iterator[dict]:
        """Yield one dict per triplet with the keys in :attr:`COLUMNS`."""
        cols = self.columns()
        for values in zip(*(cols[c] for c in self.COLUMNS), strict=True):
            yield dict(zip(self.COLUMNS, values, strict=True))


def credit_table(
    d0: ArrayLike,
    d1: ArrayLike,
    judge: ArrayLike,
    *,
    names: Sequence[str] | None = None,
) -> TripletCredits:
    """Build the per-triplet credit export for one set.

    Args:
        d0, d1, judge: As in :func:`twoafc_credit`.
        names: Optional identifier per triplet (same length).

    Returns:
        A :class:`TripletCredits` whose ``credit.mean()`` is the set's 2AFC score.

    Raises:
        ValueError: As :func:`twoafc_credit`, or if ``names`` has the wrong length.
    """
    a, b, g = _checked(d0, d1, judge)
    if names is not None:
        names = tuple(str(n) for n in names)
        if len(names) != a.size:
            raise ValueError(f"length mismatch: names={len(names)}, d0={a.size}")
    return TripletCredits(
        names=names,
        d0=a,
        d1=b,
        judge=g,
        credit=_credit(a, b, g),
        human=g * g + (1.0 - g) * (1.0 - g),
        oracle=np.maximum(g, 1.0 - g),
    )
