"""Per-category results and the paper's aggregate columns, ready for the CLI table and leaderboards.

Aggregation rules (reference §3.1, they reproduce every row of the paper's Table 5):

* ``all_distortions`` — unweighted mean of ``traditional`` and ``cnn``;
* ``all_real`` — unweighted mean of ``superres``, ``deblur``, ``color`` and ``frameinterp``;
* ``all`` — unweighted mean of **every** category in the report (the paper's overall "All" is
  the mean of the six val sets, not the mean of the two group columns).

Partial sets: each aggregate is computed from the categories that are present, and skipped when
none of its categories is. Each :class:`AggregateScore` lists the categories it averaged and a
``complete`` flag that is true only when they are exactly the paper's (so a leaderboard can grey
out, or refuse, a partial "All"). Categories outside the paper's names (a platform study's own,
or ``train/mix``) count towards ``all`` only, which then is never ``complete``. JND reports have
only ``all`` (the paper averages JND mAP over ``traditional`` and ``cnn``, the two JND val sets).

Aggregate intervals come from a stratified bootstrap: each category is resampled on its own
stream (see :func:`~metrics.scoring.bootstrap.make_rng`) and the replicate-wise mean of the
category replicates gives the aggregate's replicates. All scores are fractions in [0, 1], and
point scores are correctly rounded means (``math.fsum``), like the per-category scores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from metrics.scoring._checks import check_confidence, check_resamples
from metrics.scoring.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    Seed,
    jnd_replicates,
    make_rng,
    mean_replicates,
    percentile_interval,
)
from metrics.scoring.jnd import jnd_map
from metrics.scoring.twoafc import credit_table, mean_of

DISTORTION_SETS = ("traditional", "cnn")
REAL_ALGORITHM_SETS = ("superres", "deblur", "color", "frameinterp")
VAL_SETS = DISTORTION_SETS + REAL_ALGORITHM_SETS
# Table 5's column order; the CLI and leaderboards list rows in it.
PAPER_COLUMNS = (
    "traditional", "cnn", "all_distortions",
    "superres", "deblur", "color", "frameinterp", "all_real", "all",
)  # fmt: skip
TWOAFC_AGGREGATES = {
    "all_distortions": DISTORTION_SETS,
    "all_real": REAL_ALGORITHM_SETS,
    "all": VAL_SETS,
}
JND_AGGREGATES = {"all": DISTORTION_SETS}


@dataclass(frozen=True)
class CategoryScore:
    """Score of one metric on one category (set).

    Attributes:
        category: Set name, e.g. ``"traditional"``.
        n: Number of triplets (2AFC) or pairs (JND).
        score: 2AFC score or JND mAP, a fraction in [0, 1].
        ci_low, ci_high: Bootstrap percentile interval, ``None`` when no bootstrap was run.
        human: Human ceiling (2AFC only).
        oracle: Oracle score (2AFC only).
    """

    category: str
    n: int
    score: float
    ci_low: float | None = None
    ci_high: float | None = None
    human: float | None = None
    oracle: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoryScore:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**data)


@dataclass(frozen=True)
class AggregateScore:
    """An aggregate column: the unweighted mean of some categories' scores.

    Attributes:
        name: ``"all_distortions"``, ``"all_real"`` or ``"all"``.
        categories: The categories that were averaged, in report order.
        complete: True when ``categories`` are exactly the paper's for this column.
        score, ci_low, ci_high, human, oracle: As in :class:`CategoryScore`.
    """

    name: str
    categories: tuple[str, ...]
    complete: bool
    score: float
    ci_low: float | None = None
    ci_high: float | None = None
    human: float | None = None
    oracle: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready; ``categories`` becomes a list)."""
        data = asdict(self)
        data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AggregateScore:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**{**data, "categories": tuple(data["categories"])})


