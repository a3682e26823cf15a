"""The registry: names, declared info, option checks, resolvers, and no torch on import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import metrics
from metrics.base import Metric
from tests.metrics.helpers import images, near

REQUIRED = {
    "lpips-alex",
    "lpips-vgg",
    "lpips-squeeze",
    "l2",
    "l2-lab",
    "psnr",
    "ssim",
    "ms-ssim",
    "fsim",
    "fsimc",
    # the full-reference zoo (issue #16 item 2)
    "gmsd",
    "ms-gmsd",
    "vifp",
    "haarpsi",
    "mdsi",
    "srsim",
    "dss",
    "vsi",
    "iw-ssim",
    "dists",
}

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_it_lists_the_required_metrics_with_their_declarations():
    infos = {info.name: info for info in metrics.list_metrics()}
    assert set(infos) >= REQUIRED
    assert infos["lpips-alex"].input_range == (-1.0, 1.0)
    assert infos["ssim"].input_range == (0.0, 1.0)
    assert all(info.lower_is_more_similar for info in infos.values())
    lpips_options = {opt.name for opt in infos["lpips-vgg"].options}
    assert {"version", "variant", "trunk_weights", "lin_weights", "cpu_engine", "device"} <= (
        lpips_options
    )
    assert infos["ssim"].option("preset").choices == (
        "wang2004",
        "skimage-default",
        "lpips-baseline",
    )
    assert [i.name for i in metrics.list_metrics("lpips-*")] == [
        "lpips-alex",
        "lpips-squeeze",
        "lpips-vgg",
    ]


def test_importing_and_listing_never_imports_torch():
    code = (
        "import sys, json, metrics\n"
        "names = [i.name for i in metrics.list_metrics()]\n"
        "metrics.get_metric_info('lpips-alex')\n"
        "try:\n"
        "    metrics.create_metric('nope')\n"
        "except ValueError:\n"
        "    pass\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'n': len(names)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    result = json.loads(out.stdout)
    assert result == {"torch": False, "n": len(metrics.list_metrics())}


def test_unknown_names_and_options_are_refused_clearly():
    with pytest.raises(ValueError, match=r"unknown metric 'lpips-alx'.*Did you mean lpips-alex"):
        metrics.create_metric("lpips-alx")
    with pytest.raises(TypeError, match=r"unknown option.*colour.*it accepts: preset"):
        metrics.create_metric("ssim", colour="lab")
    with pytest.raises(ValueError, match="preset='matlab' is not one of"):
        metrics.create_metric("ssim", preset="matlab")
    with pytest.raises(ValueError, match="invalid device"):
        metrics.create_metric("l2", device="gpu0")
    with pytest.raises(TypeError, match="must be a string"):
        metrics.create_metric(3)


def test_created_metrics_carry_their_option_values():
    metric = metrics.create_metric("ssim", preset="skimage-default", device="cpu")
    assert isinstance(metric, torch.nn.Module)
    assert metric.info.name == "ssim"
    assert metric.info.values["preset"] == "skimage-default"
    assert metric.info.values["colorspace"] is None
    assert metric.device == torch.device("cpu")
    assert "preset='skimage-default'" in repr(metric)


def test_resolvers_route_prefixed_names():
    calls = []

    def fitted(rest, **options):
        calls.append((rest, options))
        return metrics.create_metric("l2", **options)

    metrics.register_resolver("fitted-test", fitted)
    try:
        metric = metrics.create_metric("fitted-test:42", device="cpu")
        assert calls == [("42", {"device": "cpu"})]
        assert metric.info.name == "l2"
        assert "fitted-test" in metrics.list_resolvers()
        with pytest.raises(ValueError, match="already registered"):
            metrics.register_resolver("fitted-test", fitted)
    finally:
        metrics.unregister_resolver("fitted-test")
    with pytest.raises(ValueError, match="no resolver for prefix 'fitted-test'"):
        metrics.create_metric("fitted-test:42")


def test_registering_a_metric_checks_its_name_and_factory():
    bad = metrics.MetricInfo("Bad Name", (0.0, 1.0), True, (), "", "x:y")
    with pytest.raises(ValueError, match="must match"):
        metrics.register_metric(bad)
    with pytest.raises(ValueError, match="already registered"):
        metrics.register_metric(metrics.get_metric_info("l2"))


def _build(name: str) -> Metric:
    if name == "cvvdp":  # the optional `vdp` extra; tests/metrics/test_vdp.py covers it fully
        pytest.importorskip("pycvvdp", reason="the optional 'vdp' extra (cvvdp) is not installed")
    options = {"device": "cpu"}
    if name.startswith(("lpips-", "deep-")) or name == "dists":
        options["trunk_weights"] = None
    if name == "dists":  # its learned α/β are a required file; uniform ones stand in here
        options["weights"] = {k: torch.full((1, 1475, 1, 1), 0.1) for k in ("alpha", "beta")}
    return metrics.create_metric(name, **options)


# The deep-<arch> zoo (tens of networks, some large) is represented by two light members here;
# tests/metrics/test_deep_zoo.py runs every listed architecture.
_ZOO_HERE = ("deep-alexnet", "deep-resnet18")


@pytest.mark.parametrize(
    "name",
    sorted(
        info.name
        for info in metrics.list_metrics()
        if not info.name.startswith("deep-") or info.name in _ZOO_HERE
    ),
)
def test_every_registered_metric_follows_the_calling_convention(name):
    metric = _build(name)
    low, high = metric.info.input_range
    x = images((2, 3, 48, 48), seed=1, low=low, high=high)
    close = near(x, seed=2, noise=0.02 * (high - low), low=low, high=high)
    far = near(x, seed=2, noise=0.3 * (high - low), low=low, high=high)
    d_close, d_far = metric(x, close), metric(x, far)
    assert d_close.shape == (2,)
    assert d_close.dtype == torch.float32
    assert torch.isfinite(d_close).all()
    # Lower means more similar for every metric.
    assert torch.all(d_close < d_far)
    assert torch.all(metric(x, x) <= d_close)
    with pytest.raises(ValueError, match="must have the same shape"):
        metric(x, x[:1])
