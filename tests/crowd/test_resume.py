"""Knowing a recruiter id alone does not open someone's assignment (issue #12, defect 5), at the
HTTP level: a second browser that knows a participant's PROLIFIC_PID or MTurk workerId is refused
with a friendly page that reveals no token and no progress, and nothing is written; the real
participant resumes in another browser with the recruiter's per-session id (Prolific SESSION_ID,
MTurk assignmentId), and in the same browser with the token its worker page kept (a returned and
re-accepted HIT, whose assignmentId is new)."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote

import pytest
from django.test import Client

from crowd.models import Assignment, Participant, Response
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


class Browser:
    """A test client that behaves as the worker's browser with our scripts: the worker page
    keeps its token in localStorage under the key its configuration names, and the consent form
    sends back what is stored under the key the consent page names. No cookies are needed."""

    def __init__(self):
        self.client = Client(enforce_csrf_checks=True)
        self.local_storage: dict[str, str] = {}

    def enter(self, link: str):
        page = self.client.get(link)
        if page.status_code != 200:
            return page
        html = page.content.decode()
        token = re.search(r'name="entry_token" value="([^"]+)"', html).group(1)
        key = json.loads(_script(html, "pl-resume-key"))
        data = {"consent": "yes", "entry_token": token}
        data["resume_token"] = self.local_storage.get(key, "")  # as the consent page's script
        entered = self.client.post(link, data)
        if entered.status_code == 302:
            self.open(entered["Location"])
        return entered

    def open(self, worker_page: str):
        page = self.client.get(worker_page)
        assert page.status_code == 200
        config = json.loads(_script(page.content.decode(), "pl-config"))
        self.local_storage[config["resume_key"]] = config["token"]  # as remember.js
        return page


def _script(html: str, element_id: str) -> str:
    return re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html
    ).group(1)


def _token(response) -> str:
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def _prolific(study, pid="5f1e0c", session="SESSION-1") -> str:
    return f"/s/{study.slug}/?PROLIFIC_PID={pid}&STUDY_ID=S1" + (
        f"&SESSION_ID={session}" if session else ""
    )


def _mturk(study, assignment="ASSIGN-A", worker="A1WORKER", host="https://www.mturk.com") -> str:
    return (
        f"/s/{study.slug}/mturk/?assignmentId={assignment}&workerId={worker}&hitId=H1"
        f"&turkSubmitTo={quote(host, safe='')}"
    )


@pytest.fixture
def study(alice):
    return make_live_study(alice, trials=4, sentinels=1, needed=3)


@pytest.fixture
def roomy_study(alice):
    """Room for a participant's second assignment (never the trials they have seen)."""
    return make_live_study(alice, trials=12, sentinels=1, needed=3, assignment_size=5)


def _answer_first(client: Client, token: str) -> None:
    trial = client.get(f"/w/{token}/api/session").json()["trials"][0]
    answered = client.post(
        f"/w/{token}/api/answers",
        {
            "client_uuid": str(uuid.uuid4()),
            "position": trial["position"],
            "answer": "left",
            "rt_ms": 800,
        },
        content_type="application/json",
    )
    assert answered.status_code == 201


@pytest.mark.parametrize(
    ("victim_link", "attacker_link"),
    [
        pytest.param(_prolific, lambda s: _prolific(s, session=""), id="prolific-pid-only"),
        pytest.param(
            _prolific, lambda s: _prolific(s, session="GUESSED"), id="prolific-other-session"
        ),
    ],
)
def test_a_recruiter_id_alone_does_not_open_someones_assignment(study, victim_link, attacker_link):
    victim = Browser()
    entered = victim.enter(victim_link(study))
    assert entered.status_code == 302
    token = _token(entered)
    _answer_first(victim.client, token)
    before = list(Assignment.objects.values_list("pk", "session_id", "turk_submit_to", "answered"))

    attacker = Browser()
    refused = attacker.enter(attacker_link(study))
    assert refused.status_code == 403
    assert "Location" not in refused
    page = refused.content.decode()
    assert "Already started elsewhere" in page
    assert "in the browser where it was started" in page
    assert token not in page and "/w/" not in page
    assert "1 of" not in page and "answered" not in page  # no progress shown
    # Nothing written: no new assignment, and the victim's session id and submit host are theirs.
    assert list(
        Assignment.objects.values_list("pk", "session_id", "turk_submit_to", "answered")
    ) == (before)
    assert Participant.objects.count() == 1
    assert Response.objects.count() == 1


def test_another_participants_kept_token_proves_nothing(study):
    victim, attacker = Browser(), Browser()
    assert victim.enter(_prolific(study, pid="VICTIM", session="S-V")).status_code == 302
    assert attacker.enter(_prolific(study, pid="ATTACKER", session="S-A")).status_code == 302
    # The attacker's browser holds a real token, of the attacker's own assignment.
    refused = attacker.enter(_prolific(study, pid="VICTIM", session=""))
    assert refused.status_code == 403
    assert Assignment.objects.count() == 2


