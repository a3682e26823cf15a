"""``deep-<arch>``: any torchvision classifier as an LPIPS-style metric (issue #16 item 3).

Random trunks throughout (no checkpoint can be downloaded here); checkpoint loading is tested with
torchvision state dicts written to temporary files, which is what the hub cache holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import metrics
from metrics.cli import main
from metrics.deep.archs import ARCHS, zoo_nets
from metrics.deep.trunk import ZooTrunk
from metrics.lpips import TrunkWeightsNotFound
from metrics.training import fit
from metrics.training.synthetic import write_synthetic_bapps

REPO_ROOT = Path(__file__).resolve().parents[2]

# Built and run on every test run; the rest (large or slow to build on two cores) are `slow`.
QUICK = ("alexnet", "resnet18", "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf")
LISTED = (
    "alexnet", "vgg16", "vgg19", "vgg16_bn", "resnet18", "resnet50", "googlenet",
    "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny", "swin_t",
    "vit_b_16",
)  # fmt: skip
ARCH_PARAMS = [pytest.param(a, marks=() if a in QUICK else pytest.mark.slow, id=a) for a in LISTED]


def _images(n, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, h, w, generator=g) * 2 - 1


def _zoo(arch, **options):
    return metrics.create_metric(f"deep-{arch}", trunk_weights=None, device="cpu", **options)


# ---- the consistency check with LPIPS ---------------------------------------------------------


@pytest.mark.parametrize("engine", ["fast", "eager"])
def test_deep_alexnet_with_the_lpips_taps_equals_lpips_alex_baseline(engine):
    assert ARCHS["alexnet"].taps == tuple(f"features.{i}" for i in (1, 4, 7, 9, 11))
    zoo = _zoo("alexnet", seed=5)
    lpips = metrics.create_metric(
        "lpips-alex", variant="baseline", trunk_weights=None, seed=5, device="cpu",
        cpu_engine=engine,
    )  # fmt: skip
    for h, w in ((64, 64), (67, 71)):
        x0, x1 = _images(4, h, w, 0), _images(4, h, w, 1)
        expected = lpips(x0, x1)
        assert torch.allclose(zoo(x0, x1), expected, rtol=0, atol=1e-6)
        t0, t1 = zoo.triplet_distances(x0, x1, x0.flip(0))
        e0, e1 = lpips.triplet_distances(x0, x1, x0.flip(0))
        assert torch.allclose(t0, e0, atol=1e-6) and torch.allclose(t1, e1, atol=1e-6)


def test_deep_alexnet_and_lpips_alex_load_the_same_checkpoint_file_alike(tmp_path):
    import torchvision

    torch.manual_seed(11)
    path = tmp_path / "alexnet.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    zoo = metrics.create_metric("deep-alexnet", trunk_weights=str(path), device="cpu")
    lpips = metrics.create_metric(
        "lpips-alex", variant="baseline", trunk_weights=str(path), device="cpu"
    )
    x0, x1 = _images(3, 64, 64, 2), _images(3, 64, 64, 3)
    assert torch.allclose(zoo(x0, x1), lpips(x0, x1), rtol=0, atol=1e-6)


# ---- every architecture --------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCH_PARAMS)
def test_every_listed_architecture_builds_randomly_and_returns_distances(arch):
    metric = _zoo(arch)
    spec = ARCHS[arch]
    assert metric.info.name == f"deep-{arch}" and metric.variant == "baseline"
    for h, w in ((64, 64), (67, 71)):
        x0, x1 = _images(2, h, w, 0), _images(2, h, w, 1)
        d = metric(x0, x1)
        assert d.shape == (2,) and torch.isfinite(d).all() and (d > 0).all()
        assert torch.equal(metric(x0, x0), torch.zeros(2))
    # The declared channels are the taps' (the lin weights' shapes depend on them), laid out
    # N×C×H×W whatever the family's own layout.
    taps = metric.features(_images(1, 64, 64, 4))
    assert [t.shape[1] for t in taps] == list(spec.channels)
    if spec.input_size is None:
        # The declared strides (pass sizing, minimum size) within one position of the real ones.
        assert all(abs(t.shape[2] - 64 / s) <= 1 for t, s in zip(taps, spec.strides, strict=True))
    assert metric(_images(1, spec.min_size, spec.min_size, 5), _images(1, spec.min_size,
                  spec.min_size, 6)).shape == (1,)  # fmt: skip


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_declared_architecture_has_the_declared_tap_channels(arch):
    """All of the table, listed or not, cheaply: a shape-only pass on the meta device (a CPU
    pass where the network cannot be built there)."""
    from metrics.deep.trunk import build_network

    spec = ARCHS[arch]
    network, on_meta = build_network(spec, None)
    assert on_meta == (not arch.startswith("regnet"))  # RegNet computes its widths with tensors
    trunk = ZooTrunk.__new__(ZooTrunk)
    torch.nn.Module.__init__(trunk)
    trunk.spec = spec
    from torchvision.models.feature_extraction import create_feature_extractor

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trunk.graph = create_feature_extractor(network.eval(), return_nodes=list(spec.taps))
        side = spec.input_size or 64
        x = torch.empty(1, 3, side, side, device="meta" if on_meta else "cpu").normal_()
        taps = trunk(x)
    assert tuple(t.shape[1] for t in taps) == spec.channels
    if spec.input_size is None:
        assert all(abs(t.shape[2] - 64 / s) <= 1 for t, s in zip(taps, spec.strides, strict=True))


def test_every_zoo_net_is_registered_with_the_zoo_options():
    assert {i.name for i in metrics.list_metrics("deep-*")} == set(zoo_nets())
    assert set(LISTED) <= set(ARCHS)
    info = metrics.get_metric_info("deep-resnet18")
    assert info.input_range == (-1.0, 1.0)
    assert [o.name for o in info.options][:7] == [
        "variant", "trunk_weights", "lin_weights", "seed", "download", "spatial", "channels_last"
    ]  # fmt: skip


def test_the_zoo_declaration_imports_without_torch():
    code = (
        "import sys, json\n"
        "import metrics\n"
        "from metrics.deep.archs import ARCHS\n"
        "metrics.get_metric_info('deep-vit_b_16').option('variant')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'n': len(ARCHS)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert json.loads(out.stdout) == {"torch": False, "n": len(ARCHS)}


# ---- input policy and errors ----------------------------------------------------------------------


def test_too_small_inputs_name_the_minimum_size():
    metric = _zoo("resnet18")
    with pytest.raises(ValueError, match=r"deep-resnet18 needs images of at least 32×32 pixels"):
        metric(_images(1, 31, 40, 0), _images(1, 31, 40, 1))


def test_vit_resizes_to_its_native_input(monkeypatch):
    import torch.nn.functional as F

    metric = _zoo("vit_b_16")
    assert metric.provenance()["input_policy"] == "resized bilinearly to 224×224"
    seen = []
    real = F.interpolate
    monkeypatch.setattr(F, "interpolate", lambda x, **k: seen.append(k["size"]) or real(x, **k))
    taps = metric.features(_images(1, 40, 52, 0))
    assert seen == [(224, 224)]
    assert [tuple(t.shape) for t in taps] == [(1, 768, 14, 14)] * 4


@pytest.mark.parametrize(
    ("x0", "x1", "error", "message"),
    [
        (
            torch.rand(1, 3, 64, 64),
            torch.rand(1, 3, 64, 64),
            ValueError,
            "no input value is negative",
        ),
        (
            torch.full((1, 3, 64, 64), 2.0),
            -torch.ones(1, 3, 64, 64),
            ValueError,
            r"takes values in \[-1, 1\], got min -1 and max 2",
        ),
        (torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 63), ValueError, "same shape"),
        (torch.zeros(3, 64, 64), torch.zeros(3, 64, 64), ValueError, "N×3×H×W"),
        (
            torch.zeros(1, 3, 64, 64, dtype=torch.int64),
            torch.zeros(1, 3, 64, 64),
            TypeError,
            "float",
        ),
    ],
)
def test_range_and_shape_errors_as_for_other_metrics(x0, x1, error, message):
    metric = _zoo("resnet18")
    with pytest.raises(error, match=message):
        metric(x0, x1)


def test_options_are_checked():
    with pytest.raises(TypeError, match=r"unknown option.*cpu_engine"):
        _zoo("resnet18", cpu_engine="fast")
    with pytest.raises(ValueError, match="variant"):
        _zoo("resnet18", variant="tune")
    with pytest.raises(ValueError, match="no shipped lin weights"):
        _zoo("resnet18", variant="lin")
    with pytest.raises(ValueError, match="unknown metric 'deep-resnet19'"):
        metrics.create_metric("deep-resnet19")


def test_missing_imagenet_weights_say_what_to_place_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(TrunkWeightsNotFound, match=r"resnet18-f37072fd\.pth.*hub/checkpoints"):
        metrics.create_metric("deep-resnet18", download=False, device="cpu")
    with pytest.raises(TrunkWeightsNotFound, match="does not exist"):
        metrics.create_metric("deep-resnet18", trunk_weights=str(tmp_path / "x.pth"))


def test_a_checkpoint_in_the_hub_cache_or_a_file_is_loaded(tmp_path, monkeypatch):
    """A torchvision checkpoint (here a seeded random one, without BatchNorm's
    num_batches_tracked as the 2017 files are) equals the seeded random trunk it was made from."""
    import torchvision

    with torch.random.fork_rng():
        torch.manual_seed(3)
        state = torchvision.models.resnet18(weights=None).state_dict()
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(state, cache / "resnet18-f37072fd.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    x0, x1 = _images(2, 64, 64, 0), _images(2, 64, 64, 1)
    expected = _zoo("resnet18", seed=3)(x0, x1)
    cached = metrics.create_metric("deep-resnet18", download=False, device="cpu")
    assert torch.allclose(cached(x0, x1), expected, atol=1e-6)
    by_path = metrics.create_metric(
        "deep-resnet18", trunk_weights=str(cache / "resnet18-f37072fd.pth"), device="cpu"
    )
    assert torch.allclose(by_path(x0, x1), expected, atol=1e-6)
    torch.save({"fc.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a torchvision resnet18 checkpoint"):
        metrics.create_metric("deep-resnet18", trunk_weights=str(tmp_path / "bad.pth"))


@pytest.mark.parametrize(
    "arch",
    [
        "regnet_y_400mf",  # cannot be built on the meta device: built on the CPU, then loaded
        "mobilenet_v3_large",
        pytest.param("swin_t", marks=pytest.mark.slow),
        pytest.param("vit_b_16", marks=pytest.mark.slow),
    ],
)
def test_a_checkpoint_file_gives_the_network_it_was_saved_from(arch, tmp_path):
    import torchvision

    with torch.random.fork_rng():
        torch.manual_seed(7)
        network = getattr(torchvision.models, arch)(weights=None)
    torch.save(network.state_dict(), tmp_path / "net.pth")
    x0, x1 = _images(2, 64, 64, 0), _images(2, 64, 64, 1)
    loaded = metrics.create_metric(
        f"deep-{arch}", trunk_weights=str(tmp_path / "net.pth"), device="cpu"
    )
    assert torch.allclose(loaded(x0, x1), _zoo(arch, seed=7)(x0, x1), atol=1e-6)


def test_lin_weights_weigh_channels_and_all_ones_is_the_baseline(tmp_path):
    spec = ARCHS["resnet18"]
    ones = {f"lin{k}.model.1.weight": torch.ones(1, c, 1, 1) for k, c in enumerate(spec.channels)}
    path = tmp_path / "lin.pth"
    torch.save(ones, path)
    x0, x1 = _images(3, 64, 64, 0), _images(3, 64, 64, 1)
    base = _zoo("resnet18")(x0, x1)
    lin = _zoo("resnet18", variant="lin", lin_weights=str(path))
    assert torch.allclose(lin(x0, x1), base, atol=1e-6)
    half = {k: v * 0.5 for k, v in ones.items()}
    assert torch.allclose(_zoo("resnet18", variant="lin", lin_weights=half)(x0, x1), base / 2)
    with pytest.raises(ValueError, match="expected lin layers"):
        _zoo(
            "resnet18",
            variant="lin",
            lin_weights={"lin0.model.1.weight": ones["lin0.model.1.weight"]},
        )


def test_spatial_maps_and_triplets():
    x0, x1 = _images(2, 64, 64, 0), _images(2, 64, 64, 1)
    metric = _zoo("resnet18")
    maps = _zoo("resnet18", spatial=True)(x0, x1)
    assert maps.shape == (2, 64, 64)
    d0, d1 = metric.triplet_distances(x0, x1, x0.flip(0))
    assert torch.allclose(d0, metric(x0, x1), atol=1e-6)
    assert torch.allclose(d1, metric(x0, x0.flip(0)), atol=1e-6)


# ---- fitting lin (and tune) with the training path -----------------------------------------------


@pytest.fixture(scope="module")
def tiny_bapps(tmp_path_factory):
    root = tmp_path_factory.mktemp("bapps")
    write_synthetic_bapps(root, train={"cnn": 20}, val={"cnn": 10}, size=32, seed=0, candidates=2)
    return root


FIT = {"trunk_weights": None, "epochs": 1, "decay_epochs": 0, "batch_size": 10, "load_size": 32}


@pytest.mark.parametrize(
    "arch",
    [
        pytest.param(a, marks=() if a in QUICK else pytest.mark.slow, id=a)
        for a in ("resnet18", "mobilenet_v3_large", "alexnet", "vgg16", "googlenet",
                  "efficientnet_b0", "regnet_y_400mf", "convnext_tiny", "swin_t", "vit_b_16",
                  "vgg16_bn", "vgg19", "resnet50")
    ],
)  # fmt: skip
def test_lin_fits_for_one_epoch_and_scores_with_its_weights(arch, tiny_bapps, tmp_path):
    result = fit(tiny_bapps, net=f"deep-{arch}", **FIT)
    assert result.epochs_completed == 1 and result.val_2afc is not None
    assert result.val_report.metric == f"deep-{arch}-lin"
    weights = torch.cat([w.flatten() for w in result.lin_state_dict.values()])
    assert weights.numel() == sum(ARCHS[arch].channels) and (weights >= 0).all()
    files = result.save(tmp_path)
    assert "official" not in files
    fitted = result.create_metric(device="cpu")
    loaded = _zoo(arch, variant="lin", lin_weights=str(files["lin"]))
    x0, x1 = _images(2, 32, 32, 0), _images(2, 32, 32, 1)
    assert torch.allclose(fitted(x0, x1), loaded(x0, x1), atol=1e-6)


def test_tune_trains_the_zoo_trunk_and_its_trunk_file_loads(tiny_bapps, tmp_path):
    result = fit(tiny_bapps, net="deep-resnet18", variant="tune", path="full", **FIT)
    files = result.save(tmp_path)
    before = _zoo("resnet18").trunk.state_dict()
    changed = [k for k, v in result.trunk_state_dict.items() if not torch.equal(v, before[k])]
    assert changed  # the trunk trained
    # Zoo trunk 1×1 convolutions are not clamped to ≥ 0 (only the LPIPS trunks' are).
    assert (result.trunk_state_dict["graph.layer2.0.downsample.0.weight"] < 0).any()
    metric = _zoo("resnet18", variant="lin", lin_weights=str(files["lin"]))
    reloaded = metrics.create_metric(
        "deep-resnet18", variant="lin", lin_weights=str(files["lin"]),
        trunk_weights=str(files["trunk"]), device="cpu",
    )  # fmt: skip
    x0, x1 = _images(2, 32, 32, 0), _images(2, 32, 32, 1)
    assert torch.allclose(reloaded(x0, x1), result.create_metric(device="cpu")(x0, x1), atol=1e-6)
    assert not torch.allclose(reloaded(x0, x1), metric(x0, x1))


def test_zoo_nets_need_version_0_1():
    from metrics.training import TrainConfig, TrainingError

    with pytest.raises(TrainingError, match=r"version .0\.1."):
        TrainConfig(net="deep-resnet18", version="0.0")
    with pytest.raises(TrainingError, match="deep-<arch>"):
        TrainConfig(net="deep-resnet19")


# ---- the CLI ------------------------------------------------------------------------------------


def test_cli_trains_and_evaluates_a_zoo_net(tiny_bapps, tmp_path, capsys):
    out = tmp_path / "run"
    quick = ["--trunk-weights", "random", "--epochs", "1", "--decay-epochs", "0",
             "--batch-size", "10", "--no-progress", "--load-size", "32"]  # fmt: skip
    assert (
        main(["train", str(tiny_bapps), "--net", "deep-resnet18", "--out", str(out), *quick]) == 0
    )
    capsys.readouterr()
    code = main(
        ["evaluate", str(tiny_bapps), "--metric", "deep-resnet18", "--weights",
         str(out / "lin.pth"), "--trunk-weights", "random", "--device", "cpu", "--no-progress",
         "--json", str(tmp_path / "evaluate.json")]
    )  # fmt: skip
    text = capsys.readouterr()
    assert code == 0, text.err
    assert "deep-resnet18 (lin.pth)" in text.out


def test_the_imagenet_top1_table_is_torchvisions_metadata():
    """The torch-free table of top-1 accuracies (the network-zoo chart's x axis) states exactly
    what torchvision's weight metadata says for each net's "imagenet" checkpoint."""
    import torchvision.models as tvm

    from metrics.deep import archs

    assert set(archs.IMAGENET_TOP1) == set(archs.ARCHS)
    for arch, spec in archs.ARCHS.items():
        enum = getattr(tvm, spec.weights_enum)
        weights = getattr(enum, "IMAGENET1K_V1", None) or enum.DEFAULT
        assert archs.IMAGENET_TOP1[arch] == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"], arch
    assert archs.imagenet_top1("deep-resnet18") == 69.758
    assert archs.imagenet_top1("alex") is None
