"""Leaderboard computation from already-loaded data: no ORM, no files, no cache.

- `cells`: the columns and cells of one stored `ScoreReport` dict (never re-derived);
- `human_cells`: the human-ceiling row from the dataset's judge values;
- `build_board`: the board without significance, from runs and judges loaded by the selectors;
- `significance`: per 2AFC column, the best metric and a paired bootstrap of every other metric
  against it on the per-item credits both scored (the expensive part: a worker runs it, through
  `services.board_significance_refresh`, never a request);
- `with_significance`: a board with stored significance laid over it, and "pending" for every
  column whose stored result was computed from other runs than the board shows.

Everything is numpy and `metrics.scoring`; nothing here imports torch or touches the database.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from metrics.scoring import PAPER_COLUMNS, ScoreReport, paired_bootstrap_credits, score_2afc

SIGNIFICANCE_RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0

COLUMN_LABELS = {
    "traditional": "Trad",
    "cnn": "CNN",
    "all_distortions": "All-distortions",
    "superres": "SR",
    "deblur": "Deblur",
    "color": "Color",
    "frameinterp": "Interp",
    "all_real": "All-real",
    "all": "All",
}

# category → {dataset item id → 2AFC credit}, as read from a run's credits file.
Credits = dict[str, dict[int, float]]


@dataclass(frozen=True)
class RunData:
    """What the board needs of one finished `ScoreRun` (loaded by the selectors)."""

    pk: int
    metric: str
    options: dict
    label: str
    result: dict

    @property
    def key(self) -> str:
        return f"run-{self.pk}"


def finite(value: float | None) -> float | None:
    """NaN (a JND interval with no defined replicate) becomes None: JSON has no NaN."""
    return None if value is None or not math.isfinite(value) else value


def cells(report_dict: dict | None) -> tuple[list[str], dict[str, dict]]:
    """Columns (Table 5 order) and cells of one stored ScoreReport dict."""
    if not report_dict:
        return [], {}
    columns, out = [], {}
    for row in ScoreReport.from_dict(report_dict).rows():
        columns.append(row["column"])
        out[row["column"]] = {
            "score": row["score"],
            "ci_low": finite(row["ci_low"]),
            "ci_high": finite(row["ci_high"]),
            "n": row.get("n"),
            "aggregate": row["aggregate"],
            "complete": row.get("complete", True),
            "categories": row.get("categories", [row["column"]]),
        }
    return columns, out


def human_cells(judges: Mapping[str, list[float]]) -> tuple[list[str], dict[str, dict]]:
    """Human ceiling per category and aggregate: `score_2afc`'s `human` fields on the judge
    values (p² + (1 − p)², aggregated by the report's own rules). The distances passed are
    placeholders: only the human fields, which depend on judge alone, are read."""
    if not judges:
        return [], {}
    sets = {c: (np.zeros(len(j)), np.zeros(len(j)), np.asarray(j)) for c, j in judges.items()}
    report = score_2afc(sets, n_resamples=0)
    columns, out = [], {}
    for row in report.rows():
        columns.append(row["column"])
        out[row["column"]] = {
            "score": row["human"],
            "ci_low": None,
            "ci_high": None,
            "n": row.get("n"),
            "aggregate": row["aggregate"],
            "complete": row.get("complete", True),
            "categories": row.get("categories", [row["column"]]),
        }
    return columns, out


def merge_columns(*lists: list[str]) -> list[str]:
    """Union of column lists keeping Table 5 order (every list is already in that order)."""
    present = {c for cols in lists for c in cols}
    known = [c for c in PAPER_COLUMNS if c in present and c != "all"]
    extra = sorted(c for c in present if c not in PAPER_COLUMNS)
    return known + extra + (["all"] if "all" in present else [])


def metric_row(run: RunData) -> dict:
    """One metric's board row: its 2AFC and JND cells from the run's stored reports."""
    return {
        "key": run.key,
        "kind": "metric",
        "label": run.label,
        "metric": run.metric,
        "options": run.options,
        "run": run.pk,
        "cells": cells(run.result.get("2afc"))[1],
        "jnd": cells(run.result.get("jnd"))[1],
    }


def build_board(
    *,
    dataset: dict,
    split: str,
    splits: list[str],
    runs: list[RunData],
    judges: Mapping[str, list[float]],
) -> dict:
    """The board without significance (see `with_significance` for the rest of its shape).

    `dataset` is {"id", "name", "version", "source", "is_public"}; `runs` are the latest finished
    runs in board order; `judges` maps each 2AFC category of the split to its judge values."""
    human_columns, human = human_cells(judges)
    rows = [metric_row(run) for run in runs]
    columns = merge_columns(human_columns, *(list(r["cells"]) for r in rows))
    jnd_columns = merge_columns(*(list(r["jnd"]) for r in rows))
    with_all = [r for r in rows if r["cells"].get("all")]
    best = _best(with_all, "all")["key"] if with_all else None
    human_row = {
        "key": "human",
        "kind": "human",
        "label": "Human",
        "metric": None,
        "options": {},
        "run": None,
        "cells": human,
        "jnd": {},
    }
    return {
        "dataset": dataset,
        "split": split,
        "splits": splits,
        "confidence": CONFIDENCE,
        "significance_resamples": SIGNIFICANCE_RESAMPLES,
        "columns": [
            {
                "key": c,
                "label": COLUMN_LABELS.get(c, c),
                "aggregate": c in ("all_distortions", "all_real", "all"),
            }
            for c in columns
        ],
        "jnd_columns": [
            {"key": c, "label": COLUMN_LABELS.get(c, c), "aggregate": c == "all"}
            for c in jnd_columns
        ],
        "rows": ([human_row] if human else []) + rows,
        "best": best,
    }


def _best(scored: list[dict], column: str) -> dict:
    """The row with the highest score in `column` (the first of equals, in board order)."""
    return max(scored, key=lambda r: r["cells"][column]["score"])


def paired(
    best: Credits,
    other: Credits,
    categories: list[str],
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict | None:
    """Paired bootstrap of `other` against `best` on the items both scored, for a column that is
    the unweighted mean of `categories`. Credits are weighted by N / (C · n_c) so that the
    statistic is exactly that column's mean of category means; resampling is over the pooled
    items (one category: the plain paired test on its credits). None when a category has no
    item in common."""
    parts_a, parts_b = [], []
    for category in categories:
        common = sorted(set(best.get(category, {})) & set(other.get(category, {})))
        if not common:
            return None
        parts_a.append(np.array([best[category][i] for i in common]))
        parts_b.append(np.array([other[category][i] for i in common]))
    total = sum(p.size for p in parts_a)
    weights = [total / (len(parts_a) * p.size) for p in parts_a]
    a = np.concatenate([p * w for p, w in zip(parts_a, weights, strict=True)])
    b = np.concatenate([p * w for p, w in zip(parts_b, weights, strict=True)])
    test = paired_bootstrap_credits(b, a, n_resamples=n_resamples, confidence=confidence, seed=seed)
    alpha = 1.0 - confidence
    return {
        "difference": test.difference,
        "ci_low": test.ci_low,
        "ci_high": test.ci_high,
        "p_value": test.p_value,
        "n": test.n,
        "significant": test.p_value < alpha,
    }


def significance(
    rows: list[dict],
    credits: Mapping[str, Credits | None],
    *,
    n_resamples: int = SIGNIFICANCE_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> dict[str, dict]:
    """Per 2AFC column of the metric `rows` (as `build_board` makes them):
    {"best": row key, "rows": [keys of the rows scored in it], "vs_best": {key: test or None}}.

    `credits` maps row keys to their credits (None: the run has no per-item file). The best has
    no test; a metric without credits, or with no item in common with the best, gets None."""
    out: dict[str, dict] = {}
    for column in merge_columns(*(list(r["cells"]) for r in rows)):
        scored = [r for r in rows if r["cells"].get(column)]
        if not scored:
            continue
        best = _best(scored, column)
        vs_best: dict[str, dict | None] = {}
        for row in scored:
            if row is best:
                continue
            mine, theirs = credits.get(row["key"]), credits.get(best["key"])
            vs_best[row["key"]] = (
                None
                if mine is None or theirs is None
                else paired(
                    theirs,
                    mine,
                    row["cells"][column]["categories"],
                    n_resamples=n_resamples,
                    confidence=confidence,
                    seed=seed,
                )
            )
        out[column] = {"best": best["key"], "rows": [r["key"] for r in scored], "vs_best": vs_best}
    return out


def with_significance(board: dict, *, stored: Mapping | None, runs: Mapping[str, str]) -> dict:
    """A copy of `board` with, in every metric row's 2AFC cells, `best`, `vs_best` and `pending`,
    and a summary `significance` = {"status": "ready" | "pending", "computed_at",
    "pending_columns"}.

    `stored` is the stored result ({"runs": {run id: {"updated_at", ...}}, "columns": as
    `significance` returns, "computed_at"}) or None; `runs` maps the board's run ids to their
    current `updated_at`. A column is fresh when the stored result has the same best and the same
    rows, each computed from the run as it is now; otherwise its non-best cells are pending
    (`vs_best` None). The best of each column is plain arithmetic and is always marked."""
    board = copy.deepcopy(board)
    stored_runs = (stored or {}).get("runs", {})
    stored_columns = (stored or {}).get("columns", {})
    metric_rows = [r for r in board["rows"] if r["kind"] == "metric"]
    pending = []
    for column in [c["key"] for c in board["columns"]]:
        scored = [r for r in metric_rows if r["cells"].get(column)]
        if not scored:
            continue
        best = _best(scored, column)
        entry = stored_columns.get(column)
        fresh = (
            entry is not None
            and entry["best"] == best["key"]
            and sorted(entry["rows"]) == sorted(r["key"] for r in scored)
            and all(
                (stored_runs.get(str(r["run"])) or {}).get("updated_at") == runs.get(str(r["run"]))
                for r in scored
            )
        )
        if not fresh and len(scored) > 1:
            pending.append(column)
        for row in scored:
            cell = row["cells"][column]
            cell["best"] = row is best
            cell["vs_best"] = entry["vs_best"].get(row["key"]) if fresh else None
            cell["pending"] = not fresh and row is not best
    board["significance"] = {
        "status": "pending" if pending else "ready",
        "computed_at": (stored or {}).get("computed_at"),
        "pending_columns": pending,
    }
    return board


def sorted_rows(board: dict, *, by: str = "all", descending: bool = True) -> list[dict]:
    """Metric rows sorted by a 2AFC column (missing values last), the human row first."""
    reference = [r for r in board["rows"] if r["kind"] != "metric"]
    metrics = [r for r in board["rows"] if r["kind"] == "metric"]
    present = [r for r in metrics if r["cells"].get(by)]
    missing = [r for r in metrics if not r["cells"].get(by)]
    present.sort(key=lambda r: r["cells"][by]["score"], reverse=descending)
    return reference + present + sorted(missing, key=lambda r: r["label"])
