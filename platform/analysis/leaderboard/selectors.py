"""Leaderboard reads: who may see which board, the runs behind it, its stored significance.

Access: researchers who can see the dataset (owner, collaborators, researchers of its study,
superusers) always; anyone through the public slug while `Dataset.is_public`; everyone else gets
`NotFoundError`, the same as for a missing id, so ids do not leak.

No read runs the bootstrap. A board whose stored significance is stale or missing says
"pending" for those cells and asks a worker for a refresh once the request's transaction
commits (`_request_refresh`; the refresh is idempotent, so a second ask costs one query).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict

from common.cache import cache_add, cache_delete, cache_get, cache_set
from common.exceptions import ApplicationError, NotFoundError
from common.permissions import is_researcher
from metrics.deep.archs import imagenet_top1, is_deep
from metrics.refs import FITTED, UPLOADED, MetricRef

from ..board_models import BoardSignificance
from ..models import Dataset, FitRun, RunStatus, ScoreRun, UploadedMetric
from ..selectors import dataset_list
from . import compute, labels

log = logging.getLogger(__name__)

_CACHE_VERSION = 3  # 3: readable row labels
_CACHE_SECONDS = 24 * 3600
_REFRESH_ASKED_SECONDS = 300


# ---------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------


def dataset_for_user(*, user, dataset_id: int) -> Dataset:
    """The dataset behind a researcher's board, or NotFoundError (also for anonymous users,
    non-researchers and researchers who cannot see it)."""
    dataset = dataset_list(user=user).filter(pk=dataset_id).first() if is_researcher(user) else None
    if dataset is None:
        raise NotFoundError("No such leaderboard.")
    return dataset


def dataset_for_public(*, slug: str) -> Dataset:
    """The published dataset behind a public slug, or NotFoundError (unknown or private)."""
    dataset = Dataset.objects.filter(public_slug=slug, is_public=True).first()
    if dataset is None:
        raise NotFoundError("No such leaderboard.")
    return dataset


def board_for_user(*, user, dataset_id: int, split: str | None = None) -> dict:
    """A researcher's board (`board_for` after `dataset_for_user`): for `LeaderboardApi`."""
    return board_for(dataset=dataset_for_user(user=user, dataset_id=dataset_id), split=split)


def board_for_public(*, slug: str, split: str | None = None) -> dict:
    """A published board (`board_for` after `dataset_for_public`): for `PublicLeaderboardApi`."""
    return board_for(dataset=dataset_for_public(slug=slug), split=split)


# ---------------------------------------------------------------------------------------------
# Runs and splits
# ---------------------------------------------------------------------------------------------


def _options_key(options: dict) -> str:
    return json.dumps(options, sort_keys=True)


def latest_runs(dataset: Dataset, *, split: str) -> list[ScoreRun]:
    """The latest finished run per (metric, options) on `split`, ordered by metric name."""
    latest: dict[tuple[str, str], ScoreRun] = {}
    for run in ScoreRun.objects.filter(
        dataset=dataset, split=split, status=RunStatus.DONE
    ).order_by("created_at", "pk"):
        if run.result.get("2afc") or run.result.get("jnd"):
            latest[(run.metric, _options_key(run.options))] = run
    return sorted(latest.values(), key=lambda r: (r.metric, _options_key(r.options)))


def runs_fingerprint(runs: list[ScoreRun]) -> dict[str, str]:
    """{run id: updated_at} of `runs`: what a stored significance must have been computed from."""
    return {str(run.pk): run.updated_at.isoformat() for run in runs}


def board_splits(dataset: Dataset) -> list[str]:
    return sorted(
        set(
            ScoreRun.objects.filter(dataset=dataset, status=RunStatus.DONE)
            .order_by()
            .values_list("split", flat=True)
            .distinct()
        )
    )


def default_split(dataset: Dataset) -> str:
    splits = board_splits(dataset)
    return "val" if "val" in splits or not splits else splits[0]


def metric_label(run: ScoreRun) -> str:
    """The row label in words (`labels`): "LPIPS alex (random trunk)", a fitted or uploaded
    metric's own name, then the options that change what is scored."""
    try:
        ref = MetricRef.parse(run.metric)
    except ValueError:  # a registry metric this version no longer has: keep the stored name
        ref = None
    if ref is not None and ref.kind == FITTED:
        fit = FitRun.objects.filter(pk=ref.pk).first()
        if fit is not None:
            return labels.fit_label(
                net=fit.net,
                variant=fit.variant,
                pk=fit.pk,
                trunk_weights=fit.trunk_weights,
                options=run.options,
            )
    elif ref is not None and ref.kind == UPLOADED:
        upload = UploadedMetric.objects.filter(pk=ref.pk).first()
        if upload is not None:
            return labels.with_notes(
                f"{upload.name} (uploaded {upload.pk})", labels.options_text(run.options)
            )
    return labels.registry_label(run.metric, run.options)


def run_data(run: ScoreRun, *, label: str = "") -> compute.RunData:
    return compute.RunData(
        pk=run.pk, metric=run.metric, options=run.options, label=label, result=run.result
    )


def run_credits(run: ScoreRun) -> tuple[compute.Credits | None, str]:
    """The run's per-item 2AFC credits (category → {item id → credit}) and the sha256 of its
    credits file; (None, "") when it has no readable file."""
    if not run.credits:
        return None, ""
    try:
        with run.credits.open("rb") as handle:
            raw = handle.read()
        rows = json.loads(raw)
    except (OSError, ValueError):
        return None, ""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for row in rows:
        if "credit" in row:
            out[row["category"]][int(row["item"])] = float(row["credit"])
    return out, hashlib.sha256(raw).hexdigest()


