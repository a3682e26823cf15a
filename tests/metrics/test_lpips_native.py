"""The native LPIPS comparison kernel (metrics/lpips/native): equal to the definition, exactly zero
for identical images, the same distances as the PyTorch-ops path, clear errors, a fallback when it
cannot be built."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch

import metrics
from metrics.lpips import native

HAS_COMPILER = bool(shutil.which("cc") or shutil.which("gcc"))


@pytest.fixture(autouse=True)
def fresh_kernel_state(monkeypatch):
    monkeypatch.delenv(native.ENV_SWITCH, raising=False)
    native.reset()
    yield
    native.reset()


def reference_means(tap: torch.Tensor, k: int, pairs) -> torch.Tensor:
    """The definition in float64: mean over positions of (f̂_j − f̂_i)², f̂ = f/(‖f‖₂ + 1e-10)."""
    t = tap.double()
    unit = t / (t.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)
    units = unit.unflatten(0, (-1, k))
    return torch.stack([(units[:, j] - units[:, i]).square().mean(dim=(2, 3)) for i, j in pairs])


def channels_last(shape, seed):
    g = torch.Generator().manual_seed(seed)
    # ReLU-like features: non-negative, with some exact zeros (whole zero vectors too).
    x = torch.randn(shape, generator=g).clamp_min(0)
    x[0, :, 0, 0] = 0
    return x.contiguous(memory_format=torch.channels_last)


def kernel():
    function = native.kernel()
    assert function is not None, "the native kernel did not build on a machine with a C compiler"
    return function


pytestmark = pytest.mark.skipif(not HAS_COMPILER, reason="no C compiler on this machine")


@pytest.mark.parametrize(
    ("shape", "k", "pairs"),
    [
        ((2 * 5, 64, 15, 15), 2, [(0, 1)]),
        ((2 * 1, 5, 97 // 8, 75 // 8), 2, [(0, 1)]),  # one pair, odd sizes, few channels
        ((3 * 4, 384, 3, 3), 3, [(0, 1), (0, 2)]),  # triplets: the reference twice
        ((2 * 3, 512, 1, 1), 2, [(1, 0)]),
    ],
)
def test_pair_means_equal_the_definition(shape, k, pairs):
    tap = channels_last(shape, seed=sum(shape))
    got = native.pair_means(kernel(), tap, k, pairs, 1e-10)
    expected = reference_means(tap, k, pairs)
    assert got.shape == expected.shape
    assert torch.allclose(got.double(), expected, rtol=1e-5, atol=1e-9)


def test_position_major_taps_need_no_copy():
    # AlexNet's Winograd taps are N×C×3×3 views of a 9 × N × C tensor (metrics/lpips/cpu.py).
    g = torch.Generator().manual_seed(3)
    pm = torch.randn(9, 2 * 6, 256, generator=g).clamp_min(0)
    tap = pm.view(3, 3, 12, 256).permute(2, 3, 0, 1)
    assert tap.stride(1) == 1 and not tap.is_contiguous()
    got = native.pair_means(kernel(), tap, 2, [(0, 1)], 1e-10)
    assert torch.allclose(got.double(), reference_means(tap, 2, [(0, 1)]), rtol=1e-5, atol=1e-9)


def test_identical_images_give_exactly_zero():
    one = channels_last((4, 192, 7, 7), seed=5)
    tap = torch.stack([one, one], dim=1).flatten(0, 1).contiguous(memory_format=torch.channels_last)
    assert torch.all(native.pair_means(kernel(), tap, 2, [(0, 1)], 1e-10) == 0)


@pytest.mark.parametrize("net", ["alex", "squeeze", "vgg"])
def test_lpips_distances_are_the_same_with_and_without_the_kernel(net, monkeypatch):
    torch.manual_seed(0)
    model = metrics.create_metric(f"lpips-{net}", trunk_weights=None, device="cpu")
    g = torch.Generator().manual_seed(11)
    ref, p0, p1 = (torch.rand(3, 3, 64, 48, generator=g) * 2 - 1 for _ in range(3))
    assert native.kernel() is not None
    with torch.inference_mode():
        fast = model(p0, p1), *model.triplet_distances(ref, p0, p1)
        monkeypatch.setenv(native.ENV_SWITCH, "0")
        assert native.kernel() is None
        plain = model(p0, p1), *model.triplet_distances(ref, p0, p1)
        assert torch.all(model(p0, p0) == 0)
    for a, b in zip(fast, plain, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)


def test_the_kernel_is_not_used_under_autograd():
    model = metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu")
    x0 = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
    x1 = torch.rand(1, 3, 32, 32) * 2 - 1
    (grad,) = torch.autograd.grad(model(x0, x1).sum(), x0)
    assert grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("tap", "k", "pairs", "message"),
    [
        (torch.rand(4, 8, 3, 3, dtype=torch.float64), 2, [(0, 1)], "float32"),
        (torch.rand(4, 8, 3, 3), 2, [(0, 1)], "channels innermost"),  # contiguous NCHW
        (channels_last((5, 8, 3, 3), seed=1), 2, [(0, 1)], "do not split into 2"),
        (channels_last((4, 8, 3, 3), seed=1), 2, [(0, 2)], "pair indices"),
        (torch.rand(4, 8, 3), 2, [(0, 1)], "4-D"),
    ],
)
def test_bad_taps_are_refused_clearly(tap, k, pairs, message):
    with pytest.raises(ValueError, match=message):
        native.pair_means(kernel(), tap, k, pairs, 1e-10)


def test_a_failed_build_falls_back_to_pytorch_ops_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("PERCEPTLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", shutil.which("false") or "/bin/false")
    with caplog.at_level(logging.WARNING, logger="metrics.lpips.native"):
        assert native.kernel() is None
    assert "building the native LPIPS kernel failed" in caplog.text
    assert not list(tmp_path.rglob("*.so"))  # no partial library left behind
    model = metrics.create_metric("lpips-squeeze", trunk_weights=None, device="cpu")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.inference_mode():
        assert torch.all(model(x, x) == 0)
        assert torch.all(model(x, x.flip(-1)) > 0)


def test_builds_are_kept_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PERCEPTLAB_CACHE_DIR", str(tmp_path))
    first = native._build(native._compiler())
    assert first.is_file() and first.is_relative_to(tmp_path / "kernels")
    stamp = first.stat().st_mtime_ns
    assert native._build(native._compiler()) == first
    assert first.stat().st_mtime_ns == stamp  # not rebuilt
