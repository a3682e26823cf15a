"""L2, Lab L2 and PSNR: known values, the official Lab baseline, and the colour conversions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

import metrics
from metrics.color import rgb_to_lab, rgb_to_yiq
from tests.metrics.helpers import images


def test_l2_and_psnr_on_known_values():
    x0 = torch.full((2, 3, 8, 8), 0.2)
    x1 = torch.full((2, 3, 8, 8), 0.3)
    l2 = metrics.create_metric("l2", device="cpu")(x0, x1)
    assert torch.allclose(l2, torch.full((2,), 0.01))
    psnr = metrics.create_metric("psnr", device="cpu")(x0, x1)
    assert torch.allclose(psnr, torch.full((2,), -20.0))  # PSNR 20 dB, as a distance
    assert torch.all(metrics.create_metric("psnr", device="cpu")(x0, x0) == float("-inf"))


def test_rgb_to_lab_equals_skimage():
    x = images((2, 3, 16, 16), seed=1).double()
    x[0, :, 0, 0] = 0.0  # black takes the linear branch of both curves
    ours = rgb_to_lab(x).permute(0, 2, 3, 1).numpy()
    ref = np.stack([rgb2lab(img.permute(1, 2, 0).numpy()) for img in x])
    assert np.allclose(ours, ref, atol=1e-10)


def test_rgb_to_yiq_uses_the_ntsc_matrix():
    white = torch.ones(1, 3, 1, 1)
    assert torch.allclose(rgb_to_yiq(white).flatten(), torch.tensor([1.0, 0.0, 0.0]), atol=1e-6)


def test_l2_lab_with_quantize_equals_the_official_baseline():
    import lpips

    baseline = lpips.L2(use_gpu=False, colorspace="Lab")
    g = torch.Generator().manual_seed(2)
    # Mid-level 8-bit values (k + 0.5)/255: both 8-bit truncations land on k.
    x0 = (torch.randint(0, 255, (3, 3, 32, 32), generator=g).float() + 0.5) / 255
    x1 = (torch.randint(0, 255, (3, 3, 32, 32), generator=g).float() + 0.5) / 255
    metric = metrics.create_metric("l2-lab", quantize=True, device="cpu")
    expected = torch.tensor(
        [float(baseline(2 * a[None] - 1, 2 * b[None] - 1)) for a, b in zip(x0, x1, strict=True)]
    )
    assert torch.allclose(metric(x0, x1), expected, rtol=1e-5, atol=1e-7)
    # Without quantize the float images are scored as given, close to but not the same numbers.
    plain = metrics.create_metric("l2-lab", device="cpu")(x0, x1)
    assert torch.allclose(plain, expected, rtol=0.05)
    assert not torch.equal(plain, metric(x0, x1))


def test_l2_is_a_quarter_of_the_official_rgb_l2():
    import lpips

    baseline = lpips.L2(use_gpu=False, colorspace="RGB")
    x0, x1 = images((1, 3, 16, 16), seed=3), images((1, 3, 16, 16), seed=4)
    official = float(baseline(2 * x0 - 1, 2 * x1 - 1))
    assert metrics.create_metric("l2", device="cpu")(x0, x1).item() == pytest.approx(official / 4)
