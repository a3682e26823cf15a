"""The duel results page (researchers of the study), with CSV and JSON downloads. Thin: access
and results from `selectors`, text from `formats`; charts are the `duels.js` bundle (frontend/).
Domain errors become the API's error shape with their `http_status`."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from common.exceptions import DomainError, NotFoundError, http_status
from common.permissions import is_researcher

from . import formats, selectors

DOWNLOADS = {
    "csv": ("text/csv", formats.results_csv),
    "json": ("application/json", formats.results_json),
}


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields or {}}},
        status=http_status(exc),
    )


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _ci(ci) -> str:
    return f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}%"


def _examples(results: dict) -> list[dict]:
    """The pairs grouped per ordered duel, with their stimulus URLs and the vote split."""

    def url(pk: int) -> str:
        return reverse("stimulus-file", kwargs={"pk": pk})

    groups: dict[tuple[str, str], dict] = {}
    for e in results["examples"]:
        group = groups.setdefault(
            (e["attacker"], e["defender"]),
            {"attacker": e["attacker"], "defender": e["defender"], "pairs": []},
        )
        group["pairs"].append(
            {
                **e,
                "ref_url": url(e["ref"]),
                "p0_url": url(e["p0"]),
                "p1_url": url(e["p1"]),
                "share_text": _pct(e["with_attacker"] / e["total"]) if e["total"] else "no votes",
            }
        )
    return list(groups.values())


@require_GET
def results_page(request, duel_id: int):
    try:
        if not is_researcher(request.user):
            raise NotFoundError(f"Duel study {duel_id} not found.")
        duel = selectors.duel_study_get(user=request.user, pk=duel_id)
        fmt = request.GET.get("format", "html")
        if fmt != "html" and fmt not in DOWNLOADS:
            from common.exceptions import ApplicationError

            raise ApplicationError(
                f"Unknown format {fmt!r}; use csv or json (or none for the page).",
                code="unknown_format",
                fields={"format": ["unknown"]},
            )
        results = selectors.duel_results(duel=duel)
    except DomainError as exc:
        return _error(exc)
    if fmt in DOWNLOADS:
        content_type, render_text = DOWNLOADS[fmt]
        response = HttpResponse(render_text(results), content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="duel-{duel.study_id}-results.{fmt}"'
        )
        return response
    names = results["metrics"]
    matrix = [
        {
            "metric": name,
            "cells": [
                {"text": "" if v is None else _pct(v), "value": v}
                for v in results["matrix"]["share_row_over_column"][i]
            ],
        }
        for i, name in enumerate(names)
    ]
    context = {
        "duel": duel,
        "study": duel.study,
        "results": results,
        "duels": [
            {**d, "share_text": _pct(d["share_with_attacker"]), "ci_text": _ci(d["ci"])}
            for d in results["duels"]
        ],
        "matchups": [
            {**m, "share_text": _pct(m["share_a"]), "ci_text": _ci(m["ci"])}
            for m in results["matchups"]
        ],
        "gmad": [
            {
                "metric": g["metric"],
                "aggressiveness": g["aggressiveness"]
                and {
                    **g["aggressiveness"],
                    "text": _pct(g["aggressiveness"]["share"]),
                    "ci_text": _ci(g["aggressiveness"]["ci"]),
                },
                "resistance": g["resistance"]
                and {
                    **g["resistance"],
                    "text": _pct(g["resistance"]["share"]),
                    "ci_text": _ci(g["resistance"]["ci"]),
                },
            }
            for g in results["gmad"]
        ],
        "matrix": matrix,
        "examples": _examples(results),
        "patch_size": duel.study.patch_size,
        "base_url": request.path,
    }
    return render(request, "duels/results.html", context)
