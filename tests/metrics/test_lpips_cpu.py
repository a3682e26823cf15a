"""The fast CPU inference path of the LPIPS trunks (metrics.lpips.cpu): when it is taken, and that
it computes what the eager trunk computes."""

from __future__ import annotations

import copy
import io

import torch
import torch.nn.functional as F
from torch import nn

import metrics
from metrics.lpips import cpu
from tests.metrics.helpers import images, near


def _alex(**options):
    return metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu", **options)


def _eager_taps(trunk, x):
    trunk.winograd = False
    try:
        with torch.inference_mode():
            return trunk(x)
    finally:
        trunk.winograd = True


def test_the_winograd_matrices_compute_the_3x3_correlation_exactly_in_float64():
    transform_in, transform_out, kernel = cpu.winograd_matrices()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, 3, 3, generator=g, dtype=torch.float64)
    w = torch.randn(6, 4, 3, 3, generator=g, dtype=torch.float64)
    expected = F.conv2d(x, w, padding=1)  # 5 × 6 × 3 × 3
    assert transform_in.shape == (cpu.POINTS, 9) and cpu.POINTS == 16  # not 25, not 81
    tiles = transform_in @ x.permute(2, 3, 0, 1).reshape(9, -1)  # 16 × (5·4)
    u = torch.einsum("xa,ocab,yb->xyco", kernel, w, kernel).reshape(cpu.POINTS, 4, 6)
    products = torch.bmm(tiles.view(cpu.POINTS, 5, 4), u)
    out = (transform_out @ products.reshape(cpu.POINTS, -1)).view(3, 3, 5, 6).permute(2, 3, 0, 1)
    assert torch.allclose(out, expected, rtol=0, atol=1e-12)


def test_alexnet_at_64px_takes_the_fast_path_with_winograd_and_matches_the_eager_trunk():
    model = _alex()
    x = images((8, 3, 64, 64), seed=0, low=-1.0)
    with torch.inference_mode():
        assert model.trunk.winograd_applies(x)
        fast = model.trunk(x)
        exact = _alex().trunk.double()(x.double())  # the same seeded trunk, eager, float64
    eager = _eager_taps(model.trunk, x)
    # conv1 and conv2 run as they are: the same numbers as the eager path.
    assert torch.equal(fast[0], eager[0])
    assert torch.equal(fast[1], eager[1])
    # conv3–conv5 (3×3 maps) run as Winograd, which rounds differently but stays within
    # float32 rounding of the float64 result, as the eager path does.
    for index, (a, b, ref) in enumerate(zip(fast, eager, exact, strict=True)):
        assert a.shape == b.shape == ref.shape
        scale = ref.abs().max()
        assert (a.double() - ref).abs().max() <= 1e-5 * scale, index
        assert (b.double() - ref).abs().max() <= 1e-5 * scale, index
    assert not torch.equal(fast[2], eager[2])  # Winograd did run


def test_a_trunk_with_a_prepared_program_can_be_copied_and_pickled():
    model = _alex()
    x = images((2, 3, 64, 64), seed=12, low=-1.0)
    with torch.inference_mode():
        expected = model(x, x.flip(0))
    twin = copy.deepcopy(model)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    with torch.inference_mode():
        assert torch.equal(twin(x, x.flip(0)), expected)
        assert torch.equal(loaded(x, x.flip(0)), expected)


def test_winograd_distances_equal_the_eager_distances():
    model = _alex()
    ref = images((16, 3, 64, 64), seed=1, low=-1.0)
    p0 = near(ref, seed=2, noise=0.1, low=-1.0)
    p1 = near(ref, seed=3, noise=0.3, low=-1.0)
    with torch.inference_mode():
        fast = model.triplet_distances(ref, p0, p1)
        model.trunk.winograd = False
        try:
            eager = model.triplet_distances(ref, p0, p1)
        finally:
            model.trunk.winograd = True
    for a, b in zip(fast, eager, strict=True):
        assert (a - b).abs().max() <= 1e-6


def test_identical_images_stay_at_distance_zero_on_the_fast_path():
    model = _alex()
    x = images((5, 3, 64, 64), seed=4, low=-1.0)
    with torch.inference_mode():
        assert torch.all(model(x, x) == 0)
        d0, d1 = model.triplet_distances(x, x, x.clone())
    assert torch.all(d0 == 0) and torch.all(d1 == 0)


