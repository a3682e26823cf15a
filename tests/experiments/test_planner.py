"""The trial planner and design validation: counts, splits, sentinels, identical pairs, pairing,
determinism by index, and clear errors for bad designs."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

import experiments
from experiments.planner import SENTINEL_MILD, SENTINEL_STRONG

SHAS = ["a" * 64, "b" * 64]


def _design(**overrides):
    data = {
        "seed": 9,
        "kind": "2afc",
        "images": SHAS,
        "categories": {
            "traditional": {
                "choices": ["jpeg", "gaussian_blur", {"name": "composed", "severity": [0.2, 0.8]}]
            },
            "superres": {"choices": ["superres_bicubic", "superres_nearest", "superres_lanczos"]},
        },
        "counts": {"train": {"traditional": 30}, "val": {"traditional": 6, "superres": 10}},
    }
    data.update(overrides)
    return experiments.TrialDesign.from_dict(data)


def test_trials_fill_the_requested_splits_and_categories():
    design = _design(sentinel_rate=0.2)
    assert design.regular_trials == 46
    assert design.sentinel_trials == round(46 * 0.2 / 0.8) == 12
    plans = [experiments.plan_trial(design, i) for i in range(design.total_trials)]
    assert Counter((p.split, p.category) for p in plans) == {
        ("train", "traditional"): 30,
        ("val", "traditional"): 6,
        ("val", "superres"): 10,
        ("sentinel", "sentinel"): 12,
    }
    assert [p.patch_index for p in plans] == list(range(design.total_trials))
    assert {p.image_sha256 for p in plans} == set(SHAS)


def test_a_trial_depends_only_on_the_design_and_its_index():
    design = _design(sentinel_rate=0.1)
    forward = [experiments.plan_trial(design, i).to_dict() for i in range(design.total_trials)]
    backward = [
        experiments.plan_trial(design, i).to_dict() for i in reversed(range(design.total_trials))
    ][::-1]
    assert forward == backward
    assert json.loads(json.dumps(forward)) == forward
    # Key order must not matter (PostgreSQL's jsonb reorders keys).
    shuffled = design.to_dict()
    shuffled["counts"] = {"val": {"superres": 10, "traditional": 6}, "train": {"traditional": 30}}
    shuffled["categories"] = dict(reversed(list(shuffled["categories"].items())))
    again = experiments.TrialDesign.from_dict(json.loads(json.dumps(shuffled)))
    assert [
        experiments.plan_trial(again, i).to_dict() for i in range(again.total_trials)
    ] == forward
    reseeded = _design(seed=10, sentinel_rate=0.1)
    assert experiments.plan_trial(reseeded, 0).to_dict() != forward[0]


def test_2afc_sides_draw_from_the_category_with_its_severity_range():
    design = _design()
    names, severities = Counter(), []
    plans = [experiments.plan_trial(design, i) for i in range(design.total_trials)]
    for plan in (p for p in plans if p.category == "traditional"):
        for side in (plan.p0, plan.p1):
            (step,) = side.chain
            names[step["name"]] += 1
            assert side.source == plan.image_sha256
            assert side.label == step["name"]
            experiments.get_distortion(step["name"]).validate_params(step["params"])
            if step["name"] == "composed":
                severities.append(step["severity"])
        assert plan.expected is None
        assert not plan.sentinel
    assert set(names) == {"jpeg", "gaussian_blur", "composed"}
    assert all(0.2 <= s <= 0.8 for s in severities)


def test_paired_categories_compare_two_algorithms_on_the_same_input():
    design = _design()
    assert design.categories["superres"].paired
    assert not design.categories["traditional"].paired
    plans = [experiments.plan_trial(design, i) for i in range(design.total_trials)]
    # Blocks are ordered by (split, category) name: val/superres comes before val/traditional.
    assert [p.category for p in plans[30:40]] == ["superres"] * 10
    for plan in plans[30:40]:
        (a,), (b,) = plan.p0.chain, plan.p1.chain
        assert a["name"] != b["name"]
        assert a["params"] == b["params"]
        assert a["severity"] == b["severity"]


def test_2afc_sentinels_put_mild_and_strong_noise_on_random_sides(images):
    shas = sorted(images)
    design = _design(images=shas, sentinel_rate=0.3)
    sentinels = [
        experiments.plan_trial(design, i) for i in range(design.regular_trials, design.total_trials)
    ]
    assert {p.expected for p in sentinels} == {0, 1}
    for plan in sentinels:
        sides = (plan.p0, plan.p1)
        mild = sides[plan.expected].chain[0]
        strong = sides[1 - plan.expected].chain[0]
        assert (mild["name"], mild["severity"]) == ("gaussian_white_noise", SENTINEL_MILD)
        assert (strong["name"], strong["severity"]) == ("gaussian_white_noise", SENTINEL_STRONG)
        stimuli = experiments.render_trial(plan, load_image=images.__getitem__)
        ref = stimuli.reference.pixels.astype(float)
        distances = [np.abs(s.pixels - ref).mean() for s in (stimuli.p0, stimuli.p1)]
        assert distances[plan.expected] < distances[1 - plan.expected]


def test_jnd_pairs_identical_shares_and_sentinels_follow_the_paper():
    design = _design(
        kind="jnd",
        counts={"val": {"traditional": 160}},
        sentinel_rate=0.2,
        jnd_identical_share=0.25,
    )
    assert design.sentinel_trials == 40
    plans = [experiments.plan_trial(design, i) for i in range(design.total_trials)]
    regular = [p for p in plans if not p.sentinel]
    sentinels = [p for p in plans if p.sentinel]
    assert all(p.p0.chain == () and p.p0.label == "reference" for p in plans)
    assert sum(p.identical for p in regular) == 40  # exactly a quarter of 160
    assert all(p.expected == 1 and p.p1.chain == () for p in regular if p.identical)
    assert all(p.expected is None and len(p.p1.chain) == 1 for p in regular if not p.identical)
    assert Counter(p.expected for p in sentinels) == {1: 32, 0: 8}  # the paper's 32 + 8
    for plan in sentinels:
        if plan.expected == 0:
            assert plan.p1.chain[0]["severity"] == SENTINEL_STRONG


def test_external_categories_pair_two_algorithms_outputs():
    items = [
        {
            "reference": "c" * 64,
            "outputs": {"bicubic": "d" * 64, "edsr": "e" * 64, "srgan": "f" * 64},
        }
    ]
    design = _design(images=[], categories={"sr": {"external": items}}, counts={"val": {"sr": 8}})
    for i in range(8):
        plan = experiments.plan_trial(design, i)
        assert plan.image_sha256 == "c" * 64
        assert plan.p0.label != plan.p1.label
        assert {plan.p0.source, plan.p1.source} <= {"d" * 64, "e" * 64, "f" * 64}
        assert plan.p0.chain == plan.p1.chain == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"counts": {"train": {"traditional": 0}}}, "zero trials"),
        ({"counts": {}}, "'counts' must map splits"),
        ({"counts": {"train": {"cnn": 3}}}, "unknown category 'cnn'"),
        ({"counts": {"train": {"traditional": -1}}}, "must be an integer >= 0"),
        ({"counts": {"sentinel": {"traditional": 1}}}, "split name must be a lowercase label"),
        ({"kind": "abx"}, "design kind must be one of"),
        ({"seed": -1}, "design seed must be an integer >= 0"),
        ({"images": []}, "need at least one reference image"),
        ({"images": ["xyz"]}, "design images must be a lowercase SHA-256"),
        ({"sentinel_rate": 0.6}, r"sentinel_rate must be a number in \[0, 0.5\]"),
        ({"jnd_identical_share": 1.5}, "jnd_identical_share must be"),
        ({"patch_size": 8}, "patch_size must be an integer >= 16"),
        ({"rescale": [3, 1]}, "rescale must satisfy"),
        ({"colour": 1}, r"unknown key\(s\) \['colour'\]"),
        (
            {"categories": {"t": {"choices": ["gausian_blur"]}}, "counts": {"a": {"t": 1}}},
            "did you mean 'gaussian_blur'",
        ),
        (
            {
                "categories": {"t": {"choices": [{"name": "jpeg", "severity": [0.5, 1.2]}]}},
                "counts": {"a": {"t": 1}},
            },
            "severity must be a number in",
        ),
        (
            {
                "categories": {"t": {"choices": [{"name": "jpeg", "severity": [0.8, 0.2]}]}},
                "counts": {"a": {"t": 1}},
            },
            "is empty",
        ),
        (
            {"categories": {"t": {"choices": ["cnn_autoencoder"]}}, "counts": {"a": {"t": 1}}},
            "cnn_autoencoder needs 'models'",
        ),
        (
            {
                "categories": {"t": {"choices": [{"name": "jpeg", "models": ["a" * 64]}]}},
                "counts": {"a": {"t": 1}},
            },
            "jpeg takes no models",
        ),
        (
            {
                "categories": {"t": {"choices": [{"name": "composed", "pool": ["jpeg"]}]}},
                "counts": {"a": {"t": 1}},
            },
            "pool needs at least two",
        ),
        (
            {
                "categories": {"t": {"choices": ["jpeg", "superres_bicubic"], "paired": True}},
                "counts": {"a": {"t": 1}},
            },
            "paired category needs at least two distinct algorithms",
        ),
        ({"categories": {"t": {"choices": []}}, "counts": {"a": {"t": 1}}}, "non-empty list"),
        ({"categories": {"sentinel": {"choices": ["jpeg"]}}}, "category label must be"),
        (
            {
                "categories": {
                    "t": {"external": [{"reference": "c" * 64, "outputs": {"x": "d" * 64}}]}
                },
                "counts": {"a": {"t": 1}},
            },
            "needs at least two algorithms' outputs",
        ),
    ],
)
def test_bad_designs_are_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        _design(**overrides)


@pytest.mark.parametrize("index", [-1, 46, 1.0, True, "3"])
def test_indices_outside_the_design_are_errors(index):
    with pytest.raises(ValueError, match=r"trial index must be in \[0, 46\)"):
        experiments.plan_trial(_design(), index)


def test_a_design_round_trips_through_json():
    design = _design(sentinel_rate=0.25, rescale=[0.5, 2.0], jnd_identical_share=0.1)
    again = experiments.TrialDesign.from_dict(json.loads(json.dumps(design.to_dict())))
    assert again.to_dict() == design.to_dict()
    assert again.total_trials == design.total_trials