def _judges(dataset: Dataset, split: str) -> dict[str, list[float]]:
    judges: dict[str, list[float]] = defaultdict(list)
    for category, judge in (
        dataset.items.filter(kind="2afc", split=split)
        .order_by("category", "index")
        .values_list("category", "judge")
    ):
        judges[category].append(judge)
    return judges


# ---------------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------------


def board_for(*, dataset: Dataset, split: str | None = None) -> dict:
    """`board_data` after checking `split` (None: the default split); an unknown split raises
    ApplicationError (400, code `unknown_split`). Views and APIs call this."""
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


def zoo_net(run: ScoreRun) -> str | None:
    """The zoo net (`deep-<arch>`) a score run's metric is built on: the registry metric itself,
    or the net of the fit it names; None for any other metric."""
    try:
        ref = MetricRef.parse(run.metric)
    except ValueError:
        return None
    if ref.kind == FITTED:
        net = FitRun.objects.filter(pk=ref.pk).values_list("net", flat=True).first()
    else:
        net = run.metric if ref.is_registry else None
    return net if net and is_deep(net) else None


def _with_zoo(board: dict, runs: list[ScoreRun]) -> dict:
    """Rows of zoo metrics carry their net and its ImageNet top-1 (the zoo chart's x axis)."""
    by_pk = {run.pk: run for run in runs}
    for row in board["rows"]:
        run = by_pk.get(row.get("run"))
        net = zoo_net(run) if run is not None else None
        row["zoo"] = {"net": net, "imagenet_top1": imagenet_top1(net)} if net else None
    board["has_zoo"] = any(row.get("zoo") for row in board["rows"])
    return board


def base_board(dataset: Dataset, *, split: str, runs: list[ScoreRun]) -> dict:
    """`compute.build_board` on the dataset's judges and `runs` (no significance)."""
    board = compute.build_board(
        dataset={
            "id": dataset.pk,
            "name": dataset.name,
            "version": dataset.version,
            "source": dataset.source,
            "is_public": dataset.is_public,
        },
        split=split,
        splits=board_splits(dataset),
        runs=[run_data(run, label=metric_label(run)) for run in runs],
        judges=_judges(dataset, split),
    )
    return _with_zoo(board, runs)


def board_data(*, dataset: Dataset, split: str | None = None) -> dict:
    """The whole board as plain JSON-ready data, significance read from storage.

    Shape: {"dataset", "split", "splits", "confidence", "significance_resamples", "columns",
    "jnd_columns", "rows": [{"key", "kind" ("human"|"metric"), "label", "metric", "options",
    "run", "cells": {column: {score, ci_low, ci_high, n, aggregate, complete, categories, best,
    vs_best, pending}}, "jnd": {column: {...}}}], "best": key of the metric with the best 2AFC
    "all", "significance": {"status", "computed_at", "pending_columns"}}. Scores are fractions
    in [0, 1]. The board without significance is cached per set of runs; the stored significance
    is read on every call, so the cache never serves a stale one.
    """
    split = split or default_split(dataset)
    runs = latest_runs(dataset, split=split)
    fingerprint = runs_fingerprint(runs)
    digest = hashlib.sha256(
        json.dumps(
            [
                _CACHE_VERSION,
                dataset.pk,
                dataset.updated_at.isoformat(),
                dataset.is_public,
                dataset.name,
                split,
                sorted(fingerprint.items()),
            ]
        ).encode()
    ).hexdigest()
    key = f"analysis:leaderboard:{digest}"
    base = cache_get(key)
    if base is None:
        base = base_board(dataset, split=split, runs=runs)
        cache_set(key, base, _CACHE_SECONDS)
    board = compute.with_significance(
        base, stored=stored_significance(dataset=dataset, split=split), runs=fingerprint
    )
    if board["significance"]["pending_columns"]:
        _request_refresh(dataset_id=dataset.pk, split=split, digest=digest)
    return board


def stored_significance(*, dataset: Dataset, split: str) -> dict | None:
    """The stored significance of (dataset, split) as `compute.with_significance` reads it, or
    None when there is none or it was computed with other bootstrap settings."""
    row = BoardSignificance.objects.filter(dataset=dataset, split=split).first()
    if row is None or (row.n_resamples, row.confidence, row.seed) != (
        compute.SIGNIFICANCE_RESAMPLES,
        compute.CONFIDENCE,
        compute.SEED,
    ):
        return None
    return {
        "runs": row.runs,
        "columns": row.columns,
        "computed_at": row.computed_at.isoformat() if row.computed_at else None,
    }


def is_fresh(stored: BoardSignificance | None, fingerprint: dict[str, str]) -> bool:
    """Whether `stored` was computed, with today's settings, from exactly these runs."""
    return (
        stored is not None
        and (stored.n_resamples, stored.confidence, stored.seed)
        == (compute.SIGNIFICANCE_RESAMPLES, compute.CONFIDENCE, compute.SEED)
        and {pk: v.get("updated_at") for pk, v in stored.runs.items()} == fingerprint
    )


def _request_refresh(*, dataset_id: int, split: str, digest: str) -> None:
    """Ask a worker to refresh a board's significance after this transaction commits. Asked at
    most once per set of runs every few minutes (the cache only saves messages: the refresh
    itself is idempotent)."""
    if not cache_add(f"analysis:leaderboard-refresh:{digest}", 1, _REFRESH_ASKED_SECONDS):
        return
    from common import jobs

    # A broker outage must not break a page; the next read (or score run) asks again.
    jobs.send(
        "analysis.tasks.board_significance_refresh",
        dataset_id=dataset_id,
        split=split,
        on_error=lambda: cache_delete(f"analysis:leaderboard-refresh:{digest}"),
    )
