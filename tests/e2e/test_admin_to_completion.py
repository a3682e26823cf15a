"""End to end: a study made in the admin is generated, goes live, and is completed by a simulated
participant over HTTP and by a person in Chromium (keyboard), on real generated stimuli."""

from __future__ import annotations

import pytest

from crowd.models import Assignment, Participant, Response
from experiments.observers import Observer, run_participant
from studies.models import Study, Trial

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STUDY_FORM = {
    "name": "Admin-made study",
    "slug": "admin-made",
    "kind": "2afc",
    "seed": 7,
    "patch_size": 64,
    "display_scale": 4,
    "judgments_train": 2,
    "judgments_val": 2,
    "judgments_jnd": 3,
    "assignment_size": 6,
    "sentinel_rate": 0.2,
    "jnd_first_ms": 1000,
    "jnd_gap_ms": 250,
    "jnd_second_ms": 1000,
    "instructions": "Hello",
    "jnd_identical_share": 0.0,
    "break_every": 0,
    "max_assignments_per_participant": 1,
    "lease_minutes": 45,
    "completion_url": "",
    "completion_code": "DONE1234",
    "completion_code_failed": "FAIL1234",
    "qc_min_sentinel_accuracy": 0.5,
    "qc_rt_floor_ms": 0,
    "qc_max_fast_share": 1.0,
    "qc_max_side_bias": 1.0,
    "quotas-TOTAL_FORMS": 1,
    "quotas-INITIAL_FORMS": 0,
    "quotas-0-kind": "2afc",
    "quotas-0-split": "val",
    "quotas-0-category": "traditional",
    "quotas-0-count": 5,
}


def test_admin_study_generated_live_and_completed_by_a_bot_and_a_person(
    client, alice, image_set, worker, live_server
):
    client.force_login(alice)
    response = client.post("/admin/studies/study/add/", {**STUDY_FORM, "image_set": image_set.pk})
    assert response.status_code == 302, response.content.decode()[:3000]
    study = Study.objects.get(slug="admin-made")
    # The distortion picker (one checkbox and severity range per registry distortion).
    response = client.post(
        f"/admin/studies/study/{study.pk}/distortions/",
        {
            **{f"use-{n}": "on" for n in ("gaussian_blur", "jpeg")},
            **{f"min-{n}": 0.2 for n in ("gaussian_blur", "jpeg")},
            **{f"max-{n}": 1.0 for n in ("gaussian_blur", "jpeg")},
        },
    )
    assert response.status_code == 302
    assert study.distortion_specs.count() == 2
    # Admin actions; generation runs in the (eager) stimuli task once the transition commits.
    client.post(
        "/admin/studies/study/",
        {"action": "transition_to_generating", "_selected_action": [study.pk]},
    )
    study.refresh_from_db()
    assert study.status == "ready", study.generation_error
    client.post(
        "/admin/studies/study/", {"action": "transition_to_live", "_selected_action": [study.pk]}
    )
    study.refresh_from_db()
    assert study.status == "live"
    assert Trial.objects.filter(study=study, is_practice=False, is_sentinel=False).count() == 5

    bot = run_participant(live_server.url, study.slug, "bot-1", Observer(seed=3, lapse=0.0))
    assert bot.completion["outcome"] == "ok"

    worker.enter(study, prolific_pid="person-1")
    assignment = Assignment.objects.get(token=worker.token)
    worker.click("Continue")
    worker.page.get_by_role("heading", name="Screen check").wait_for()
    worker.click("Continue")
    worker.click("Start practice")
    for _ in range(3):  # the generated study has 3 obvious practice trials
        worker.answer("ArrowLeft")
    worker.click("Start")
    for _ in range(assignment.total):
        worker.answer("ArrowLeft")
    worker.page.locator(".pl-code").wait_for()
    assignment.refresh_from_db()
    assert assignment.status == "completed"
    assert Response.objects.filter(assignment=assignment).count() == assignment.total
    assert set(Participant.objects.filter(study=study).values_list("external_id", flat=True)) == {
        "bot-1",
        "person-1",
    }
