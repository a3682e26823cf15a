"""Every analysis write is one service: the admin action and the API endpoint make the same rows
and, when refused, show the same message."""

from __future__ import annotations

import pytest

from analysis.models import Dataset, FitRun
from tests.analysis.jobs import ready_dataset
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


def _admin(client, user, model: str, action: str, pks) -> list[tuple[str, str]]:
    client.force_login(user)
    response = client.post(
        f"/admin/analysis/{model}/",
        {"action": action, "_selected_action": list(pks)},
        follow=True,  # the changelist shows (and so consumes) this action's messages
    )
    assert response.redirect_chain and response.status_code == 200
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def _api_error(response, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["error"]["message"]


@pytest.fixture
def shared(alice, bob):
    return ready_dataset(alice, collaborators=[bob])


def test_publish(api, client, alice, bob, shared):
    message = _api_error(
        api.as_user(bob).post(f"/api/datasets/{shared.pk}/publish/", {"is_public": True}), 403
    )
    assert message == "Only the owner can publish or unpublish a dataset."
    assert _admin(client, bob, "dataset", "publish", [shared.pk]) == [
        ("error", f"{shared}: {message}")
    ]
    shared.refresh_from_db()
    assert not shared.is_public

    assert _admin(client, alice, "dataset", "publish", [shared.pk])[0][0] == "success"
    shared.refresh_from_db()
    assert shared.is_public
    api.as_user(alice).post(f"/api/datasets/{shared.pk}/publish/", {"is_public": False})
    shared.refresh_from_db()
    assert not shared.is_public


def test_freeze(api, client, alice):
    empty = make_live_study(alice, trials=3, sentinels=0)
    message = _api_error(api.as_user(alice).post("/api/datasets/freeze/", {"study": empty.pk}), 409)
    assert message == "This study has no valid judgments to freeze yet."
    assert _admin(client, alice, "freezablestudy", "freeze_dataset", [empty.pk]) == [
        ("error", f"{empty}: {message}")
    ]

    study = make_live_study(alice, trials=4, sentinels=0, needed=1, assignment_size=4)
    collect(study, 1, lambda item: "left")
    shown = _admin(client, alice, "freezablestudy", "freeze_dataset", [study.pk])
    first = Dataset.objects.get(study=study)
    assert shown == [("success", f"{study}: dataset {first} frozen (4 items).")]
    response = api.as_user(alice).post("/api/datasets/freeze/", {"study": study.pk})
    second = Dataset.objects.get(pk=response.json()["id"])
    assert (first.version, second.version) == (1, 2)

    def rows(d):
        return list(d.items.values_list("kind", "split", "category", "index", "p0", "judge"))

    assert rows(first) == rows(second) and first.counts == second.counts


def test_the_freeze_page_lists_only_visible_studies(client, alice, charlie):
    study = make_live_study(alice, trials=3, sentinels=0)
    client.force_login(charlie)
    assert study.name not in client.get("/admin/analysis/freezablestudy/").text
    assert _admin(client, charlie, "freezablestudy", "freeze_dataset", [study.pk]) == []
    assert not Dataset.objects.exists()
    client.force_login(alice)
    assert study.name in client.get("/admin/analysis/freezablestudy/").text


def test_score_on_a_dataset_that_is_not_ready(api, client, alice, shared, settings):
    settings.PERCEPTLAB_BASELINE_METRICS = ["l2"]
    Dataset.objects.filter(pk=shared.pk).update(status=Dataset.Status.BUILDING)
    shared.refresh_from_db()
    message = _api_error(
        api.as_user(alice).post(f"/api/datasets/{shared.pk}/score/", {"metric": "l2"}), 409
    )
    assert message == f"Dataset {shared} is building, not ready."
    assert _admin(client, alice, "dataset", "score_baselines", [shared.pk]) == [
        ("error", f"{shared}: {message}")
    ]


def test_score_queues_the_same_run(api, client, alice, shared, settings):
    settings.PERCEPTLAB_BASELINE_METRICS = ["l2"]
    api.as_user(alice).post(f"/api/datasets/{shared.pk}/score/", {"metric": "l2"})
    _admin(client, alice, "dataset", "score_baselines", [shared.pk])
    runs = shared.score_runs.order_by("pk").values_list("metric", "split", "options", "status")
    assert list(runs) == [("l2", "val", {}, "queued")] * 2


def test_fit_without_a_train_split(api, client, alice, shared):
    message = _api_error(api.as_user(alice).post(f"/api/datasets/{shared.pk}/fit/", {}), 400)
    assert message.startswith("Fitting needs 2AFC judgments in a train split")
    assert _admin(client, alice, "dataset", "fit_alex_lin", [shared.pk]) == [
        ("error", f"{shared}: {message}")
    ]
    assert not FitRun.objects.exists()


def test_long_table_export_of_an_import(api, client, alice, shared):
    message = _api_error(
        api.as_user(alice).post(f"/api/datasets/{shared.pk}/exports/", {"kind": "csv"}), 400
    )
    assert "no individual judgments" in message
    assert _admin(client, alice, "dataset", "export_csv", [shared.pk]) == [
        ("error", f"{shared}: {message}")
    ]
    assert not shared.exports.exists()


def test_cancel(api, client, alice, shared):
    by_api = FitRun.objects.create(dataset=shared, created_by=alice)
    by_admin = FitRun.objects.create(dataset=shared, created_by=alice)
    api.as_user(alice).post(f"/api/fit-runs/{by_api.pk}/cancel/")
    assert _admin(client, alice, "fitrun", "cancel", [by_admin.pk]) == [
        ("success", "Cancellation requested for 1 fit(s).")
    ]
    rows = FitRun.objects.order_by("pk").values_list("status", "cancel_requested")
    assert list(rows) == [("cancelled", True)] * 2
