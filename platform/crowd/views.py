"""Server-rendered worker pages: entry (consent), MTurk preview, the worker app shell."""

from __future__ import annotations

import secrets
from dataclasses import replace

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from common.exceptions import DomainError, http_status
from common.framing import entry_token, entry_token_check, recruiter_frameable
from common.markdown import render_markdown
from common.throttling import DegradingRateThrottle

from . import selectors, services
from .models import Participant

PLAIN_COOKIE = "pl_pid"
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"


class EntryThrottle(DegradingRateThrottle):
    scope = "crowd_entry"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _throttled(request) -> bool:
    return request.method == "POST" and not EntryThrottle().allow_request(request, None)


def _entry_from_request(request, *, mturk: bool) -> tuple[services.Entry | None, str | None]:
    params = request.GET
    if mturk:
        worker, assignment_id = params.get("workerId", ""), params.get("assignmentId", "")
        if assignment_id == MTURK_PREVIEW:
            return None, "preview"
        # Which turkSubmitTo hosts are MTurk's is entry_check_link's rule (before consent).
        if not worker or not assignment_id or not params.get("turkSubmitTo"):
            return None, "The MTurk link is missing workerId, assignmentId or turkSubmitTo."
        return services.Entry(
            recruiter=Participant.Recruiter.MTURK,
            external_id=worker,
            session_id=assignment_id,
            recruiter_study_id=params.get("hitId", ""),
            turk_submit_to=params["turkSubmitTo"],
        ), None
    if "PROLIFIC_PID" in params:
        pid = params.get("PROLIFIC_PID", "")
        if not pid:
            return None, "The Prolific link is missing PROLIFIC_PID."
        return services.Entry(
            recruiter=Participant.Recruiter.PROLIFIC,
            external_id=pid,
            session_id=params.get("SESSION_ID", ""),
            recruiter_study_id=params.get("STUDY_ID", ""),
        ), None
    pid = request.COOKIES.get(PLAIN_COOKIE) or secrets.token_urlsafe(18)
    return services.Entry(recruiter=Participant.Recruiter.PLAIN, external_id=pid), None


def _is_phone(request) -> bool:
    """A phone, by its own account: the User-Agent Client Hint `Sec-CH-UA-Mobile: ?1`, or "Mobi"
    in the User-Agent (what phone browsers send and tablets do not, as MDN recommends)."""
    return request.headers.get("Sec-CH-UA-Mobile") == "?1" or "Mobi" in request.headers.get(
        "User-Agent", ""
    )


def _message(request, study, title: str, text: str, status: int) -> HttpResponse:
    return render(
        request, "crowd/message.html", {"study": study, "title": title, "text": text}, status=status
    )


_TITLES = {
    "not_found": "Not found",
    "not_live": "Not open",
    "resume_refused": "Already started elsewhere",
}


def resume_key(slug: str) -> str:
    """The browser storage key under which the worker page keeps its assignment token for this
    study, and from which the consent form sends it back on re-entry (`Entry.resume_token`)."""
    return f"perceptlab-resume-{slug}"


def _refusal(request, study, exc: DomainError) -> HttpResponse:
    title = _TITLES.get(exc.code, "Sorry")
    return _message(request, study, title, exc.message, http_status(exc))


@csrf_exempt  # no cookies inside a recruiter's frame: a signed entry token instead (common.framing)
@recruiter_frameable
@require_http_methods(["GET", "POST"])
def entry(request, slug: str, mturk: bool = False):
    try:
        study = selectors.entry_study_get(slug=slug)
    except DomainError as exc:
        return _refusal(request, None, exc)
    entry_data, problem = _entry_from_request(request, mturk=mturk)
    if problem == "preview":
        return render(
            request,
            "crowd/preview.html",
            {"study": study, "instructions": render_markdown(study.instructions)},
        )
    if problem:
        return _message(request, study, "This link is incomplete", problem, 400)
    try:
        selectors.entry_check_open(study)
        services.entry_check_link(entry_data)  # before consent, not only when it is posted
    except DomainError as exc:
        return _refusal(request, study, exc)
    if study.desktop_only and _is_phone(request):
        return _message(
            request,
            study,
            "Please use a computer",
            "This study needs a larger screen than a phone's. Please open the same link on a "
            "computer or tablet; nothing has been recorded, so you can start there as new.",
            403,
        )
    if request.method == "GET":
        response = render(
            request,
            "crowd/consent.html",
            {
                "study": study,
                "facts": selectors.consent_facts(study),
                "entry_token": entry_token(slug, request),
                "resume_key": resume_key(slug),
            },
        )
        if entry_data.recruiter == Participant.Recruiter.PLAIN:
            response.set_cookie(
                PLAIN_COOKIE,
                entry_data.external_id,
                max_age=180 * 86400,
                samesite="Lax",
                httponly=True,
            )
        return response
    if _throttled(request):
        return _message(
            request, study, "Please wait", "Too many attempts; try again in a minute.", 429
        )
    problem = entry_token_check(slug, request)
    if problem:
        return _message(request, study, "Please open the link again", problem, 400)
    if request.POST.get("consent") != "yes":
        return _message(request, study, "Consent needed", "You need to agree to take part.", 400)
    # What this browser kept of an earlier visit (the consent page's script reads it from
    # localStorage): proof for a returning participant whose recruiter session id changed.
    entry_data = replace(entry_data, resume_token=request.POST.get("resume_token", "")[:64])
    try:
        assignment = services.participant_enter(study=study, entry=entry_data)
    except DomainError as exc:
        return _refusal(request, study, exc)
    return redirect("crowd-worker", token=assignment.token)


@recruiter_frameable
def worker(request, token: str):
    try:
        assignment = selectors.assignment_get(token=token)
    except DomainError as exc:
        return _refusal(request, None, exc)
    response = render(
        request,
        "crowd/worker.html",
        {
            "assignment": assignment,
            "study": assignment.study,
            "config": {
                "api": f"/w/{token}/api/",
                "token": token,
                "resume_key": resume_key(assignment.study.slug),
            },
        },
    )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
