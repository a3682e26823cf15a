"""The study page: its stepper (buttons call the API's services, with the API's messages), the
live-progress JSON, the distortion picker (saves exactly what was chosen) and the image set's
multi-file uploader (per-file results)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from studies import services
from studies.admin_pages import PAPER_TRADITIONAL
from studies.models import DistortionSpec, Study, StudyStatusChange
from tests.conftest import make_png

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _page(client, study):
    response = client.get(f"/admin/studies/study/{study.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_draft_page_shows_the_stepper_with_generate_as_next_action(client, alice, study):
    client.force_login(alice)
    html = _page(client, study)
    assert 'id="stepper"' in html
    for label in ("Design", "Generate", "Collect", "Freeze", "Fit / score", "Leaderboard"):
        assert label in html
    assert f'action="/admin/studies/study/{study.pk}/step/generate/"' in html
    assert f"/admin/studies/study/{study.pk}/distortions/" in html
    # The next action is the default (highlighted) button; later steps' buttons are absent.
    assert 'class="button default" name="step" value="generate"' in html
    assert 'value="go_live"' not in html and 'value="freeze"' not in html


def test_step_buttons_walk_a_study_to_a_frozen_dataset(
    client, alice, study, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/studies/study/{study.pk}/step/generate/")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/studies/study/{study.pk}/change/"
    study.refresh_from_db()
    assert study.status == "ready", study.error
    html = _page(client, study)
    assert 'class="button default" name="step" value="go_live"' in html
    assert "/admin/studies/trial/?study__id__exact=" in html

    client.post(f"/admin/studies/study/{study.pk}/step/go_live/")
    study.refresh_from_db()
    assert study.status == "live"
    html = _page(client, study)
    # Collection links (crowd's part) and the freeze button (analysis's part).
    assert f"/admin/crowd/studycollection/{study.pk}/progress/" in html
    assert "#worker-links" in html
    assert 'value="freeze"' in html and 'value="close"' in html

    # Freezing with no judgments: the service's refusal, shown as an error message.
    response = client.post(f"/admin/studies/study/{study.pk}/step/freeze/")
    assert _messages(response) == ["This study has no valid judgments to freeze yet."]
    assert not study.datasets.exists()
    response = client.post(f"/admin/studies/study/{study.pk}/step/close/")
    study.refresh_from_db()
    assert study.status == "closed"
    assert StudyStatusChange.objects.filter(study=study, note="study page").count() == 3


def test_step_refusal_has_the_api_message(client, api, alice, study):
    client.force_login(alice)
    response = client.post(f"/admin/studies/study/{study.pk}/step/go_live/")
    admin_message = _messages(response)
    api_response = api.as_user(alice).post(
        f"/api/studies/{study.pk}/transition/", {"status": "live"}, format="json"
    )
    assert api_response.status_code == 409
    assert admin_message == [api_response.json()["error"]["message"]]
    study.refresh_from_db()
    assert study.status == "draft"


def test_step_actions_deny_others_and_refuse_get(client, alice, charlie, study):
    client.force_login(charlie)
    assert client.post(f"/admin/studies/study/{study.pk}/step/generate/").status_code == 404
    assert client.get(f"/admin/studies/study/{study.pk}/steps/").status_code == 404
    assert client.get(f"/admin/studies/study/{study.pk}/distortions/").status_code == 404
    study.refresh_from_db()
    assert study.status == "draft"
    client.force_login(alice)
    assert client.get(f"/admin/studies/study/{study.pk}/step/generate/").status_code == 405
    response = client.post(f"/admin/studies/study/{study.pk}/step/nonsense/")
    assert _messages(response) == ["Unknown step action 'nonsense'."]


def test_steps_json_reports_generation_progress(client, alice, study):
    client.force_login(alice)
    Study.objects.filter(pk=study.pk).update(
        status="generating", generation_done=3, generation_total=8
    )
    data = client.get(f"/admin/studies/study/{study.pk}/steps/").json()
    assert data["status"] == "generating"
    assert data["jobs"] == [
        {"key": "generation", "label": "Trials generated", "done": 3, "total": 8}
    ]
    html = _page(client, Study.objects.get(pk=study.pk))
    assert 'data-job="generation"' in html and 'value="3"' in html
    Study.objects.filter(pk=study.pk).update(generation_done=8, status="ready")
    after = client.get(f"/admin/studies/study/{study.pk}/steps/").json()
    assert after["jobs"] == [] and after["signature"] != data["signature"]


def test_study_list_links_to_page_progress_and_datasets(client, alice, study):
    client.force_login(alice)
    html = client.get("/admin/studies/study/").content.decode()
    assert f"/admin/crowd/studycollection/{study.pk}/progress/" in html
    assert f"/admin/analysis/dataset/?study__id__exact={study.pk}" in html


# --- the distortion picker -------------------------------------------------------------------


def _picker_form(client, study, query: str = "") -> dict:
    """The picker's form as a browser would post it untouched (ticked boxes and all numbers)."""
    import re

    html = client.get(f"/admin/studies/study/{study.pk}/distortions/{query}").content.decode()
    form = {}
    for name in re.findall(r'name="(use-[a-z_]+)" checked', html):
        form[name] = "on"
    for name, value in re.findall(r'name="((?:min|max|weight)-[a-z_]+)" value="([^"]*)"', html):
        form[name] = value
    return form


