"""Uploaded LPIPS lin weights: the request only stores the file (size-checked, streamed); a
worker validates it (keys, shapes, ≥ 0 for the declared net) and marks it ready or failed; only
ready uploads resolve as metrics."""

from __future__ import annotations

import io

import pytest
import torch
from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile

import metrics
from analysis import services, tasks
from analysis.models import UploadedMetric
from common.exceptions import ApplicationError
from tests.analysis.jobs import OFFICIAL_ALEX, ready_dataset

pytestmark = pytest.mark.django_db


def _pth(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _post(api, user, data: bytes, *, net="alex", name="mine"):
    file = SimpleUploadedFile("lin.pth", data, content_type="application/octet-stream")
    return api.as_user(user).post(
        "/api/metrics/upload/", {"name": name, "net": net, "file": file}, format="multipart"
    )


def test_a_valid_upload_is_pending_then_ready_and_scores(
    api, alice, django_capture_on_commit_callbacks
):
    data = OFFICIAL_ALEX.read_bytes()
    with django_capture_on_commit_callbacks() as queued:
        response = _post(api, alice, data)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["size"] == len(data)
    assert len(queued) == 1  # validation queued on commit, not run in the request
    upload = UploadedMetric.objects.get()
    assert upload.weights.read() == data
    with pytest.raises(ValueError, match="not a validated upload"):
        metrics.create_metric(upload.metric_name, device="cpu")

    queued[0]()  # the worker runs the queued task (eagerly in tests)
    detail = api.as_user(alice).get(f"/api/metrics/uploaded/{upload.pk}/").json()
    assert detail["status"] == "ready" and detail["error"] == ""
    metric = metrics.create_metric(upload.metric_name, device="cpu", trunk_weights=None)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert metric(x, x.flip(0)).shape == (2,)
    dataset = ready_dataset(alice)
    assert services.score_run_create(dataset=dataset, metric=upload.metric_name, by=alice)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a torch file", "could not read"),
        (_pth({"lin0.model.1.weight": torch.ones(1, 64, 1, 1)}), "expected lin layers"),
        (
            _pth(
                {
                    f"lin{k}.model.1.weight": -torch.ones(1, c, 1, 1)
                    for k, c in enumerate((64, 192, 384, 256, 256))
                }
            ),
            "negative weights",
        ),
        (
            _pth(
                {
                    f"lin{k}.model.1.weight": torch.ones(1, c, 1, 1)
                    for k, c in enumerate((64, 128, 256, 512, 512))
                }
            ),
            "layer 1 has shape",  # vgg's widths declared as alex
        ),
    ],
)
def test_a_bad_file_is_marked_failed_with_the_problem_named(
    api, alice, django_capture_on_commit_callbacks, data, message
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, alice, data)
    assert response.status_code == 202
    upload = UploadedMetric.objects.get()
    assert upload.status == "failed" and message in upload.error
    assert "Not a usable LPIPS lin-weights file for alex" in upload.error
    assert "/tmp" not in upload.error  # the worker's temporary path is not shown
    assert api.as_user(alice).get("/api/metrics/").json()["uploaded"] == []
    with pytest.raises(ValueError, match="not a validated upload"):
        metrics.create_metric(upload.metric_name)


def test_an_oversized_upload_is_refused_and_nothing_is_written(api, alice, settings):
    # Refused while the body streams in (413, naming the limit), before the view runs.
    response = _post(api, alice, b"0" * (settings.PERCEPTLAB_MAX_WEIGHTS_BYTES + 1))
    assert response.status_code == 413
    assert "PERCEPTLAB_MAX_WEIGHTS_BYTES" in response.json()["error"]["message"]
    assert not UploadedMetric.objects.exists()
    assert not (settings.MEDIA_ROOT / "uploaded-metrics").exists()


def test_the_size_is_checked_before_the_content_is_read(alice, settings):
    class Unread(File):
        size = settings.PERCEPTLAB_MAX_WEIGHTS_BYTES + 1

        def chunks(self, chunk_size=None):
            raise AssertionError("read before the size check")

        def read(self, *args):
            raise AssertionError("read before the size check")

    with pytest.raises(ApplicationError, match="over 5 MB"):
        services.uploaded_metric_create(
            owner=alice, name="big", net="alex", version="0.1", file=Unread(io.BytesIO())
        )


def test_an_unknown_net_or_empty_file_is_refused(api, alice):
    assert _post(api, alice, b"x", net="resnet").status_code == 400
    response = _post(api, alice, b"")
    assert response.status_code == 400
    assert not UploadedMetric.objects.exists()


def test_a_failed_upload_can_be_retried_and_a_ready_one_cannot(
    api, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _post(api, alice, b"garbage")
    upload = UploadedMetric.objects.get()
    assert upload.status == "failed"
    # The file is fixed in storage (say, an operator restored it); the retry validates again.
    with upload.weights.open("wb") as handle:
        handle.write(OFFICIAL_ALEX.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(f"/api/metrics/uploaded/{upload.pk}/retry/")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    upload.refresh_from_db()
    assert upload.status == "ready" and upload.error == ""
    again = api.as_user(alice).post(f"/api/metrics/uploaded/{upload.pk}/retry/")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == (
        f"Uploaded metric {upload.pk} is ready; only a failed upload can be retried."
    )


def test_uploads_are_their_owners_only(api, alice, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _post(api, alice, OFFICIAL_ALEX.read_bytes())
    upload = UploadedMetric.objects.get()
    assert api.as_user(bob).get(f"/api/metrics/uploaded/{upload.pk}/").status_code == 404
    assert api.as_user(bob).post(f"/api/metrics/uploaded/{upload.pk}/retry/").status_code == 404
    assert api.as_user(bob).get("/api/metrics/uploaded/").json() == []
    assert [u["id"] for u in api.as_user(alice).get("/api/metrics/uploaded/").json()] == [upload.pk]


def test_validation_runs_on_the_gpu_queue():
    from config.celery_app import app

    task = tasks.validate_uploaded_metric
    route = app.amqp.router.route(task._get_exec_options(), task.name, (1,), {})
    assert route["queue"].name == "gpu"
