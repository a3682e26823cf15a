"""Fit runs end to end (eager task): progress, weights, the fitted metric, official-lpips parity."""

from __future__ import annotations

import warnings

import pytest
import torch

from analysis import datasets, services
from analysis.models import FitRun
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


def _prefers_p0(item):
    return "right" if item.swapped else "left"


@pytest.fixture
def train_dataset(alice):
    study = make_live_study(
        alice,
        trials=12,
        sentinels=0,
        needed=2,
        assignment_size=12,
        sentinel_rate=0.0,
        split="train",
    )
    collect(study, 2, _prefers_p0)
    return datasets.dataset_freeze(study=study, by=alice)


def _fit(alice, dataset, capture, **kw) -> FitRun:
    with capture(execute=True):
        run = services.fit_run_create(
            dataset=dataset,
            by=alice,
            epochs=1,
            epochs_decay=1,
            seed=3,
            trunk_weights="random",
            **kw,
        )
    run.refresh_from_db()
    return run


def test_a_fit_reports_progress_stores_weights_and_registers_a_metric(
    alice, train_dataset, django_capture_on_commit_callbacks
):
    run = _fit(alice, train_dataset, django_capture_on_commit_callbacks)
    assert run.status == "done", run.error
    assert [h["epoch"] for h in run.history] == [1, 2]
    assert all("loss" in h for h in run.history)
    assert run.weights.name and run.result["lin_sha256"]
    assert run.computed_with["torch"] == torch.__version__
    assert run.computed_with["device"] in ("cpu", "cuda", "cuda:0")
    import metrics

    fitted = metrics.create_metric(run.metric_name, device="cpu")
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert fitted(x, x.flip(0)).shape == (2,)


def test_fitted_weights_load_into_the_official_package_with_equal_distances(
    alice, train_dataset, tmp_path, django_capture_on_commit_callbacks
):
    import lpips

    import metrics

    run = _fit(alice, train_dataset, django_capture_on_commit_callbacks)
    path = tmp_path / "fit.pth"
    path.write_bytes(run.weights.open("rb").read())
    ours = metrics.create_metric(run.metric_name, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        official = lpips.LPIPS(
            net="alex", version="0.1", pnet_rand=True, model_path=str(path), verbose=False
        )
    state = official.state_dict()
    trunk = ours.trunk.features.state_dict()
    for key in state:
        if key.startswith("net.slice"):
            state[key] = trunk[key.split(".", 2)[2]].clone()
    official.load_state_dict(state)
    official.eval()
    g = torch.Generator().manual_seed(0)
    x0, x1 = (
        torch.rand(4, 3, 64, 64, generator=g) * 2 - 1,
        torch.rand(4, 3, 64, 64, generator=g) * 2 - 1,
    )
    with torch.no_grad():
        theirs = official(x0, x1).flatten()
    assert torch.allclose(ours(x0, x1), theirs, atol=1e-5)


def test_cancel_before_start_marks_the_run_cancelled(alice, train_dataset):
    run = services.fit_run_create(
        dataset=train_dataset, by=alice, trunk_weights="random"
    )  # not executed: no commit
    run = services.fit_run_cancel(run=run)
    assert run.status == "cancelled" and run.cancel_requested
