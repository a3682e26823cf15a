"""Keyboard and devices (#13 item 8): a whole assignment done with Enter, Space and the answer
keys only, the focused button always showing a visible focus ring; a phone opening a desktop-only
study is told so, kindly, before consent (and axe-core finds nothing serious on that page)."""

from __future__ import annotations

import pytest

from crowd.models import Assignment, Participant
from tests.e2e.test_worker_screens import AXE
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el.tagName !== 'BUTTON') return null;
  const style = getComputedStyle(el);
  return {text: el.textContent, visible: el.matches(':focus-visible'),
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def test_an_assignment_is_done_with_enter_space_and_answer_keys_only(worker, alice):
    study = make_live_study(
        alice, kind="2afc", trials=2, sentinels=0, practice=1, assignment_size=2, break_every=1
    )
    page = worker.page
    page.goto(f"{worker.base_url}/s/{study.slug}/")
    page.keyboard.press("Tab")  # the consent button is the page's only control
    page.keyboard.press("Enter")
    page.wait_for_url("**/w/*/")
    worker.token = page.url.rstrip("/").rsplit("/", 1)[-1]

    def activate(name: str, key: str) -> None:
        page.get_by_role("button", name=name, exact=True).wait_for()
        page.wait_for_function(f"document.activeElement?.textContent === {name!r}")
        ring = page.evaluate(FOCUS_RING)
        assert ring["visible"] and ring["outline"] == "solid" and ring["width"] >= 2, ring
        page.keyboard.press(key)

    activate("Continue", "Enter")  # instructions
    page.get_by_role("heading", name="Screen check").wait_for()
    activate("Continue", "Space")
    activate("Start practice", "Enter")
    worker.answer("ArrowLeft")
    activate("Start", "Space")
    worker.answer("ArrowRight")
    page.get_by_role("heading", name="Break").wait_for()
    activate("Continue", "Enter")
    worker.answer("ArrowLeft")
    page.locator(".pl-code").wait_for()
    assignment = Assignment.objects.get(token=worker.token)
    assert assignment.status == Assignment.Status.COMPLETED
    assert sorted(r.side for r in assignment.responses.all()) == ["left", "right"]


def test_a_phone_is_kindly_refused_before_consent_by_a_desktop_only_study(
    browser, live_server, alice
):
    study = make_live_study(alice, trials=2, sentinels=0, desktop_only=True)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        user_agent=(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Mobile Safari/537.36"
        ),
    )
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{study.slug}/")
        page.get_by_role("heading", name="Please use a computer").wait_for()
        assert page.locator("#consent-button").count() == 0
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []
        assert not Participant.objects.exists()
    finally:
        context.close()
