"""The duel study admin: the add form calls the same service as the API (same checks, same
messages, nothing stored on a refusal), the change page links the study and the results, and the
actions move the study through its lifecycle with the study services."""

from __future__ import annotations

import pytest

from duels.models import DuelStudy
from studies.models import Study
from tests.duels.helpers import duel_image_set

pytestmark = pytest.mark.django_db

ADD = "/admin/duels/duelstudy/add/"


def _form(image_set, **overrides):
    form = {
        "name": "Admin duel",
        "image_set": image_set.pk,
        "metric_list": "l2, ssim",
        "distortion_list": "gaussian_blur 0.1 1\ngaussian_white_noise",
        "method": "selection",
        "levels": 2,
        "pairs_per_level": 2,
        "tolerance": 0.1,
        "severity_steps": 8,
        "patches_per_image": 2,
        "synthesis_steps": 50,
        "judgments_val": 2,
        "sentinel_rate": 0.1,
        "patch_size": 32,
    }
    form.update(overrides)
    return form


def test_the_add_form_creates_a_duel_study(client, alice):
    photos = duel_image_set(alice)
    client.force_login(alice)
    response = client.post(ADD, _form(photos))
    assert response.status_code == 302, response.content.decode()[:2000]
    duel = DuelStudy.objects.get()
    assert duel.metrics == ["l2", "ssim"] and duel.study.owner == alice
    specs = list(duel.study.distortion_specs.order_by("id").values_list("name", "severity_min"))
    assert specs == [("gaussian_blur", 0.1), ("gaussian_white_noise", 0.0)]
    page = client.get(f"/admin/duels/duelstudy/{duel.pk}/change/").content.decode()
    assert f"/duels/{duel.study_id}/results/" in page
    assert f"/admin/studies/study/{duel.study_id}/change/" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"metric_list": "l2"}, "at least two metrics"),
        ({"metric_list": "l2, fsim", "method": "synthesis"}, "fsim is not differentiable"),
        ({"distortion_list": "no_such_blur"}, "Unknown distortion"),
    ],
)
def test_the_add_form_shows_the_services_message_and_stores_nothing(
    client, alice, overrides, message
):
    photos = duel_image_set(alice)
    client.force_login(alice)
    response = client.post(ADD, _form(photos, **overrides), follow=True)
    assert message in response.content.decode()
    assert not DuelStudy.objects.exists() and not Study.objects.exists()


def test_the_generate_action_runs_the_study_generation(
    client, alice, django_capture_on_commit_callbacks
):
    photos = duel_image_set(alice)
    client.force_login(alice)
    client.post(ADD, _form(photos))
    duel = DuelStudy.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/duels/duelstudy/",
            {"action": "generate", "_selected_action": [duel.pk]},
        )
    duel.study.refresh_from_db()
    assert duel.study.status == Study.Status.READY, duel.study.error
    assert client.get(f"/duels/{duel.study_id}/results/").status_code == 200
