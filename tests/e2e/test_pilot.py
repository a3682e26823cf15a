"""Pilot mode in Chromium: a researcher opens it from the study's admin page by clicking, jsPsych
simulates the whole real timeline (`data-only` and `visual`), and nothing is stored or sent."""

from __future__ import annotations

import re

import pytest

from crowd.models import Assignment, Participant, Response
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


@pytest.mark.parametrize(
    ("kind", "mode", "link"),
    [
        ("2afc", "visual", "pilot (visual)"),
        ("2afc", "data-only", "pilot (data only)"),
        ("jnd", "data-only", "pilot (data only)"),
    ],
)
def test_a_pilot_runs_the_whole_timeline_from_the_admin_and_stores_nothing(
    page, live_server, alice, kind, mode, link
):
    study = make_live_study(
        alice, kind=kind, trials=4, sentinels=1, practice=2, assignment_size=5, break_every=2
    )
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")

    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}") if r.method != "GET" else None)
    page.get_by_role("link", name=link, exact=True).click()
    page.wait_for_url(re.compile(rf".*/pilot/\?mode={mode}$"))
    if mode == "visual":
        # The real pages go by: instructions, screen check, practice with feedback, trials.
        page.get_by_role("heading", name="Screen check").wait_for()
        page.locator('.pl-trial[data-phase="respond"]').first.wait_for()
    page.wait_for_selector("html[data-pilot=done]", timeout=90_000)

    summary = page.locator(".pl-pilot-summary")
    assert f"Pilot finished ({mode}): nothing was stored" in summary.inner_text()
    facts = dict(
        zip(
            page.locator(".pl-pilot-facts dt").all_inner_texts(),
            page.locator(".pl-pilot-facts dd").all_inner_texts(),
            strict=True,
        )
    )
    assert facts["Trials answered"] == "5 of 5"
    assert facts["Practice rounds"].startswith("2 (")
    # A trial-level on_load (the pilot adds one to every page) ran on every page, trials included.
    loaded, pages = re.fullmatch(r"(\d+) of (\d+)", facts["Pages whose on_load ran"]).groups()
    assert loaded == pages
    # intro, screen check, preload, practice intro, 2 practice, practice done, 5 trials,
    # 2 breaks (after trials 2 and 4), end
    assert int(pages) == 3 + 1 + 2 + 1 + 5 + 2 + 1
    rows = page.locator(".pl-pilot-data tr").all_inner_texts()[1:]
    answers = {"2afc": {"left", "right"}, "jnd": {"same", "different"}}[kind]
    assert len(rows) == 5
    assert all(row.split("\t")[2] in answers for row in rows)

    assert sent == []  # nothing POSTed (nor PUT, PATCH, DELETE), not even a beacon
    assert Participant.objects.count() == 0
    assert Assignment.objects.count() == 0
    assert Response.objects.count() == 0
