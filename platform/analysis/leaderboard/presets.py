"""Leaderboard presets: other views of the same board (issue #18).

- ``all`` (default): every metric, sortable (`leaderboard.html`);
- ``table5``: the paper's Table 5 (`metrics.table5`): rows grouped by supervision in the paper's
  order, the paper's numbers beside ours when the dataset is an imported BAPPS folder with
  BAPPS's val sets, a note on every row computed with a random trunk, and every paper row this
  dataset has no score for as "not available" with how to obtain its weights.

The Table-5 view is built from the board itself (`board_data`): its numbers are the board's
cells, never recomputed. A row's supervision is what its run declared: the trunk declaration
the worker stored in `ScoreRun.computed_with["trunk"]` (`metrics.supervision`, a checkpoint's
sidecar), and for a fitted metric its fit's net, variant and trunk.

`table5_view` is pure (board + run facts in, view out); `board_table5` is the selector that
loads those facts. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.exceptions import ApplicationError
from metrics.refs import FITTED, MetricRef
from metrics.table5 import Entry, build_view, is_paper_dataset, place

from ..models import Dataset, FitRun, ScoreRun

PRESETS = {"all": "All metrics", "table5": "Table 5 (Zhang et al. 2018)"}
DEFAULT_PRESET = "all"


def check_preset(value: str | None) -> str:
    """The preset asked for (blank: the default); ApplicationError (400, `unknown_preset`)."""
    if not value:
        return DEFAULT_PRESET
    if value not in PRESETS:
        raise ApplicationError(
            f"Unknown preset {value!r}; use one of {', '.join(PRESETS)}.",
            code="unknown_preset",
            fields={"preset": ["unknown"]},
        )
    return value


def _scores(cells: Mapping[str, dict]) -> dict[str, float | None]:
    return {column: cell.get("score") for column, cell in cells.items()}


def table5_view(
    board: dict, facts: Mapping[int, Mapping[str, Any]], *, imported: bool
) -> dict[str, Any]:
    """The Table-5 view of a board (as `board_data` returns it).

    Args:
        board: The board.
        facts: Run id → {"trunk": trunk declaration or None, "fit": fit facts or None} (see
            `metrics.table5.place`).
        imported: Whether the dataset is an imported BAPPS-layout folder (a frozen study's
            categories are never the paper's, whatever their names).

    Returns:
        `metrics.table5.build_view`'s view plus "dataset", "split" and "paper_reason".
    """
    entries, human = [], None
    for row in board["rows"]:
        if row["kind"] == "human":
            human = _scores(row["cells"])
            continue
        if row["kind"] != "metric" or not row["cells"]:
            continue
        fact = facts.get(row["run"], {})
        placement = place(
            metric=row["metric"],
            options=row["options"],
            trunk=fact.get("trunk"),
            fit=fact.get("fit"),
        )
        entries.append(
            Entry(
                placement=placement,
                label=row["label"],
                scores=_scores(row["cells"]),
                partial=tuple(
                    c
                    for c, cell in row["cells"].items()
                    if cell.get("aggregate") and not cell.get("complete", True)
                ),
                intervals={
                    c: (cell["ci_low"], cell["ci_high"])
                    for c, cell in row["cells"].items()
                    if cell.get("ci_low") is not None
                },
                source={"run": row["run"], "metric": row["metric"], "key": row["key"]},
            )
        )
    categories = [c["key"] for c in board["columns"] if not c["aggregate"]]
    paper = imported and is_paper_dataset(categories)
    view = build_view(entries, human=human, with_paper=paper)
    if paper:
        reason = "imported BAPPS folder with BAPPS's val sets: the paper's numbers are shown"
    elif not imported:
        reason = "a frozen study, not BAPPS: the paper's numbers are not comparable, not shown"
    else:
        reason = "its sets are not BAPPS's val sets: the paper's numbers are not shown"
    return {
        "dataset": board["dataset"],
        "split": board["split"],
        "paper_reason": reason,
        **view,
    }


def _fit_facts(fits: Mapping[int, FitRun], ref: MetricRef) -> dict | None:
    fit = fits.get(ref.pk)
    if fit is None:
        return None
    return {
        "net": fit.net,
        "variant": fit.variant,
        "trunk": fit.trunk_weights or "imagenet",
        "seed": (fit.options or {}).get("trunk_seed"),
    }


def board_table5(*, dataset: Dataset, board: dict) -> dict[str, Any]:
    """The Table-5 view of `board` (the dataset's board, already access-checked by the caller):
    reads each run's stored trunk declaration and the fits behind fitted metrics."""
    run_ids = [row["run"] for row in board["rows"] if row.get("run")]
    runs = {r.pk: r for r in ScoreRun.objects.filter(pk__in=run_ids, dataset=dataset)}
    refs = {}
    for pk, run in runs.items():
        try:
            refs[pk] = MetricRef.parse(run.metric)
        except ValueError:
            continue
    fit_ids = [ref.pk for ref in refs.values() if ref.kind == FITTED]
    fits = {f.pk: f for f in FitRun.objects.filter(pk__in=fit_ids)}
    facts = {}
    for pk, run in runs.items():
        ref = refs.get(pk)
        facts[pk] = {
            "trunk": (run.computed_with or {}).get("trunk"),
            "fit": _fit_facts(fits, ref) if ref is not None and ref.kind == FITTED else None,
        }
    return table5_view(board, facts, imported=dataset.source == Dataset.Source.IMPORT)
