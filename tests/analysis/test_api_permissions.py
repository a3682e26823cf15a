"""Permission matrix of the analysis API and admin: owner, collaborator, other researcher,
anonymous. Objects of other researchers are 404."""

from __future__ import annotations

import pytest

from analysis import datasets
from analysis.models import Export, FitRun, ScoreRun
from studies import services as study_services
from tests.analysis.jobs import upload
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(alice, bob):
    study = make_live_study(
        alice, trials=4, sentinels=0, needed=1, assignment_size=4, sentinel_rate=0.0
    )
    study_services.study_update(study=study, data={"collaborators": [bob]})
    collect(study, 1, lambda item: "left")
    dataset = datasets.dataset_freeze(study=study, by=alice)
    fit = FitRun.objects.create(dataset=dataset, created_by=alice)
    score = ScoreRun.objects.create(dataset=dataset, created_by=alice, metric="l2")
    export = Export.objects.create(dataset=dataset, kind="datasheet")
    return {
        "study": study.pk,
        "dataset": dataset.pk,
        "fit": fit.pk,
        "score": score.pk,
        "export": export.pk,
        "upload": upload(alice).pk,
    }


# name: (method, url, body, success status, collaborator status)
ENDPOINTS = {
    "dataset list": ("get", "/api/datasets/", None, 200, 200),
    "dataset detail": ("get", "/api/datasets/{dataset}/", None, 200, 200),
    "dataset freeze": ("post", "/api/datasets/freeze/", lambda o: {"study": o["study"]}, 201, 201),
    "dataset publish": (
        "post",
        "/api/datasets/{dataset}/publish/",
        lambda o: {"is_public": True},
        200,
        403,
    ),
    "dataset score": (
        "post",
        "/api/datasets/{dataset}/score/",
        lambda o: {"metric": "psnr"},
        201,
        201,
    ),
    "dataset fit (no train split)": (
        "post",
        "/api/datasets/{dataset}/fit/",
        lambda o: {},
        400,
        400,
    ),
    "score run detail": ("get", "/api/score-runs/{score}/", None, 200, 200),
    "fit run detail": ("get", "/api/fit-runs/{fit}/", None, 200, 200),
    "fit run cancel": ("post", "/api/fit-runs/{fit}/cancel/", None, 200, 200),
    "fit run weights (not ready)": ("get", "/api/fit-runs/{fit}/weights/", None, 409, 409),
    "metric list": ("get", "/api/metrics/", None, 200, 200),
    "score run retry (not failed)": ("post", "/api/score-runs/{score}/retry/", None, 409, 409),
    "fit run retry (not failed)": ("post", "/api/fit-runs/{fit}/retry/", None, 409, 409),
    "export detail": ("get", "/api/exports/{export}/", None, 200, 200),
    "export retry (not failed)": ("post", "/api/exports/{export}/retry/", None, 409, 409),
    "dataset import retry (not an import)": (
        "post",
        "/api/datasets/{dataset}/import/retry/",
        None,
        409,
        409,
    ),
    # Uploads are their owner's alone: a collaborator on her datasets does not see them.
    "uploaded metric list": ("get", "/api/metrics/uploaded/", None, 200, 200),
    "uploaded metric detail": ("get", "/api/metrics/uploaded/{upload}/", None, 200, 404),
    "uploaded metric retry (not failed)": (
        "post",
        "/api/metrics/uploaded/{upload}/retry/",
        None,
        409,
        404,
    ),
}
GLOBAL = {"dataset list", "metric list", "uploaded metric list"}


def _call(api, user, name, objects):
    method, template, body, _, _ = ENDPOINTS[name]
    client = api.as_user(user)
    kwargs = {"data": body(objects), "format": "json"} if body else {}
    return getattr(client, method)(template.format(**objects), **kwargs)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_owner(api, alice, objects, name):
    assert _call(api, alice, name, objects).status_code == ENDPOINTS[name][3]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_collaborator(api, bob, objects, name):
    assert _call(api, bob, name, objects).status_code == ENDPOINTS[name][4]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_other_researcher(api, charlie, objects, name):
    response = _call(api, charlie, name, objects)
    if name in GLOBAL:
        assert response.status_code == 200
        if name in ("dataset list", "uploaded metric list"):
            assert response.json() == []
    else:
        assert response.status_code == 404, response.content


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_anonymous(api, objects, name):
    assert _call(api, None, name, objects).status_code == 401


ADMIN_PAGES = [
    "/admin/analysis/dataset/",
    "/admin/analysis/fitrun/",
    "/admin/analysis/scorerun/",
    "/admin/analysis/export/",
    "/admin/analysis/freezablestudy/",
    "/admin/studies/trial/",
    "/admin/crowd/participant/",
    "/admin/crowd/studycollection/",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
@pytest.mark.parametrize(("persona", "sees"), [("alice", True), ("bob", True), ("charlie", False)])
def test_admin_changelists(client, researchers, objects, page, persona, sees):
    client.force_login(researchers[persona])
    response = client.get(page)
    assert response.status_code == 200
    body = response.content.decode()
    marker = {
        "/admin/analysis/dataset/": "2afc live study",
        "/admin/analysis/fitrun/": f">{objects['fit']}<",
        "/admin/analysis/scorerun/": f">{objects['score']}<",
        "/admin/analysis/export/": f">{objects['export']}<",
        "/admin/analysis/freezablestudy/": "2afc live study",
        "/admin/studies/trial/": "traditional",
        "/admin/crowd/participant/": "prolific",
        "/admin/crowd/studycollection/": "2afc live study",
    }[page]
    if page == "/admin/crowd/participant/":
        from crowd.models import Participant

        marker = str(Participant.objects.first().pseudonym)
    assert (marker in body) is sees


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_changelists_anonymous(client, objects, page):
    response = client.get(page)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize(("persona", "sees"), [("alice", True), ("bob", False), ("charlie", False)])
def test_admin_uploaded_metrics_are_the_owners(client, researchers, objects, persona, sees):
    client.force_login(researchers[persona])
    body = client.get("/admin/analysis/uploadedmetric/").content.decode()
    assert (f"uploaded:{objects['upload']}" in body) is sees


def test_selectors_raise_not_found_for_foreign_objects(charlie, objects):
    from analysis import selectors
    from common.exceptions import NotFoundError

    for get, key in [
        (selectors.dataset_get, "dataset"),
        (selectors.fit_run_get, "fit"),
        (selectors.score_run_get, "score"),
        (selectors.export_get, "export"),
        (selectors.uploaded_metric_get, "upload"),
    ]:
        with pytest.raises(NotFoundError):
            get(user=charlie, pk=objects[key])
