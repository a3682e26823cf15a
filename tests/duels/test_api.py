"""The duel study API: creation with every check before anything is stored, tenancy of metrics
and image sets, detail and results for the study's researchers only."""

from __future__ import annotations

import pytest

from duels.models import DuelStudy
from studies.models import DistortionSpec, ImageSet, Study
from tests.analysis.jobs import finished_fit, ready_dataset, upload
from tests.duels.helpers import duel_image_set, small_design

pytestmark = pytest.mark.django_db

URL = "/api/duels/create/"


def _counts():
    return (Study.objects.count(), DuelStudy.objects.count(), DistortionSpec.objects.count())


def _post(api, user, **overrides):
    body = {"name": "duel", **small_design(), **overrides}
    body.setdefault("image_set", overrides.get("image_set"))
    return api.as_user(user).post(URL, body, format="json")


@pytest.fixture
def photos(alice):
    return duel_image_set(alice)


def test_create_a_duel_study(api, alice, photos):
    response = _post(api, alice, image_set=photos.pk)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["metrics"] == ["l2", "ssim"] and data["status"] == "draft"
    study = Study.objects.get(pk=data["id"])
    assert study.generator == "duel" and study.kind == "2afc" and study.patch_size == 32
    assert [s.name for s in study.distortion_specs.order_by("id")] == [
        "gaussian_blur",
        "gaussian_white_noise",
    ]
    assert api.get(f"/api/duels/{study.pk}/").json()["id"] == study.pk
    assert [d["id"] for d in api.get("/api/duels/").json()] == [study.pk]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"metrics": ["l2"]}, "at least two metrics"),
        ({"metrics": ["l2", "no-such-metric"]}, "no-such-metric"),
        ({"metrics": ["l2", "l2"]}, "repeated"),
        ({"metrics": ["l2", "fsim"], "method": "synthesis"}, "fsim is not differentiable"),
        ({"metrics": ["l2", "fsim"], "method": "both"}, "fsim is not differentiable"),
        ({"distortions": []}, "candidate pool would be empty"),
        ({"distortions": [{"name": "no_such_blur"}]}, "Unknown distortion"),
        ({"distortions": [{"name": "cnn_autoencoder"}]}, "needs networks trained"),
        ({"metrics": ["l2", "fitted:999999"]}, "fitted:999999 is not available"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_stored(
    api, alice, photos, overrides, message
):
    before = _counts()
    response = _post(api, alice, image_set=photos.pk, **overrides)
    assert response.status_code == 400, response.json()
    assert message in response.json()["error"]["message"]
    assert _counts() == before


def test_an_empty_image_set_is_an_empty_pool(api, alice):
    empty = ImageSet.objects.create(owner=alice, name="empty")
    before = _counts()
    response = _post(api, alice, image_set=empty.pk)
    assert response.status_code == 400
    assert "image set has no images" in response.json()["error"]["message"]
    assert _counts() == before


def test_a_non_differentiable_metric_is_fine_for_selection(api, alice, photos):
    assert _post(api, alice, image_set=photos.pk, metrics=["l2", "fsim"]).status_code == 201


def test_another_researchers_fitted_metric_looks_missing(api, alice, bob, photos):
    dataset = ready_dataset(bob, name="bob's")
    fit = finished_fit(dataset, by=bob)
    mine = _post(api, alice, image_set=photos.pk, metrics=["l2", f"fitted:{fit.pk}"])
    missing = _post(api, alice, image_set=photos.pk, metrics=["l2", "fitted:999999"])
    assert mine.status_code == missing.status_code == 400
    assert mine.json()["error"]["message"].replace(str(fit.pk), "N") == missing.json()["error"][
        "message"
    ].replace("999999", "N")
    foreign_upload = upload(bob)
    refused = _post(
        api, alice, image_set=photos.pk, metrics=["l2", f"uploaded:{foreign_upload.pk}"]
    )
    assert refused.status_code == 400 and "not available" in refused.json()["error"]["message"]
    assert not DuelStudy.objects.exists()


def test_own_fitted_and_uploaded_metrics_may_duel(api, alice, photos):
    dataset = ready_dataset(alice, name="alice's")
    fit = finished_fit(dataset, by=alice)
    mine = upload(alice)
    response = _post(
        api,
        alice,
        image_set=photos.pk,
        metrics=[f"fitted:{fit.pk}", f"uploaded:{mine.pk}"],
        method="both",
    )
    assert response.status_code == 201, response.json()


def test_another_researchers_image_set_looks_missing(api, alice, bob, photos):
    theirs = _post(api, bob, image_set=photos.pk)
    missing = _post(api, bob, image_set=999999)
    assert theirs.status_code == missing.status_code == 400
    assert str(theirs.json()).replace(str(photos.pk), "N") == str(missing.json()).replace(
        "999999", "N"
    )


def test_detail_and_results_deny_other_researchers_like_a_missing_id(api, alice, bob, photos):
    pk = _post(api, alice, image_set=photos.pk).json()["id"]
    for path in (f"/api/duels/{pk}/", f"/api/duels/{pk}/results/"):
        theirs = api.as_user(bob).get(path)
        missing = api.as_user(bob).get(path.replace(str(pk), "999999"))
        assert theirs.status_code == missing.status_code == 404
    assert api.as_user(bob).get("/api/duels/").json() == []
    assert api.as_user(None).get(f"/api/duels/{pk}/").status_code in (401, 403)


def test_results_before_any_vote(api, alice, photos):
    pk = _post(api, alice, image_set=photos.pk).json()["id"]
    results = api.as_user(alice).get(f"/api/duels/{pk}/results/").json()
    assert results["votes"] == 0 and results["ranking"] == []
    assert {m["verdict"] for m in results["matchups"]} == {"no votes yet"}
