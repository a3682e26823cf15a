"""The network-zoo view (#16 item 4): one lin fit per zoo net, each its own job (they fan out to
the workers), each scored when it finishes, and the leaderboard's zoo chart of 2AFC (with its
interval) against the network's ImageNet top-1."""

from __future__ import annotations

import pytest

from analysis.leaderboard import selectors as board_selectors
from analysis.models import FitRun, RunStatus, ScoreRun
from common.models import Job
from tests.analysis.boards import make_dataset, score
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db

JUDGES = {"traditional": [0.0, 0.2, 0.8, 1.0, 0.4, 0.6]}


def _agree(category, item):
    return (0.1, 0.9) if item.judge < 0.5 else (0.9, 0.1)


def _half(category, item):
    return (0.1, 0.9) if item.index % 2 else (0.9, 0.1)


def test_zoo_rows_carry_their_network_and_imagenet_top1(client, alice):
    dataset = make_dataset(alice, judges=JUDGES)
    fit = FitRun.objects.create(
        dataset=dataset, created_by=alice, net="deep-vgg16", status=RunStatus.DONE
    )
    score(dataset, "deep-resnet18", _agree)
    score(dataset, fit.metric_name, _half)
    score(dataset, "l2", _half)
    board = board_selectors.board_for(dataset=dataset)
    zoo = {row["label"]: row["zoo"] for row in board["rows"] if row["kind"] == "metric"}
    assert board["has_zoo"] is True
    assert zoo["deep-resnet18"] == {"net": "deep-resnet18", "imagenet_top1": 69.758}
    assert zoo[f"deep-vgg16-lin, fit {fit.pk}"] == {"net": "deep-vgg16", "imagenet_top1": 71.592}
    assert zoo["L2"] is None
    client.force_login(alice)
    page = client.get(f"/leaderboards/{dataset.pk}/").content.decode()
    assert 'id="zoo-chart"' in page and "ImageNet top-1" in page


def test_a_board_without_zoo_metrics_has_no_zoo_chart(client, alice):
    dataset = make_dataset(alice, judges=JUDGES)
    score(dataset, "l2", _half)
    assert board_selectors.board_for(dataset=dataset)["has_zoo"] is False
    client.force_login(alice)
    assert 'id="zoo-chart"' not in client.get(f"/leaderboards/{dataset.pk}/").content.decode()


@pytest.fixture
def judged(alice):
    """A frozen dataset with 2AFC train and val items (fits train on one, are scored on the other)."""
    from analysis import datasets

    study = make_live_study(
        alice, trials=12, sentinels=0, needed=2, assignment_size=12, sentinel_rate=0.0,
        split="mixed",
    )  # fmt: skip
    collect(study, 2, lambda item: "right" if item.swapped else "left")
    return datasets.dataset_freeze(study=study, by=alice)


@pytest.mark.parametrize(
    ("nets", "message"),
    [
        ([], "nets"),
        (["deep-resnet19"], "not a valid choice"),
        (["alex"], "not a valid choice"),
        (["deep-resnet18", "deep-resnet18"], "once"),
    ],
)
def test_bad_zoo_requests_are_400s_and_store_nothing(api, alice, judged, nets, message):
    response = api.as_user(alice).post(
        f"/api/datasets/{judged.pk}/zoo/", {"nets": nets}, format="json"
    )
    assert response.status_code == 400, response.content
    assert message in response.content.decode()
    assert not FitRun.objects.exists() and not Job.objects.exists()


def test_another_researchers_dataset_looks_missing(api, bob, judged):
    response = api.as_user(bob).post(
        f"/api/datasets/{judged.pk}/zoo/", {"nets": ["deep-resnet18"]}, format="json"
    )
    assert response.status_code == 404
    assert not FitRun.objects.exists()


def test_each_net_is_its_own_job_so_the_fits_fan_out(api, alice, judged):
    nets = ["deep-resnet18", "deep-alexnet", "deep-mobilenet_v3_large"]
    response = api.as_user(alice).post(
        f"/api/datasets/{judged.pk}/zoo/", {"nets": nets, "epochs": 1}, format="json"
    )  # the test's on-commit callbacks are not run: the jobs wait in the outbox
    assert response.status_code == 201, response.content
    assert [r["net"] for r in response.json()] == nets
    jobs = Job.objects.filter(task="analysis.tasks.fit_lpips").order_by("pk")
    assert [job.target_id for job in jobs] == [r["id"] for r in response.json()]


@pytest.mark.slow
def test_zoo_fits_are_scored_when_they_finish_and_land_on_the_chart(
    api, alice, judged, django_capture_on_commit_callbacks
):
    body = {
        "nets": ["deep-alexnet", "deep-resnet18"],
        "epochs": 1,
        "epochs_decay": 0,
        "trunk_weights": "random",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(f"/api/datasets/{judged.pk}/zoo/", body, format="json")
    assert response.status_code == 201, response.content
    fits = list(FitRun.objects.order_by("pk"))
    assert [(f.net, f.status) for f in fits] == [
        ("deep-alexnet", "done"),
        ("deep-resnet18", "done"),
    ], [f.error for f in fits]
    runs = ScoreRun.objects.order_by("pk")
    assert [(r.metric, r.split, r.status) for r in runs] == [
        (fits[0].metric_name, "val", "done"),
        (fits[1].metric_name, "val", "done"),
    ]
    board = board_selectors.board_for(dataset=judged)
    top1 = sorted(row["zoo"]["imagenet_top1"] for row in board["rows"] if row.get("zoo"))
    assert top1 == [56.522, 69.758]
