"""One failure policy: every analysis task marks its object failed with the error (visible in
the API and the admin), and a failed object is re-queued by its retry service, from the API or
from an admin action, with the same messages; anything not failed is refused with 409."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from analysis import datasets, exports, services
from analysis.models import Dataset, Export, FitRun, RunStatus, ScoreRun, UploadedMetric
from common.exceptions import ApplicationError, ConflictError
from tests.analysis.jobs import ready_dataset, upload
from tests.analysis.studydata import frozen_dataset

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


def _remove_an_image(dataset):
    """Delete one image from storage; returns a function that puts it back."""
    name = dataset.items.order_by("index").first().p1
    with default_storage.open(name, "rb") as handle:
        data = handle.read()
    default_storage.delete(name)
    return lambda: default_storage.save(name, ContentFile(data))


@pytest.fixture
def dataset(alice):
    return frozen_dataset(alice)


def test_a_failed_score_run_shows_its_error_and_runs_again_after_a_retry(
    api, alice, dataset, django_capture_on_commit_callbacks
):
    restore = _remove_an_image(dataset)
    with pytest.raises(FileNotFoundError), django_capture_on_commit_callbacks(execute=True):
        run = services.score_run_create(dataset=dataset, metric="l2", by=alice)
    body = api.as_user(alice).get(f"/api/score-runs/{run.pk}/").json()
    assert body["status"] == "failed" and body["error"].startswith("FileNotFoundError")

    restore()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(f"/api/score-runs/{run.pk}/retry/")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    run.refresh_from_db()
    assert run.status == "done" and run.error == "" and run.result["2afc"]


def test_a_failed_export_is_retried_from_the_admin(
    client, alice, dataset, django_capture_on_commit_callbacks
):
    restore = _remove_an_image(dataset)
    with pytest.raises(FileNotFoundError), django_capture_on_commit_callbacks(execute=True):
        export = exports.export_create(dataset=dataset, kind="bapps")
    export.refresh_from_db()
    assert export.status == "failed" and "FileNotFoundError" in export.error
    page = client.get(f"/admin/analysis/export/{export.pk}/change/")
    assert page.status_code == 302  # not logged in yet
    client.force_login(alice)
    assert "FileNotFoundError" in client.get(f"/admin/analysis/export/{export.pk}/change/").text

    restore()
    with django_capture_on_commit_callbacks(execute=True):
        shown = _admin(client, alice, "export", "retry", [export.pk])
    assert shown == [("success", "Queued again for 1 export(s).")]
    export.refresh_from_db()
    assert export.status == "ready" and export.error == "" and export.file


def test_a_failed_import_is_recorded_and_retried_once_the_folder_is_fixed(
    api, alice, tmp_path, django_capture_on_commit_callbacks
):
    from tests.analysis.test_datasets_and_runs import _bapps_folder

    folder = _bapps_folder(tmp_path / "bapps")
    judge = folder / "2afc" / "val" / "traditional" / "judge" / "000002.npy"
    saved = judge.read_bytes()
    judge.unlink()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(
            "/api/datasets/import/", {"name": "bapps", "path": str(folder)}, format="json"
        )
    assert response.status_code == 202
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == "failed" and "000002" in dataset.error

    judge.write_bytes(saved)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(f"/api/datasets/{dataset.pk}/import/retry/")
    assert response.status_code == 202
    dataset.refresh_from_db()
    assert dataset.status == "ready" and dataset.error == "" and dataset.items.count() == 8


def test_a_failed_fit_keeps_its_error_and_a_retry_runs_it_again(
    api, alice, dataset, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    def execute(*, run, worker="", device=None):
        calls.append(run.pk)
        if len(calls) == 1:
            raise ApplicationError("The trunk checkpoint /ckpt/alex.pth does not exist.")
        FitRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE)
        run.refresh_from_db()
        return run

    monkeypatch.setattr(services, "fit_run_execute", execute)
    run = FitRun.objects.create(dataset=dataset, created_by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        services._enqueue_fit(run)
    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("The trunk checkpoint")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.as_user(alice).post(f"/api/fit-runs/{run.pk}/retry/").status_code == 202
    run.refresh_from_db()
    assert run.status == "done" and run.error == "" and calls == [run.pk, run.pk]


def test_a_domain_error_in_a_task_is_recorded_not_raised(alice, dataset, monkeypatch):
    from analysis import tasks

    def execute(*, run, progress=None):
        raise ApplicationError("The metric refused these images.")

    monkeypatch.setattr(services, "score_run_execute", execute)
    run = ScoreRun.objects.create(dataset=dataset, created_by=alice, metric="l2")
    assert tasks.score_metric(run.pk) == {"failed": "The metric refused these images."}
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "The metric refused these images."
    assert tasks.score_metric(run.pk) == {"skipped": "failed"}  # a stale message is skipped


# Retrying something that did not fail: 409 from the API, the same message from the admin.
def _not_failed(alice):
    dataset = ready_dataset(alice)
    return {
        "fitrun": (
            FitRun.objects.create(dataset=dataset, created_by=alice, status=RunStatus.DONE),
            "/api/fit-runs/{}/retry/",
            "Fit {} is done; only a failed fit can be retried.",
        ),
        "scorerun": (
            ScoreRun.objects.create(dataset=dataset, created_by=alice, metric="l2"),
            "/api/score-runs/{}/retry/",
            "Score run {} is queued; only a failed run can be retried.",
        ),
        "export": (
            Export.objects.create(dataset=dataset, kind="csv", status=Export.Status.RUNNING),
            "/api/exports/{}/retry/",
            "Export {} is running; only a failed export can be retried.",
        ),
        "uploadedmetric": (
            upload(alice, status=UploadedMetric.Status.VALIDATING),
            "/api/metrics/uploaded/{}/retry/",
            "Uploaded metric {} is validating; only a failed upload can be retried.",
        ),
        "dataset": (
            dataset,
            "/api/datasets/{}/import/retry/",
            "Dataset {} is ready; only a failed import can be retried.",
        ),
    }


@pytest.mark.parametrize("model", ["fitrun", "scorerun", "export", "uploadedmetric", "dataset"])
def test_retrying_what_did_not_fail_is_refused_the_same_way_in_api_and_admin(
    api, client, alice, model
):
    obj, url, message = _not_failed(alice)[model]
    status_before = obj.status
    expected = message.format(obj.pk if model != "dataset" else obj)
    response = api.as_user(alice).post(url.format(obj.pk))
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "not_failed", "message": expected, "fields": {}}
    action = "retry_import" if model == "dataset" else "retry"
    assert _admin(client, alice, model, action, [obj.pk]) == [("error", f"{obj}: {expected}")]
    obj.refresh_from_db()
    assert obj.status == status_before


def test_retry_services_refuse_with_conflict(alice):
    for obj, _, _ in _not_failed(alice).values():
        retry = {
            FitRun: lambda o: services.fit_run_retry(run=o),
            ScoreRun: lambda o: services.score_run_retry(run=o, by=alice),
            Export: lambda o: exports.export_retry(export=o),
            UploadedMetric: lambda o: services.uploaded_metric_retry(upload=o),
            Dataset: lambda o: datasets.dataset_import_retry(dataset=o),
        }[type(obj)]
        with pytest.raises(ConflictError):
            retry(obj)
