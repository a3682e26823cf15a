"""The platform fits and scores a deep-<arch> zoo trunk end to end (eager tasks): the fit API
accepts zoo nets, the fitted run scores as `fitted:<id>`, and the registry name scores too."""

from __future__ import annotations

import pytest
import torch

import metrics
from analysis import datasets, services
from analysis.models import FitRun
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


def _prefers_p0(item):
    return "right" if item.swapped else "left"


@pytest.fixture
def train_dataset(alice):
    study = make_live_study(
        alice, trials=12, sentinels=0, needed=2, assignment_size=12, sentinel_rate=0.0,
        split="train",
    )  # fmt: skip
    collect(study, 2, _prefers_p0)
    return datasets.dataset_freeze(study=study, by=alice)


def test_the_fit_api_fits_a_zoo_trunk_that_then_scores(
    api, alice, train_dataset, django_capture_on_commit_callbacks
):
    body = {
        "net": "deep-resnet18",
        "epochs": 1,
        "epochs_decay": 0,
        "seed": 1,
        "trunk_weights": "random",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(
            f"/api/datasets/{train_dataset.pk}/fit/", body, format="json"
        )
    assert response.status_code == 201, response.content
    run = FitRun.objects.get()
    assert (run.net, run.status) == ("deep-resnet18", "done"), run.error
    assert run.computed_with["metric"] == "deep-resnet18"
    assert run.computed_with["variant"] == "lin"
    fitted = metrics.create_metric(run.metric_name, device="cpu")
    assert fitted.info.name == "deep-resnet18" and fitted.variant == "lin"
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert fitted(x, x.flip(0)).shape == (2,)
    assert torch.equal(fitted(x, x), torch.zeros(2))

    for metric, options in ((run.metric_name, {}), ("deep-resnet18", {"trunk_weights": None})):
        with django_capture_on_commit_callbacks(execute=True):
            score = services.score_run_create(
                dataset=train_dataset, metric=metric, by=alice, split="train", options=options
            )
        score.refresh_from_db()
        assert score.status == "done", score.error


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"net": "deep-resnet19"}, "net", "not a valid choice"),
        ({"net": "deep-resnet18", "version": "0.0"}, "version", "version must be 0.1"),
    ],
)
def test_bad_zoo_fit_requests_are_400s_and_write_nothing(
    api, alice, train_dataset, body, field, message
):
    response = api.as_user(alice).post(
        f"/api/datasets/{train_dataset.pk}/fit/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert message in response.content.decode()
    assert not FitRun.objects.exists()


def test_uploads_stay_lpips_only(alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from common.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="net must be one of"):
        services.uploaded_metric_create(
            owner=alice, name="x", net="deep-resnet18", version="0.1",
            file=SimpleUploadedFile("lin.pth", b"x"),
        )  # fmt: skip
