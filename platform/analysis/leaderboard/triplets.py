"""The per-triplet explorer: a dataset's 2AFC triplets on one split with the human split and each
metric's verdict, so a researcher sees where metrics fail.

A metric "picks" the patch it finds closer to the reference (smaller distance); its credit is the
share of judges who picked the same (`metrics.scoring` 2AFC credit: judge for p1, 1 − judge for
p0, ½ for a tie). It "disagrees" with the people when its credit is under ½. Reads the same
latest runs and credits files as the board; no request computes a distance."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..models import Dataset, ScoreRun
from .selectors import latest_runs, metric_label

PAGE_SIZE = 50
SORTS = {
    "disagreement": "most metrics disagreeing with the people first",
    "contested": "people most split first",
    "category": "category, then position",
}


@dataclass(frozen=True)
class Verdict:
    pick: str  # "p0", "p1" or "tie"
    credit: float
    d0: float
    d1: float

    @property
    def agrees(self) -> bool:
        return self.credit >= 0.5


def _verdicts(run: ScoreRun) -> dict[int, Verdict]:
    if not run.credits:
        return {}
    try:
        with run.credits.open("rb") as handle:
            rows = json.loads(handle.read())
    except (OSError, ValueError):
        return {}
    out = {}
    for row in rows:
        if "credit" not in row or "d0" not in row:
            continue
        d0, d1 = float(row["d0"]), float(row["d1"])
        pick = "p1" if d1 < d0 else ("p0" if d0 < d1 else "tie")
        out[int(row["item"])] = Verdict(pick=pick, credit=float(row["credit"]), d0=d0, d1=d1)
    return out


def explore(*, dataset: Dataset, split: str, category: str = "", sort: str = "") -> dict:
    """Every 2AFC triplet of `split` (one `category` when given) with each metric's verdict,
    sorted by `sort` (a key of SORTS, or `metric:<score run id>`: that metric's lowest credit
    first). Unknown sorts fall back to "disagreement"."""
    runs = [r for r in latest_runs(dataset, split=split) if r.result.get("2afc")]
    metrics = [
        {"key": f"metric:{run.pk}", "run": run.pk, "label": metric_label(run)} for run in runs
    ]
    verdicts = {run.pk: _verdicts(run) for run in runs}
    items = dataset.items.filter(kind="2afc", split=split)
    categories = sorted(set(items.values_list("category", flat=True)))
    if category:
        items = items.filter(category=category)
    rows = []
    for item in items.order_by("category", "index"):
        cells = [verdicts[m["run"]].get(item.pk) for m in metrics]
        rows.append(
            {
                "item": item,
                "p1_share": item.judge,
                "p0_share": 1.0 - item.judge,
                "cells": cells,
                "disagree": sum(1 for c in cells if c is not None and not c.agrees),
            }
        )
    sort = sort if sort in SORTS or sort in {m["key"] for m in metrics} else "disagreement"
    if sort == "disagreement":
        rows.sort(key=lambda r: (-r["disagree"], abs(r["p1_share"] - 0.5) * -1))
    elif sort == "contested":
        rows.sort(key=lambda r: abs(r["p1_share"] - 0.5))
    elif sort.startswith("metric:"):
        index = [m["key"] for m in metrics].index(sort)
        rows.sort(
            key=lambda r: (r["cells"][index] is None, getattr(r["cells"][index], "credit", 0))
        )
    return {
        "split": split,
        "category": category,
        "categories": categories,
        "metrics": metrics,
        "rows": rows,
        "sort": sort,
    }
