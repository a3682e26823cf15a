"""Our LPIPS module's own interface: taps, feature reuse, channel means, gradients, options."""

from __future__ import annotations

import pytest
import torch

import metrics
from tests.metrics.helpers import images, near, ours

# lpips-bapps.md §10: tap channels and spatial sizes at 64×64.
TAPS = {
    "alex": ((64, 192, 384, 256, 256), (15, 7, 3, 3, 3)),
    "vgg": ((64, 128, 256, 512, 512), (64, 32, 16, 8, 4)),
    "squeeze": ((64, 128, 256, 384, 384, 512, 512), (31, 15, 7, 3, 3, 3, 3)),
}


@pytest.mark.parametrize("net", sorted(TAPS))
def test_the_taps_have_the_reference_channels_and_sizes(net):
    channels, sizes = TAPS[net]
    feats = ours(net).features(images((2, 3, 64, 64), seed=0, low=-1.0))
    assert [f.shape[1] for f in feats] == list(channels)
    assert [f.shape[2] for f in feats] == list(sizes)
    assert [f.shape[3] for f in feats] == list(sizes)
    norms = torch.linalg.vector_norm(feats[0], dim=1)
    assert torch.allclose(norms[norms > 0], torch.ones(()), atol=1e-5)


def test_reference_features_computed_once_serve_many_comparisons():
    model = ours("alex")
    ref = images((1, 3, 64, 64), seed=1, low=-1.0)
    others = images((6, 3, 64, 64), seed=2, low=-1.0)
    f_ref, f_others = model.features(ref, range_check="bounds"), model.features(others)
    # A batch-1 reference broadcasts against the batch.
    reused = model.distance_from_features(f_ref, f_others)
    direct = model(ref.expand(6, -1, -1, -1), others)
    assert torch.allclose(reused, direct, atol=1e-6)


def test_channel_means_are_the_lin_inputs():
    model = ours("alex")
    x0 = images((3, 3, 64, 64), seed=3, low=-1.0)
    x1 = near(x0, seed=4, noise=0.2, low=-1.0)
    means = model.channel_means(x0, x1)
    assert [m.shape for m in means] == [(3, c) for c in TAPS["alex"][0]]
    assert sum(m.shape[1] for m in means) == 1152
    weighted = sum(m @ w for m, w in zip(means, model.lin, strict=True))
    assert torch.allclose(weighted, model(x0, x1), atol=1e-6)


def test_gradients_reach_the_lin_weights_and_equal_the_channel_means():
    model = metrics.create_metric("lpips-squeeze", trunk_weights=None, device="cpu")
    model.lin.requires_grad_(True)
    x0 = images((2, 3, 32, 32), seed=5, low=-1.0)
    x1 = images((2, 3, 32, 32), seed=6, low=-1.0)
    model(x0, x1).sum().backward()
    means = model.channel_means(x0, x1)
    # The distance is linear in w, so d(Σ_n d_n)/dw_l = Σ_n channel_means_l.
    for w, m in zip(model.lin, means, strict=True):
        assert torch.allclose(w.grad, m.sum(dim=0), atol=1e-6)


def test_gradients_reach_the_input_in_float64():
    model = metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu").double()
    x0 = images((1, 3, 32, 32), seed=7, low=-1.0).double().requires_grad_(True)
    x1 = images((1, 3, 32, 32), seed=8, low=-1.0).double()
    d = model(x0, x1)
    assert d.dtype == torch.float64
    (grad,) = torch.autograd.grad(d.sum(), x0)
    # Directional finite difference along the gradient (a full gradcheck is too slow on 2 cores).
    step = 1e-6 * grad / grad.norm()
    with torch.no_grad():
        numeric = (model(x0 + step, x1) - model(x0 - step, x1)).item() / (2 * step.norm().item())
    assert numeric == pytest.approx(grad.norm().item(), rel=1e-4)