@dataclass(frozen=True)
class ScoreReport:
    """One metric scored on several categories of one kind, with the aggregate columns.

    Attributes:
        kind: ``"2afc"`` or ``"jnd"``.
        categories: Category name → :class:`CategoryScore`, in report order.
        aggregates: Aggregate name → :class:`AggregateScore`.
        n_resamples: Bootstrap resamples per category (0: no intervals).
        confidence: Interval coverage.
        seed: The int seed used, or ``None`` if the caller passed a Generator or no seed.
        metric: Free-form metric label (e.g. ``"lpips-alex-lin"``), for display only.
        split: Dataset split (e.g. ``"val"``), for display only.
    """

    kind: str
    categories: dict[str, CategoryScore]
    aggregates: dict[str, AggregateScore] = field(default_factory=dict)
    n_resamples: int = DEFAULT_RESAMPLES
    confidence: float = DEFAULT_CONFIDENCE
    seed: int | None = 0
    metric: str | None = None
    split: str | None = None

    def rows(self) -> Iterator[dict[str, Any]]:
        """Yield table rows in Table 5 order: one per category and aggregate.

        Each row is the item's ``to_dict()`` plus ``"column"`` (its name) and ``"aggregate"``
        (a bool). Categories outside the paper's names come, sorted, just before ``all``.
        """
        items: dict[str, CategoryScore | AggregateScore] = {**self.categories, **self.aggregates}
        known = [c for c in PAPER_COLUMNS if c in items and c != "all"]
        extra = sorted(c for c in items if c not in PAPER_COLUMNS)
        tail = ["all"] if "all" in items else []
        for column in known + extra + tail:
            item = items[column]
            is_aggregate = isinstance(item, AggregateScore)
            yield {"column": column, "aggregate": is_aggregate, **item.to_dict()}

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready); :meth:`from_dict` inverts it."""
        return {
            "kind": self.kind,
            "metric": self.metric,
            "split": self.split,
            "n_resamples": self.n_resamples,
            "confidence": self.confidence,
            "seed": self.seed,
            "categories": {k: v.to_dict() for k, v in self.categories.items()},
            "aggregates": {k: v.to_dict() for k, v in self.aggregates.items()},
        }

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict`; ``kwargs`` go to :func:`json.dumps`."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreReport:
        """Rebuild from :meth:`to_dict` output (or parsed :meth:`to_json` text)."""
        return cls(
            kind=data["kind"],
            metric=data.get("metric"),
            split=data.get("split"),
            n_resamples=data["n_resamples"],
            confidence=data["confidence"],
            seed=data.get("seed"),
            categories={k: CategoryScore.from_dict(v) for k, v in data["categories"].items()},
            aggregates={k: AggregateScore.from_dict(v) for k, v in data["aggregates"].items()},
        )


def _interval(
    replicates: np.ndarray | None, confidence: float
) -> tuple[float | None, float | None]:
    if replicates is None:
        return None, None
    return percentile_interval(replicates, confidence)


def _score_2afc(
    category: str, data: tuple[ArrayLike, ArrayLike, ArrayLike],
    n_resamples: int, confidence: float, seed: Seed,
) -> tuple[CategoryScore, np.ndarray | None]:  # fmt: skip
    d0, d1, judge = data
    table = credit_table(d0, d1, judge)
    reps = None
    if n_resamples:
        reps = mean_replicates(table.credit, n_resamples, make_rng(seed, stream=category))
    low, high = _interval(reps, confidence)
    result = CategoryScore(
        category=category,
        n=len(table),
        score=mean_of(table.credit),
        ci_low=low,
        ci_high=high,
        human=mean_of(table.human),
        oracle=mean_of(table.oracle),
    )
    return result, reps


def _score_jnd(
    category: str, data: tuple[ArrayLike, ArrayLike],
    n_resamples: int, confidence: float, seed: Seed,
) -> tuple[CategoryScore, np.ndarray | None]:  # fmt: skip
    distances, same = data
    score = jnd_map(distances, same)  # validates, so the plain conversions below are safe
    d = np.asarray(distances, dtype=np.float64).reshape(-1)
    s = np.asarray(same, dtype=np.float64).reshape(-1)
    reps = None
    if n_resamples:
        reps = jnd_replicates(d, s, n_resamples, make_rng(seed, stream=category))
    low, high = _interval(reps, confidence)
    return CategoryScore(category=category, n=d.size, score=score, ci_low=low, ci_high=high), reps


def score_2afc_set(
    d0: ArrayLike,
    d1: ArrayLike,
    judge: ArrayLike,
    *,
    category: str = "",
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> CategoryScore:
    """Score one 2AFC set: score, bootstrap interval, human ceiling and oracle.

    Args:
        d0, d1, judge: As in :func:`~metrics.scoring.twoafc.twoafc_credit`.
        category: Set name; with an int seed it also selects the category's random stream, so the
            interval equals the one in a :func:`score_2afc` report for that category.
        n_resamples: Bootstrap resamples (0 skips the interval).
        confidence: Interval coverage.
        seed: See :func:`~metrics.scoring.bootstrap.make_rng`.

    Returns:
        A :class:`CategoryScore`.
    """
    n_resamples = check_resamples(n_resamples, allow_zero=True)
    confidence = check_confidence(confidence)
    return _score_2afc(category, (d0, d1, judge), n_resamples, confidence, seed)[0]


def score_jnd_set(
    distances: ArrayLike,
    same: ArrayLike,
    *,
    category: str = "",
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> CategoryScore:
    """Score one JND set: mAP and bootstrap interval (``human``/``oracle`` stay ``None``).

    Args mirror :func:`score_2afc_set`; ``distances`` and ``same`` as in
    :func:`~metrics.scoring.jnd.jnd_map`.
    """
    n_resamples = check_resamples(n_resamples, allow_zero=True)
    confidence = check_confidence(confidence)
    return _score_jnd(category, (distances, same), n_resamples, confidence, seed)[0]


def _mean_or_none(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else mean_of(np.array(values))


def _aggregates(
    results: dict[str, CategoryScore],
    replicates: dict[str, np.ndarray | None],
    rules: Mapping[str, tuple[str, ...]],
    confidence: float,
) -> dict[str, AggregateScore]:
    out = {}
    for name, wanted in rules.items():
        # "all" averages every category present; the group columns only their own.
        members = tuple(results) if name == "all" else tuple(c for c in results if c in wanted)
        if not members:
            continue
        reps = [replicates[c] for c in members]
        agg_reps = None if any(r is None for r in reps) else np.mean(np.vstack(reps), axis=0)
        low, high = _interval(agg_reps, confidence)
        out[name] = AggregateScore(
            name=name,
            categories=members,
            complete=set(members) == set(wanted),
            score=mean_of(np.array([results[c].score for c in members])),
            ci_low=low,
            ci_high=high,
            human=_mean_or_none([results[c].human for c in members]),
            oracle=_mean_or_none([results[c].oracle for c in members]),
        )
    return out


def _report(
    kind: str,
    sets: Mapping[str, tuple],
    *,
    metric: str | None,
    split: str | None,
    n_resamples: int,
    confidence: float,
    seed: Seed,
) -> ScoreReport:
    if not sets:
        raise ValueError("no categories to score")
    n_resamples = check_resamples(n_resamples, allow_zero=True)
    confidence = check_confidence(confidence)
    scorer, rules = (
        (_score_2afc, TWOAFC_AGGREGATES) if kind == "2afc" else (_score_jnd, JND_AGGREGATES)
    )
    results, replicates = {}, {}
    for category, data in sets.items():
        try:
            results[category], replicates[category] = scorer(
                category, tuple(data), n_resamples, confidence, seed
            )
        except ValueError as exc:
            raise ValueError(f"category {category!r}: {exc}") from exc
    return ScoreReport(
        kind=kind,
        categories=results,
        aggregates=_aggregates(results, replicates, rules, confidence),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=int(seed) if isinstance(seed, int | np.integer) else None,
        metric=metric,
        split=split,
    )


def score_2afc(
    sets: Mapping[str, tuple[ArrayLike, ArrayLike, ArrayLike]],
    *,
    metric: str | None = None,
    split: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> ScoreReport:
    """Score a metric on several 2AFC categories and compute the paper's aggregate columns.

    Args:
        sets: Category name → ``(d0, d1, judge)``, in the order the report should keep.
        metric: Label stored in the report (display only).
        split: Split stored in the report (display only).
        n_resamples: Bootstrap resamples per category (0 skips intervals).
        confidence: Interval coverage.
        seed: See :func:`~metrics.scoring.bootstrap.make_rng`; each category gets its own stream.

    Returns:
        A :class:`ScoreReport` of kind ``"2afc"``.

    Raises:
        ValueError: If ``sets`` is empty or a category's input is bad (the message names it).
    """
    return _report(
        "2afc", sets, metric=metric, split=split,
        n_resamples=n_resamples, confidence=confidence, seed=seed,
    )  # fmt: skip


def score_jnd(
    sets: Mapping[str, tuple[ArrayLike, ArrayLike]],
    *,
    metric: str | None = None,
    split: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: Seed = 0,
) -> ScoreReport:
    """Score a metric on several JND categories (``sets``: name → ``(distances, same)``).

    Arguments and errors as in :func:`score_2afc`; the report has kind ``"jnd"`` and only the
    ``all`` aggregate.
    """
    return _report(
        "jnd", sets, metric=metric, split=split,
        n_resamples=n_resamples, confidence=confidence, seed=seed,
    )  # fmt: skip
