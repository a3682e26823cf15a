"""Trunk weights a researcher names in a fit or a score run are one of torchvision's ImageNet
weights, a random trunk, or the file name of a checkpoint in the workers' trunk folder, never a
path: a worker opens no file a researcher chose, and its errors tell nothing about other files."""

from __future__ import annotations

import os

import pytest
import torch
import torchvision

from analysis import services
from analysis.models import FitRun, ScoreRun
from analysis.weight_files import weights_on_worker
from tests.analysis.jobs import ready_dataset
from tests.analysis.studydata import frozen_dataset

pytestmark = pytest.mark.django_db

PATHS = ["/etc/passwd", "../../etc/passwd", "sub/alex.pth", "~/alex.pth", "a" * 300, ".."]


@pytest.mark.parametrize("value", PATHS)
def test_a_fit_naming_a_path_is_refused_and_nothing_is_stored(api, alice, value):
    dataset = ready_dataset(alice)
    response = api.as_user(alice).post(
        f"/api/datasets/{dataset.pk}/fit/", {"trunk_weights": value}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "trunk_weights" in str(response.json()["error"])
    assert not FitRun.objects.exists()


@pytest.mark.parametrize("value", PATHS[:4])
def test_a_score_run_naming_a_path_is_refused_and_nothing_is_stored(api, alice, value):
    dataset = ready_dataset(alice)
    response = api.as_user(alice).post(
        f"/api/datasets/{dataset.pk}/score/",
        {"metric": "lpips-alex", "options": {"trunk_weights": value}},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "trunk_weights" in response.json()["error"]["message"]
    assert not ScoreRun.objects.exists()


def test_workers_resolve_names_inside_their_trunk_folder_only(settings, tmp_path):
    folder, outside = tmp_path / "trunks", tmp_path / "secret.pth"
    folder.mkdir()
    (folder / "kmeans-alex.pth").write_bytes(b"x")
    outside.write_bytes(b"x")
    os.symlink(outside, folder / "link.pth")
    settings.PERCEPTLAB_WEIGHTS_DIR = str(folder)
    assert weights_on_worker("kmeans-alex.pth") == str(folder / "kmeans-alex.pth")
    assert weights_on_worker(None) is None
    assert weights_on_worker("imagenet") == "imagenet"
    errors = set()
    for name in ("missing.pth", "link.pth"):
        with pytest.raises(ValueError, match="not available") as caught:
            weights_on_worker(name)
        errors.add(str(caught.value).replace(name, "<name>"))
    assert len(errors) == 1, "a missing file and one outside the folder must look the same"
    settings.PERCEPTLAB_WEIGHTS_DIR = ""
    with pytest.raises(ValueError, match="not available"):
        weights_on_worker("kmeans-alex.pth")


def test_a_score_run_uses_a_named_trunk_from_the_folder(
    alice, settings, tmp_path, django_capture_on_commit_callbacks
):
    torch.manual_seed(3)
    torch.save(torchvision.models.alexnet().state_dict(), tmp_path / "my-alex.pth")
    settings.PERCEPTLAB_WEIGHTS_DIR = str(tmp_path)
    dataset = frozen_dataset(alice)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.score_run_create(
            dataset=dataset,
            metric="lpips-alex",
            by=alice,
            options={"trunk_weights": "my-alex.pth"},
        )
    run.refresh_from_db()
    assert run.status == "done", run.error
    with (
        pytest.raises(ValueError, match="not available"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.score_run_create(
            dataset=dataset, metric="lpips-alex", by=alice, options={"trunk_weights": "gone.pth"}
        )
    missing = ScoreRun.objects.exclude(pk=run.pk).get()
    assert missing.status == "failed" and "not available on this worker" in missing.error


@pytest.mark.parametrize(
    ("metric", "option"), [("lpips-alex", "lin_weights"), ("dists", "weights")]
)
def test_other_file_options_of_a_score_run_take_no_path(api, alice, metric, option):
    dataset = ready_dataset(alice)
    response = api.as_user(alice).post(
        f"/api/datasets/{dataset.pk}/score/",
        {"metric": metric, "options": {option: "/etc/passwd"}},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert option in str(response.json()["error"])
    assert not ScoreRun.objects.exists()
