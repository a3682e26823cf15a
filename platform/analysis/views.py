"""Server-rendered analysis pages: leaderboards (researcher and public) with their CSV/JSON/
Markdown downloads, and export downloads. Thin: access and boards come from
`leaderboard.selectors`, text from `leaderboard.formats`, files from `exports`; the charts and
sorting are the `leaderboard.js` bundle (frontend/). Domain errors become the API's error shape
with their `http_status`."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from common.authentication import user_from_token
from common.exceptions import ApplicationError, DomainError, http_status

from . import planning
from .leaderboard import formats, presets, triplets
from .leaderboard import selectors as boards
from .leaderboard.compute import COLUMN_LABELS, sorted_rows
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
        preset = presets.check_preset(request.GET.get("preset"))
        board = boards.board_for(dataset=dataset, split=request.GET.get("split") or None)
    except DomainError as exc:
        return _domain_error(exc)
    if preset == "table5":
        return _table5_response(request, dataset, board, fmt=fmt, public=public)
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
        "presets": presets.PRESETS,
    }
    if not public:
        context.update(admin.site.each_context(request))  # the admin's header and navigation
        context["title"] = f"Leaderboard: {dataset}"
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
    template = "analysis/public_leaderboard.html" if public else "analysis/leaderboard.html"
    response = render(request, template, context)
    if public:
        response["Referrer-Policy"] = "no-referrer"  # the slug is the only key to the board
    return response


def _table5_response(request, dataset: Dataset, board: dict, *, fmt: str, public: bool):
    """The "Table 5" preset (`leaderboard.presets`): the page, or its view as JSON."""
    view = presets.board_table5(dataset=dataset, board=board)
    if fmt not in ("html", "json"):
        return _error(
            f"The Table 5 preset is offered as the page or as json, not {fmt!r}.",
            code="unknown_format",
            fields={"format": ["unknown"]},
        )
    if fmt == "json":
        response = JsonResponse(view, json_dumps_params={"indent": 2})
        name = f"table5-{dataset.pk}-v{dataset.version}-{board['split']}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    columns = [{"key": c, "label": COLUMN_LABELS.get(c, c)} for c in view["columns"]]
    groups = [
        {
            "title": group["title"],
            "lines": [
                {
                    **line,
                    "cells": [
                        {
                            "ours": _pct(line["ours"].get(c["key"])),
                            "paper": "" if not line["paper"] else f"{line['paper'][c['key']]:.1f}",
                            "partial": c["key"] in line["partial"],
                        }
                        for c in columns
                    ],
                }
                for line in group["lines"]
            ],
        }
        for group in view["groups"]
    ]
    context = {
        "dataset": dataset,
        "board": board,
        "view": view,
        "columns": columns,
        "groups": groups,
        "public": public,
        "presets": presets.PRESETS,
        "base_url": request.path,
    }
    if not public:  # researchers see it inside the admin, as the leaderboard
        context.update(admin.site.each_context(request))
        context["title"] = f"Table 5: {dataset}"
    template = (
        "analysis/leaderboard_table5.html" if public else "analysis/leaderboard_table5_admin.html"
    )
    response = render(request, template, context)
    if public:
        response["Referrer-Policy"] = "no-referrer"
    return response


def _researcher_dataset(request, dataset_id: int):
    """(dataset, None) for a researcher who can see it (session or `Authorization: Token`), else
    (None, the answer): a login redirect for an anonymous browser, 401 for a bad token, 404 for
    everyone else (as for a missing id)."""
    try:
        user = user_from_token(request) or request.user
    except AuthenticationFailed as exc:
        return None, _error(str(exc.detail), code="not_authenticated", status=401)
    if not user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), reverse("admin:login"))
    try:
        return boards.dataset_for_user(user=user, dataset_id=dataset_id), None
    except DomainError as exc:
        return None, _domain_error(exc)


@require_GET
def leaderboard_page(request, dataset_id: int):
    dataset, refusal = _researcher_dataset(request, dataset_id)
    if refusal is not None:
        return refusal
    return _board_response(request, dataset, public=False)


@require_GET
def triplets_page(request, dataset_id: int):
    """The per-triplet explorer (`leaderboard.triplets`), 50 triplets a page."""
    dataset, refusal = _researcher_dataset(request, dataset_id)
    if refusal is not None:
        return refusal
    try:
        split = request.GET.get("split") or boards.default_split(dataset)
        if not dataset.items.filter(kind="2afc", split=split).exists():
            raise ApplicationError(
                f"This dataset has no 2AFC triplets on split {split!r}.",
                code="unknown_split",
                fields={"split": ["unknown"]},
            )
    except DomainError as exc:
        return _domain_error(exc)
    data = triplets.explore(
        dataset=dataset,
        split=split,
        category=request.GET.get("category", ""),
        sort=request.GET.get("sort", ""),
    )
    page = Paginator(data["rows"], triplets.PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"split": split, "category": data["category"], "sort": data["sort"]}
    context = {
        **admin.site.each_context(request),
        "title": f"Triplets of {dataset}",
        "dataset": dataset,
        "data": data,
        "page": page,
        "sorts": triplets.SORTS,
        "query": query,
        "leaderboard_url": reverse("analysis-leaderboard", args=[dataset.pk]) + f"?split={split}",
    }
    return render(request, "analysis/triplets.html", context)


@require_GET
def triplet_image(request, dataset_id: int, item_id: int, slot: str):
    """One image of a dataset item (ref, p0 or p1), for researchers who can see the dataset."""
    dataset, refusal = _researcher_dataset(request, dataset_id)
    if refusal is not None:
        return refusal
    item = dataset.items.filter(pk=item_id).first()
    name = getattr(item, slot, "") if item is not None and slot in ("ref", "p0", "p1") else ""
    if not name or not default_storage.exists(name):
        return _error("No such image.", code="not_found", status=404)
    response = FileResponse(default_storage.open(name, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"  # dataset images never change
    return response


@require_GET
def public_leaderboard_page(request, slug: str):
    try:
        dataset = boards.dataset_for_public(slug=slug)
    except DomainError as exc:
        return _domain_error(exc)
    return _board_response(request, dataset, public=True)
