"""Recruiters' links as they really arrive (issue #13, items 3-5): a worker who returns a HIT and
accepts it again submits the new assignmentId; only MTurk's own hosts are accepted as
turkSubmitTo; a Prolific template link whose placeholders were never filled is refused."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest
from django.test import Client

from crowd import services
from crowd.models import Assignment, Participant
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(alice):
    return make_live_study(alice, trials=4, sentinels=1, needed=2)


def _mturk(study, assignment: str, submit: str = "https://workersandbox.mturk.com") -> str:
    return (
        f"/s/{study.slug}/mturk/?assignmentId={assignment}&workerId=W7&hitId=H1"
        f"&turkSubmitTo={quote(submit, safe='')}"
    )


def _enter(browser: Client, link: str, resume_token: str = ""):
    page = browser.get(link)
    if page.status_code != 200:
        return page
    token = re.search(r'name="entry_token" value="([^"]+)"', page.content.decode()).group(1)
    return browser.post(
        link, {"consent": "yes", "entry_token": token, "resume_token": resume_token}
    )


def test_a_returned_and_reaccepted_hit_submits_the_new_assignment_id(study):
    browser = Client()
    first = _enter(browser, _mturk(study, "ASSIGN-A"))
    # The consent page sends back the token the worker page kept in this browser (a new
    # assignmentId alone proves nothing: tests/crowd/test_resume.py).
    kept = first["Location"].rstrip("/").rsplit("/", 1)[-1]
    again = _enter(browser, _mturk(study, "ASSIGN-B", "https://www.mturk.com"), kept)
    assert first["Location"] == again["Location"]  # the same work resumes
    token = again["Location"].rstrip("/").rsplit("/", 1)[-1]
    assignment = Assignment.objects.get(token=token)
    assert (assignment.session_id, assignment.turk_submit_to) == (
        "ASSIGN-B",
        "https://www.mturk.com",
    )
    completion = browser.get(f"/w/{token}/api/session").json()
    assert "ASSIGN-A" not in str(completion)


@pytest.mark.parametrize(
    "submit",
    [
        "https://evil.example",
        "https://www.mturk.com.evil.example",
        "https://www.mturk.com@evil.example",
        "https://www.mturk.com:8443",
        "https://www.mturk.com/mturk/elsewhere",
        "https://workersandbox.mturk.com/?next=https://evil.example",
        "http://www.mturk.com",
        "https://www.mturk.com#x",
        "javascript:alert(1)",
    ],
)
def test_a_foreign_turk_submit_to_is_refused_before_consent(study, submit):
    page = Client().get(_mturk(study, "ASSIGN-C", submit))
    assert page.status_code == 400
    assert "turkSubmitTo must be https://www.mturk.com or https://workersandbox.mturk.com" in (
        page.content.decode()
    )
    assert not Participant.objects.exists()


def test_more_submit_hosts_come_from_a_setting(study, settings):
    settings.PERCEPTLAB_TURK_SUBMIT_HOSTS = [*settings.PERCEPTLAB_TURK_SUBMIT_HOSTS, "localhost"]
    assert _enter(Client(), _mturk(study, "ASSIGN-D", "https://localhost")).status_code == 302


@pytest.mark.parametrize(
    ("submit", "accepted"),
    [
        ("http://127.0.0.1:8123", True),
        ("http://127.0.0.1:8123/", True),
        ("http://127.0.0.1:8124", False),  # another port
        ("https://127.0.0.1:8123", False),  # another scheme
        ("http://127.0.0.1", False),
        ("http://127.0.0.1:8123/mturk/elsewhere", False),
        ("http://x@127.0.0.1:8123", False),
    ],
)
def test_a_test_origin_is_accepted_exactly_as_listed(study, settings, submit, accepted):
    """Browser tests' stand-in MTurk is a local http server: the test-only setting names its
    exact origin (scheme, host and port); nothing else about the rule changes."""
    settings.PERCEPTLAB_TURK_SUBMIT_TEST_ORIGINS = ["http://127.0.0.1:8123"]
    page = _enter(Client(), _mturk(study, "ASSIGN-T", submit))
    assert page.status_code == (302 if accepted else 400)
    assert Participant.objects.exists() is accepted


def test_no_test_origin_is_accepted_by_default(study, settings):
    assert settings.PERCEPTLAB_TURK_SUBMIT_TEST_ORIGINS == []
    assert _enter(Client(), _mturk(study, "ASSIGN-U", "http://127.0.0.1:8123")).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}",
        "PROLIFIC_PID=5f1e&STUDY_ID=S1&SESSION_ID={{%SESSION_ID%}}",
    ],
)
def test_an_unfilled_prolific_template_link_is_refused(study, query):
    page = Client().get(f"/s/{study.slug}/?" + query.replace("{", "%7B").replace("}", "%7D"))
    assert page.status_code == 400
    assert "placeholders" in page.content.decode()
    assert not Participant.objects.exists()


def _complete(browser: Client, link: str, *, exclude: bool) -> dict:
    """Enters by `link`, answers every trial, optionally has the researcher exclude the
    participant first, and returns the body of POST complete."""
    token = _enter(browser, link)["Location"].rstrip("/").rsplit("/", 1)[-1]
    # A careful worker: always the faintly distorted image p0 (right on sentinels, and
    # consistent on the repeated trial, which is shown mirrored).
    for item in Assignment.objects.get(token=token).items.all():
        answer = {
            "client_uuid": str(uuid.uuid4()),
            "position": item.position,
            "answer": "right" if item.swapped else "left",
            "rt_ms": 900,
        }
        assert (
            browser.post(f"/w/{token}/api/answers", answer, "application/json").status_code == 201
        )
    if exclude:
        participant = Assignment.objects.get(token=token).participant
        services.participant_set_excluded(participant=participant, excluded=True)
    done = browser.post(f"/w/{token}/api/complete")
    assert done.status_code == 200, done.content
    assert browser.get(f"/w/{token}/api/session").json()["completion"] == done.json()
    return done.json()


@pytest.mark.parametrize("exclude", [False, True], ids=["ok", "failed_qc"])
def test_only_a_prolific_entry_is_redirected_with_the_code_of_its_outcome(alice, exclude):
    study = make_live_study(
        alice,
        trials=4,
        sentinels=1,
        needed=3,  # three workers below
        completion_url="https://app.prolific.com/submissions/complete?cc={code}",
        completion_code="OKCODE01",
        completion_code_failed="QCFAIL01",
    )
    code = "QCFAIL01" if exclude else "OKCODE01"
    outcome = "failed_qc" if exclude else "ok"

    prolific = _complete(
        Client(), f"/s/{study.slug}/?PROLIFIC_PID=5f1e&STUDY_ID=S1&SESSION_ID=X1", exclude=exclude
    )
    assert (prolific["outcome"], prolific["completion_code"]) == (outcome, code)
    assert prolific["redirect_url"] == f"https://app.prolific.com/submissions/complete?cc={code}"

    # A plain link (someone sent the study page's link directly) is not a Prolific entry: it
    # must not be sent to Prolific's completion page, it is shown its code.
    plain = _complete(Client(), f"/s/{study.slug}/", exclude=exclude)
    assert (plain["outcome"], plain["completion_code"], plain["redirect_url"]) == (
        outcome,
        code,
        None,
    )

    mturk = _complete(Client(), _mturk(study, "ASSIGN-E"), exclude=exclude)
    assert (mturk["completion_code"], mturk["redirect_url"]) == (code, None)
    assert mturk["mturk"]["assignment_id"] == "ASSIGN-E"
