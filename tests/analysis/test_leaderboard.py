"""Leaderboard selectors: Table-5 rows from stored score runs, the human row, significance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import leaderboard
from analysis.models import RunStatus
from metrics.scoring import ScoreReport, human_ceiling, paired_bootstrap_credits
from tests.analysis.boards import make_dataset, score

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


RNG = np.random.default_rng(7)
JUDGES = {
    "traditional": RNG.choice([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 60).tolist(),
    "cnn": RNG.choice([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 40).tolist(),
    "mystudy": RNG.choice([0.0, 0.5, 1.0], 20).tolist(),
}


def agree(category, item):  # prefers whatever most humans preferred: earns max(p, 1 - p)
    return (0.1, 0.9) if item.judge < 0.5 else (0.9, 0.1)


def disagree(category, item):
    return (0.9, 0.1) if item.judge < 0.5 else (0.1, 0.9)


def noisy(category, item):  # agrees except on every third item
    flip = item.index % 3 == 0
    return disagree(category, item) if flip else agree(category, item)


@pytest.fixture
def dataset(alice):
    return make_dataset(
        alice,
        judges=JUDGES,
        same={"traditional": [0, 1 / 3, 2 / 3, 1, 1, 0], "cnn": [1, 0, 1 / 3, 2 / 3]},
    )


def row(board, metric, options=None):
    return next(
        r for r in board["rows"] if r["metric"] == metric and r["options"] == (options or {})
    )


def test_human_row_is_the_human_ceiling_of_the_judges(dataset):
    board = leaderboard.board_data(dataset=dataset)
    human = board["rows"][0]
    assert human["kind"] == "human" and human["label"] == "Human"
    for category, judges in JUDGES.items():
        by_hand = sum(p * p + (1 - p) * (1 - p) for p in judges) / len(judges)
        assert human["cells"][category]["score"] == pytest.approx(by_hand, abs=1e-15)
        assert human["cells"][category]["score"] == human_ceiling(judges)
    # Paper's rules: All-distortions = mean(Trad, CNN); All = mean of every category present.
    cells = human["cells"]
    assert cells["all_distortions"]["score"] == pytest.approx(
        (cells["traditional"]["score"] + cells["cnn"]["score"]) / 2
    )
    assert cells["all"]["score"] == pytest.approx(sum(cells[c]["score"] for c in JUDGES) / 3)
    assert cells["all"]["complete"] is False and cells["all_distortions"]["complete"] is True
    assert "all_real" not in cells


def test_columns_follow_table_5_order_with_extra_categories_before_all(dataset):
    score(dataset, "agree", agree)
    board = leaderboard.board_data(dataset=dataset)
    assert [c["key"] for c in board["columns"]] == [
        "traditional",
        "cnn",
        "all_distortions",
        "mystudy",
        "all",
    ]
    assert [c["label"] for c in board["columns"]] == [
        "Trad",
        "CNN",
        "All-distortions",
        "mystudy",
        "All",
    ]


def test_metric_rows_carry_the_stored_report_values(dataset):
    run = score(dataset, "agree", agree, jnd_distances=lambda c, i: 1 - i.judge + 0.01 * i.index)
    board = leaderboard.board_data(dataset=dataset)
    cells = row(board, "agree")["cells"]
    report = ScoreReport.from_dict(run.result["2afc"])
    for category in JUDGES:
        oracle = sum(max(p, 1 - p) for p in JUDGES[category]) / len(JUDGES[category])
        assert cells[category]["score"] == pytest.approx(oracle)
        assert cells[category]["ci_low"] == report.categories[category].ci_low
        assert cells[category]["n"] == len(JUDGES[category])
    assert cells["all"]["score"] == report.aggregates["all"].score
    jnd = row(board, "agree")["jnd"]
    assert set(jnd) == {"traditional", "cnn", "all"}
    assert jnd["all"]["score"] == run.result["jnd"]["aggregates"]["all"]["score"]
    assert [c["key"] for c in board["jnd_columns"]] == ["traditional", "cnn", "all"]


def test_only_the_latest_finished_run_per_metric_and_options_counts(dataset):
    score(dataset, "m", disagree)
    newer = score(dataset, "m", agree)
    score(dataset, "m", noisy, status=RunStatus.FAILED)
    score(dataset, "m", noisy, status=RunStatus.RUNNING)
    other_options = score(dataset, "m", noisy, options={"version": "0.0"})
    board = leaderboard.board_data(dataset=dataset)
    metric_rows = [r for r in board["rows"] if r["kind"] == "metric"]
    assert sorted(r["run"] for r in metric_rows) == sorted([newer.pk, other_options.pk])
    assert row(board, "m", {"version": "0.0"})["label"] == "m (v0.0)"


def test_best_metric_and_paired_significance_from_the_credits(dataset):
    best = score(dataset, "agree", agree)
    score(dataset, "agree-copy", agree)
    score(dataset, "disagree", disagree)
    score(dataset, "noisy", noisy)
    board = leaderboard.board_data(dataset=dataset)
    assert board["best"] == f"run-{best.pk}"
    assert row(board, "agree")["cells"]["all"]["best"] is True
    # Identical credits: difference 0, p = 1, not significant (shown as tied with the best).
    copy = row(board, "agree-copy")["cells"]["all"]["vs_best"]
    assert copy["difference"] == 0 and copy["p_value"] == 1 and copy["significant"] is False
    worse = row(board, "disagree")["cells"]["all"]["vs_best"]
    assert worse["significant"] is True and worse["p_value"] < 0.01
    # The tested statistic is the All column itself (unweighted mean of category means).
    noisy_all = row(board, "noisy")["cells"]["all"]
    assert noisy_all["vs_best"]["difference"] == pytest.approx(
        noisy_all["score"] - row(board, "agree")["cells"]["all"]["score"], abs=1e-12
    )
    assert noisy_all["vs_best"]["n"] == sum(len(j) for j in JUDGES.values())


def test_a_single_category_column_uses_the_plain_paired_test(dataset):
    score(dataset, "agree", agree)
    score(dataset, "noisy", noisy)
    board = leaderboard.board_data(dataset=dataset)
    vs = row(board, "noisy")["cells"]["traditional"]["vs_best"]
    items = sorted(dataset.items.filter(kind="2afc", category="traditional"), key=lambda i: i.pk)

    def credit(fn):
        return [
            (1 - i.judge) if fn("traditional", i)[0] < fn("traditional", i)[1] else i.judge
            for i in items
        ]

    expected = paired_bootstrap_credits(credit(noisy), credit(agree), n_resamples=1000, seed=0)
    assert vs["difference"] == pytest.approx(expected.difference)
    assert vs["p_value"] == expected.p_value


def test_sorted_rows_keep_the_human_row_first(dataset):
    score(dataset, "agree", agree)
    score(dataset, "disagree", disagree)
    score(dataset, "noisy", noisy)
    board = leaderboard.board_data(dataset=dataset)
    assert [r["label"] for r in leaderboard.sorted_rows(board)] == [
        "Human",
        "agree",
        "noisy",
        "disagree",
    ]
    ascending = leaderboard.sorted_rows(board, by="cnn", descending=False)
    assert [r["label"] for r in ascending] == ["Human", "disagree", "noisy", "agree"]


def test_a_board_without_runs_has_only_the_human_row(dataset):
    board = leaderboard.board_data(dataset=dataset)
    assert [r["kind"] for r in board["rows"]] == ["human"] and board["best"] is None


def test_downloads_have_one_line_per_row(dataset):
    score(dataset, "agree", agree, jnd_distances=lambda c, i: 1 - i.judge)
    score(dataset, "disagree", disagree)
    board = leaderboard.board_data(dataset=dataset)
    lines = leaderboard.board_csv(board).splitlines()
    assert lines[0].split(",")[:6] == [
        "row",
        "metric",
        "run",
        "2afc_traditional",
        "2afc_traditional_ci_low",
        "2afc_traditional_ci_high",
    ]
    assert [line.split(",")[0] for line in lines[1:]] == ["Human", "agree", "disagree"]
    human_all = float(lines[1].split(",")[lines[0].split(",").index("2afc_all")])
    assert human_all == round(100 * board["rows"][0]["cells"]["all"]["score"], 1)
    markdown = leaderboard.board_markdown(board)
    assert "| method | Trad | CNN | All-distortions | mystudy | All |" in markdown
    assert "| Human |" in markdown and "JND mAP" in markdown
    assert not math.isnan(float(lines[2].split(",")[3]))
