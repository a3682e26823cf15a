"""The whole MTurk round trip in Chromium (issue #13, "Checks: MTurk in a frame"): a stand-in MTurk
on another site (http://127.0.0.1:<port>, the live server being http://localhost:<port>) frames
the HIT and is also its `turkSubmitTo` host. Preview shows the task and creates nothing; a worker
accepts, does the whole assignment with the keyboard, and the stand-in receives the
`externalSubmit` form POST with the assignmentId of this acceptance; a HIT returned and accepted
again submits the new id; a foreign `turkSubmitTo` is refused.

The stand-in is plain http on a port, which MTurk's hosts never are: the test-only setting
`PERCEPTLAB_TURK_SUBMIT_TEST_ORIGINS` names its exact origin."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from crowd.models import Assignment, Participant, Response
from tests.e2e.conftest import SUBMITTED, VIEWPORT
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == []


def _link(live_server, study, assignment_id: str, submit_to: str) -> str:
    return (
        f"{live_server.url}/s/{study.slug}/mturk/?assignmentId={assignment_id}&workerId=W1"
        f"&hitId=H1&turkSubmitTo={quote(submit_to, safe='')}"
    )


def _press_button(where, name: str) -> None:
    """A one-button page answered with the keyboard: Enter on the (focused) button."""
    where.get_by_role("button", name=name, exact=True).press("Enter")


def _answer(where, key: str = "ArrowLeft") -> None:
    """One trial with the keyboard, once it takes answers; waits until it is taken."""
    stage = where.locator('.pl-trial[data-phase="respond"]').element_handle()
    where.locator("body").press(key)
    # This stage, not any: the next trial's stage may reach "respond" two frames later.
    stage.owner_frame().wait_for_function("s => s.dataset.phase !== 'respond'", arg=stage)


def _start(where, page, *, welcome_back: bool = False) -> None:
    """Consent (Enter on its button), instructions and the screen check, by keyboard."""
    where.locator("#consent-button").press("Enter")
    if welcome_back:
        where.get_by_role("heading", name="Welcome back").wait_for()
    _press_button(where, "Continue")
    where.get_by_role("heading", name="Screen check").wait_for()
    _press_button(where, "Continue")
    page.wait_for_load_state("networkidle")  # session and images loaded: the DB is quiet


def _finish(where, total: int, answered: int = 0) -> None:
    progress = where.locator("#jspsych-progressbar-container span")
    for position in range(answered, total):
        expect(progress).to_have_text(f"Trial {position + 1} of {total}")
        _answer(where, "ArrowLeft" if position % 2 else "ArrowRight")
    # The finish page sends the HIT to turkSubmitTo; the stand-in answers in the frame.
    where.get_by_text(SUBMITTED).wait_for(timeout=30_000)


def _worker_token(page) -> str:
    url = next(f.url for f in page.frames if "/w/" in f.url)
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_preview_then_accept_and_the_whole_hit_is_submitted_to_mturk(
    page, live_server, alice, mturk
):
    study = make_live_study(alice, kind="2afc", trials=4, sentinels=1, practice=0)
    link = _link(live_server, study, "ASSIGNMENT_ID_NOT_AVAILABLE", mturk.origin)
    page.goto(mturk.framing(link))
    hit = page.frame_locator("#hit")
    # Preview: the task is shown in the frame, and nothing is created.
    hit.get_by_role("heading", name=f"{study.name} (preview)").wait_for()
    expect(hit.get_by_text("Accept the HIT to start")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert Participant.objects.count() == 0
    assert Assignment.objects.count() == 0

    # The worker accepts: MTurk reloads the frame with an assignmentId.
    page.goto(mturk.framing(_link(live_server, study, "ASSIGN1", mturk.origin)))
    hit = page.frame_locator("#hit")
    _start(hit, page)
    assignment = Assignment.objects.get()
    _finish(hit, assignment.total)

    assert mturk.submissions == [{"assignmentId": ["ASSIGN1"]}]
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.COMPLETED
    assert Response.objects.filter(assignment=assignment).count() == assignment.total


@pytest.mark.parametrize("framed", [False, True], ids=["storage-kept", "frame-storage-blocked"])
def test_a_returned_and_reaccepted_hit_submits_the_new_assignment_id(
    page, live_server, alice, mturk, framed
):
    """The worker answers one trial, returns the HIT and accepts it again (a new assignmentId).
    Where the browser could keep the worker page's token (first-party storage: MTurk's "open in a
    new window"), the work resumes and its completion names the new id; inside the frame with
    third-party storage blocked, a new assignment starts (tests/e2e/test_resume_in_frame.py) and
    names the new id too. Never the old one."""
    study = make_live_study(
        alice, kind="2afc", trials=8, sentinels=1, practice=0, assignment_size=4
    )

    def open_hit(assignment_id: str):
        link = _link(live_server, study, assignment_id, mturk.origin)
        page.goto(mturk.framing(link) if framed else link)
        return page.frame_locator("#hit") if framed else page

    where = open_hit("ASSIGN1")
    _start(where, page)
    _answer(where)
    expect(where.locator("#jspsych-progressbar-container span")).to_have_text("Trial 2 of 4")
    page.wait_for_load_state("networkidle")
    first = _worker_token(page)

    where = open_hit("ASSIGN2")
    _start(where, page, welcome_back=not framed)
    second = _worker_token(page)
    assert (second == first) is (not framed)
    _finish(where, 4, answered=0 if framed else 1)

    assert mturk.submissions == [{"assignmentId": ["ASSIGN2"]}]
    done = Assignment.objects.get(token=second)
    assert (done.status, done.session_id) == (Assignment.Status.COMPLETED, "ASSIGN2")


def test_a_foreign_turk_submit_to_is_refused_in_the_frame(page, live_server, alice, mturk):
    study = make_live_study(alice, kind="2afc", trials=3, sentinels=1, practice=0)
    page.goto(mturk.framing(_link(live_server, study, "ASSIGN1", "https://evil.example")))
    hit = page.frame_locator("#hit")
    expect(hit.locator("#message")).to_contain_text("turkSubmitTo must be https://")
    expect(hit.locator("#consent-button")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    assert Participant.objects.count() == 0
    assert mturk.submissions == []
