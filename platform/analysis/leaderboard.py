"""Leaderboards: Table-5-style boards built from a dataset's finished score runs (reads only).

A board has one row per metric (the latest finished `ScoreRun` per metric, options and split)
with each category's 2AFC score and bootstrap interval, the paper's aggregate columns and JND
mAP, all taken from the stored `ScoreReport`s (never re-derived), plus a human-ceiling row
computed from the dataset's judge values by `metrics.scoring`'s report logic. Significance is a
paired bootstrap on the runs' per-item credit files: every metric against the column's best, on
the same items (see `docs/analysis.md`). Nothing here imports torch.

Access: researchers who can see the dataset (owner, collaborators, superusers) always; anyone
through the public slug while `Dataset.is_public`; everyone else gets 404 so ids do not leak.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections import defaultdict

import numpy as np
from django.core.cache import cache
from django.http import Http404

from common.permissions import is_researcher

from . import selectors
from .models import Dataset, FitRun, RunStatus, ScoreRun, UploadedMetric

SIGNIFICANCE_RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0
_CACHE_VERSION = 1
_CACHE_SECONDS = 24 * 3600

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


# ---------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------


def dataset_for_board(*, user, dataset_id: int) -> Dataset:
    """The dataset behind a researcher's board (the API's access rule, `selectors.dataset_get`),
    or Http404, also for anonymous users and non-researchers."""
    if not is_researcher(user):
        raise Http404("No such leaderboard.")
    return selectors.dataset_get(user=user, pk=dataset_id)


def dataset_for_public_board(*, slug: str) -> Dataset:
    dataset = Dataset.objects.filter(public_slug=slug, is_public=True).first()
    if dataset is None:
        raise Http404("No such leaderboard.")
    return dataset


# ---------------------------------------------------------------------------------------------
# Building the board
# ---------------------------------------------------------------------------------------------


def latest_runs(dataset: Dataset, *, split: str) -> list[ScoreRun]:
    """The latest finished run per (metric, options) on `split`, ordered by metric name."""
    latest: dict[tuple[str, str], ScoreRun] = {}
    for run in ScoreRun.objects.filter(
        dataset=dataset, split=split, status=RunStatus.DONE
    ).order_by("created_at", "pk"):
        if run.result.get("2afc") or run.result.get("jnd"):
            latest[(run.metric, json.dumps(run.options, sort_keys=True))] = run
    return sorted(latest.values(), key=lambda r: (r.metric, json.dumps(r.options, sort_keys=True)))


def board_splits(dataset: Dataset) -> list[str]:
    return sorted(
        set(
            ScoreRun.objects.filter(dataset=dataset, status=RunStatus.DONE)
            .order_by()
            .values_list("split", flat=True)
            .distinct()
        )
    )


def board_for(*, dataset: Dataset, split: str | None = None) -> dict:
    """`board_data` after checking `split` (None: the default split); an unknown split raises
    ApplicationError (400, code `unknown_split`). Views and APIs call this."""
    from common.exceptions import ApplicationError

    if split is not None:
        splits = set(board_splits(dataset)) | set(
            dataset.items.order_by().values_list("split", flat=True).distinct()
        )
        if split not in splits:
            raise ApplicationError(
                f"Dataset {dataset} has no {split!r} split (it has {', '.join(sorted(splits))}).",
                code="unknown_split",
                fields={"split": ["unknown"]},
            )
    return board_data(dataset=dataset, split=split)


def _metric_label(run: ScoreRun) -> str:
    prefix, _, key = run.metric.partition(":")
    label = run.metric
    if prefix == "fitted" and key.isdigit():
        fit = FitRun.objects.filter(pk=int(key)).first()
        if fit is not None:
            label = f"{fit.net}-{fit.variant} (fit {fit.pk})"
    elif prefix == "uploaded" and key.isdigit():
        upload = UploadedMetric.objects.filter(pk=int(key)).first()
        if upload is not None:
            label = f"{upload.name} (uploaded {upload.pk})"
    if run.options:
        label += " [" + ", ".join(f"{k}={v}" for k, v in sorted(run.options.items())) + "]"
    return label


def _finite(value: float | None) -> float | None:
    """NaN (a JND interval with no defined replicate) becomes None: JSON has no NaN."""
    return None if value is None or not math.isfinite(value) else value


def _cells(report_dict: dict | None) -> tuple[list[str], dict[str, dict]]:
    """Columns (Table 5 order) and cells of one stored ScoreReport dict."""
    from metrics.scoring import ScoreReport

    if not report_dict:
        return [], {}
    columns, cells = [], {}
    for row in ScoreReport.from_dict(report_dict).rows():
        columns.append(row["column"])
        cells[row["column"]] = {
            "score": row["score"],
            "ci_low": _finite(row["ci_low"]),
            "ci_high": _finite(row["ci_high"]),
            "n": row.get("n"),
            "aggregate": row["aggregate"],
            "complete": row.get("complete", True),
            "categories": row.get("categories", [row["column"]]),
        }
    return columns, cells


def _human_row(dataset: Dataset, split: str) -> tuple[list[str], dict[str, dict]]:
    """Human ceiling per category and aggregate: `score_2afc`'s `human` fields on the dataset's
    judge values (p² + (1 − p)², aggregated by the report's own rules). The distances passed are
    placeholders: only the human fields, which depend on judge alone, are read."""
    from metrics.scoring import score_2afc

    judges: dict[str, list[float]] = defaultdict(list)
    for category, judge in (
        dataset.items.filter(kind="2afc", split=split)
        .order_by("category", "index")
        .values_list("category", "judge")
    ):
        judges[category].append(judge)
    if not judges:
        return [], {}
    sets = {c: (np.zeros(len(j)), np.zeros(len(j)), np.asarray(j)) for c, j in judges.items()}
    report = score_2afc(sets, n_resamples=0)
    columns, cells = [], {}
    for row in report.rows():
        columns.append(row["column"])
        cells[row["column"]] = {
            "score": row["human"],
            "ci_low": None,
            "ci_high": None,
            "n": row.get("n"),
            "aggregate": row["aggregate"],
            "complete": row.get("complete", True),
            "categories": row.get("categories", [row["column"]]),
        }
    return columns, cells


def _merge_columns(*lists: list[str]) -> list[str]:
    """Union of column lists keeping Table 5 order (every list is already in that order)."""
    from metrics.scoring import PAPER_COLUMNS

    present = {c for cols in lists for c in cols}
    known = [c for c in PAPER_COLUMNS if c in present and c != "all"]
    extra = sorted(c for c in present if c not in PAPER_COLUMNS)
    return known + extra + (["all"] if "all" in present else [])


def _credits(run: ScoreRun) -> dict[str, dict[int, float]] | None:
    """category → {item id → 2AFC credit} from the run's per-item file (None if it has none)."""
    if not run.credits:
        return None
    try:
        with run.credits.open("rb") as handle:
            rows = json.load(handle)
    except (OSError, ValueError):
        return None
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for row in rows:
        if "credit" in row:
            out[row["category"]][int(row["item"])] = float(row["credit"])
    return out


def _paired(
    best: dict[str, dict[int, float]],
    other: dict[str, dict[int, float]],
    categories: list[str],
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict | None:
    """Paired bootstrap of `other` against `best` on the items both scored, for a column that is
    the unweighted mean of `categories`. Credits are weighted by N / (C · n_c) so that the
    statistic is exactly that column's mean of category means; resampling is over the pooled
    items (one category: the plain paired test on its credits)."""
    from metrics.scoring import paired_bootstrap_credits

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


def _significance(
    rows: list[dict],
    credits: dict[str, dict | None],
    columns: list[str],
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> None:
    """Mark, per column, the best metric and whether each other metric is significantly below it."""
    for column in columns:
        scored = [r for r in rows if r["cells"].get(column)]
        if not scored:
            continue
        best = max(scored, key=lambda r: r["cells"][column]["score"])
        for row in scored:
            cell = row["cells"][column]
            cell["best"] = row is best
            cell["vs_best"] = None
            if row is best or credits.get(row["key"]) is None or credits.get(best["key"]) is None:
                continue
            cell["vs_best"] = _paired(
                credits[best["key"]],
                credits[row["key"]],
                cell["categories"],
                n_resamples=n_resamples,
                confidence=confidence,
                seed=seed,
            )


def default_split(dataset: Dataset) -> str:
    splits = board_splits(dataset)
    return "val" if "val" in splits or not splits else splits[0]


def board_data(
    *,
    dataset: Dataset,
    split: str | None = None,
    n_resamples: int = SIGNIFICANCE_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> dict:
    """The whole board as plain JSON-ready data (cached per set of runs; runs never change once done).

    Shape: {"dataset", "split", "splits", "confidence", "columns", "jnd_columns",
    "rows": [{"key", "kind" ("human"|"metric"), "label", "metric", "options", "run",
              "cells": {column: {score, ci_low, ci_high, n, aggregate, complete, categories,
                                 best, vs_best}}, "jnd": {column: {...}}}],
    "best": key of the metric with the best 2AFC "all"}. Scores are fractions in [0, 1].
    """
    split = split or default_split(dataset)
    runs = latest_runs(dataset, split=split)
    fingerprint = hashlib.sha256(
        json.dumps(
            [
                _CACHE_VERSION,
                dataset.pk,
                dataset.updated_at.isoformat(),
                dataset.is_public,
                dataset.name,
                split,
                n_resamples,
                confidence,
                seed,
                [(r.pk, r.updated_at.isoformat()) for r in runs],
            ]
        ).encode()
    ).hexdigest()
    key = f"analysis:leaderboard:{fingerprint}"
    data = cache.get(key)
    if data is None:
        data = _build(
            dataset, split, runs, n_resamples=n_resamples, confidence=confidence, seed=seed
        )
        cache.set(key, data, _CACHE_SECONDS)
    return data


def _build(
    dataset: Dataset,
    split: str,
    runs: list[ScoreRun],
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict:
    human_columns, human_cells = _human_row(dataset, split)
    rows, column_lists, jnd_lists, credits = [], [human_columns], [], {}
    for run in runs:
        columns, cells = _cells(run.result.get("2afc"))
        jnd_columns, jnd_cells = _cells(run.result.get("jnd"))
        column_lists.append(columns)
        jnd_lists.append(jnd_columns)
        key = f"run-{run.pk}"
        rows.append(
            {
                "key": key,
                "kind": "metric",
                "label": _metric_label(run),
                "metric": run.metric,
                "options": run.options,
                "run": run.pk,
                "cells": cells,
                "jnd": jnd_cells,
            }
        )
        credits[key] = _credits(run) if cells else None
    columns = _merge_columns(*column_lists)
    jnd_columns = _merge_columns(*jnd_lists)
    _significance(rows, credits, columns, n_resamples=n_resamples, confidence=confidence, seed=seed)
    with_all = [r for r in rows if r["cells"].get("all")]
    best = max(with_all, key=lambda r: r["cells"]["all"]["score"])["key"] if with_all else None
    human = {
        "key": "human",
        "kind": "human",
        "label": "Human",
        "metric": None,
        "options": {},
        "run": None,
        "cells": human_cells,
        "jnd": {},
    }
    return {
        "dataset": {
            "id": dataset.pk,
            "name": dataset.name,
            "version": dataset.version,
            "source": dataset.source,
            "is_public": dataset.is_public,
        },
        "split": split,
        "splits": board_splits(dataset),
        "confidence": confidence,
        "significance_resamples": n_resamples,
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
        "rows": ([human] if human_cells else []) + rows,
        "best": best,
    }


def sorted_rows(board: dict, *, by: str = "all", descending: bool = True) -> list[dict]:
    """Metric rows sorted by a 2AFC column (missing values last), the human row first."""
    reference = [r for r in board["rows"] if r["kind"] != "metric"]
    metrics = [r for r in board["rows"] if r["kind"] == "metric"]
    present = [r for r in metrics if r["cells"].get(by)]
    missing = [r for r in metrics if not r["cells"].get(by)]
    present.sort(key=lambda r: r["cells"][by]["score"], reverse=descending)
    return reference + present + sorted(missing, key=lambda r: r["label"])


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def board_csv(board: dict) -> str:
    """One line per row: label, metric, run, then score/ci_low/ci_high per 2AFC column (×100,
    one decimal), p-value against the best on All, then JND mAP per column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["row", "metric", "run"]
    for col in board["columns"]:
        header += [f"2afc_{col['key']}", f"2afc_{col['key']}_ci_low", f"2afc_{col['key']}_ci_high"]
    header += ["p_vs_best_all"]
    for col in board["jnd_columns"]:
        header += [f"jnd_{col['key']}", f"jnd_{col['key']}_ci_low", f"jnd_{col['key']}_ci_high"]
    writer.writerow(header)
    for row in sorted_rows(board):
        line = [row["label"], row["metric"] or "", row["run"] or ""]
        for col in board["columns"]:
            cell = row["cells"].get(col["key"]) or {}
            line += [_pct(cell.get("score")), _pct(cell.get("ci_low")), _pct(cell.get("ci_high"))]
        vs = (row["cells"].get("all") or {}).get("vs_best")
        line.append("" if not vs else f"{vs['p_value']:.4g}")
        for col in board["jnd_columns"]:
            cell = row["jnd"].get(col["key"]) or {}
            line += [_pct(cell.get("score")), _pct(cell.get("ci_low")), _pct(cell.get("ci_high"))]
        writer.writerow(line)
    return out.getvalue()


def _md_cell(cell: dict | None) -> str:
    if not cell:
        return "–"
    text = _pct(cell["score"])
    if cell.get("ci_low") is not None:
        text += f" ({_pct(cell['ci_low'])}–{_pct(cell['ci_high'])})"
    if cell.get("best") or (cell.get("vs_best") and not cell["vs_best"]["significant"]):
        text = f"**{text}**"
    if cell.get("aggregate") and not cell.get("complete", True):
        text += "†"
    return text


def board_markdown(board: dict) -> str:
    """Table 5 layout in Markdown: 2AFC score ×100 with intervals, then JND mAP."""
    ds = board["dataset"]
    confidence = round(100 * board["confidence"])
    lines = [
        f"# Leaderboard: {ds['name']} v{ds['version']} ({board['split']} split)",
        "",
        f"2AFC score ×100 with {confidence}% bootstrap intervals. Bold: the column's best and every metric "
        f"not significantly below it (paired bootstrap, {board['significance_resamples']} resamples, "
        f"α = {1 - board['confidence']:.2f}). † partial aggregate (not all of the paper's categories).",
        "",
    ]
    columns = board["columns"]
    lines.append("| method | " + " | ".join(c["label"] for c in columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    for row in sorted_rows(board):
        lines.append(
            f"| {row['label']} | "
            + " | ".join(_md_cell(row["cells"].get(c["key"])) for c in columns)
            + " |"
        )
    if board["jnd_columns"]:
        lines += ["", "JND mAP ×100:", ""]
        lines.append("| method | " + " | ".join(c["label"] for c in board["jnd_columns"]) + " |")
        lines.append("|---|" + "---|" * len(board["jnd_columns"]))
        for row in sorted_rows(board):
            if row["kind"] == "metric" and row["jnd"]:
                lines.append(
                    f"| {row['label']} | "
                    + " | ".join(_md_cell(row["jnd"].get(c["key"])) for c in board["jnd_columns"])
                    + " |"
                )
    return "\n".join(lines) + "\n"


def board_json(board: dict) -> str:
    return json.dumps(board, indent=2, sort_keys=False)