def test_vgg_at_64px_never_meets_a_3x3_map_and_runs_as_eager():
    model = metrics.create_metric("lpips-vgg", trunk_weights=None, device="cpu")
    x = images((2, 3, 64, 64), seed=5, low=-1.0)
    with torch.inference_mode():
        assert model.trunk.winograd_applies(x)
        fast = model.trunk(x)
    for a, b in zip(fast, _eager_taps(model.trunk, x), strict=True):
        assert torch.equal(a, b)


def test_alexnet_at_sizes_without_3x3_maps_runs_as_eager():
    model = _alex()
    x = images((2, 3, 97, 75), seed=13, low=-1.0)  # conv3–conv5 see 5×3 maps
    with torch.inference_mode():
        fast = model.trunk(x)
    for a, b in zip(fast, _eager_taps(model.trunk, x), strict=True):
        assert torch.equal(a, b)


def test_the_fast_path_is_skipped_where_it_does_not_apply():
    alex = _alex()
    x = images((2, 3, 64, 64), seed=6, low=-1.0)
    squeeze = metrics.create_metric("lpips-squeeze", trunk_weights=None, device="cpu")
    with torch.inference_mode():
        assert not squeeze.trunk.winograd_applies(x)  # fire modules run as they are
        assert not alex.trunk.winograd_applies(x.double())
    # With autograd: an input that needs gradients, or a trunk being trained ("tune").
    assert not alex.trunk.winograd_applies(x.clone().requires_grad_(True))
    tuned = _alex()
    tuned.trunk.requires_grad_(True)
    assert not tuned.trunk.winograd_applies(x)
    # Gradients still flow through the eager path.
    x0 = x.clone().requires_grad_(True)
    alex(x0, images((2, 3, 64, 64), seed=7, low=-1.0)).sum().backward()
    assert x0.grad is not None and x0.grad.abs().sum() > 0


def test_the_prepared_program_follows_weight_changes():
    model = _alex()
    x0 = images((3, 3, 64, 64), seed=8, low=-1.0)
    x1 = near(x0, seed=9, noise=0.2, low=-1.0)
    with torch.inference_mode():
        before = model(x0, x1)
    other = _alex(seed=1)
    model.trunk.load_state_dict(other.trunk.state_dict())  # in place: bumps the versions
    with torch.inference_mode():
        after = model(x0, x1)
        assert torch.equal(after, other(x0, x1))
    assert not torch.allclose(before, after)
    with torch.no_grad():
        model.trunk.features[0].weight.mul_(0.5)
    with torch.inference_mode():
        changed = model(x0, x1)
    model.trunk.winograd = False
    with torch.inference_mode():
        assert torch.allclose(changed, model(x0, x1), atol=1e-6)
    assert not torch.allclose(changed, after)


def test_a_model_built_under_inference_mode_sees_in_place_changes():
    # Inference tensors have no version counter: the program is rebuilt on every call.
    with torch.inference_mode():
        model = _alex()
        x0 = images((2, 3, 64, 64), seed=10, low=-1.0)
        x1 = near(x0, seed=11, noise=0.2, low=-1.0)
        before = model(x0, x1)
        model.trunk.features[3].weight.mul_(2.0)
        after = model(x0, x1)
        model.trunk.winograd = False
        eager = model(x0, x1)
    assert not torch.allclose(before, after)
    assert torch.allclose(after, eager, atol=1e-6)


def test_layers_after_winograd_layers_get_their_input_back_in_the_right_layout():
    # A made-up stack: two Winograd layers on a 3×3 map, then a 1×1 convolution, a max-pool and
    # another 3×3 convolution on the resulting 2×2 map (not Winograd).
    torch.manual_seed(0)
    features = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 8, 1),
        nn.MaxPool2d(2, stride=1),
        nn.Conv2d(8, 4, 3, padding=1, bias=False),
        nn.ReLU(),
    ).eval()
    x = torch.randn(5, 3, 3, 3)
    ends = (1, 3, 4, 5, 7)
    program = cpu.CpuProgram(copy.deepcopy(features))
    with torch.inference_mode():
        fast = program.run(x, ends)
        eager, h = [], x
        for index, layer in enumerate(features):
            h = layer(h)
            if index in ends:
                eager.append(h)
    for a, b in zip(fast, eager, strict=True):
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-5)
