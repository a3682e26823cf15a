"""Admin changelists and change pages: researchers see only what they own or collaborate on."""

import pytest

from studies import services

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    "studies": "/admin/studies/study/",
    "image sets": "/admin/studies/imageset/",
    "images": "/admin/studies/referenceimage/",
}


@pytest.fixture
def objects(alice, bob, study, image_set):
    return {"study": study, "image_set": image_set, "image": image_set.images.first()}


def _names(response):
    return response.content.decode()


@pytest.mark.parametrize("persona", ["alice", "bob"])
@pytest.mark.parametrize("page", sorted(CHANGELISTS))
def test_owner_and_collaborator_see_the_objects(client, researchers, objects, persona, page):
    client.force_login(researchers[persona])
    response = client.get(CHANGELISTS[page])
    assert response.status_code == 200
    body = _names(response)
    assert {"studies": "Alice study", "image sets": "alice&#x27;s photos", "images": "one.png"}[
        page
    ] in body


@pytest.mark.parametrize("page", sorted(CHANGELISTS))
def test_other_researcher_sees_an_empty_changelist(client, charlie, objects, page):
    client.force_login(charlie)
    response = client.get(CHANGELISTS[page])
    assert response.status_code == 200
    assert "Alice study" not in _names(response)
    assert "one.png" not in _names(response)


@pytest.mark.parametrize("kind", ["study", "image_set", "image"])
def test_other_researcher_cannot_open_a_change_page(client, charlie, objects, kind):
    client.force_login(charlie)
    model = {"study": "study", "image_set": "imageset", "image": "referenceimage"}[kind]
    response = client.get(f"/admin/studies/{model}/{objects[kind].pk}/change/")
    # Django's admin redirects to the index with "doesn't exist" for objects outside the queryset.
    assert response.status_code == 302


@pytest.mark.parametrize("page", sorted(CHANGELISTS))
def test_anonymous_is_sent_to_login(client, objects, page):
    response = client.get(CHANGELISTS[page])
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_researchers_are_not_superusers_and_need_no_model_permissions(researchers):
    assert not any(u.is_superuser for u in researchers.values())
    assert not researchers["alice"].user_permissions.exists()


def test_admin_creates_a_study_owned_by_the_researcher(client, alice, image_set):
    client.force_login(alice)
    response = client.post(
        "/admin/studies/study/add/",
        {
            "name": "Admin study",
            "slug": "admin-study",
            "kind": "2afc",
            "image_set": image_set.pk,
            "seed": 5,
            "patch_size": 64,
            "display_scale": 4,
            "judgments_train": 2,
            "judgments_val": 5,
            "judgments_jnd": 3,
            "assignment_size": 100,
            "sentinel_rate": 0.1,
            "jnd_first_ms": 1000,
            "jnd_gap_ms": 250,
            "jnd_second_ms": 1000,
            "instructions": "Hi",
            "jnd_identical_share": 0.0,
            "break_every": 50,
            "max_assignments_per_participant": 1,
            "lease_minutes": 45,
            "completion_url": "",
            "completion_code": "OKCODE12",
            "completion_code_failed": "NOCODE12",
            "qc_min_sentinel_accuracy": 0.93,
            "qc_rt_floor_ms": 250,
            "qc_max_fast_share": 0.2,
            "qc_max_side_bias": 0.85,
            "quotas-TOTAL_FORMS": 1,
            "quotas-INITIAL_FORMS": 0,
            "quotas-0-kind": "2afc",
            "quotas-0-split": "val",
            "quotas-0-category": "traditional",
            "quotas-0-count": 10,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from studies.models import Study

    study = Study.objects.get(slug="admin-study")
    assert study.owner == alice
    assert study.status == "draft"


def test_admin_status_changes_only_through_transition_actions(client, alice, study):
    client.force_login(alice)
    response = client.post(
        "/admin/studies/study/", {"action": "transition_to_live", "_selected_action": [study.pk]}
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.status == "draft"  # draft → live is illegal
    client.post(
        "/admin/studies/study/",
        {"action": "transition_to_generating", "_selected_action": [study.pk]},
    )
    study.refresh_from_db()
    assert study.status == "generating"
    page = client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert 'name="status"' not in page  # not an editable field


def test_admin_upload_refuses_a_bad_file_and_adds_nothing(client, alice, image_set):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(alice)
    before = image_set.images.count()
    response = client.post(
        f"/admin/studies/imageset/{image_set.pk}/upload/",
        {"file": SimpleUploadedFile("x.png", b"not an image")},
    )
    # The upload service's own message (the API gives the same: tests/studies/test_admin_writes.py).
    assert response.status_code == 400
    assert response.json()["error"] == "x.png: not an image file Pillow can read."
    assert image_set.images.count() == before


def test_thumbnails_are_shown_in_the_image_changelist(client, alice, objects):
    client.force_login(alice)
    body = client.get(CHANGELISTS["images"]).content.decode()
    assert f"/api/images/{objects['image'].pk}/thumbnail/" in body
    assert services  # the services module backs every admin write
