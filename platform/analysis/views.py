"""Server-rendered analysis pages: leaderboards (researcher and public) with their CSV/JSON/
Markdown downloads, and export downloads. Thin: access and boards come from
`leaderboard.selectors`, text from `leaderboard.formats`, files from `exports`; the charts and
sorting are the `leaderboard.js` bundle (frontend/). Domain errors become the API's error shape
with their `http_status`."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from common.exceptions import DomainError, http_status

from . import planning
from .leaderboard import formats
from .leaderboard import selectors as boards
from .leaderboard.compute import sorted_rows
from .models import Dataset, Export

DOWNLOADS = {
    "csv": ("text/csv", formats.board_csv),
    "json": ("application/json", formats.board_json),
    "md": ("text/markdown", formats.board_markdown),
}


def _error(
    message: str, *, code: str, status: int = 400, fields: dict | None = None
) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def _domain_error(exc: DomainError) -> JsonResponse:
    return _error(exc.message, code=exc.code, status=http_status(exc), fields=exc.fields)


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def _cell(cell: dict | None, *, confidence: float) -> dict:
    """What the template shows for one score: text, interval, classes and a tooltip."""
    if not cell:
        return {"text": "–", "value": "", "classes": "missing", "title": ""}
    classes, title = [], []
    if cell.get("ci_low") is not None:
        title.append(
            f"{round(100 * confidence)}% CI {_pct(cell['ci_low'])}–{_pct(cell['ci_high'])}"
        )
    if cell.get("best"):
        classes.append("best")
        title.append("best in this column")
    elif cell.get("pending"):
        classes.append("pending")
        title.append("significance pending")
    elif cell.get("vs_best"):
        vs = cell["vs_best"]
        classes.append("below" if vs["significant"] else "tied")
        title.append(
            f"vs best: {100 * vs['difference']:+.1f}, p = {vs['p_value']:.3g}"
            + ("" if vs["significant"] else " (not significant)")
        )
    if cell.get("aggregate") and not cell.get("complete", True):
        classes.append("partial")
        title.append("partial: averages " + ", ".join(cell.get("categories", [])))
    return {
        "text": _pct(cell["score"]),
        "value": f"{cell['score']:.10f}",
        "ci": f"{_pct(cell['ci_low'])}–{_pct(cell['ci_high'])}"
        if cell.get("ci_low") is not None
        else "",
        "classes": " ".join(classes),
        "title": "; ".join(title),
    }


def _significance(row: dict) -> dict:
    cell = row["cells"].get("all") or {}
    if row["kind"] != "metric" or not cell:
        return {"text": "", "title": ""}
    if cell.get("best"):
        return {"text": "best", "title": "best overall (All)"}
    if cell.get("pending"):
        return {"text": "pending", "title": "significance pending: a worker is computing it"}
    vs = cell.get("vs_best")
    if not vs:
        return {"text": "n/a", "title": "no per-item results to compare"}
    text = f"{100 * vs['difference']:+.1f} [{100 * vs['ci_low']:+.1f}, {100 * vs['ci_high']:+.1f}]"
    return {
        "text": text + (" *" if vs["significant"] else ""),
        "title": f"p = {vs['p_value']:.3g}" + ("" if vs["significant"] else " (not significant)"),
    }


def _table(board: dict) -> list[dict]:
    confidence = board["confidence"]
    return [
        {
            "key": row["key"],
            "kind": row["kind"],
            "label": row["label"],
            "metric": row["metric"] or "",
            "cells": [
                _cell(row["cells"].get(c["key"]), confidence=confidence) for c in board["columns"]
            ],
            "jnd": [
                _cell(row["jnd"].get(c["key"]), confidence=confidence) for c in board["jnd_columns"]
            ],
            "significance": _significance(row),
        }
        for row in sorted_rows(board)
    ]


def _judgments(data: dict) -> dict:
    rows = [
        {
            **row,
            "score_text": _pct(row["score"]),
            "ci_text": f"{_pct(row['ci_low'])}–{_pct(row['ci_high'])}",
            "width_text": _pct(row["ci_width"]),
        }
        for row in data.get("rows", [])
    ]
    return {**data, "rows": rows}


def _board_response(request, dataset: Dataset, *, public: bool):
    fmt = request.GET.get("format", "html")
    if fmt != "html" and fmt not in DOWNLOADS:
        return _error(
            f"Unknown format {fmt!r}; use csv, json or md (or none for the page).",
            code="unknown_format",
            fields={"format": ["unknown"]},
        )
    try:
        board = boards.board_for(dataset=dataset, split=request.GET.get("split") or None)
    except DomainError as exc:
        return _domain_error(exc)
    if fmt in DOWNLOADS:
        content_type, render_text = DOWNLOADS[fmt]
        response = HttpResponse(render_text(board), content_type=f"{content_type}; charset=utf-8")
        name = f"leaderboard-{dataset.pk}-v{dataset.version}-{board['split']}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = {
        "dataset": dataset,
        "board": board,
        "table": _table(board),
        "public": public,
        "confidence_pct": round(100 * board["confidence"]),
        "base_url": request.path,
    }
    if not public:
        context["public_url"] = (
            request.build_absolute_uri(
                reverse("analysis-public-leaderboard", kwargs={"slug": dataset.public_slug})
            )
            if dataset.is_public
            else ""
        )
        context["judgments"] = _judgments(
            planning.judgments_ci(dataset=dataset, split=board["split"])
        )
        context["exports"] = list(
            dataset.exports.filter(status=Export.Status.READY).order_by("-created_at")
        )
    response = render(request, "analysis/leaderboard.html", context)
    if public:
        response["Referrer-Policy"] = "no-referrer"  # the slug is the only key to the board
    return response


@require_GET
def leaderboard_page(request, dataset_id: int):
    try:
        dataset = boards.dataset_for_user(user=request.user, dataset_id=dataset_id)
    except DomainError as exc:
        return _domain_error(exc)
    return _board_response(request, dataset, public=False)


@require_GET
def public_leaderboard_page(request, slug: str):
    try:
        dataset = boards.dataset_for_public(slug=slug)
    except DomainError as exc:
        return _domain_error(exc)
    return _board_response(request, dataset, public=True)