def test_the_input_scaling_follows_a_change_of_dtype():
    # The v0.1 scaling coefficients are kept per width, device and dtype: a metric used in
    # float32 and then converted to float64 must scale in float64, as a fresh one does.
    model = metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu")
    x0, x1 = images((2, 3, 40, 40), seed=13, low=-1.0), images((2, 3, 40, 40), seed=14, low=-1.0)
    with torch.inference_mode():
        single = model(x0, x1)
        model.double()
        converted = model(x0.double(), x1.double())
        fresh = metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu").double()
        expected = fresh(x0.double(), x1.double())
    assert converted.dtype == torch.float64
    assert torch.equal(converted, expected)
    assert torch.allclose(single.double(), expected, atol=1e-6)


def test_channels_last_does_not_change_the_result():
    fast = ours("squeeze")
    assert fast.channels_last  # the CPU default
    plain = metrics.create_metric(
        "lpips-squeeze", trunk_weights=None, channels_last=False, device="cpu"
    )
    x0, x1 = images((4, 3, 64, 64), seed=9, low=-1.0), images((4, 3, 64, 64), seed=10, low=-1.0)
    assert torch.allclose(fast(x0, x1), plain(x0, x1), atol=1e-6)


def test_identical_images_are_at_distance_zero_and_noise_increases_it():
    model = ours("vgg")
    x = images((2, 3, 32, 32), seed=11, low=-1.0)
    assert torch.all(model(x, x) == 0)
    small = model(x, near(x, seed=12, noise=0.05, low=-1.0))
    large = model(x, near(x, seed=12, noise=0.5, low=-1.0))
    assert torch.all(small < large)


@pytest.mark.parametrize(("net", "too_small"), [("alex", 30), ("vgg", 15), ("squeeze", 24)])
def test_images_below_the_trunk_minimum_are_refused(net, too_small):
    x = images((1, 3, too_small, too_small + 10), seed=0, low=-1.0)
    with pytest.raises(ValueError, match="at least"):
        ours(net)(x, x)


def test_an_empty_batch_gives_an_empty_result():
    x = torch.empty(0, 3, 64, 64)
    assert ours("alex")(x, x).shape == (0,)
    d0, d1 = ours("alex").triplet_distances(x, x, x)
    assert d0.shape == d1.shape == (0,)


def test_the_parameters_are_frozen_and_the_module_is_in_eval_mode():
    model = ours("alex")
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_an_invalid_version_string_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"'0\.1', '0\.0'"):
        metrics.create_metric("lpips-alex", version="v0.1", trunk_weights=None)


@pytest.mark.parametrize("net", sorted(TAPS))
def test_tap_sizes_are_computed_without_running_the_trunk(net):
    model = ours(net)
    for height, width in ((64, 64), (97, 75), (model.min_size, model.min_size + 3)):
        x = images((1, 3, height, width), seed=13, low=-1.0)
        actual = [tuple(f.shape[-2:]) for f in model.features(x, range_check="off")]
        assert model.trunk.tap_sizes(height, width) == actual


def test_small_trunk_passes_give_the_same_distances():
    import dataclasses

    model = metrics.create_metric("lpips-squeeze", trunk_weights=None, device="cpu")
    ref, p0, p1 = (images((5, 3, 40, 48), seed=s, low=-1.0) for s in (14, 15, 16))
    whole = model(ref, p0), model(ref, p1)  # autograd on: one pass for the whole batch
    model.spec = dataclasses.replace(model.spec, cpu_pass_bytes=1)  # one image per set per pass
    with torch.inference_mode():
        assert model._pass_size(3, 40, 48, 5) == 1
        d0, d1 = model.triplet_distances(ref, p0, p1)
        pairs = model(ref, p0)
    assert torch.allclose(d0, whole[0], atol=1e-6)
    assert torch.allclose(d1, whole[1], atol=1e-6)
    assert torch.allclose(pairs, whole[0], atol=1e-6)
