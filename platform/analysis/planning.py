"""Dashboard numbers for planning the next study: how the 2AFC score's bootstrap interval
narrows with the number of valid judgments per triplet, measured on a frozen study dataset by
subsampling its own judgments (seeded). Reads only; numpy and `metrics.scoring`, no torch."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from common.cache import cache_get, cache_set

from .leaderboard.compute import CONFIDENCE, SEED
from .leaderboard.selectors import board_data
from .models import Dataset, DatasetJudgment, ScoreRun


def _valid_choices(dataset: Dataset, split: str) -> tuple[list, list[np.ndarray]]:
    """The dataset's 2AFC items of `split` and, per item, its valid judgments (1 = chose p1):
    those the freeze counted (`DatasetJudgment.valid`, the snapshot every export reads)."""
    items = list(
        dataset.items.filter(kind="2afc", split=split, trial__isnull=False)
        .order_by("category", "index")
        .only("pk", "category", "trial_id")
    )
    by_trial: dict[int, list[int]] = defaultdict(list)
    valid = (
        DatasetJudgment.objects.filter(
            dataset=dataset, valid=True, response__trial_id__in=[i.trial_id for i in items]
        )
        .order_by("response_id")
        .values_list("response__trial_id", "response__choice")
    )
    for trial_id, choice in valid.iterator(chunk_size=5000):
        by_trial[trial_id].append(1 if choice == "p1" else 0)
    return items, [np.array(by_trial[i.trial_id], dtype=np.float64) for i in items]


def _subsampled_judges(choices: list[np.ndarray], k: int, rng: np.random.Generator) -> np.ndarray:
    """Each item's judge recomputed from min(k, n_i) of its judgments drawn without replacement
    (vectorised: random keys ranked within each item)."""
    owner = np.repeat(np.arange(len(choices)), [c.size for c in choices])
    values = np.concatenate(choices) if choices else np.empty(0)
    order = np.lexsort((rng.random(values.size), owner))
    starts = np.r_[0, np.cumsum([c.size for c in choices])[:-1]]
    rank = np.empty(values.size, dtype=np.int64)
    rank[order] = np.arange(values.size) - np.repeat(starts, [c.size for c in choices])
    keep = rank < k
    chosen = np.bincount(owner, weights=values * keep, minlength=len(choices))
    counted = np.bincount(owner, weights=keep.astype(np.float64), minlength=len(choices))
    return chosen / counted


def judgments_ci(
    *,
    dataset: Dataset,
    split: str = "val",
    draws: int = 5,
    n_resamples: int = 200,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> dict:
    """How the best metric's 2AFC score and its bootstrap interval change with k valid judgments
    per triplet, k = 1..K (K = the most any triplet has), to size the next study.

    For each k and each of `draws` seeded draws: every triplet's judge is recomputed from min(k, n)
    of its valid judgments (without replacement), then `metrics.scoring.score_2afc` scores the
    best metric's stored distances (from its credits file) with a stratified bootstrap interval
    of the overall "All" column. Reported per k: means over draws of score, interval ends and
    width, and width × √(triplets) (the width for N triplets is about that over √N).

    Returns {"available": False, "reason": ...} for imported datasets (no individual judgments)
    or when no finished run with a credits file exists.
    """
    if dataset.source != Dataset.Source.STUDY:
        return {"available": False, "reason": "Imported datasets keep no individual judgments."}
    board = board_data(dataset=dataset, split=split)
    best = next((r for r in board["rows"] if r["key"] == board["best"]), None)
    run = ScoreRun.objects.filter(pk=best["run"]).first() if best else None
    if run is None or not run.credits:
        return {
            "available": False,
            "reason": "No finished score run with per-item results on this split.",
        }
    key = f"analysis:judgments-ci:{dataset.pk}:{split}:{run.pk}:{draws}:{n_resamples}:{confidence}:{seed}"
    data = cache_get(key)
    if data is None:
        data = _judgments_ci(
            dataset,
            split,
            run,
            best["label"],
            _distances(run),
            draws=draws,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        # Short-lived: participants' QC status (which judgments are valid) can still change.
        cache_set(key, data, 600)
    return data


def _judgments_ci(
    dataset: Dataset,
    split: str,
    run: ScoreRun,
    label: str,
    distances: dict,
    *,
    draws: int,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict:
    from metrics.scoring import score_2afc

    items, choices = _valid_choices(dataset, split)
    keep = [
        n
        for n, (item, c) in enumerate(zip(items, choices, strict=True))
        if c.size and item.pk in distances
    ]
    items, choices = [items[n] for n in keep], [choices[n] for n in keep]
    if not items:
        return {"available": False, "reason": "No valid judgments for the scored items."}
    counts = np.array([c.size for c in choices])
    rng = np.random.default_rng(seed)
    d0 = np.array([distances[i.pk][0] for i in items])
    d1 = np.array([distances[i.pk][1] for i in items])
    categories = np.array([i.category for i in items])
    out = []
    for k in range(1, int(counts.max()) + 1):
        scores, lows, highs = [], [], []
        for draw in range(draws):
            judge = _subsampled_judges(choices, k, rng)
            sets = {
                c: (d0[categories == c], d1[categories == c], judge[categories == c])
                for c in dict.fromkeys(categories.tolist())
            }
            overall = score_2afc(
                sets, n_resamples=n_resamples, confidence=confidence, seed=seed + draw
            ).aggregates["all"]
            scores.append(overall.score)
            lows.append(overall.ci_low)
            highs.append(overall.ci_high)
        width = float(np.mean(np.subtract(highs, lows)))
        out.append(
            {
                "k": k,
                "triplets_with_k": int((counts >= k).sum()),
                "score": float(np.mean(scores)),
                "ci_low": float(np.mean(lows)),
                "ci_high": float(np.mean(highs)),
                "ci_width": width,
                "ci_width_x_sqrt_triplets": width * float(np.sqrt(len(items))),
            }
        )
    return {
        "available": True,
        "metric": label,
        "run": run.pk,
        "split": split,
        "triplets": len(items),
        "judgments": int(counts.sum()),
        "draws": draws,
        "n_resamples": n_resamples,
        "confidence": confidence,
        "seed": seed,
        "rows": out,
    }


def _distances(run: ScoreRun) -> dict[int, tuple[float, float]]:
    with run.credits.open("rb") as handle:
        return {
            int(r["item"]): (float(r["d0"]), float(r["d1"])) for r in json.load(handle) if "d0" in r
        }
