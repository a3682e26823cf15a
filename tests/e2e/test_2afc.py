"""A 2AFC assignment done with the keyboard, from the consent page to the completion code."""

from __future__ import annotations

import pytest

from crowd.models import Assignment, Response
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_2afc_assignment_is_completed_with_the_keyboard(worker, alice):
    study = make_live_study(alice, kind="2afc", trials=6, sentinels=1, practice=1, break_every=3)
    worker.enter(study)
    assignment = Assignment.objects.get(token=worker.token)
    total = assignment.total
    worker.start(practice_key="ArrowLeft")

    keys = {}
    for position in range(total):
        if position and position % 3 == 0:
            worker.page.get_by_role("heading", name="Break").wait_for()
            worker.click("Continue")
        assert worker.progress() == f"Trial {position + 1} of {total}"
        keys[position] = "ArrowLeft" if position % 2 else "ArrowRight"
        worker.answer(keys[position])

    code = worker.page.locator(".pl-code")
    code.wait_for()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.COMPLETED
    assert code.inner_text() == assignment.completion_code

    responses = {
        r.item.position: r
        for r in Response.objects.filter(assignment=assignment).select_related("item")
    }
    assert sorted(responses) == list(range(total))
    for position, response in responses.items():
        assert response.side == ("left" if keys[position] == "ArrowLeft" else "right")
        assert response.display == {
            "dpr": 1,
            "window": [1280, 800],
            "scale": 4,
            "css_px": 256,
            "device_px": 256,
            "exact": True,
        }
        assert set(response.timing) == {"on", "response"}
        assert response.timing["response"] > response.timing["on"]
        assert abs(response.rt_ms - (response.timing["response"] - response.timing["on"])) <= 1
    assert worker.outbox() == []
