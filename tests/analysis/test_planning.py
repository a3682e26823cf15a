"""Dashboard numbers: the 2AFC interval against judgments per triplet, from a study's responses."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.cache import cache

from analysis import leaderboard, planning
from tests.analysis.boards import make_dataset, score
from tests.analysis.studydata import frozen_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def faint_closer(category, item):  # p0 is the faint distortion in the factory's triplets
    return (0.1, 0.2 + 0.01 * item.index)


def inverse(category, item):
    return (0.9, 0.1)


@pytest.fixture
def dataset(alice):
    dataset = frozen_dataset(alice, trials=9)
    score(dataset, "faint", faint_closer)
    score(dataset, "inverse", inverse)
    return dataset


def test_numbers_per_k_end_at_the_board_score_with_all_judgments(dataset):
    data = planning.judgments_ci(dataset=dataset, draws=3, n_resamples=100)
    assert (
        data["available"]
        and data["metric"] == "faint"
        and data["triplets"] == 9
        and data["judgments"] == 27
    )
    assert [r["k"] for r in data["rows"]] == [1, 2, 3]
    assert [r["triplets_with_k"] for r in data["rows"]] == [9, 9, 9]
    board = leaderboard.board_data(dataset=dataset)
    best_all = next(r for r in board["rows"] if r["key"] == board["best"])["cells"]["all"]["score"]
    # With every judgment taken, each draw reproduces the dataset's judges, hence the board's score.
    assert data["rows"][-1]["score"] == pytest.approx(best_all, abs=1e-12)
    for row in data["rows"]:
        assert row["ci_low"] <= row["score"] <= row["ci_high"]
        assert row["ci_width"] == pytest.approx(row["ci_high"] - row["ci_low"], abs=1e-12)
        assert row["ci_width_x_sqrt_triplets"] == pytest.approx(row["ci_width"] * 3)


def test_numbers_are_seeded(dataset):
    first = planning.judgments_ci(dataset=dataset, draws=2, n_resamples=50, seed=4)
    cache.clear()
    assert planning.judgments_ci(dataset=dataset, draws=2, n_resamples=50, seed=4) == first
    cache.clear()
    assert planning.judgments_ci(dataset=dataset, draws=2, n_resamples=50, seed=5) != first


def test_subsampled_judges_take_k_of_each_triplets_judgments():
    choices = [np.array([1.0, 0.0, 1.0]), np.array([0.0]), np.array([1.0, 1.0, 0.0, 0.0])]
    rng = np.random.default_rng(0)
    for _ in range(20):
        one = planning._subsampled_judges(choices, 1, rng)
        assert set(one.tolist()) <= {0.0, 1.0} and one[1] == 0.0
        two = planning._subsampled_judges(choices, 2, rng)
        assert two[0] in (0.5, 1.0) and two[2] in (0.0, 0.5, 1.0)
    assert planning._subsampled_judges(choices, 4, rng).tolist() == [2 / 3, 0.0, 0.5]


def test_unavailable_without_individual_judgments_or_runs(alice):
    imported = make_dataset(alice, judges={"traditional": [0.0, 1.0]})
    score(imported, "m", faint_closer)
    assert planning.judgments_ci(dataset=imported)["available"] is False
    study_dataset = frozen_dataset(alice, trials=3)
    data = planning.judgments_ci(dataset=study_dataset)
    assert data == {
        "available": False,
        "reason": "No finished score run with per-item results on this split.",
    }


def test_researcher_page_shows_the_numbers(client, dataset, alice):
    client.force_login(alice)
    response = client.get(f"/leaderboards/{dataset.pk}/")
    assert b'id="pl-judgments"' in response.content and b'id="judgments-chart"' in response.content
    assert b"27 valid judgments" in response.content
