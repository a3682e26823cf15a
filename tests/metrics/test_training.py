"""metrics.training: learning a hidden metric, fast vs full path, exports, dropout, bad input.

The data are synthetic BAPPS folders (``metrics.training.synthetic``) judged by a hidden LPIPS
with a random alex trunk at 32×32, so every fit here has a known answer and runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metrics.bapps import BappsDataset, write_2afc
from metrics.training import TrainConfig, TrainingError, TripletArrays, fit
from metrics.training.evaluation import evaluate
from metrics.training.features import dropped_means, noisy_means, pair_vectors
from metrics.training.synthetic import judged_triplets, write_synthetic_bapps

SIZE = 32
# Tiny data learn slowly at the official lr 1e-4, so these fits use a larger one.
FAST = {"trunk_weights": None, "lr": 1e-2, "epochs": 3, "decay_epochs": 2, "load_size": SIZE}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("bapps")
    hidden = write_synthetic_bapps(
        root, train={"traditional": 120, "cnn": 120}, val={"traditional": 100, "cnn": 100},
        size=SIZE, seed=0,
    )  # fmt: skip
    return root, hidden


@pytest.fixture(scope="module")
def fast_fit(synthetic):
    return fit(synthetic[0], path="fast", **FAST)


@pytest.fixture(scope="module")
def full_fit(synthetic):
    return fit(synthetic[0], path="full", **FAST)


def _flat(state):
    return torch.cat([v.flatten() for v in state.values()])


# ---- learning --------------------------------------------------------------------------------


def test_fast_fit_learns_the_hidden_metric(synthetic, fast_fit):
    root, hidden = synthetic
    truth = (
        evaluate(hidden.create(), root, n_resamples=0, load_size=SIZE)
        .twoafc.aggregates["all"]
        .score
    )
    untrained = fast_fit.history[0]["val_2afc"]
    assert fast_fit.path == "fast"
    assert fast_fit.val_2afc >= untrained + 0.10
    assert fast_fit.val_2afc >= truth - 0.03
    assert [h["epoch"] for h in fast_fit.history] == list(range(6))


def test_fast_path_matches_full_path_within_the_bootstrap_interval(fast_fit, full_fit):
    full = full_fit.val_report.aggregates["all"]
    fast = fast_fit.val_report.aggregates["all"]
    assert full_fit.path == "full"
    assert full.ci_low <= fast.score <= full.ci_high
    assert fast.ci_low <= full.score <= fast.ci_high
    # Same seed, same initialisation: only the dropout noise differs between the paths.
    assert full_fit.history[0] == fast_fit.history[0]
    assert not torch.equal(_flat(full_fit.lin_state_dict), _flat(fast_fit.lin_state_dict))


def test_lin_weights_stay_non_negative_and_use_official_keys(fast_fit):
    state = fast_fit.lin_state_dict
    assert list(state) == [f"lin{k}.model.1.weight" for k in range(5)]
    assert [tuple(v.shape) for v in state.values()] == [
        (1, c, 1, 1) for c in (64, 192, 384, 256, 256)
    ]
    assert all((v >= 0).all() for v in state.values())
    assert sum(int((v > 0).sum()) for v in state.values()) > 100


def test_learning_rate_follows_the_official_schedule():
    config = TrainConfig(lr=1e-4)
    rates = [config.lr_at(e) for e in range(1, 11)]
    assert rates == pytest.approx([1e-4] * 6 + [0.8e-4, 0.6e-4, 0.4e-4, 0.2e-4])
    assert TrainConfig(epochs=3, decay_epochs=0).lr_at(3) == 1e-4


# ---- exports ---------------------------------------------------------------------------------


def _official_trunk_keys(trunk_state, net="alex"):
    from metrics.lpips.trunks import TRUNKS

    ends = TRUNKS[net].tap_ends
    out = {}
    for key, value in trunk_state.items():
        index = int(key.split(".")[1])
        piece = next(s for s, end in enumerate(ends, start=1) if index <= end)
        out[f"slice{piece}.{key.removeprefix('features.')}"] = value
    return out


def _images(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, SIZE, SIZE, generator=g) * 2 - 1


def test_saved_lin_weights_load_in_the_official_package_and_ours(fast_fit, tmp_path):
    lpips = pytest.importorskip("lpips")
    from metrics import create_metric

    files = fast_fit.save(tmp_path)
    ours = create_metric("lpips-alex", trunk_weights=None, lin_weights=str(files["lin"]))
    official = lpips.LPIPS(net="alex", pnet_rand=True, model_path=str(files["lin"]), verbose=False)
    official.net.load_state_dict(_official_trunk_keys(ours.trunk.state_dict()))
    x, y = _images(6, 1), _images(6, 2)
    with torch.no_grad():
        expected = official(x, y).flatten()
        assert torch.allclose(ours(x, y), expected, rtol=1e-4, atol=1e-6)
        assert torch.allclose(fast_fit.create_metric()(x, y), expected, rtol=1e-4, atol=1e-6)
    assert (tmp_path / "results.json").is_file() and (tmp_path / "rank.pth").is_file()


def test_scratch_trains_the_trunk_and_exports_an_official_model(synthetic, tmp_path):
    lpips = pytest.importorskip("lpips")
    from metrics.lpips import LPIPS

    root, _ = synthetic
    result = fit(
        root,
        variant="scratch",
        trunk_weights=None,
        lr=1e-3,
        epochs=1,
        decay_epochs=0,
        batch_size=60,
        seed=3,
        val=False,
        load_size=SIZE,
    )
    start = LPIPS("alex", trunk_weights=None, seed=3, variant="baseline").trunk.state_dict()
    assert result.path == "full" and result.trunk_state_dict is not None
    assert not torch.equal(result.trunk_state_dict["features.0.weight"], start["features.0.weight"])
    files = result.save(tmp_path)
    official = lpips.LPIPS(
        net="alex", pnet_rand=True, pnet_tune=True, model_path=str(files["official"]), verbose=False
    ).eval()
    from metrics import create_metric

    reloaded = create_metric(
        "lpips-alex", trunk_weights=str(files["trunk"]), lin_weights=str(files["lin"])
    )
    x, y = _images(4, 3), _images(4, 4)
    with torch.no_grad():
        expected = result.create_metric()(x, y)
        assert torch.allclose(expected, official(x, y).flatten(), rtol=1e-4, atol=1e-6)
        assert torch.allclose(expected, reloaded(x, y), rtol=1e-5, atol=1e-7)


def test_tune_clamps_squeezenet_1x1_trunk_convolutions(tmp_path):
    items = judged_triplets_for("squeeze", 20)
    write_2afc(tmp_path, "train", "mix", items)
    result = fit(
        tmp_path,
        net="squeeze",
        variant="tune",
        trunk_weights=None,
        lr=1e-2,
        epochs=1,
        decay_epochs=0,
        batch_size=10,
        load_size=SIZE,
    )
    ones = [
        v
        for k, v in result.trunk_state_dict.items()
        if k.endswith("weight") and v.shape[-2:] == (1, 1)
    ]
    assert ones and all((w >= 0).all() for w in ones)
    assert result.val_report is None and result.history == [{"epoch": 0}, result.history[1]]


def judged_triplets_for(net, n):
    from metrics.lpips.trunks import TRUNKS
    from metrics.training.synthetic import HiddenMetric, hidden_lin_weights

    hidden = HiddenMetric(net, 0, hidden_lin_weights(TRUNKS[net].channels, 0), 0.02)
    return judged_triplets(hidden, n, size=SIZE, judges=2, seed=1)


# ---- dropout on the fast path -----------------------------------------------------------------


def test_fast_dropout_noise_matches_element_dropout_in_mean_and_spread(synthetic):
    from metrics.lpips import LPIPS

    root, hidden = synthetic
    model = LPIPS("alex", trunk_weights=None, variant="baseline")
    source = BappsDataset(root, load_size=SIZE).twoafc("val", "cnn")
    from metrics.training.data import BappsSource

    data = BappsSource([source], "cnn")
    means, scales = pair_vectors(model, data, with_scales=True)
    w = torch.cat([v.flatten() for v in hidden.lin_state_dict.values()])
    idx = np.arange(8)
    ref, p0, _ = data.load(idx)
    with torch.no_grad():
        feats = model.features(torch.cat((ref, p0)), range_check="off")
    deltas = [(a - b).square() for a, b in (torch.tensor_split(f, 2) for f in feats)]
    g_full, g_fast = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
    reps, n = 600, len(idx)
    # All repetitions in one call per layer: the batch holds `reps` copies of the triplets.
    full = torch.cat([dropped_means(d.repeat(reps, 1, 1, 1), 0.5, g_full) for d in deltas], 1)
    full = (full @ w).view(reps, n)
    shape = (reps, n, means.shape[-1])
    fast = noisy_means(means[idx, 0].expand(shape), scales[idx, 0].expand(shape), 0.5, g_fast)
    fast = fast @ w
    clean = means[idx, 0] @ w
    se = full.std(0) / reps**0.5
    assert torch.all((full.mean(0) - clean).abs() < 4 * se)
    assert torch.all((fast.mean(0) - clean).abs() < 4 * se)
    ratio = fast.std(0) / full.std(0)
    assert torch.all((ratio > 0.85) & (ratio < 1.15)), ratio


# ---- inputs and errors ------------------------------------------------------------------------


def test_fit_accepts_in_memory_arrays():
    items = judged_triplets_for("alex", 30)
    arrays = TripletArrays(
        *(np.stack([t[i] for t in items]) for i in range(3)), judge=[t[3] for t in items]
    )
    result = fit(arrays, val={"own": arrays}, trunk_weights=None, epochs=1, decay_epochs=0)
    assert set(result.history[-1]["val"]) == {"own"}
    assert result.val_report.categories["own"].n == 30


def test_training_on_a_folder_without_a_train_split_fails_clearly(synthetic, tmp_path):
    write_2afc(tmp_path, "val", "cnn", judged_triplets_for("alex", 3))
    with pytest.raises(TrainingError, match=r"no 2afc/train split.*present: val"):
        fit(tmp_path, trunk_weights=None)
    with pytest.raises(TrainingError, match="2afc/train has no superres"):
        fit(synthetic[0], trunk_weights=None, train_categories=["superres"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"net": "resnet"}, "unknown net 'resnet'; choose from alex, vgg, squeeze"),
        ({"variant": "linear"}, "unknown variant 'linear'"),
        ({"version": "v0.1"}, "unknown version 'v0.1'"),
        ({"variant": "tune", "path": "fast"}, "fast path needs a frozen trunk"),
        ({"variant": "scratch", "trunk_weights": "imagenet"}, "trunk_weights=None"),
        ({"batch_size": 0}, "batch_size must be an integer"),
        ({"dropout": 1.0}, r"dropout must lie in \[0, 1\)"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"epochs": 0, "decay_epochs": 0}, "at least 1"),
        ({"colour": "red"}, "unknown training option"),
    ],
)
def test_bad_configuration_is_rejected(options, message, synthetic):
    with pytest.raises(TrainingError, match=message):
        fit(synthetic[0], **{"trunk_weights": None, **options})


def test_bad_arrays_are_rejected():
    ref = np.zeros((4, SIZE, SIZE, 3), np.uint8)
    with pytest.raises(TrainingError, match="judge values must lie in"):
        fit(TripletArrays(ref, ref, ref, [0, 0.5, 1, 1.5]), trunk_weights=None)
    with pytest.raises(TrainingError, match="judge has 3 values for 4 triplets"):
        fit(TripletArrays(ref, ref, ref, [0, 0.5, 1]), trunk_weights=None)
    with pytest.raises(TrainingError, match=r"float images must lie in \[-1, 1\]"):
        fit(TripletArrays(*(torch.full((4, 3, SIZE, SIZE), 2.0),) * 3, [0] * 4), trunk_weights=None)
    with pytest.raises(TrainingError, match="cannot train on a int"):
        fit(42, trunk_weights=None)
