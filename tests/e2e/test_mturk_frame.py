"""A worker takes a HIT inside a cross-site frame, as on MTurk (issue #13 items 1-2, browser
level): a stand-in recruiter page on another site (http://127.0.0.1:<port>) frames the entry link
on the live server (http://localhost:<port>); the consent, the worker app and the answers work
inside the frame, no request of the worker path carries a cookie, and the answers are stored."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crowd.models import Assignment, Response
from tests.e2e.conftest import VIEWPORT
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_hit_is_taken_inside_a_cross_site_frame_without_cookies(
    browser, live_server, alice, mturk
):
    study = make_live_study(alice, kind="2afc", trials=3, sentinels=1, practice=0)
    link = (
        f"{live_server.url}/s/{study.slug}/mturk/?assignmentId=ASSIGN1&workerId=W1&hitId=H1"
        "&turkSubmitTo=https%3A%2F%2Fworkersandbox.mturk.com"
    )
    cookies_sent = []
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)

        def record(request):
            if request.url.startswith(live_server.url):
                cookie = request.all_headers().get("cookie")
                if cookie:
                    cookies_sent.append((request.method, request.url, cookie))

        page.on("request", record)
        page.goto(mturk.framing(link))
        hit = page.frame_locator("#hit")
        hit.locator("#consent-button").click()
        hit.get_by_role("button", name="Continue", exact=True).click()
        hit.get_by_role("heading", name="Screen check").wait_for()
        hit.get_by_role("button", name="Continue", exact=True).click()
        progress = hit.locator("#jspsych-progressbar-container span")
        for position in range(3):  # trials answered with the keyboard inside the frame
            expect(progress).to_have_text(re.compile(rf"^Trial {position + 1} of \d+$"))
            hit.locator('.pl-trial[data-phase="respond"]').wait_for()
            hit.locator("body").press("ArrowLeft")
        expect(progress).to_have_text(re.compile(r"^Trial 4 of \d+$"))
        page.wait_for_load_state("networkidle")
        assignment = Assignment.objects.get(participant__external_id="W1")
    finally:
        context.close()
    assert assignment.session_id == "ASSIGN1"
    assert Response.objects.filter(assignment=assignment).count() >= 3
    assert cookies_sent == [], cookies_sent
