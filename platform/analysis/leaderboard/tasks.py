"""The leaderboard's Celery task (queue `default`). Thin: takes ids, calls the service."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="analysis.tasks.board_significance_refresh")
def board_significance_refresh(dataset_id: int, split: str) -> dict:
    """Compute and store the significance of a board (idempotent; see the service). A failure
    is recorded on the stored row (`error`), whose cells stay "pending"."""
    from common.exceptions import NotFoundError
    from common.tasks import recording_failure

    from ..board_models import BoardSignificance
    from .services import board_significance_open
    from .services import board_significance_refresh as refresh

    try:
        pk = board_significance_open(dataset_id=dataset_id, split=split).pk
    except NotFoundError as exc:  # the dataset was deleted after the refresh was asked for
        log.info("significance refresh skipped: %s", exc.message)
        return {"skipped": exc.message}
    with recording_failure(BoardSignificance, pk) as failure:
        row = refresh(dataset_id=dataset_id, split=split)
    if failure.error:
        return {"failed": failure.error}
    return {
        "dataset": dataset_id,
        "split": split,
        "runs": sorted(int(run_id) for run_id in row.runs),
    }
