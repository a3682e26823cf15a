"""A board dict (see `selectors.board_data`) as CSV, Markdown or JSON text."""

from __future__ import annotations

import csv
import io
import json

from .compute import sorted_rows


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def board_csv(board: dict) -> str:
    """One line per row: label, metric, run, then score/ci_low/ci_high per 2AFC column (×100,
    one decimal), p-value against the best on All ("pending" while a worker computes it), then
    JND mAP per column."""
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
        overall = row["cells"].get("all") or {}
        vs = overall.get("vs_best")
        line.append(
            "pending" if overall.get("pending") else "" if not vs else f"{vs['p_value']:.4g}"
        )
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
    if cell.get("pending"):
        text += "‡"
    return text


def board_markdown(board: dict) -> str:
    """Table 5 layout in Markdown: 2AFC score ×100 with intervals, then JND mAP."""
    ds = board["dataset"]
    confidence = round(100 * board["confidence"])
    pending = (board.get("significance") or {}).get("status") == "pending"
    lines = [
        f"# Leaderboard: {ds['name']} v{ds['version']} ({board['split']} split)",
        "",
        f"2AFC score ×100 with {confidence}% bootstrap intervals. Bold: the column's best and every metric "
        f"not significantly below it (paired bootstrap, {board['significance_resamples']} resamples, "
        f"α = {1 - board['confidence']:.2f}). † partial aggregate (not all of the paper's categories)."
        + (" ‡ significance pending (a worker is computing it)." if pending else ""),
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
