"""Duel statistics: Bradley–Terry recovers known strengths from simulated comparisons, unbeaten
metrics stay finite, shares get honest intervals, aggressiveness and resistance add up."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.duels import (
    DuelOutcome,
    bradley_terry,
    gmad_scores,
    wilson_interval,
    wins_matrix,
)


def simulate(strength: np.ndarray, games: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = len(strength)
    wins = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            p = 1.0 / (1.0 + np.exp(-(strength[i] - strength[j])))
            w = rng.binomial(games, p)
            wins[i, j], wins[j, i] = w, games - w
    return wins


def test_bradley_terry_recovers_known_strengths():
    truth = np.array([-1.0, -0.25, 0.25, 1.0])
    fit = bradley_terry(simulate(truth, 400, seed=0), prior=0.5, n_boot=300, seed=1)
    assert fit.strength.sum() == pytest.approx(0.0, abs=1e-9)
    assert np.abs(fit.strength - truth).max() < 0.15
    assert fit.ranking() == [3, 2, 1, 0]
    assert np.all(fit.low <= fit.strength) and np.all(fit.strength <= fit.high)
    assert np.all((fit.low <= truth) & (truth <= fit.high))
    probs = fit.win_probability()
    assert probs[3, 0] > 0.8 and probs + probs.T == pytest.approx(np.ones((4, 4)))


def test_intervals_cover_the_truth_in_most_simulations():
    truth = np.array([0.0, 0.5, 1.2])
    covered = 0
    for seed in range(20):
        fit = bradley_terry(simulate(truth, 60, seed), n_boot=200, seed=seed)
        centred = truth - truth.mean()
        covered += int(np.all((fit.low <= centred) & (centred <= fit.high)))
    assert covered >= 15  # three 95% intervals at once: about 86% expected


def test_unbeaten_metric_stays_finite_and_prior_is_required():
    wins = np.array([[0, 20, 20], [0, 0, 10], [0, 10, 0]])
    fit = bradley_terry(wins, n_boot=50)
    assert np.isfinite(fit.strength).all() and fit.ranking()[0] == 0
    with pytest.raises(ValueError, match="prior must be > 0"):
        bradley_terry(wins, prior=0.0)
    with pytest.raises(ValueError, match="K×K matrix"):
        bradley_terry(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="zero diagonal"):
        bradley_terry(np.eye(3))
    with pytest.raises(ValueError, match="non-negative"):
        bradley_terry(-np.ones((2, 2)) + np.eye(2))


def test_outcome_from_trials_bootstraps_over_trials():
    # Twenty trials, five votes each, 80% siding with the attacker.
    votes, totals = [4] * 20, [5] * 20
    o = DuelOutcome.from_trials("ssim", "l2", votes, totals, n_boot=500, seed=0)
    assert o.share == pytest.approx(0.8) and o.method == "bootstrap"
    assert o.interval == (0.8, 0.8)  # every trial alike: no spread between trials
    mixed = DuelOutcome.from_trials("ssim", "l2", [5, 3] * 10, [5] * 20, n_boot=500, seed=0)
    low, high = mixed.interval
    assert low < 0.8 < high and low > 0.5
    assert mixed.decisive and mixed.winner == "ssim"
    chance = DuelOutcome.from_counts("psnr", "l2", 52, 100)
    assert not chance.decisive and chance.winner is None
    losing = DuelOutcome.from_counts("ssim", "l2", 10, 100)
    assert losing.winner == "l2"
    with pytest.raises(ValueError, match="0 <= attacker votes <= total"):
        DuelOutcome.from_counts("a", "b", 6, 5)


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_aggressiveness_resistance_and_wins_matrix():
    outcomes = [
        DuelOutcome.from_counts("l2", "ssim", 70, 100),  # l2 attacks ssim and wins 70%
        DuelOutcome.from_counts("ssim", "l2", 20, 100),  # ssim attacks l2 and wins 20%
        DuelOutcome.from_counts("psnr", "l2", 50, 100),
    ]
    scores = gmad_scores(outcomes)
    assert scores["l2"]["aggressiveness"].share == pytest.approx(0.7)
    assert scores["l2"]["resistance"].share == pytest.approx((80 + 50) / 200)
    assert scores["ssim"]["resistance"].share == pytest.approx(0.3)
    assert scores["psnr"]["resistance"].total == 0
    wins = wins_matrix(outcomes, ["l2", "ssim", "psnr"])
    assert wins.tolist() == [[0, 150, 50], [50, 0, 0], [50, 0, 0]]
    fit = bradley_terry(wins, n_boot=100)
    assert fit.ranking()[0] == 0
    with pytest.raises(ValueError, match="'psnr' of a duel is not among"):
        wins_matrix(outcomes, ["l2", "ssim"])
