"""Leaderboard writes: compute a board's paired-bootstrap significance and store it.

Run by the Celery task `analysis.tasks.board_significance_refresh` after a score run finishes
(and when a read finds the stored result stale). The bootstrap runs outside any transaction: it
can take seconds; only the final write holds the row's lock.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from common.exceptions import NotFoundError

from ..board_models import BoardSignificance
from ..models import Dataset
from . import compute, selectors

log = logging.getLogger(__name__)

ATTEMPTS = 3


def board_significance_open(*, dataset_id: int, split: str) -> BoardSignificance:
    """The stored significance row of (dataset, split), created empty (so: pending) if missing.
    Raises NotFoundError when the dataset does not exist."""
    if not Dataset.objects.filter(pk=dataset_id).exists():
        raise NotFoundError(f"Dataset {dataset_id} does not exist.")
    row, _ = BoardSignificance.objects.get_or_create(dataset_id=dataset_id, split=split)
    return row


def board_significance_refresh(*, dataset_id: int, split: str) -> BoardSignificance:
    """Compute and store the significance of the (dataset, split) board from its latest finished
    runs, unless the stored one already matches them (idempotent: a second call costs a query).

    If the runs change while the bootstrap runs, it starts again on the new set (up to
    `ATTEMPTS` times), so an older computation never overwrites a newer one. Raises
    NotFoundError when the dataset no longer exists."""
    row = board_significance_open(dataset_id=dataset_id, split=split)
    dataset = row.dataset
    for _attempt in range(ATTEMPTS):
        runs = selectors.latest_runs(dataset, split=split)
        fingerprint = selectors.runs_fingerprint(runs)
        row.refresh_from_db()
        if selectors.is_fresh(row, fingerprint):
            return row
        rows = [compute.metric_row(selectors.run_data(run)) for run in runs]
        credits, sources = {}, {}
        for run, board_row in zip(runs, rows, strict=True):
            run_credits, sha256 = selectors.run_credits(run) if board_row["cells"] else (None, "")
            credits[board_row["key"]] = run_credits
            sources[str(run.pk)] = {
                "updated_at": fingerprint[str(run.pk)],
                "credits_sha256": sha256,
            }
        columns = compute.significance(
            rows,
            credits,
            n_resamples=compute.SIGNIFICANCE_RESAMPLES,
            confidence=compute.CONFIDENCE,
            seed=compute.SEED,
        )
        with transaction.atomic():
            row = BoardSignificance.objects.select_for_update().get(pk=row.pk)
            now = selectors.runs_fingerprint(selectors.latest_runs(dataset, split=split))
            if now == fingerprint:
                row.runs = sources
                row.columns = columns
                row.n_resamples = compute.SIGNIFICANCE_RESAMPLES
                row.confidence = compute.CONFIDENCE
                row.seed = compute.SEED
                row.computed_at = timezone.now()
                row.error = ""
                row.save()
                return row
    log.warning(
        "significance of %s/%s not stored: its runs changed during %s attempts",
        dataset_id,
        split,
        ATTEMPTS,
    )
    return row
