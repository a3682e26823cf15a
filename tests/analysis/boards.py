"""Builders for leaderboard tests: datasets with items (no images needed) and finished score runs
whose stored report and credits file are computed here with `metrics.scoring` (no torch), then
the board's significance refreshed, as the worker does once a score run finishes."""

from __future__ import annotations

import json

import numpy as np
from django.core.files.base import ContentFile

from analysis.models import Dataset, DatasetItem, RunStatus, ScoreRun


def make_dataset(
    owner,
    *,
    judges: dict[str, list[float]],
    same: dict[str, list[float]] | None = None,
    collaborators=(),
    name: str = "board data",
    is_public: bool = False,
) -> Dataset:
    """A ready imported-style dataset whose 2AFC val items have the given judge values per category
    (and JND val items with the given `same` values)."""
    dataset = Dataset.objects.create(
        owner=owner, name=name, source=Dataset.Source.IMPORT, status="ready", is_public=is_public
    )
    dataset.collaborators.set(collaborators)
    items = []
    for kind, values in (("2afc", judges), ("jnd", same or {})):
        for category, fractions in values.items():
            for index, value in enumerate(fractions):
                items.append(
                    DatasetItem(
                        dataset=dataset,
                        kind=kind,
                        split="val",
                        category=category,
                        index=index,
                        ref="r.png" if kind == "2afc" else "",
                        p0="a.png",
                        p1="b.png",
                        p0_sha256="0" * 64,
                        p1_sha256="1" * 64,
                        judge=value,
                    )
                )
    DatasetItem.objects.bulk_create(items)
    return dataset


def score(
    dataset: Dataset,
    metric: str,
    distances,
    *,
    jnd_distances=None,
    options=None,
    status=RunStatus.DONE,
    n_resamples: int = 200,
    refresh: bool = True,
) -> ScoreRun:
    """A finished ScoreRun: `distances(category, item) -> (d0, d1)` for 2AFC items and
    `jnd_distances(category, item) -> d` for JND items; report and credits as the worker stores them.
    With `refresh` (the default), the board's stored significance is then brought up to date, as
    the worker's completion of a score run does; without it, the board's significance is stale."""
    from metrics.scoring import credit_table, score_2afc, score_jnd

    result, rows = {}, []
    sets = {}
    for category in (
        dataset.items.filter(kind="2afc")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    ):
        items = list(dataset.items.filter(kind="2afc", category=category).order_by("index"))
        pairs = np.array([distances(category, item) for item in items], dtype=np.float64)
        judge = np.array([item.judge for item in items])
        sets[category] = (pairs[:, 0], pairs[:, 1], judge)
        table = credit_table(pairs[:, 0], pairs[:, 1], judge, names=[str(i.pk) for i in items])
        rows += [
            {
                "item": int(r["name"]),
                "category": category,
                "d0": r["d0"],
                "d1": r["d1"],
                "judge": r["judge"],
                "credit": r["credit"],
            }
            for r in table.rows()
        ]
    if sets:
        result["2afc"] = score_2afc(
            sets, metric=metric, split="val", n_resamples=n_resamples, seed=0
        ).to_dict()
    jnd_sets = {}
    jnd_categories = dataset.items.filter(kind="jnd") if jnd_distances else dataset.items.none()
    for category in (
        jnd_categories.order_by("category").values_list("category", flat=True).distinct()
    ):
        items = list(dataset.items.filter(kind="jnd", category=category).order_by("index"))
        d = np.array([jnd_distances(category, item) for item in items], dtype=np.float64)
        jnd_sets[category] = (d, np.array([item.judge for item in items]))
        rows += [
            {"item": i.pk, "category": category, "d": float(x), "same": i.judge}
            for i, x in zip(items, d, strict=True)
        ]
    if jnd_sets:
        result["jnd"] = score_jnd(
            jnd_sets, metric=metric, split="val", n_resamples=n_resamples, seed=0
        ).to_dict()
    run = ScoreRun(
        dataset=dataset,
        metric=metric,
        options=options or {},
        split="val",
        status=status,
        result=result,
    )
    run.credits.save(f"test-{metric}.json", ContentFile(json.dumps(rows).encode()), save=False)
    run.save()
    if refresh:
        from analysis.leaderboard.services import board_significance_refresh

        board_significance_refresh(dataset_id=dataset.pk, split=run.split)
    return run