def test_a_participant_who_switches_browser_resumes_with_their_session_id(study):
    first = Browser().enter(_prolific(study))
    _answer_first(Client(), _token(first))
    second = Browser()
    again = second.enter(_prolific(study))  # a new browser: nothing stored, same SESSION_ID
    assert again.status_code == 302
    assert _token(again) == _token(first)
    progress = second.client.get(f"/w/{_token(again)}/api/session").json()["progress"]
    assert progress["answered"] == 1


def test_an_mturk_worker_id_with_another_acceptance_starts_afresh_and_sees_nothing(roomy_study):
    """MTurk gives every acceptance its own assignmentId; someone who knows a workerId and makes
    up an acceptance gets a fresh assignment of their own, never the one in progress (which is
    abandoned: its answers stay, its open trials go back to the pool)."""
    victim = Browser()
    token = _token(victim.enter(_mturk(roomy_study, assignment="ASSIGN-A")))
    _answer_first(victim.client, token)
    attacker = Browser()
    entered = attacker.enter(_mturk(roomy_study, assignment="MADE-UP"))
    assert entered.status_code == 302
    theirs = _token(entered)
    assert theirs != token
    page = attacker.client.get(f"/w/{theirs}/")
    assert token not in page.content.decode()
    assert attacker.client.get(f"/w/{theirs}/api/session").json()["progress"]["answered"] == 0
    victims = Assignment.objects.get(token=token)
    assert (victims.status, victims.answered, victims.session_id) == (
        Assignment.Status.EXPIRED,
        1,
        "ASSIGN-A",
    )
    assert Response.objects.get().assignment == victims  # the answer given stays


def test_a_returned_and_reaccepted_hit_resumes_in_the_same_browser(study):
    browser = Browser()
    first = browser.enter(_mturk(study, assignment="ASSIGN-A"))
    _answer_first(browser.client, _token(first))
    # The worker returns the HIT and accepts it again: MTurk gives a new assignmentId.
    again = browser.enter(
        _mturk(study, assignment="ASSIGN-B", host="https://workersandbox.mturk.com")
    )
    assert again.status_code == 302 and _token(again) == _token(first)
    assignment = Assignment.objects.get()
    assert (assignment.session_id, assignment.turk_submit_to, assignment.answered) == (
        "ASSIGN-B",
        "https://workersandbox.mturk.com",
        1,
    )
    # The same acceptance opened in another browser continues it too.
    assert _token(Browser().enter(_mturk(study, assignment="ASSIGN-B"))) == _token(first)


def test_a_reaccepted_hit_in_a_browser_that_kept_nothing_starts_afresh(roomy_study):
    """Inside MTurk's frame with third-party storage blocked the worker page keeps nothing: a
    re-accepted HIT cannot be told from someone else's acceptance, so it starts a new assignment
    (the worker is not locked out; the work they had done stays stored)."""
    first = _token(Browser().enter(_mturk(roomy_study, assignment="ASSIGN-A")))
    again = Browser().enter(_mturk(roomy_study, assignment="ASSIGN-B"))
    assert again.status_code == 302 and _token(again) != first
    assert Assignment.objects.get(token=first).status == Assignment.Status.EXPIRED
    assert Assignment.objects.get(token=_token(again)).session_id == "ASSIGN-B"


def test_a_returning_participant_with_a_completed_assignment_needs_proof_too(alice):
    study = make_live_study(
        alice, trials=8, sentinels=1, needed=3, assignment_size=4, max_assignments_per_participant=2
    )
    browser = Browser()
    token = _token(browser.enter(_prolific(study, session="S-1")))
    assignment = Assignment.objects.get(token=token)
    assignment.status = Assignment.Status.COMPLETED
    assignment.save(update_fields=["status"])
    # Someone else, with the id and a session id of their own, cannot start work in their name.
    assert Browser().enter(_prolific(study, session="S-OTHER")).status_code == 403
    # The participant's own next Prolific session, in the browser they used, is a new assignment.
    second = browser.enter(_prolific(study, session="S-2"))
    assert second.status_code == 302 and _token(second) != token
    assert Assignment.objects.filter(participant__external_id="5f1e0c").count() == 2


def test_the_worker_page_and_session_reveal_no_recruiter_id(study):
    browser = Browser()
    token = _token(browser.enter(_prolific(study, pid="PID-SECRET", session="SESSION-SECRET")))
    page = browser.client.get(f"/w/{token}/")
    session = browser.client.get(f"/w/{token}/api/session")
    for response in (page, session):
        body = response.content.decode()
        assert "PID-SECRET" not in body and "SESSION-SECRET" not in body
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] == "no-referrer"
    assert Client().get("/w/not-a-token/api/session").status_code == 404
