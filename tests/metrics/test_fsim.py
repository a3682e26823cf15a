"""FSIM/FSIMc against piq, and the points where we follow MATLAB's FeatureSIM.m instead."""

from __future__ import annotations

import math

import pytest
import torch

import metrics
from metrics import fsim as fsim_module
from metrics.phase_congruency import phase_congruency
from tests.metrics.helpers import images, near


@pytest.mark.parametrize("chromatic", [False, True])
@pytest.mark.parametrize("shape", [(3, 3, 64, 64), (2, 3, 97, 75), (1, 3, 384, 384)])
def test_it_matches_piq(shape, chromatic):
    import piq

    x0 = images(shape, seed=1)
    # Mild distortions keep S_I·S_Q positive, where piq's abs() and MATLAB's real() agree.
    x1 = near(x0, seed=2, noise=0.02)
    metric = metrics.create_metric("fsimc" if chromatic else "fsim", device="cpu")
    expected = piq.fsim(x0, x1, data_range=1.0, reduction="none", chromatic=chromatic)
    assert torch.allclose(1.0 - metric(x0, x1), expected, rtol=0, atol=1e-5)


def test_the_downsampling_factor_rounds_half_up_like_matlab():
    assert fsim_module.downsample_factor(64, 64) == 1
    assert fsim_module.downsample_factor(383, 1000) == 1
    assert fsim_module.downsample_factor(384, 384) == 2
    assert fsim_module.downsample_factor(640, 700) == 3  # 2.5 -> 3 (Python's round gives 2)


def test_negative_chroma_products_take_matlabs_real_part():
    # S_I < 0 where the I channels have opposite signs and |I0·I1| > T3/2; Q keeps its sign.
    x0 = torch.zeros(1, 3, 16, 16)
    x0[:, 0] = 1.0  # red: I > 0, Q > 0
    x1 = torch.zeros(1, 3, 16, 16)
    x1[:, 2] = 1.0  # blue: I < 0, Q > 0
    yiq0 = fsim_module.rgb_to_yiq(x0 * 255)
    yiq1 = fsim_module.rgb_to_yiq(x1 * 255)
    s_i = (2 * yiq0[:, 1] * yiq1[:, 1] + 200) / (yiq0[:, 1] ** 2 + yiq1[:, 1] ** 2 + 200)
    s_q = (2 * yiq0[:, 2] * yiq1[:, 2] + 200) / (yiq0[:, 2] ** 2 + yiq1[:, 2] ** 2 + 200)
    product = (s_i * s_q)[0, 0, 0].double()
    assert product < 0
    expected = abs(product) ** 0.03 * math.cos(0.03 * math.pi)
    flat = fsim_module.fsim(x0, x1, chromatic=True) / fsim_module.fsim(x0, x1, chromatic=False)
    assert flat.item() == pytest.approx(expected.item(), rel=1e-9)


def test_flat_images_give_finite_values():
    grey = torch.full((1, 3, 32, 32), 0.5)
    white = torch.ones(1, 3, 32, 32)
    assert torch.all(phase_congruency(grey[:, 0].double()) == 0)
    for name in ("fsim", "fsimc"):
        d = metrics.create_metric(name, device="cpu")(grey, white)
        assert torch.isfinite(d).all()