def _specs(study):
    return sorted(
        DistortionSpec.objects.filter(study=study).values_list(
            "name", "category", "severity_min", "severity_max", "weight", "updated_at"
        )
    )


def test_picker_posted_unchanged_saves_nothing(client, alice, study):
    client.force_login(alice)
    before = _specs(study)
    form = _picker_form(client, study)
    assert {k for k in form if k.startswith("use-")} == {"use-gaussian_blur", "use-jpeg"}
    response = client.post(f"/admin/studies/study/{study.pk}/distortions/", form)
    assert response.status_code == 302
    assert _messages(response) == ["Nothing changed."]
    assert _specs(study) == before


def test_study_form_posted_unchanged_saves_no_distortion(client, alice, study):
    """The old inline's blank extra row came pre-filled ("bilateral filter") and was saved."""
    import re

    client.force_login(alice)
    html = _page(client, study)
    assert "distortion_specs-" not in html  # the picker replaced the inline
    before = _specs(study)
    form = {}
    for name, value in re.findall(
        r'<input type="(?:text|number|url|hidden)" name="([^"]+)" value="([^"]*)"', html
    ):
        form[name] = value
    for name in re.findall(r'<input type="checkbox" name="([^"]+)"[^>]* checked', html):
        form[name] = "on"
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option value="([^"]*)" selected', body)
        if selected:
            form[name] = selected.group(1)
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        form[name] = body.strip()
    form["collaborators"] = [str(u.pk) for u in study.collaborators.all()]
    response = client.post(f"/admin/studies/study/{study.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _specs(study) == before
    assert study.quotas.count() == 1


def test_picker_preset_ticks_without_saving_then_save_adds_exactly_those(client, alice, study):
    client.force_login(alice)
    response = client.get(f"/admin/studies/study/{study.pk}/distortions/?preset=paper-traditional")
    assert "ticked 20 distortion(s)" in " ".join(_messages(response))
    assert DistortionSpec.objects.filter(study=study).count() == 2  # nothing saved by a preset
    form = _picker_form(client, study)  # no preset in this GET: the saved choice again
    for name in PAPER_TRADITIONAL:
        form[f"use-{name}"] = "on"
    form["min-jpeg"] = "0.3"
    response = client.post(f"/admin/studies/study/{study.pk}/distortions/", form)
    assert _messages(response) == ["Distortions saved: 18 added, 1 changed, 0 removed."]
    specs = DistortionSpec.objects.filter(study=study)
    assert sorted(specs.values_list("name", flat=True)) == sorted(PAPER_TRADITIONAL)
    assert set(specs.values_list("category", flat=True)) == {"traditional"}
    assert specs.get(name="jpeg").severity_min == 0.3
    # Untick one: it is removed, nothing else changes.
    form = _picker_form(client, study)
    del form["use-contrast"]
    response = client.post(f"/admin/studies/study/{study.pk}/distortions/", form)
    assert _messages(response) == ["Distortions saved: 0 added, 0 changed, 1 removed."]
    assert not specs.filter(name="contrast").exists()


def test_picker_categories_and_samples_come_from_the_registry(client, alice, study):
    client.force_login(alice)
    html = client.get(f"/admin/studies/study/{study.pk}/distortions/?preset=real").content.decode()
    assert 'data-distortion="superres_bicubic"' in html
    assert html.count("data:image/png;base64,") >= 25  # reference + every model-free distortion
    assert "needs the networks trained for the study" in html  # cnn_autoencoder, colorize_net…
    form = _picker_form(client, study, "?preset=real")
    response = client.post(f"/admin/studies/study/{study.pk}/distortions/", form)
    assert "added" in _messages(response)[0]
    categories = dict(DistortionSpec.objects.filter(study=study).values_list("name", "category"))
    assert categories["superres_bicubic"] == "superres"
    assert categories["colorize_net"] == "color"
    assert categories["deblur_wiener"] == "deblur"
    assert categories["frameinterp_flow"] == "frameinterp"


def test_picker_bad_number_saves_nothing_and_says_which(client, alice, study):
    client.force_login(alice)
    form = _picker_form(client, study)
    form["use-contrast"] = "on"
    form["min-contrast"] = "0.1"
    form["max-jpeg"] = "abc"
    response = client.post(f"/admin/studies/study/{study.pk}/distortions/", form)
    assert _messages(response) == ["jpeg, highest severity: 'abc' is not a number."]
    assert not DistortionSpec.objects.filter(study=study, name="contrast").exists()
    form["max-jpeg"] = "1"
    form["min-contrast"] = "0.9"
    form["max-contrast"] = "0.2"
    response = client.post(f"/admin/studies/study/{study.pk}/distortions/", form)
    assert "min ≤ max" in _messages(response)[-1]
    assert not DistortionSpec.objects.filter(study=study, name="contrast").exists()


def test_picker_is_read_only_past_draft(client, alice, study, generate):
    generate(study)
    client.force_login(alice)
    html = client.get(f"/admin/studies/study/{study.pk}/distortions/").content.decode()
    assert "The design is frozen" in html and 'value="Save"' not in html
    response = client.post(f"/admin/studies/study/{study.pk}/distortions/", {"use-contrast": "on"})
    assert "only change while the study is a draft" in _messages(response)[0]
    assert not DistortionSpec.objects.filter(study=study, name="contrast").exists()


# --- the image set's uploader ----------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_uploader_reports_each_file(client, alice, image_set):
    client.force_login(alice)
    url = f"/admin/studies/imageset/{image_set.pk}/upload/"
    ok = client.post(
        url,
        {
            "file": SimpleUploadedFile(
                "two.zip", _zip({"a.png": make_png(seed=5), "b.png": make_png(seed=6)})
            )
        },
    )
    assert ok.status_code == 200
    assert ok.json() == {
        "file": "two.zip",
        "accepted": ["two.zip:a.png", "two.zip:b.png"],
        "duplicates": [],
        "error": "",
    }
    again = client.post(url, {"file": SimpleUploadedFile("one.png", make_png(128, 100, seed=1))})
    assert again.json()["duplicates"] == ["one.png"] and again.json()["accepted"] == []
    bad = client.post(url, {"file": SimpleUploadedFile("notes.txt", b"not an image")})
    assert bad.status_code == 400
    assert bad.json()["file"] == "notes.txt" and "notes.txt" in bad.json()["error"]
    assert image_set.images.count() == 3
    # No success banner is queued by the uploader's requests.
    page = client.get(f"/admin/studies/imageset/{image_set.pk}/change/")
    assert not [m for m in get_messages(page.wsgi_request) if m.level_tag == "success"]
    html = page.content.decode()
    assert html.count('class="pl-thumb"') == 3 and 'id="upload-files" multiple' in html


def test_uploader_denies_others(client, charlie, image_set):
    client.force_login(charlie)
    response = client.post(
        f"/admin/studies/imageset/{image_set.pk}/upload/",
        {"file": SimpleUploadedFile("x.png", make_png(seed=9))},
    )
    assert response.status_code == 404
    assert image_set.images.count() == 1


def test_image_set_add_goes_to_its_page(client, alice):
    client.force_login(alice)
    response = client.post(
        "/admin/studies/imageset/add/", {"name": "new set", "description": "", "min_side": 64}
    )
    assert response.status_code == 302
    created = services.image_set_create.__module__ and alice.image_sets.get(name="new set")
    assert response["Location"] == f"/admin/studies/imageset/{created.pk}/change/"


def test_workflow_refuses_an_unknown_step_and_marks_the_first_unfinished_step_current(alice, study):
    from studies import workflow

    with pytest.raises(ValueError, match="unknown step 'deploy'"):
        workflow.contribute("deploy", lambda **kw: None)
    states = {s.key: s.state for s in workflow.steps(study=study, user=alice)}
    assert states == {
        "design": "current",
        "generate": "todo",
        "live": "todo",
        "freeze": "todo",
        "analyse": "todo",
        "leaderboard": "todo",
    }


def test_generate_is_offered_only_when_the_design_can_be_generated(client, alice, image_set):
    """A draft without distortions says what is missing (the Generate service's own message)
    instead of offering a button that can only be refused."""
    study = services.study_create(owner=alice, name="empty design", image_set=image_set)
    client.force_login(alice)
    html = _page(client, study)
    assert "Before generating: Choose at least one distortion." in html
    assert 'value="generate"' not in html
    services.distortion_spec_add(study=study, name="jpeg", category="traditional")
    html = _page(client, study)
    assert "Before generating: No trial counts for 2afc trials" in html
    services.trial_quota_set(study=study, kind="2afc", split="val", category="traditional", count=2)
    html = _page(client, study)
    assert "Before generating" not in html and 'value="generate"' in html


def test_a_duel_study_page_shows_the_duel_design_not_the_distortion_picker(client, alice):
    from duels import services as duel_services
    from tests.duels.helpers import duel_image_set, small_design

    duel = duel_services.duel_study_create(
        owner=alice, name="L2 vs SSIM", image_set=duel_image_set(alice), **small_design()
    )
    study = duel.study
    client.force_login(alice)
    html = _page(client, study)
    assert "Trials designed by the duel generator" in html
    assert "Duel of l2, ssim by " in html
    assert f"/admin/duels/duelstudy/{duel.pk}/change/" in html
    assert f"/duels/{study.pk}/results/" in html
    assert "Choose distortions" not in html and ">Preview<" not in html
    assert f"/admin/studies/study/{study.pk}/distortions/" not in html  # families: the duel's
    assert "(set by the duel design)" in html
    assert 'value="generate"' in html  # its design is complete
    preview = client.get(f"/admin/studies/study/{study.pk}/preview/").content.decode()
    assert "designed by the duel generator" in preview
    assert "No trial counts" not in preview
