"""Stored leaderboard significance: the paired bootstraps of one board, computed by a worker.

A request never runs the bootstrap (seconds of CPU on a large dataset): it reads this row and
shows "significance pending" for every column whose row was computed from other score runs than
the board shows now. Made known to Django by the import at the end of `analysis.models`.
"""

from __future__ import annotations

from django.db import models

from common.models import TimeStampedModel

__all__ = ["BoardSignificance"]


class BoardSignificance(TimeStampedModel):
    """Significance of the leaderboard of one (dataset, split), with the runs it came from.

    `runs` = {score run id: {"updated_at", "credits_sha256"}} of the latest finished runs at the
    time; `columns` = {2AFC column: {"best": row key, "rows": [row keys], "vs_best": {row key:
    paired test or None}}} (see `analysis.leaderboard.compute.significance`)."""

    dataset = models.ForeignKey(
        "analysis.Dataset",
        on_delete=models.CASCADE,
        related_name="board_significance",
        help_text="The dataset whose leaderboard this is",
    )
    split = models.CharField(
        max_length=16,
        help_text="The dataset split the leaderboard scores (train or val)",
    )
    runs = models.JSONField(default=dict, blank=True, help_text="Score runs it was computed from")
    columns = models.JSONField(default=dict, blank=True, help_text="Paired tests per 2AFC column")
    n_resamples = models.PositiveIntegerField(
        default=0,
        verbose_name="bootstrap resamples",
        help_text="Number of paired bootstrap resamples",
    )
    confidence = models.FloatField(
        default=0.0,
        verbose_name="confidence level",
        help_text="Confidence level of the intervals, e.g. 0.95",
    )
    seed = models.PositiveIntegerField(
        default=0,
        verbose_name="random seed",
        help_text="Seed of the bootstrap resampling",
    )
    computed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the tests were last computed",
    )
    error = models.TextField(blank=True, help_text="Why the last refresh failed")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "split"], name="unique_board_significance")
        ]
        verbose_name = "leaderboard significance"
        verbose_name_plural = "leaderboard significance"

    def __str__(self) -> str:
        return f"significance of {self.dataset_id}/{self.split}"
