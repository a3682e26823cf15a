"""Bad inputs get clear TypeError/ValueError messages, and the range is checked at both ends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metrics
from tests.metrics.helpers import images, ours


@pytest.fixture(scope="module")
def ssim():
    return metrics.create_metric("ssim", device="cpu")


def test_zero_one_data_passed_to_a_minus_one_one_metric_fails_loudly():
    x0, x1 = images((2, 3, 64, 64), seed=1), images((2, 3, 64, 64), seed=2)
    with pytest.raises(ValueError, match=r"looks like \[0, 1\] data. Map it with 2 \* x - 1"):
        ours("alex")(x0, x1)
    # The same values mapped correctly pass.
    assert ours("alex")(2 * x0 - 1, 2 * x1 - 1).shape == (2,)


def test_bright_images_can_opt_out_of_the_zero_one_heuristic():
    bright = images((1, 3, 64, 64), seed=3, low=0.2, high=1.0)
    lenient = metrics.create_metric(
        "lpips-alex", trunk_weights=None, range_check="bounds", device="cpu"
    )
    assert lenient(bright, bright.flip(-1)).shape == (1,)
    with pytest.raises(ValueError, match=r"takes values in \[-1, 1\], got min -1\.\d+ and max"):
        lenient(bright - 1.7, bright)


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        (-1.0, 1.0, r"got min -1 .*look like \[-1, 1\] data: map them with \(x \+ 1\) / 2"),
        (0.0, 255.0, r"got min 0 and max 255.*look like 0–255 data: divide by 255"),
        (0.0, 1.2, r"takes values in \[0, 1\], got min 0 and max 1.2\.$"),
    ],
)
def test_values_outside_the_range_are_refused_at_either_end(ssim, low, high, message):
    x = images((1, 3, 32, 32), seed=4, low=low, high=high)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = low, high
    with pytest.raises(ValueError, match=message):
        ssim(x, x)


def test_nan_is_refused(ssim):
    x = images((1, 3, 32, 32), seed=5)
    x[0, 1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match="nan"):
        ssim(x, images((1, 3, 32, 32), seed=6))


@pytest.mark.parametrize(
    ("x0", "x1", "error", "message"),
    [
        (
            torch.zeros(3, 32, 32),
            torch.zeros(3, 32, 32),
            ValueError,
            r"N×3×H×W \(RGB\), got \(3, 32, 32\)",
        ),
        (torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32), ValueError, r"N×3×H×W"),
        (torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 31), ValueError, "same shape"),
        (torch.zeros(2, 3, 32, 32), torch.zeros(1, 3, 32, 32), ValueError, "same shape"),
        (
            torch.zeros(1, 3, 32, 32, dtype=torch.uint8),
            torch.zeros(1, 3, 32, 32),
            TypeError,
            r"dtype torch.uint8.*x.float\(\) / 255",
        ),
        (
            np.zeros((1, 3, 32, 32), np.float32),
            torch.zeros(1, 3, 32, 32),
            TypeError,
            "must be a torch.Tensor, got ndarray",
        ),
        (torch.zeros(1, 3, 8, 32), torch.zeros(1, 3, 8, 32), ValueError, r"at least 11×11"),
    ],
)
def test_bad_shapes_dtypes_and_sizes_are_refused(ssim, x0, x1, error, message):
    with pytest.raises(error, match=message):
        ssim(x0, x1)


def test_the_range_check_can_be_switched_off():
    metric = metrics.create_metric("l2", range_check="off", device="cpu")
    x = torch.full((1, 3, 8, 8), 2.0)
    assert metric(x, torch.zeros_like(x)).item() == pytest.approx(4.0)


def test_a_per_call_range_check_may_only_relax_the_metric_setting():
    strict = metrics.create_metric("l2", device="cpu")
    assert strict.effective_range_check("bounds") == "bounds"
    off = metrics.create_metric("l2", range_check="off", device="cpu")
    assert off.effective_range_check("strict") == "off"
    with pytest.raises(ValueError, match="range_check must be"):
        strict.effective_range_check("loose")


def test_float64_inputs_are_computed_in_float64_by_parameter_free_metrics(ssim):
    x = images((1, 3, 32, 32), seed=7).double()
    assert ssim(x, x.flip(-1)).dtype == torch.float64


def test_batches_of_different_float_dtypes_are_compared_in_the_first_ones_dtype(ssim):
    x0 = images((1, 3, 32, 32), seed=8)
    x1 = images((1, 3, 32, 32), seed=9).double()
    d = ssim(x0, x1)
    assert d.dtype == torch.float32
    assert torch.allclose(d, ssim(x0, x1.float()))
