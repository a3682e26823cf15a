"""SSIM presets against scikit-image, pytorch-msssim and the official LPIPS DSSIM baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

import metrics
from tests.metrics.helpers import images, near

SHAPES = ((3, 3, 32, 32), (2, 3, 64, 64), (2, 3, 97, 75))


def _skimage(x0: torch.Tensor, x1: torch.Tensor, **kwargs) -> torch.Tensor:
    return torch.tensor(
        [
            structural_similarity(
                a.permute(1, 2, 0).double().numpy(),
                b.permute(1, 2, 0).double().numpy(),
                channel_axis=2,
                **kwargs,
            )
            for a, b in zip(x0, x1, strict=True)
        ]
    )


def _pair(shape, seed):
    x0 = images(shape, seed=seed)
    return x0, near(x0, seed=seed + 1, noise=0.15)


@pytest.mark.parametrize("shape", SHAPES)
def test_wang2004_equals_skimage_gaussian_and_pytorch_msssim(shape):
    import pytorch_msssim

    x0, x1 = _pair(shape, seed=1)
    ours = 1.0 - metrics.create_metric("ssim", preset="wang2004", device="cpu")(x0, x1)
    sk = _skimage(
        x0, x1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
    )
    pm = pytorch_msssim.ssim(x0, x1, data_range=1.0, size_average=False)
    assert torch.allclose(ours.double(), sk, rtol=0, atol=1e-5)
    assert torch.allclose(ours, pm, rtol=0, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_skimage_default_equals_skimage_defaults(shape):
    x0, x1 = _pair(shape, seed=2)
    ours = 1.0 - metrics.create_metric("ssim", preset="skimage-default", device="cpu")(x0, x1)
    assert torch.allclose(ours.double(), _skimage(x0, x1, data_range=1.0), rtol=0, atol=1e-5)


@pytest.fixture
def official_dssim(monkeypatch):
    """The official DSSIM baseline, runnable again: skimage 0.18 removed ``compare_ssim``, which
    the lpips package imports; this shim is the replacement the upstream PR #102 proposes."""
    import lpips
    import skimage.measure

    def compare_ssim(a, b, data_range, multichannel):
        return structural_similarity(a, b, data_range=data_range, channel_axis=-1)

    monkeypatch.setattr(skimage.measure, "compare_ssim", compare_ssim, raising=False)
    return lpips.DSSIM


def _mid_levels(shape, seed):
    """8-bit mid-level values (k + 0.5)/255, so that both truncations land on k."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 255, shape, generator=g).float() + 0.5) / 255.0


@pytest.mark.parametrize("colorspace", ["Lab", "RGB"])
def test_lpips_baseline_equals_the_official_dssim(official_dssim, colorspace):
    baseline = official_dssim(use_gpu=False, colorspace=colorspace)
    metric = metrics.create_metric(
        "ssim", preset="lpips-baseline", colorspace=colorspace.lower(), quantize=True, device="cpu"
    )
    x0 = _mid_levels((3, 3, 64, 64), seed=3)
    x1 = (x0 + 0.1 * torch.randn(x0.shape, generator=torch.Generator().manual_seed(4))).clamp(0, 1)
    x1 = (torch.floor(x1 * 255) + 0.5).clamp(max=254.5) / 255.0
    expected = torch.tensor(
        [float(baseline(2 * a[None] - 1, 2 * b[None] - 1)) for a, b in zip(x0, x1, strict=True)]
    )
    assert torch.allclose(metric(x0, x1), expected, rtol=0, atol=1e-5)


def test_lpips_baseline_defaults_to_lab_and_halves():
    x0, x1 = _pair((2, 3, 32, 32), seed=5)
    baseline = metrics.create_metric("ssim", preset="lpips-baseline", device="cpu")
    assert baseline.colorspace == "lab"
    lab_plain = metrics.create_metric(
        "ssim", preset="skimage-default", colorspace="lab", device="cpu"
    )
    assert torch.allclose(baseline(x0, x1), lab_plain(x0, x1) / 2, atol=1e-7)


def test_ssim_is_differentiable_in_float64():
    metric = metrics.create_metric("ssim", device="cpu", range_check="off")
    x0 = images((1, 3, 12, 12), seed=6).double().requires_grad_(True)
    x1 = images((1, 3, 12, 12), seed=7).double()
    assert torch.autograd.gradcheck(lambda a: metric(a, x1), (x0,), eps=1e-6, atol=1e-5)


def test_identical_images_have_zero_distance():
    x = images((2, 3, 32, 32), seed=8)
    for preset in ("wang2004", "skimage-default", "lpips-baseline"):
        d = metrics.create_metric("ssim", preset=preset, device="cpu")(x, x)
        assert np.allclose(d.numpy(), 0.0, atol=1e-6)
