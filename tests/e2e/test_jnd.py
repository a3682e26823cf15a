"""A JND assignment: answers by keyboard, and each patch on screen for its duration ± one frame."""

from __future__ import annotations

import pytest

from crowd.models import Assignment, Response
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# One frame at 60 Hz. Each interval below is the difference of two frame timestamps, so it is a
# whole number of frame periods; the presentation code picks the number nearest the target, and a
# late (dropped) frame can add at most this much. Anything beyond is a real timing error.
ONE_FRAME_MS = 1000 / 60 + 0.5  # + the timestamps' own resolution and rounding


def test_a_jnd_assignment_shows_each_patch_for_its_duration(worker, alice):
    study = make_live_study(alice, kind="jnd", trials=4, sentinels=1, practice=1, assignment_size=5)
    worker.enter(study)
    assignment = Assignment.objects.get(token=worker.token)
    worker.start(practice_key="d")
    keys = ["s" if position % 2 else "d" for position in range(assignment.total)]
    for key in keys:
        worker.answer(key)
    worker.page.locator(".pl-code").wait_for()

    responses = list(
        Response.objects.filter(assignment=assignment)
        .select_related("item")
        .order_by("item__position")
    )
    assert [r.item.position for r in responses] == list(range(assignment.total))
    assert [r.side for r in responses] == ["same" if k == "s" else "different" for k in keys]
    for response in responses:
        t = response.timing
        frame = t["frame_ms"]
        assert abs(frame - 1000 / 60) < 2, (
            f"headless Chromium should run at 60 Hz, measured {frame} ms"
        )
        shown = {
            "first": t["first_off"] - t["first_on"],
            "gap": t["second_on"] - t["first_off"],
            "second": t["second_off"] - t["second_on"],
        }
        print(shown)
        for name, target in (("first", 1000), ("gap", 250), ("second", 1000)):
            assert abs(shown[name] - target) <= ONE_FRAME_MS, (
                f"{name} lasted {shown[name]:.1f} ms, not {target}"
            )
        assert t["response"] > t["second_off"]
        assert abs(response.rt_ms - (t["response"] - t["second_off"])) <= 1
