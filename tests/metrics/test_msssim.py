"""MS-SSIM against pytorch-msssim, and the declared policy for inputs smaller than 161 px."""

from __future__ import annotations

import pytest
import torch

import metrics
from metrics.msssim import WEIGHTS, downsample
from tests.metrics.helpers import images, near


def _pair(shape, seed):
    x0 = images(shape, seed=seed)
    return x0, near(x0, seed=seed + 1, noise=0.1)


@pytest.mark.parametrize("shape", [(2, 3, 192, 192), (1, 3, 176, 240)])
def test_five_scales_equal_pytorch_msssim_on_even_sizes(shape):
    import pytorch_msssim

    x0, x1 = _pair(shape, seed=1)
    ours = 1.0 - metrics.create_metric("ms-ssim", device="cpu")(x0, x1)
    ref = pytorch_msssim.ms_ssim(x0, x1, data_range=1.0, size_average=False)
    assert torch.allclose(ours, ref, rtol=0, atol=1e-5)


def test_64px_inputs_use_three_scales_with_renormalised_weights():
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    metric = metrics.create_metric("ms-ssim", device="cpu")
    assert metric.scales_for(64, 64) == 3
    x0, x1 = _pair((2, 3, 64, 64), seed=2)
    # Reference: pytorch-msssim's per-scale SSIM/CS with the first three weights renormalised
    # (its own ms_ssim refuses inputs this small).
    win = _fspecial_gauss_1d(11, 1.5).repeat(3, 1, 1, 1)
    weights = torch.tensor(WEIGHTS[:3]) / sum(WEIGHTS[:3])
    a, b, factors = x0, x1, []
    for level in range(3):
        ssim, cs = _ssim(a, b, data_range=1.0, win=win, size_average=False)
        factors.append(torch.relu(ssim if level == 2 else cs))
        a, b = torch.nn.functional.avg_pool2d(a, 2), torch.nn.functional.avg_pool2d(b, 2)
    expected = torch.prod(torch.stack(factors) ** weights.view(-1, 1, 1), dim=0).mean(dim=1)
    assert torch.allclose(1.0 - metric(x0, x1), expected, rtol=0, atol=1e-5)
    explicit = metrics.create_metric("ms-ssim", levels=3, small_inputs="error", device="cpu")
    assert torch.allclose(explicit(x0, x1), metric(x0, x1))


def test_the_error_policy_names_the_size_needed():
    metric = metrics.create_metric("ms-ssim", small_inputs="error", device="cpu")
    x = images((1, 3, 64, 64), seed=3)
    with pytest.raises(ValueError, match=r"5 scales needs images of at least 161×161"):
        metric(x, x)
    assert metric.scales_for(161, 161) == 5
    with pytest.raises(ValueError, match="at least 161"):
        metric.scales_for(160, 400)


def test_images_smaller_than_the_window_are_refused():
    x = images((1, 3, 10, 64), seed=4)
    with pytest.raises(ValueError, match="at least 11×11"):
        metrics.create_metric("ms-ssim", device="cpu")(x, x)


def test_odd_sides_repeat_their_last_row_before_halving():
    x = torch.arange(9.0).view(1, 1, 3, 3)
    # Rows/cols 0-1 average normally; the third is averaged with its own copy.
    expected = torch.tensor([[[[2.0, 3.5], [6.5, 8.0]]]])
    assert torch.equal(downsample(x), expected)
