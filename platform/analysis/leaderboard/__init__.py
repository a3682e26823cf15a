"""Leaderboards: Table-5-style boards built from a dataset's finished score runs.

A board has one row per metric (the latest finished `ScoreRun` per metric, options and split)
with each category's 2AFC score and bootstrap interval, the paper's aggregate columns and JND
mAP, all taken from the stored `ScoreReport`s (never re-derived), plus a human-ceiling row
computed from the dataset's judge values. Significance is a paired bootstrap on the runs'
per-item credit files, every metric against the column's best on the same items; a worker
computes and stores it (`BoardSignificance`) after score runs finish, and requests only read it
(see `docs/analysis.md`). Nothing here imports torch.

- `selectors`: access (NotFoundError for anything a caller may not see), runs, boards as read;
- `compute`: pure computation from loaded data (cells, human row, columns, significance);
- `formats`: CSV, Markdown and JSON renderings of a board;
- `services`: `board_significance_refresh`, the one write;
- `tasks`: the Celery task `analysis.tasks.board_significance_refresh`.
"""

from .compute import (
    COLUMN_LABELS,
    CONFIDENCE,
    SEED,
    SIGNIFICANCE_RESAMPLES,
    sorted_rows,
)
from .formats import board_csv, board_json, board_markdown
from .selectors import (
    board_data,
    board_for,
    board_for_public,
    board_for_user,
    board_splits,
    dataset_for_public,
    dataset_for_user,
    default_split,
    latest_runs,
)
from .services import board_significance_refresh

# The names the API classes used before the split (they raise NotFoundError, a 404, as before).
dataset_for_board = dataset_for_user
dataset_for_public_board = dataset_for_public

__all__ = [
    "COLUMN_LABELS",
    "CONFIDENCE",
    "SEED",
    "SIGNIFICANCE_RESAMPLES",
    "board_csv",
    "board_data",
    "board_for",
    "board_for_public",
    "board_for_user",
    "board_json",
    "board_markdown",
    "board_significance_refresh",
    "board_splits",
    "dataset_for_board",
    "dataset_for_public",
    "dataset_for_public_board",
    "default_split",
    "latest_runs",
    "sorted_rows",
]
