"""Tests for metrics.scoring: 2AFC and JND scores, aggregates, bootstraps, exports, bad input.

The main known-value checks score a small BAPPS-layout dataset that the tests write and read back
with metrics.bapps, and compare every number with a computation written out by hand here (plain
loops, no NumPy vectorisation), plus an exact rational check from the integer judge counts.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pytest

from metrics.bapps import BappsDataset, write_2afc, write_jnd
from metrics.scoring import (
    PAPER_COLUMNS,
    VAL_SETS,
    PairedTest,
    ScoreReport,
    bootstrap_indices,
    credit_table,
    human_ceiling,
    jnd_ci,
    jnd_map,
    make_rng,
    oracle_score,
    paired_bootstrap_2afc,
    paired_bootstrap_credits,
    paired_bootstrap_jnd,
    score_2afc,
    score_2afc_set,
    score_jnd,
    score_jnd_set,
    twoafc_ci,
    twoafc_credit,
    twoafc_score,
    voc_ap,
)

TWOAFC_SIZES = {"traditional": 50, "cnn": 45, "superres": 60, "deblur": 55, "color": 40,
                "frameinterp": 35}  # fmt: skip
JND_SIZES = {"traditional": 70, "cnn": 64}


# --- a generated BAPPS-layout dataset ------------------------------------------------------------


def _noisy(rng, ref, level):
    noise = rng.integers(-level, level + 1, size=ref.shape)
    return np.clip(ref.astype(int) + noise, 0, 255).astype(np.uint8)


def _twoafc_items(rng, n):
    for i in range(n):
        ref = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        p0 = _noisy(rng, ref, int(rng.integers(1, 60)))
        # Every 7th triplet repeats p0 as p1, so the metric ties and must give 0.5 credit.
        p1 = p0.copy() if i % 7 == 0 else _noisy(rng, ref, int(rng.integers(1, 60)))
        yield ref, p0, p1, int(rng.integers(0, 6)) / 5  # 5 judges, as in BAPPS val


def _jnd_items(rng, n):
    for _ in range(n):
        p0 = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        yield p0, _noisy(rng, p0, int(rng.integers(1, 80))), int(rng.integers(0, 4)) / 3


@pytest.fixture(scope="module")
def bapps_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("bapps")
    rng = np.random.default_rng(2018)
    for category, n in TWOAFC_SIZES.items():
        write_2afc(root, "val", category, _twoafc_items(rng, n))
    for category, n in JND_SIZES.items():
        write_jnd(root, "val", category, _jnd_items(rng, n))
    return root


def _sq_dist(a, b):
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


@pytest.fixture(scope="module")
def twoafc_data(bapps_root):
    """Category → (d0, d1, judge) lists, read back from the generated folder."""
    data = BappsDataset(bapps_root, load_size=None)
    out = {}
    for category in data.categories("2afc", "val"):
        items = list(data.twoafc("val", category))
        out[category] = (
            [_sq_dist(it.ref, it.p0) for it in items],
            [_sq_dist(it.ref, it.p1) for it in items],
            [it.judge for it in items],
        )
    return out


@pytest.fixture(scope="module")
def jnd_data(bapps_root):
    data = BappsDataset(bapps_root, load_size=None)
    out = {}
    for category in data.categories("jnd", "val"):
        items = list(data.jnd("val", category))
        out[category] = ([_sq_dist(it.p0, it.p1) for it in items], [it.same for it in items])
    return out


# --- hand computations ---------------------------------------------------------------------------


def hand_credits(d0, d1, judge):
    credits = []
    for a, b, g in zip(d0, d1, judge, strict=True):
        if a < b:
            credits.append(1.0 - g)
        elif b < a:
            credits.append(g)
        else:
            credits.append(0.5)
    return credits


def hand_mean(values):
    return math.fsum(values) / len(values)


def hand_voc_ap(distances, same):
    """JND mAP written out step by step (distances must be distinct, so the order is unique)."""
    order = sorted(range(len(distances)), key=lambda i: distances[i])
    tp = fp = 0.0
    tps, fps = [], []
    for i in order:
        tp += same[i]
        fp += 1.0 - same[i]
        tps.append(tp)
        fps.append(fp)
    precision = [t / (t + f) for t, f in zip(tps, fps, strict=True)]
    recall = [t / (t + (tp - t)) for t in tps]
    mrec = [0.0, *recall, 1.0]
    mpre = [0.0, *precision, 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return math.fsum(
        (mrec[i + 1] - mrec[i]) * mpre[i + 1]
        for i in range(len(mrec) - 1)
        if mrec[i + 1] != mrec[i]
    )


# --- 2AFC ----------------------------------------------------------------------------------------


def test_generated_dataset_has_ties_and_all_judge_levels(twoafc_data):
    # Guards the fixture: the checks below only mean something if ties and every level occur.
    d0, d1, judge = ([x for v in twoafc_data.values() for x in v[k]] for k in range(3))
    assert sum(a == b for a, b in zip(d0, d1, strict=True)) >= 30
    assert {round(g * 5) for g in judge} == set(range(6))


def test_it_scores_each_category_exactly_as_by_hand(twoafc_data):
    for category, (d0, d1, judge) in twoafc_data.items():
        assert twoafc_score(d0, d1, judge) == hand_mean(hand_credits(d0, d1, judge)), category


def test_score_equals_the_exact_rational_value(twoafc_data):
    # From integer counts k = 5·judge, independent of any float summation.
    for d0, d1, judge in twoafc_data.values():
        total = Fraction(0)
        for a, b, g in zip(d0, d1, judge, strict=True):
            k = round(g * 5)
            total += Fraction(5 - k, 5) if a < b else Fraction(k, 5) if b < a else Fraction(1, 2)
        exact = total / len(d0)
        assert abs(Fraction(twoafc_score(d0, d1, judge)) - exact) <= Fraction(1, 10**15)


def test_human_ceiling_and_oracle_equal_their_formulas(twoafc_data):
    for _, _, judge in twoafc_data.values():
        assert human_ceiling(judge) == hand_mean([p * p + (1.0 - p) * (1.0 - p) for p in judge])
        assert oracle_score(judge) == hand_mean([max(p, 1.0 - p) for p in judge])


def test_report_matches_hand_columns(twoafc_data):
    report = score_2afc(twoafc_data, n_resamples=0)
    scores = {c: hand_mean(hand_credits(*v)) for c, v in twoafc_data.items()}
    for category, score in scores.items():
        result = report.categories[category]
        assert result.score == score
        assert result.n == TWOAFC_SIZES[category]
        assert result.human == human_ceiling(twoafc_data[category][2])
    agg = report.aggregates
    assert agg["all_distortions"].score == math.fsum([scores["traditional"], scores["cnn"]]) / 2
    real = [scores[c] for c in ("superres", "deblur", "color", "frameinterp")]
    assert agg["all_real"].score == math.fsum(real) / 4
    assert agg["all"].score == math.fsum(scores.values()) / 6
    assert all(a.complete for a in agg.values())
    assert agg["all"].human == math.fsum(report.categories[c].human for c in VAL_SETS) / 6


def test_tie_gives_half_credit_whatever_the_judges():
    assert twoafc_credit([0.3, 0.3, 0.3], [0.3, 0.3, 0.3], [0.0, 0.6, 1.0]).tolist() == [0.5] * 3


def test_paper_example_four_of_five_prefer_p0():
    # 4 of 5 humans chose p0 (judge 0.2); a metric rating p0 closer earns 0.8 (reference §3.1).
    assert twoafc_score([0.1], [0.4], [0.2]) == 1.0 - 0.2
    assert twoafc_score([0.4], [0.1], [0.2]) == 0.2


def test_it_flattens_lpips_shaped_distances():
    rng = np.random.default_rng(0)
    d0, d1 = rng.random(20), rng.random(20)
    judge = rng.integers(0, 6, 20) / 5
    flat = twoafc_score(d0, d1, judge)
    assert twoafc_score(d0.reshape(20, 1, 1, 1), d1.reshape(20, 1, 1, 1), judge) == flat


@pytest.mark.parametrize(
    ("d0", "d1", "judge", "message"),
    [
        ([0.1, 0.2], [0.3], [0.5, 0.5], "length mismatch: d0=2, d1=1, judge=2"),
        ([0.1, float("nan")], [0.3, 0.1], [0.5, 0.5], "d0 contains 1 NaN"),
        ([0.1, 0.2], [0.3, 0.1], [0.5, 1.7], r"judge must be fractions in \[0, 1\].*index 1: 1.7"),
        ([0.1, 0.2], [0.3, 0.1], [-0.2, 0.5], r"index 0: -0.2"),
        ([0.1, 0.2], [0.3, 0.1], [float("nan"), 0.5], r"judge must be fractions"),
        ([], [], [], "d0 is empty"),
        (["a"], [0.1], [0.5], "d0 must be numeric"),
    ],
)
def test_it_rejects_bad_2afc_input(d0, d1, judge, message):
    with pytest.raises(ValueError, match=message):
        twoafc_score(d0, d1, judge)


# --- JND -----------------------------------------------------------------------------------------


def test_jnd_map_equals_hand_voc_ap(jnd_data):
    for distances, same in jnd_data.values():
        assert len(set(distances)) == len(distances)  # the hand version needs a unique order
        assert jnd_map(distances, same) == hand_voc_ap(distances, same)


def test_jnd_map_worked_example():
    # Ranks carry same = 1, 0, 1, 0: precision 1, 1/2, 2/3, 1/2 at recall 1/2, 1/2, 1, 1.
    # Interpolated: 1 on (0, 1/2], 2/3 on (1/2, 1]; area 1/2 + 1/3 = 5/6.
    # Given out of order, so the sort matters: 0.1 → 1, 0.2 → 0, 0.3 → 1, 0.4 → 0.
    assert jnd_map([0.3, 0.1, 0.4, 0.2], [1, 1, 0, 0]) == pytest.approx(5 / 6)
    assert jnd_map([0.2, 0.1], [0.0, 1.0]) == 1.0  # the "same" pair ranked first: perfect


def test_voc_ap_has_no_11_point_interpolation():
    # One point at recall 0.25 with precision 1: area 0.25; 11-point interpolation would give
    # 3/11 (recall levels 0, 0.1, 0.2).
    assert voc_ap([0.25], [1.0]) == 0.25


def test_jnd_flattens_lpips_shaped_distances(jnd_data):
    distances, same = jnd_data["cnn"]
    column = np.asarray(distances).reshape(-1, 1, 1, 1)
    assert jnd_map(column, same) == jnd_map(distances, same)
    # The official master's bug would give the first pair's label instead.
    assert jnd_map(column, same) != same[0]


@pytest.mark.parametrize(
    ("distances", "same", "message"),
    [
        ([0.1, 0.2], [1.0], "length mismatch"),
        ([0.1, float("nan")], [1.0, 0.0], "distances contains 1 NaN"),
        ([0.1, 0.2], [1.0, 1.7], r"same must be fractions in \[0, 1\]"),
        ([0.1, 0.2], [0.0, 0.0], "no pair was judged 'same'"),
        ([], [], "distances is empty"),
    ],
)
def test_it_rejects_bad_jnd_input(distances, same, message):
    with pytest.raises(ValueError, match=message):
        jnd_map(distances, same)


# --- comparison with the official implementation (lpips 0.1.4, used only as a reference) ---------


class _FakeLoader:
    """Feeds arrays to the official scorers the way their data loader would (torch tensors)."""

    def __init__(self, torch, batches):
        self._batches = [{k: torch.as_tensor(v) for k, v in b.items()} for b in batches]

    def load_data(self):
        return iter(self._batches)


def test_official_scorers_agree(twoafc_data, jnd_data):
    lpips = pytest.importorskip("lpips")
    torch = pytest.importorskip("torch")

    def dist(a, b):  # the "images" are distances in disguise: d(x, y) = y
        return b.reshape(-1, 1, 1, 1)

    for d0, d1, judge in twoafc_data.values():
        loader = _FakeLoader(torch, [{"ref": np.zeros(len(d0)), "p0": np.array(d0),
                                      "p1": np.array(d1), "judge": np.array(judge)}])  # fmt: skip
        official, _ = lpips.score_2afc_dataset(loader, dist)
        assert twoafc_score(d0, d1, judge) == pytest.approx(official, abs=1e-12)
    for distances, same in jnd_data.values():
        batch = {"p0": np.zeros(len(same)), "p1": np.array(distances), "same": np.array(same)}
        # With flat distances the official scorer is correct; it agrees with ours.
        official, _ = lpips.score_jnd_dataset(_FakeLoader(torch, [batch]), lambda a, b: b)
        assert jnd_map(distances, same) == pytest.approx(official, abs=1e-12)
        # With LPIPS-shaped N×1×1×1 output it collapses to the first pair's label (§3.2 bug),
        # or to NaN (0/0 recall) when that label is 0.
        with np.errstate(invalid="ignore"):
            buggy, _ = lpips.score_jnd_dataset(_FakeLoader(torch, [batch]), dist)
        assert buggy == pytest.approx(same[0]) if same[0] else np.isnan(buggy)
        assert jnd_map(np.reshape(distances, (-1, 1, 1, 1)), same) == jnd_map(distances, same)
    rng = np.random.default_rng(3)
    for _ in range(5):
        recall = np.sort(rng.random(30))
        precision = rng.random(30)
        assert voc_ap(recall, precision) == pytest.approx(
            lpips.voc_ap(recall, precision), abs=1e-12
        )


# --- bootstrap -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(7)
    n = 10_000
    judge = rng.integers(0, 6, n) / 5
    truth = rng.random(n)
    # Metric A follows the majority more often than metric B does.
    return {
        "judge": judge,
        "a": (truth, truth + (0.5 - judge) * 0.8 + rng.normal(0, 0.3, n)),
        "b": (truth, truth + rng.normal(0, 0.3, n)),
        "same": rng.integers(0, 4, n) / 3,
    }


def test_ci_equals_percentiles_of_hand_resampled_means(twoafc_data):
    d0, d1, judge = twoafc_data["superres"]
    credits = np.array(hand_credits(d0, d1, judge))
    means = [
        credits[row].mean()
        for block in bootstrap_indices(credits.size, 300, make_rng(11))
        for row in block
    ]
    expected = np.percentile(means, [2.5, 97.5])
    low, high = twoafc_ci(d0, d1, judge, n_resamples=300, seed=11)
    assert (low, high) == pytest.approx(tuple(expected), abs=1e-12)
    assert low < twoafc_score(d0, d1, judge) < high


def test_jnd_replicates_equal_jnd_map_of_each_resample(jnd_data):
    distances, same = (np.array(v) for v in jnd_data["traditional"])
    from metrics.scoring.bootstrap import jnd_replicates

    reps = jnd_replicates(distances, same, 25, make_rng(5))
    rows = np.vstack(list(bootstrap_indices(same.size, 25, make_rng(5))))
    for rep, idx in zip(reps, rows, strict=True):
        if same[idx].any():
            assert rep == pytest.approx(jnd_map(distances[idx], same[idx]), rel=1e-12)
        else:
            assert np.isnan(rep)


def test_bootstrap_is_seeded(big):
    d0, d1 = big["a"]
    first = twoafc_ci(d0, d1, big["judge"], n_resamples=200, seed=1)
    assert twoafc_ci(d0, d1, big["judge"], n_resamples=200, seed=1) == first
    assert twoafc_ci(d0, d1, big["judge"], n_resamples=200, seed=2) != first
    assert jnd_ci(d0, big["same"], n_resamples=50, seed=1) == jnd_ci(
        d0, big["same"], n_resamples=50, seed=1
    )


def test_bootstrap_on_10k_triplets_is_fast(big):
    # CPU time of this process, not wall time: the test machines are shared, and a looped
    # (non-vectorised) bootstrap would still blow these bounds by an order of magnitude.
    d0, d1 = big["a"]
    start = time.process_time()
    twoafc_ci(d0, d1, big["judge"], n_resamples=1000)
    paired_bootstrap_2afc(*big["a"], *big["b"], big["judge"], n_resamples=1000)
    assert time.process_time() - start < 1.0
    start = time.process_time()
    jnd_ci(d1, big["same"], n_resamples=1000)
    assert time.process_time() - start < 2.0


def test_paired_test_detects_the_better_metric(big):
    test = paired_bootstrap_2afc(*big["a"], *big["b"], big["judge"], n_resamples=500, seed=3)
    assert test.difference == test.score_a - test.score_b > 0
    assert 0 < test.ci_low < test.difference < test.ci_high
    assert test.p_value == 1 / 501  # no centred replicate is as extreme as the observed gap
    swapped = paired_bootstrap_2afc(*big["b"], *big["a"], big["judge"], n_resamples=500, seed=3)
    assert swapped.difference == -test.difference
    assert (swapped.ci_low, swapped.ci_high) == pytest.approx((-test.ci_high, -test.ci_low))


def test_paired_test_of_a_metric_with_itself_finds_nothing(big):
    test = paired_bootstrap_2afc(*big["a"], *big["a"], big["judge"], n_resamples=200)
    assert (test.difference, test.ci_low, test.ci_high, test.p_value) == (0.0, 0.0, 0.0, 1.0)
    jnd = paired_bootstrap_jnd(big["a"][1], big["a"][1], big["same"], n_resamples=50)
    assert (jnd.difference, jnd.p_value) == (0.0, 1.0)


def test_paired_p_value_follows_its_definition():
    rng = np.random.default_rng(9)
    a, b = rng.random(400), rng.random(400)
    test = paired_bootstrap_credits(a, b, n_resamples=400, seed=4)
    diffs = [
        (a - b)[row].mean() for block in bootstrap_indices(400, 400, make_rng(4)) for row in block
    ]
    delta = math.fsum(a) / 400 - math.fsum(b) / 400
    extreme = sum(abs(d - delta) >= abs(delta) for d in diffs)
    assert test.p_value == (1 + extreme) / 401
    assert 0.05 < test.p_value < 1  # two random metrics: no evidence of a difference


def test_paired_jnd_matches_separate_scores(big):
    test = paired_bootstrap_jnd(big["a"][1], big["b"][1], big["same"], n_resamples=100, seed=2)
    assert test.score_a == jnd_map(big["a"][1], big["same"])
    assert test.difference == test.score_a - test.score_b
    assert test.ci_low <= test.ci_high
    assert PairedTest.from_dict(json.loads(json.dumps(test.to_dict()))) == test


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_resamples": 0}, "n_resamples must be >= 1"), ({"confidence": 1.0}, "confidence")],
)
def test_it_rejects_bad_bootstrap_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        twoafc_ci([0.1, 0.2], [0.2, 0.1], [0.4, 0.6], **kwargs)


# --- reports and exports -------------------------------------------------------------------------


def test_report_intervals_are_per_category_streams(twoafc_data):
    full = score_2afc(twoafc_data, n_resamples=200, seed=5)
    alone = score_2afc_set(*twoafc_data["cnn"], category="cnn", n_resamples=200, seed=5)
    assert full.categories["cnn"] == alone
    for item in [*full.categories.values(), *full.aggregates.values()]:
        assert 0 <= item.ci_low <= item.score <= item.ci_high <= 1


def test_report_round_trips_through_json(twoafc_data, jnd_data):
    for report in (
        score_2afc(twoafc_data, metric="sq", split="val", n_resamples=50, seed=1),
        score_jnd(jnd_data, metric="sq", n_resamples=50, seed=1),
    ):
        assert ScoreReport.from_dict(json.loads(report.to_json())) == report


def test_rows_follow_table_5_order_with_extra_sets_before_all(twoafc_data):
    sets = {"mystudy": twoafc_data["cnn"], **twoafc_data}
    columns = [row["column"] for row in score_2afc(sets, n_resamples=0).rows()]
    assert columns == [*PAPER_COLUMNS[:-1], "mystudy", "all"]


def test_partial_sets_use_what_is_present_and_say_so(twoafc_data):
    report = score_2afc({c: twoafc_data[c] for c in ("cnn", "deblur", "color")}, n_resamples=0)
    agg = report.aggregates
    assert agg["all_distortions"].categories == ("cnn",)
    assert agg["all_distortions"].score == report.categories["cnn"].score
    assert agg["all_real"].categories == ("deblur", "color")
    assert not any(a.complete for a in agg.values())
    only_real = score_2afc({"color": twoafc_data["color"]}, n_resamples=0)
    assert set(only_real.aggregates) == {"all_real", "all"}


def test_jnd_report_has_all_and_intervals(jnd_data):
    report = score_jnd(jnd_data, n_resamples=100, seed=0)
    assert set(report.aggregates) == {"all"}
    assert report.aggregates["all"].complete
    assert (
        report.aggregates["all"].score
        == math.fsum(jnd_map(*jnd_data[c]) for c in ("traditional", "cnn")) / 2
    )
    cnn = report.categories["cnn"]
    assert cnn == score_jnd_set(*jnd_data["cnn"], category="cnn", n_resamples=100, seed=0)
    assert cnn.ci_low <= cnn.score <= cnn.ci_high
    assert cnn.human is None


def test_report_errors_name_the_category(twoafc_data):
    d0, d1, _ = twoafc_data["cnn"]
    with pytest.raises(ValueError, match=r"category 'cnn': judge must be fractions"):
        score_2afc({"cnn": (d0, d1, [1.7] * len(d0))})
    with pytest.raises(ValueError, match="no categories"):
        score_2afc({})


def test_credit_table_exports_rows(twoafc_data):
    d0, d1, judge = twoafc_data["color"]
    names = [f"{i:06d}" for i in range(len(d0))]
    table = credit_table(d0, d1, judge, names=names)
    rows = list(table.rows())
    assert len(rows) == len(d0)
    assert rows[3] == {"name": "000003", "d0": d0[3], "d1": d1[3], "judge": judge[3],
                       "credit": hand_credits(d0, d1, judge)[3],
                       "human": judge[3] ** 2 + (1 - judge[3]) ** 2,
                       "oracle": max(judge[3], 1 - judge[3])}  # fmt: skip
    assert math.fsum(table.credit) / len(table) == twoafc_score(d0, d1, judge)
    json.dumps(table.columns())  # plain Python values only
    with pytest.raises(ValueError, match="names=2"):
        credit_table(d0, d1, judge, names=["a", "b"])


def test_import_pulls_in_neither_torch_nor_django():
    code = "import sys, metrics.scoring; print(sorted({'torch', 'django'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
