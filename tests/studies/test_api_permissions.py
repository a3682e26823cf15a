"""The permission matrix of every study-design endpoint: owner, collaborator, other researcher,
a logged-in non-researcher, anonymous. Other researchers get 404 (never 403) so ids do not leak."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import make_png

pytestmark = pytest.mark.django_db

OK = "ok"
OWNER_ONLY = 403


def _upload_body():
    return {"file": SimpleUploadedFile("new.png", make_png(90, 90, seed=42))}


# name: (method, url template, body factory, format, success status, collaborator expectation)
ENDPOINTS = {
    "image-set list": ("get", "/api/image-sets/", None, None, 200, OK),
    "image-set create": (
        "post",
        "/api/image-sets/create/",
        lambda: {"name": "new set"},
        "json",
        201,
        OK,
    ),
    "image-set detail": ("get", "/api/image-sets/{set}/", None, None, 200, OK),
    "image-set update": (
        "patch",
        "/api/image-sets/{set}/update/",
        lambda: {"name": "renamed"},
        "json",
        200,
        OK,
    ),
    "image-set collaborators": (
        "patch",
        "/api/image-sets/{set}/update/",
        lambda: {"collaborators": []},
        "json",
        200,
        OWNER_ONLY,
    ),
    "image-set delete": (
        "delete",
        "/api/image-sets/{empty_set}/delete/",
        None,
        None,
        204,
        OWNER_ONLY,
    ),
    "image list": ("get", "/api/image-sets/{set}/images/", None, None, 200, OK),
    "image upload": (
        "post",
        "/api/image-sets/{set}/images/upload/",
        _upload_body,
        "multipart",
        201,
        OK,
    ),
    "image detail": ("get", "/api/images/{image}/", None, None, 200, OK),
    "image file": ("get", "/api/images/{image}/file/", None, None, 200, OK),
    "image thumbnail": ("get", "/api/images/{image}/thumbnail/", None, None, 200, OK),
    "image delete": ("delete", "/api/images/{image}/delete/", None, None, 204, OK),
    "study list": ("get", "/api/studies/", None, None, 200, OK),
    "study create": (
        "post",
        "/api/studies/create/",
        lambda: {"name": "New study"},
        "json",
        201,
        OK,
    ),
    "study detail": ("get", "/api/studies/{study}/", None, None, 200, OK),
    "study update": (
        "patch",
        "/api/studies/{study}/update/",
        lambda: {"name": "Renamed"},
        "json",
        200,
        OK,
    ),
    "study collaborators": (
        "patch",
        "/api/studies/{study}/update/",
        lambda: {"collaborators": []},
        "json",
        200,
        OWNER_ONLY,
    ),
    "study transition": (
        "post",
        "/api/studies/{study}/transition/",
        lambda: {"status": "generating"},
        "json",
        200,
        OK,
    ),
    "study delete": ("delete", "/api/studies/{study}/delete/", None, None, 204, OWNER_ONLY),
    "study distortions": ("get", "/api/studies/{study}/distortions/", None, None, 200, OK),
    "study distortions add": (
        "post",
        "/api/studies/{study}/distortions/",
        lambda: {"name": "contrast", "category": "traditional"},
        "json",
        201,
        OK,
    ),
    "study quotas": ("get", "/api/studies/{study}/quotas/", None, None, 200, OK),
    "study quotas set": (
        "post",
        "/api/studies/{study}/quotas/",
        lambda: {"kind": "2afc", "split": "train", "category": "traditional", "count": 8},
        "json",
        200,
        OK,
    ),
    "distortion registry": ("get", "/api/distortions/", None, None, 200, OK),
}
LIST_ENDPOINTS = {"image-set list", "study list"}
GLOBAL_ENDPOINTS = {"distortion registry"}
CREATE_ENDPOINTS = {"image-set create", "study create"}


@pytest.fixture
def objects(alice, bob, image_set, study):
    from studies import services

    empty = services.image_set_create(owner=alice, name="empty", collaborators=[bob])
    return {
        "set": image_set.pk,
        "empty_set": empty.pk,
        "image": image_set.images.first().pk,
        "study": study.pk,
    }


def _call(api, user, name, objects):
    method, template, body, fmt, _, _ = ENDPOINTS[name]
    client = api.as_user(user)
    kwargs = {}
    if body is not None:
        kwargs = {"data": body(), "format": fmt}
    return getattr(client, method)(template.format(**objects), **kwargs)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_owner_can(api, alice, objects, name):
    response = _call(api, alice, name, objects)
    assert response.status_code == ENDPOINTS[name][4], response.content


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_collaborator(api, bob, objects, name):
    response = _call(api, bob, name, objects)
    expected = ENDPOINTS[name][4] if ENDPOINTS[name][5] == OK else ENDPOINTS[name][5]
    assert response.status_code == expected, response.content
    if expected == OWNER_ONLY:
        assert "Only the owner" in response.json()["error"]["message"]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_other_researcher_gets_404_or_sees_nothing(api, charlie, objects, name):
    response = _call(api, charlie, name, objects)
    if name in GLOBAL_ENDPOINTS:
        assert response.status_code == 200
    elif name in LIST_ENDPOINTS:
        assert response.status_code == 200
        assert response.json()["results"] == []
    elif name in CREATE_ENDPOINTS:
        assert response.status_code == 201  # creating their own is fine
    else:
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_anonymous_gets_401(api, objects, name):
    response = _call(api, None, name, objects)
    assert response.status_code == 401
    assert "credentials" in response.json()["error"]["message"].lower()


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_non_staff_user_gets_403(api, django_user_model, objects, name):
    worker = django_user_model.objects.create_user("crowdworker", password="pw-crowd-1234")
    response = _call(api, worker, name, objects)
    assert response.status_code == 403
    assert "researchers" in response.json()["error"]["message"]


def test_token_auth_works(api, alice):
    from tests.factories import api_key

    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(alice)}")
    assert api.get("/api/studies/").status_code == 200


def test_image_set_of_another_researcher_cannot_be_used_in_a_study(api, charlie, objects):
    response = api.as_user(charlie).post(
        "/api/studies/create/", {"name": "x", "image_set": objects["set"]}, format="json"
    )
    assert response.status_code == 400
    assert f"Image set {objects['set']} not found" in response.json()["error"]["message"]


def test_illegal_transition_via_api_is_409_and_changes_nothing(api, alice, objects):
    response = api.as_user(alice).post(
        f"/api/studies/{objects['study']}/transition/", {"status": "live"}, format="json"
    )
    assert response.status_code == 409
    assert (
        response.json()["error"]["message"]
        == "Cannot move study from draft to live; allowed: generating."
    )
    assert api.get(f"/api/studies/{objects['study']}/").json()["status"] == "draft"


def test_out_of_range_design_values_are_400(api, alice):
    response = api.as_user(alice).post(
        "/api/studies/create/", {"name": "x", "patch_size": 4}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["patch_size"]


def test_distortion_api_reports_bad_names_and_frozen_designs(api, alice, objects, generate, study):
    response = api.as_user(alice).post(
        f"/api/studies/{objects['study']}/distortions/", {"name": "blurr"}, format="json"
    )
    assert response.status_code == 400
    assert "Unknown distortion 'blurr'" in response.json()["error"]["message"]
    generate(study)
    frozen = api.post(
        f"/api/studies/{objects['study']}/quotas/",
        {"kind": "2afc", "split": "val", "category": "traditional", "count": 9},
        format="json",
    )
    assert frozen.status_code == 409 and "draft" in frozen.json()["error"]["message"]
    names = {row["name"] for row in api.get("/api/distortions/").json()}
    assert {"jpeg", "cnn_autoencoder", "superres_bicubic"} <= names


def test_a_study_collaborator_keeps_an_image_set_they_cannot_see_but_cannot_name_one(
    api, alice, charlie, objects, study
):
    from studies import services

    services.study_update(study=study, data={"collaborators": [charlie]}, by=alice)
    hidden = services.image_set_create(owner=alice, name="hidden")
    client = api.as_user(charlie)
    url = f"/api/studies/{objects['study']}/update/"
    kept = client.patch(url, {"name": "Renamed"}, format="json")
    assert kept.status_code == 200, kept.content
    refused = client.patch(url, {"image_set": hidden.pk}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == f"image_set: Image set {hidden.pk} not found."
    study.refresh_from_db()
    assert (study.name, study.image_set_id) == ("Renamed", objects["set"])
