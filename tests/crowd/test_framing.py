"""Worker pages inside MTurk's cross-site frame, with no cookies (issue #13, items 1 and 2, at the
HTTP level): worker-facing pages may be framed by the recruiters' origins and nothing else; the
admin and the API stay unframeable; the whole entry works without any cookie, with CSRF checks
enforced, thanks to a signed entry token; researcher pages keep Django's CSRF protection."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from crowd.models import Response
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db

MTURK = "https://www.mturk.com https://workersandbox.mturk.com"


@pytest.fixture
def study(alice):
    return make_live_study(alice, trials=4, sentinels=1, needed=2)


def _mturk_link(study, assignment="A1", worker="W1") -> str:
    return (
        f"/s/{study.slug}/mturk/?assignmentId={assignment}&workerId={worker}&hitId=H1"
        "&turkSubmitTo=https%3A%2F%2Fworkersandbox.mturk.com"
    )


def _token(html: str) -> str:
    return re.search(r'name="entry_token" value="([^"]+)"', html).group(1)


def _frame_policy(response) -> tuple[str | None, str | None]:
    return response.get("X-Frame-Options"), response.get("Content-Security-Policy")


def test_worker_pages_are_frameable_by_mturk_only_and_work_without_cookies(study):
    browser = Client(enforce_csrf_checks=True)  # and it never sends a cookie back
    link = _mturk_link(study)
    page = browser.get(link)
    assert page.status_code == 200
    assert _frame_policy(page) == (None, f"frame-ancestors 'self' {MTURK}")
    browser.cookies.clear()
    entered = browser.post(link, {"consent": "yes", "entry_token": _token(page.content.decode())})
    assert entered.status_code == 302, entered.content
    worker_page = entered["Location"]
    browser.cookies.clear()
    shown = browser.get(worker_page)
    assert shown.status_code == 200
    assert _frame_policy(shown) == (None, f"frame-ancestors 'self' {MTURK}")
    token = worker_page.rstrip("/").rsplit("/", 1)[-1]
    trial = browser.get(f"/w/{token}/api/session").json()["trials"][0]
    answer = browser.post(
        f"/w/{token}/api/answers",
        {
            "client_uuid": str(uuid.uuid4()),
            "position": trial["position"],
            "answer": "left",
            "rt_ms": 800,
        },
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    assert Response.objects.count() == 1
    preview = browser.get(_mturk_link(study, assignment="ASSIGNMENT_ID_NOT_AVAILABLE"))
    assert _frame_policy(preview) == (None, f"frame-ancestors 'self' {MTURK}")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "not sent from the study&#x27;s consent page"),
        ("forged", "not sent from the study&#x27;s consent page"),
        ("other link", "belongs to another link"),
    ],
)
def test_a_consent_post_needs_the_entry_token_of_its_own_link(study, token, message):
    browser = Client(enforce_csrf_checks=True)
    link = _mturk_link(study)
    data = {"consent": "yes"}
    if token == "forged":
        data["entry_token"] = "eyJsaW5rIjoieCJ9:forged:signature"
    elif token == "other link":
        data["entry_token"] = _token(browser.get(_mturk_link(study, worker="W2")).content.decode())
    response = browser.post(link, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not study.participants.exists()


def test_the_admin_and_the_api_stay_unframeable(client, alice):
    client.force_login(alice)
    for url in ("/admin/", "/api/studies/", "/admin/login/"):
        response = client.get(url)
        assert response.get("X-Frame-Options") == "DENY", url
        assert "frame-ancestors" not in response.get("Content-Security-Policy", ""), url


def test_researcher_pages_keep_csrf_protection(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post("/api/studies/create/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    admin = browser.post("/admin/studies/study/add/", {"name": "x"})
    assert admin.status_code == 403
