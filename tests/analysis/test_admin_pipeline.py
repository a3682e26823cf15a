"""The analysis pipeline by clicking in the admin: freeze, fit, score, leaderboard."""

from __future__ import annotations

import pytest

from analysis.models import Dataset, FitRun, ScoreRun
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


def test_freeze_fit_score_and_open_the_leaderboard_from_the_admin(
    client, alice, settings, django_capture_on_commit_callbacks
):
    settings.PERCEPTLAB_DEFAULT_TRUNK = "random"  # offline: no ImageNet trunk here
    settings.PERCEPTLAB_BASELINE_METRICS = ["l2", "psnr"]
    study = make_live_study(
        alice,
        trials=16,
        sentinels=0,
        needed=2,
        assignment_size=16,
        sentinel_rate=0.0,
        split="mixed",
    )
    collect(study, 2, lambda item: "right" if item.swapped else "left")
    client.force_login(alice)

    client.post(
        "/admin/analysis/freezablestudy/",
        {"action": "freeze_dataset", "_selected_action": [study.pk]},
    )
    dataset = Dataset.objects.get(study=study)
    assert dataset.counts == {"2afc": {"train": {"traditional": 8}, "val": {"traditional": 8}}}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/analysis/dataset/", {"action": "fit_alex_lin", "_selected_action": [dataset.pk]}
        )
    fit = FitRun.objects.get(dataset=dataset)
    assert fit.status == "done", fit.error
    page = client.get(f"/admin/analysis/fitrun/{fit.pk}/change/").content.decode()
    assert "val 2AFC" in page and f"/api/fit-runs/{fit.pk}/weights/" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/analysis/dataset/",
            {"action": "score_baselines", "_selected_action": [dataset.pk]},
        )
        client.post(
            "/admin/analysis/dataset/", {"action": "score_fitted", "_selected_action": [dataset.pk]}
        )
    runs = dict(ScoreRun.objects.filter(dataset=dataset).values_list("metric", "status"))
    assert runs == {"l2": "done", "psnr": "done", fit.metric_name: "done"}

    board = client.get(f"/leaderboards/{dataset.pk}/")
    assert board.status_code == 200
    body = board.content.decode()
    assert "Human" in body and "l2" in body and "psnr" in body and "alex-lin" in body
    assert client.get(f"/api/fit-runs/{fit.pk}/weights/").status_code == 200
