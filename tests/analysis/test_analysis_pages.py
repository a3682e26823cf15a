"""The analysis pages a researcher reads: a fit run (training curves, readable numbers, progress
in words), a score run (per-category table with intervals), the leaderboard inside the admin,
and the per-triplet explorer (with its images); who may see each."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from analysis.models import FitRun, RunStatus
from tests.analysis.boards import make_dataset, score
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

JUDGES = {"traditional": [0.0, 0.2, 0.8, 1.0], "cnn": [0.1, 0.9]}
HISTORY = [
    {"epoch": 0, "val_2afc": 0.61, "val": {"traditional": 0.61}},
    {"epoch": 1, "lr": 1e-4, "loss": 0.69314718, "train_2afc": 0.6, "val_2afc": 0.65},
    {"epoch": 2, "lr": 1.9999999999999995e-05, "loss": 0.61, "train_2afc": 0.7, "val_2afc": 0.7123},
]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def dataset(alice):
    dataset = make_dataset(alice, judges=JUDGES)
    for item in dataset.items.all():
        for slot in ("ref", "p0", "p1"):
            if not default_storage.exists(getattr(item, slot)):
                default_storage.save(getattr(item, slot), ContentFile(make_png(64, 64, seed=1)))
    return dataset


@pytest.fixture
def fit(dataset, alice):
    return FitRun.objects.create(
        dataset=dataset,
        created_by=alice,
        status=RunStatus.DONE,
        epochs=1,
        epochs_decay=1,
        trunk_weights="random",
        history=HISTORY,
        progress={"event": "done", "epochs_completed": 2, "val_2afc": 0.7123},
        result={"val_2afc": 0.7123, "lin_sha256": "ab" * 32, "summary": {"loss": 0.61}},
        computed_with={"torch": "2.5.1", "device": "cpu"},
    )


def _agree(category, item):
    return (0.1, 0.9) if item.judge < 0.5 else (0.9, 0.1)


def _wrong(category, item):
    return (0.9, 0.1) if item.judge < 0.5 else (0.1, 0.9)


def test_a_finished_fit_shows_curves_and_readable_numbers(client, alice, fit):
    client.force_login(alice)
    page = client.get(reverse("admin:analysis_fitrun_change", args=[fit.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="pl-fit-history"' in body and 'id="fit-curves"' in body
    assert "perceptlab/analysis.js" in body
    assert "1.9999999999999995e-05" not in body.split('id="pl-fit-history"')[0]
    assert "<td>2e-05</td>" in body and "<td>71.2</td>" in body
    assert "done: 2/2 epochs, final loss 0.61, val 2AFC 71.2" in body
    assert "epoch ?/?" not in body and "{&#x27;" not in body  # no raw dicts
    assert 'http-equiv="refresh"' not in body  # finished: nothing left to watch


def test_a_running_fit_says_where_it_is(client, alice, fit):
    fit.status = RunStatus.RUNNING
    fit.history = HISTORY[:2]
    fit.progress = {"event": "step", "epoch": 2, "epochs": 2, "step": 3, "steps": 10}
    fit.save()
    client.force_login(alice)
    body = client.get(reverse("admin:analysis_fitrun_change", args=[fit.pk])).content.decode()
    assert "epoch 2/2, step 3/10, loss 0.6931, val 2AFC 65.0" in body
    assert '<meta http-equiv="refresh" content="10">' in body  # live while it runs


def test_a_score_run_shows_its_categories_with_intervals(client, alice, dataset):
    run = score(dataset, "ssim", _agree, options={"preset": "lpips-baseline"})
    client.force_login(alice)
    body = client.get(reverse("admin:analysis_scorerun_change", args=[run.pk])).content.decode()
    assert "SSIM (preset lpips-baseline)" in body
    for name in ("Traditional", "CNN-based", "All distortions"):
        assert f"<td>{name}" in body
    # Traditional: 4 triplets, 2AFC 90.0 with its interval, human ceiling 84.0.
    assert "<td>Traditional</td><td>4</td><td>90.0</td><td>80.0 – 100.0</td><td>84.0</td>" in body
    listing = client.get(reverse("admin:analysis_scorerun_changelist")).content.decode()
    assert "SSIM (preset lpips-baseline)" in listing


def test_the_leaderboard_sits_in_the_admin(client, alice, dataset):
    score(dataset, "lpips-alex", _agree, options={"trunk_weights": None})
    client.force_login(alice)
    body = client.get(f"/leaderboards/{dataset.pk}/").content.decode()
    assert 'class="breadcrumbs"' in body and reverse("admin:index") in body
    assert reverse("admin:analysis_dataset_change", args=[dataset.pk]) in body
    assert "LPIPS alex (random trunk)" in body and "trunk_weights=None" not in body
    assert reverse("analysis-triplets", args=[dataset.pk]) in body


def test_a_public_board_stays_readable_without_a_login(client, dataset):
    dataset.is_public = True
    dataset.save()
    body = client.get(f"/leaderboards/public/{dataset.public_slug}/").content.decode()
    assert "public leaderboard" in body and 'class="breadcrumbs"' not in body


def test_the_triplet_explorer_puts_metric_failures_first(client, alice, dataset):
    score(dataset, "l2", _agree)
    wrong = score(dataset, "psnr", _wrong)
    client.force_login(alice)
    page = client.get(reverse("analysis-triplets", args=[dataset.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and "6 triplets" in body
    assert body.count('<td class="disagree"') == 6 and body.count('<td class="agree"') == 6
    assert "PSNR" in body and "L2" in body
    first = re.search(r'data-item="(\d+)"', body).group(1)
    image = client.get(reverse("analysis-triplet-image", args=[dataset.pk, int(first), "p0"]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    only_cnn = client.get(
        reverse("analysis-triplets", args=[dataset.pk]) + f"?category=cnn&sort=metric:{wrong.pk}"
    )
    assert "2 triplets" in only_cnn.content.decode()
    bad = client.get(reverse("analysis-triplets", args=[dataset.pk]) + "?split=nope")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_split"


def _pages(dataset, fit) -> list[str]:
    item = dataset.items.first()
    return [
        f"/leaderboards/{dataset.pk}/",
        reverse("analysis-triplets", args=[dataset.pk]),
        reverse("analysis-triplet-image", args=[dataset.pk, item.pk, "ref"]),
        reverse("admin:analysis_fitrun_change", args=[fit.pk]),
    ]


def test_another_researcher_gets_what_a_missing_id_gets(client, charlie, dataset, fit):
    client.force_login(charlie)
    for url in _pages(dataset, fit):
        assert client.get(url).status_code in (302, 404), url  # admin: redirect with a message
    board = client.get(f"/leaderboards/{dataset.pk}/")
    missing = client.get("/leaderboards/999999/")
    assert board.status_code == missing.status_code == 404 and board.json() == missing.json()


def test_anonymous_visitors_are_sent_to_the_login(client, dataset, fit):
    for url in _pages(dataset, fit):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
