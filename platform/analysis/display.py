"""How the admin shows analysis runs: numbers rounded for reading (a learning rate as `2e-05`,
not `1.9999999999999995e-05`; 2AFC ×100 with one decimal), tables instead of raw JSON, and a
fit's progress in words once it has finished. HTML is built with `format_html`, so every value
is escaped."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from metrics.scoring.report import PAPER_COLUMNS

from .models import RunStatus

COLUMN_NAMES = {
    "traditional": "Traditional",
    "cnn": "CNN-based",
    "all_distortions": "All distortions",
    "superres": "Superresolution",
    "deblur": "Deblurring",
    "color": "Colorization",
    "frameinterp": "Frame interpolation",
    "all_real": "All real algorithms",
    "all": "All",
}


def number(value, digits: int = 4) -> str:
    """A float at `digits` significant digits ("2e-05", "0.6931"); other values as text."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def pct(value, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}"


def key_values(data: dict):
    """A small two-column table of a flat dict (nested values shown compactly)."""
    if not data:
        return "–"
    rows = (
        (key.replace("_", " "), number(value) if not isinstance(value, dict) else _inline(value))
        for key, value in sorted(data.items())
    )
    return format_html(
        '<table class="pl-kv">{}</table>',
        format_html_join(mark_safe(""), "<tr><th>{}</th><td>{}</td></tr>", rows),
    )


def _inline(value: dict) -> str:
    return ", ".join(f"{k} {number(v)}" for k, v in sorted(value.items()))


# ---------------------------------------------------------------------------------------------
# Fit runs
# ---------------------------------------------------------------------------------------------


def fit_progress(run) -> str:
    """`epoch 3/10, loss 0.6931, val 2AFC 71.2` while training; a summary once finished."""
    p = run.progress or {}
    history = [h for h in (run.history or []) if h.get("epoch", 0) >= 1]
    total = run.epochs + run.epochs_decay
    last = history[-1] if history else {}
    if run.status == RunStatus.DONE:
        val = (run.result or {}).get("val_2afc", last.get("val_2afc"))
        return (
            f"done: {len(history) or p.get('epochs_completed', total)}/{total} epochs, "
            f"final loss {number(last.get('loss'))}, val 2AFC {pct(val)}"
        )
    if run.status == RunStatus.QUEUED and not p:
        return "queued (waiting for a gpu worker)"
    if run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
        done = len(history)
        return f"{run.get_status_display()} after {done}/{total} epochs"
    event = p.get("event") or p.get("type")
    epoch = p.get("epoch", last.get("epoch", 0))
    parts = [f"epoch {epoch}/{p.get('epochs', total)}"]
    if event == "step" and p.get("step") is not None:
        parts.append(f"step {p['step']}" + (f"/{p['steps']}" if p.get("steps") else ""))
    if event == "vectors":
        parts.append(f"features of {p.get('set')}: {p.get('done')}/{p.get('total')}")
    if last.get("loss") is not None:
        parts.append(f"loss {number(last['loss'])}")
    if last.get("val_2afc") is not None:
        parts.append(f"val 2AFC {pct(last['val_2afc'])}")
    return ", ".join(parts)


def fit_history_points(history: list[dict]) -> list[dict]:
    """Epoch entries for the training-curve chart: epoch, loss, train and val 2AFC."""
    return [
        {k: h.get(k) for k in ("epoch", "loss", "train_2afc", "val_2afc")}
        for h in sorted(history, key=lambda h: h.get("epoch", 0))
    ]


def fit_history_table(history: list[dict]):
    if not history:
        return "–"
    rows = (
        (
            h.get("epoch"),
            number(h.get("lr"), 3),
            number(h.get("loss")),
            pct(h.get("train_2afc")),
            pct(h.get("val_2afc")),
            number(h.get("seconds"), 3),
        )
        for h in sorted(history, key=lambda h: h.get("epoch", 0))
    )
    return format_html(
        '<table class="pl-table"><thead><tr><th>epoch</th><th>learning rate</th><th>loss</th>'
        "<th>train 2AFC ×100</th><th>val 2AFC ×100</th><th>seconds</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        format_html_join(
            mark_safe(""),
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rows,
        ),
    )


def fit_result(result: dict):
    if not result:
        return "–"
    summary = result.get("summary") or {}
    flat = {
        "val 2AFC ×100": pct(result.get("val_2afc")),
        "lin weights sha256": (result.get("lin_sha256") or "–")[:16] + "…",
    }
    for key, value in sorted(summary.items()):
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            flat[key.replace("_", " ")] = number(value)
    rows = ((k, v) for k, v in flat.items())
    return format_html(
        '<table class="pl-kv">{}</table>',
        format_html_join(mark_safe(""), "<tr><th>{}</th><td>{}</td></tr>", rows),
    )


# ---------------------------------------------------------------------------------------------
# Score runs
# ---------------------------------------------------------------------------------------------


def score_progress(run) -> str:
    p = run.progress or {}
    if run.status == RunStatus.DONE:
        return "done"
    if not p:
        return run.get_status_display()
    return f"{run.get_status_display()}: {p.get('kind', '')} {p.get('category', '')} {p.get('done', '?')}/{p.get('of', '?')}"


def report_headline(result: dict) -> str:
    report = result.get("2afc") or {}
    cell = (report.get("aggregates") or {}).get("all") or {}
    return pct(cell.get("score")) if cell else "–"


def _column_order(report: dict) -> list[tuple[str, dict, bool]]:
    cells = {**(report.get("categories") or {})}
    aggregates = report.get("aggregates") or {}
    names = [c for c in PAPER_COLUMNS if c in cells or c in aggregates]
    names[-1:-1] = sorted(c for c in cells if c not in PAPER_COLUMNS)
    if "all" in names:
        names = [c for c in names if c != "all"] + ["all"]
    return [(name, cells.get(name) or aggregates.get(name), name in aggregates) for name in names]


def report_table(report: dict | None, *, kind: str):
    """One row per category and aggregate: n, score ×100, its bootstrap interval, and for 2AFC
    the human ceiling."""
    if not report:
        return "–"
    confidence = round(100 * (report.get("confidence") or 0.95))
    rows = []
    for name, cell, aggregate in _column_order(report):
        if not cell:
            continue
        interval = (
            f"{pct(cell.get('ci_low'))} – {pct(cell.get('ci_high'))}"
            if cell.get("ci_low") is not None
            else "–"
        )
        label = COLUMN_NAMES.get(name, name)
        if aggregate and not cell.get("complete", True):
            label += " (partial: " + ", ".join(cell.get("categories", [])) + ")"
        rows.append(
            (
                "pl-aggregate" if aggregate else "",
                label,
                cell.get("n", "") if not aggregate else "",
                pct(cell.get("score")),
                interval,
                pct(cell.get("human")) if kind == "2afc" else "",
            )
        )
    score_name = "2AFC ×100" if kind == "2afc" else "mAP ×100"
    human = "human ×100" if kind == "2afc" else ""
    return format_html(
        '<table class="pl-table"><thead><tr><th>category</th><th>n</th><th>{}</th>'
        "<th>{}% interval</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        score_name,
        confidence,
        human,
        format_html_join(
            mark_safe(""),
            '<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            rows,
        ),
    )
