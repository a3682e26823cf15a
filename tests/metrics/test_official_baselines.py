"""The official LPIPS baselines on real 8-bit images, at every level (issue #16, item 1).

``lpips.L2`` (Lab) and ``lpips.DSSIM`` receive the loader's float32 [-1, 1] tensor and turn it
back into uint8 with ``tensor2im`` (float32 (t + 1)·127.5, truncated), which lowers 63 of the 256
levels by one. ``quantize=True`` must reproduce that exactly; mid-level test values
((k + 0.5)/255) never showed the difference, so these tests use every level k/255 in every
channel, as a real 8-bit image arrives, and real photographs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data as skdata
from skimage.metrics import structural_similarity

import metrics
from metrics.color import apply_quantize, check_quantize, floor_8bit, official_8bit
from metrics.pixel import L2Lab
from metrics.ssim import SSIM


def _loader_tensor(k: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W×3 → the official loader's tensor: ToTensor (k/255) then Normalize(0.5, 0.5)."""
    t = torch.from_numpy(k).permute(0, 3, 1, 2).float().div(255)
    return (t - 0.5) / 0.5


def _ours(k: np.ndarray) -> torch.Tensor:
    """uint8 → our [0, 1] input as the platform builds it (float32 k / 255)."""
    return torch.from_numpy(k.astype(np.float32) / np.float32(255)).permute(0, 3, 1, 2)


def _every_level_pairs(n: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n pairs of 64×64 images; in every image each channel holds each of the 256 levels 16
    times, and the second image of a pair is a noisy version of the first."""
    rng = np.random.default_rng(seed)
    levels = np.repeat(np.arange(256), 16)
    x0 = np.stack(
        [
            np.stack([rng.permutation(levels) for _ in range(3)], -1).reshape(64, 64, 3)
            for _ in range(n)
        ]
    )
    noise = rng.integers(-12, 13, size=x0.shape)
    x1 = np.clip(x0.astype(int) + noise, 0, 255)
    return x0.astype(np.uint8), x1.astype(np.uint8)


def _photo_pairs() -> tuple[np.ndarray, np.ndarray]:
    """64×64 crops of scikit-image's sample photographs and a JPEG-like blocky version of each."""
    crops = []
    for image in (skdata.astronaut(), skdata.chelsea(), skdata.coffee()):
        for y, x in ((40, 60), (150, 200)):
            crops.append(image[y : y + 64, x : x + 64, :3])
    x0 = np.stack(crops).astype(np.uint8)
    blocks = x0.reshape(len(crops), 16, 4, 16, 4, 3).mean(axis=(2, 4), keepdims=True)
    x1 = np.broadcast_to(blocks, (len(crops), 16, 4, 16, 4, 3)).reshape(x0.shape)
    return x0, np.rint(0.5 * x0 + 0.5 * x1).astype(np.uint8)


PAIRS = {"every-level": _every_level_pairs(), "photos": _photo_pairs()}


@pytest.fixture
def official_dssim(monkeypatch):
    """The official DSSIM, runnable again: skimage 0.18 removed ``compare_ssim``, which the lpips
    package imports; this shim is the replacement the upstream PR #102 proposes."""
    import lpips
    import skimage.measure

    def compare_ssim(a, b, data_range, multichannel):
        return structural_similarity(a, b, data_range=data_range, channel_axis=-1)

    monkeypatch.setattr(skimage.measure, "compare_ssim", compare_ssim, raising=False)
    return lpips.DSSIM


def _official(baseline, k0: np.ndarray, k1: np.ndarray) -> torch.Tensor:
    t0, t1 = _loader_tensor(k0), _loader_tensor(k1)
    return torch.tensor(
        [float(baseline(a[None], b[None])) for a, b in zip(t0, t1, strict=True)],
        dtype=torch.float64,
    )


def test_official_levels_are_the_official_tensor2im_levels():
    k = np.arange(256, dtype=np.uint8)
    t = _loader_tensor(np.broadcast_to(k[None, None, :, None], (1, 1, 256, 3)).copy())
    official = ((t.permute(0, 2, 3, 1).numpy() + 1.0) * (255.0 / 2.0)).astype(np.uint8)[0, 0, :, 0]
    ours = official_8bit(torch.from_numpy(k.astype(np.float32) / np.float32(255)))
    assert np.array_equal(np.rint(ours.numpy() * 255).astype(np.uint8), official)
    lowered = np.nonzero(official != k)[0]
    assert len(lowered) == 63 and set(lowered) >= set(range(1, 11))
    # The clean truncation leaves every 8-bit level where it is.
    assert torch.equal(
        floor_8bit(torch.from_numpy(k / np.float32(255))) * 255,
        torch.from_numpy(k.astype(np.float32)),
    )


@pytest.mark.parametrize("pairs", PAIRS)
def test_l2_lab_quantized_equals_the_official_l2_at_every_level(pairs):
    import lpips

    k0, k1 = PAIRS[pairs]
    expected = _official(lpips.L2(use_gpu=False, colorspace="Lab"), k0, k1)
    metric = metrics.create_metric("l2-lab", quantize=True, device="cpu")
    got = metric(_ours(k0), _ours(k1)).double()
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-8), (got - expected).abs().max()
    # The clean truncation is a different function on these images (the test can fail).
    clean = L2Lab(quantize="floor", device="cpu")(_ours(k0), _ours(k1)).double()
    assert ((clean - expected).abs() / expected).max() > 1e-3


@pytest.mark.parametrize("pairs", PAIRS)
@pytest.mark.parametrize("colorspace", ["Lab", "RGB"])
def test_dssim_quantized_equals_the_official_dssim_at_every_level(
    official_dssim, pairs, colorspace
):
    k0, k1 = PAIRS[pairs]
    expected = _official(official_dssim(use_gpu=False, colorspace=colorspace), k0, k1)
    metric = metrics.create_metric(
        "ssim", preset="lpips-baseline", colorspace=colorspace.lower(), quantize=True, device="cpu"
    )
    got = metric(_ours(k0), _ours(k1)).double()
    # float32 here, float64 in scikit-image: 1e-5 is the agreement of the two SSIMs themselves.
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()
    if pairs == "photos":  # on noise-like images SSIM barely notices the lowered levels
        clean = SSIM(preset="lpips-baseline", colorspace=colorspace.lower(), quantize="floor")
        assert (clean(_ours(k0), _ours(k1)).double() - expected).abs().max() > 1e-4


def test_quantize_option_values():
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(apply_quantize(x, False), x)
    assert torch.equal(apply_quantize(x, True), apply_quantize(x, "official"))
    assert torch.equal(apply_quantize(x, "floor"), floor_8bit(x))
    for bad in ("yes", 1, None, "round"):
        with pytest.raises(ValueError, match="quantize must be one of"):
            check_quantize(bad)
    with pytest.raises(ValueError, match="quantize must be one of"):
        L2Lab(quantize="round")
