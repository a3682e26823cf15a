"""Re-entry through a recruiter's link in a real browser (issue #12 defect 5): the worker page keeps
its assignment token in localStorage and the consent page sends it back, so the browser that
started the work resumes it with a new recruiter session id; a browser that cannot prove it
started the work is refused with the friendly page, also inside MTurk's cross-site frame."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crowd.models import Assignment, Response
from tests.e2e.conftest import VIEWPORT
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _first_answer(frame, page) -> None:
    """Consent, instructions, screen check and one keyboard answer (practice=0 studies)."""
    frame.locator("#consent-button").click()
    frame.get_by_role("button", name="Continue", exact=True).click()
    frame.get_by_role("heading", name="Screen check").wait_for()
    frame.get_by_role("button", name="Continue", exact=True).click()
    frame.locator('.pl-trial[data-phase="respond"]').wait_for()
    frame.locator("body").press("ArrowLeft")
    expect(frame.locator("#jspsych-progressbar-container span")).to_have_text(
        re.compile(r"^Trial 2 of \d+$")
    )
    page.wait_for_load_state("networkidle")


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_a_returning_prolific_participant_resumes_in_the_same_browser_only(
    browser, live_server, alice
):
    """Prolific gives a participant who returns their submission and takes the study again a new
    SESSION_ID: the browser that started the work resumes it (its worker page kept the token in
    localStorage, the consent page sends it back); another browser with the same PROLIFIC_PID is
    refused with the friendly page."""
    study = make_live_study(alice, kind="2afc", trials=3, sentinels=1, practice=0)

    def link(session: str) -> str:
        return (
            f"{live_server.url}/s/{study.slug}/?PROLIFIC_PID=PID1&STUDY_ID=S1&SESSION_ID={session}"
        )

    context, elsewhere = (
        browser.new_context(viewport=VIEWPORT),
        browser.new_context(viewport=VIEWPORT),
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(link("SESSION-1"))
        _first_answer(page, page)
        first = _token(page.url)
        page.goto(link("SESSION-2"))
        page.click("#consent-button")
        page.wait_for_url(f"**/w/{first}/")
        page.wait_for_load_state("networkidle")

        other = elsewhere.new_page()
        other.set_default_timeout(15_000)
        other.goto(link("SESSION-GUESSED"))
        other.click("#consent-button")
        other.get_by_role("heading", name="Already started elsewhere").wait_for()
        assert "/w/" not in other.url and first not in other.content()
    finally:
        context.close()
        elsewhere.close()
    assert errors == []
    assignment = Assignment.objects.get()
    assert (assignment.token, assignment.session_id) == (first, "SESSION-2")
    assert Response.objects.filter(assignment=assignment).count() == 1


def test_in_a_frame_without_storage_a_reaccepted_hit_starts_afresh(
    browser, live_server, alice, mturk
):
    """Inside MTurk's cross-site frame this Chromium denies third-party storage, as browsers that
    block third-party cookies do: the worker page keeps nothing, so a returned and re-accepted
    HIT (a new assignmentId) cannot prove it is the same worker's work in progress. It is not
    locked out: it starts a new assignment, and the old one is abandoned with its answers kept
    (never handed over, since anyone knowing the workerId could make up an acceptance)."""
    study = make_live_study(
        alice, kind="2afc", trials=8, sentinels=1, practice=0, assignment_size=4
    )

    def hit(assignment_id: str) -> str:
        link = (
            f"{live_server.url}/s/{study.slug}/mturk/?assignmentId={assignment_id}&workerId=W1"
            "&hitId=H1&turkSubmitTo=https%3A%2F%2Fworkersandbox.mturk.com"
        )
        return mturk.framing(link)

    def worker_url(page) -> str:
        return next(f.url for f in page.frames if "/w/" in f.url)

    context = browser.new_context(viewport=VIEWPORT)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(hit("ASSIGN1"))
        frame = page.frame_locator("#hit")
        _first_answer(frame, page)
        first = _token(worker_url(page))
        storage = next(f for f in page.frames if "/w/" in f.url).evaluate(
            "() => { try { return typeof window.localStorage; } catch (e) { return e.name; } }"
        )
        page.goto(hit("ASSIGN2"))
        page.frame_locator("#hit").locator("#consent-button").click()
        page.frame_locator("#hit").get_by_role("button", name="Continue", exact=True).wait_for()
        page.wait_for_load_state("networkidle")
        second = _token(worker_url(page))
    finally:
        context.close()
    assert storage == "SecurityError"  # what this test is about; see docs/worker-api.md
    assert errors == []
    assert second != first
    old, new = Assignment.objects.get(token=first), Assignment.objects.get(token=second)
    assert (old.status, old.session_id) == (Assignment.Status.EXPIRED, "ASSIGN1")
    assert Response.objects.filter(assignment=old).count() == 1
    assert (new.status, new.session_id) == (Assignment.Status.ACTIVE, "ASSIGN2")
