"""The fast CPU engine of the LPIPS trunks (metrics.lpips.fastconv): plain module swaps, when the
16-product convolution runs, that it computes what the eager trunk computes, and that it follows
weight changes."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import metrics
from metrics.lpips import fastconv
from metrics.lpips.fastconv import FastConv3x3
from tests.metrics.helpers import images, near


def _alex(**options):
    return metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu", **options)


def _taps(model, x):
    with torch.inference_mode():
        return model.trunk(x)


def test_the_winograd_matrices_compute_the_3x3_correlation_exactly_in_float64():
    transform_in, transform_out, kernel = fastconv.winograd_matrices()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, 3, 3, generator=g, dtype=torch.float64)
    w = torch.randn(6, 4, 3, 3, generator=g, dtype=torch.float64)
    expected = F.conv2d(x, w, padding=1)  # 5 × 6 × 3 × 3
    assert transform_in.shape == (fastconv.POINTS, 9) and fastconv.POINTS == 16  # not 25, not 81
    tiles = transform_in @ x.permute(2, 3, 0, 1).reshape(9, -1)  # 16 × (5·4)
    u = torch.einsum("xa,ocab,yb->xyco", kernel, w, kernel).reshape(fastconv.POINTS, 4, 6)
    products = torch.bmm(tiles.view(fastconv.POINTS, 5, 4), u)
    out = (transform_out @ products.reshape(fastconv.POINTS, -1)).view(3, 3, 5, 6)
    assert torch.allclose(out.permute(2, 3, 0, 1), expected, rtol=0, atol=1e-12)


def test_the_fast_engine_is_a_plain_module_tree_with_the_same_state_dict():
    fast, eager = _alex(), _alex(cpu_engine="eager")
    layers = fast.trunk.features
    assert isinstance(layers, nn.Sequential)
    assert all(isinstance(m, nn.Module) for m in layers)
    assert fast.trunk.fast_layers() == ["6", "8", "10"]  # conv3–conv5
    assert all(type(layers[int(i)]) is FastConv3x3 for i in fast.trunk.fast_layers())
    assert all(isinstance(layers[int(i)], nn.Conv2d) for i in fast.trunk.fast_layers())
    assert eager.trunk.fast_layers() == []
    assert not any(isinstance(m, FastConv3x3) for m in eager.modules())
    # Same parameters under the same keys: checkpoints move freely between the engines.
    a, b = fast.state_dict(), eager.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # The trunk's forward is the ordinary module walk (no interpreter): hooks on a fast layer
    # see its input and output.
    seen = []
    layers[8].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    _taps(fast, images((2, 3, 64, 64), seed=0, low=-1.0))
    assert seen == [(2, 256, 3, 3)]


def test_install_shares_the_parameters_and_skips_ineligible_layers():
    stack = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.Conv2d(8, 8, 5, padding=2),
        nn.Conv2d(8, 8, 3, padding=1, groups=2),
        nn.Sequential(nn.Conv2d(8, 4, 3, padding=1)),
    )
    weight = stack[0].weight
    assert fastconv.install(stack) == ["0"]
    assert type(stack[0]) is FastConv3x3 and stack[0].weight is weight
    assert [type(m) for m in stack[1:4]] == [nn.Conv2d] * 3
    assert type(stack[4][0]) is nn.Conv2d  # children only, unless recurse=True
    assert fastconv.install(stack, recurse=True) == ["4.0"]
    assert fastconv.install(stack, recurse=True) == []  # idempotent
    with pytest.raises(ValueError, match="3×3"):
        FastConv3x3(8, 8, 5, padding=2)


def test_alexnet_at_64px_takes_the_fast_path_and_matches_the_eager_trunk():
    model, eager_model = _alex(), _alex(cpu_engine="eager")
    x = images((8, 3, 64, 64), seed=0, low=-1.0)
    fast, eager = _taps(model, x), _taps(eager_model, x)
    with torch.inference_mode():
        exact = _alex(cpu_engine="eager").trunk.double()(x.double())  # same seeded trunk, float64
    # conv1 and conv2 run as they are: the same numbers as the eager path.
    assert torch.equal(fast[0], eager[0])
    assert torch.equal(fast[1], eager[1])
    # conv3–conv5 (3×3 maps) run the fast convolution, which rounds differently but stays
    # within float32 rounding of the float64 result, as the eager path does.
    for index, (a, b, ref) in enumerate(zip(fast, eager, exact, strict=True)):
        assert a.shape == b.shape == ref.shape
        scale = ref.abs().max()
        assert (a.double() - ref).abs().max() <= 1e-5 * scale, index
        assert (b.double() - ref).abs().max() <= 1e-5 * scale, index
    assert not torch.equal(fast[2], eager[2])  # the fast convolution did run


def test_a_model_with_prepared_weights_can_be_copied_and_pickled():
    model = _alex()
    x = images((2, 3, 64, 64), seed=12, low=-1.0)
    with torch.inference_mode():
        expected = model(x, x.flip(0))
    assert model.trunk.features[6]._transformed is not None
    twin = copy.deepcopy(model)
    assert twin.trunk.features[6]._transformed is None  # derived data, made afresh
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    with torch.inference_mode():
        assert torch.equal(twin(x, x.flip(0)), expected)
        assert torch.equal(loaded(x, x.flip(0)), expected)
    # The copies' hooks act on the copies.
    twin.trunk.load_state_dict(_alex(seed=3).trunk.state_dict())
    assert model.trunk.features[6]._transformed is not None


@pytest.mark.parametrize("net", ["alex", "vgg", "squeeze"])
def test_the_fast_and_eager_engines_give_the_same_distances(net):
    fast = metrics.create_metric(f"lpips-{net}", trunk_weights=None, device="cpu")
    eager = metrics.create_metric(
        f"lpips-{net}", trunk_weights=None, device="cpu", cpu_engine="eager"
    )
    ref = images((16 if net == "alex" else 4, 3, 64, 64), seed=1, low=-1.0)
    p0 = near(ref, seed=2, noise=0.1, low=-1.0)
    p1 = near(ref, seed=3, noise=0.3, low=-1.0)
    with torch.inference_mode():
        got = (*fast.triplet_distances(ref, p0, p1), fast(p0, p1))
        want = (*eager.triplet_distances(ref, p0, p1), eager(p0, p1))
    for a, b in zip(got, want, strict=True):
        assert (a - b).abs().max() <= 1e-6


def test_identical_images_stay_at_distance_zero_on_the_fast_path():
    model = _alex()
    x = images((5, 3, 64, 64), seed=4, low=-1.0)
    with torch.inference_mode():
        assert torch.all(model(x, x) == 0)
        d0, d1 = model.triplet_distances(x, x, x.clone())
    assert torch.all(d0 == 0) and torch.all(d1 == 0)


def test_vgg_at_64px_never_meets_a_3x3_map_and_runs_as_eager():
    kwargs = {"trunk_weights": None, "device": "cpu"}
    model = metrics.create_metric("lpips-vgg", **kwargs)
    eager = metrics.create_metric("lpips-vgg", cpu_engine="eager", **kwargs)
    assert model.trunk.fast_layers()  # installed: VGG meets 3×3 maps at other sizes
    x = images((2, 3, 64, 64), seed=5, low=-1.0)
    for a, b in zip(_taps(model, x), _taps(eager, x), strict=True):
        assert torch.equal(a, b)


def test_alexnet_at_sizes_without_3x3_maps_runs_as_eager():
    x = images((2, 3, 97, 75), seed=13, low=-1.0)  # conv3–conv5 see 5×3 maps
    for a, b in zip(_taps(_alex(), x), _taps(_alex(cpu_engine="eager"), x), strict=True):
        assert torch.equal(a, b)


def test_the_fast_path_is_skipped_where_it_does_not_apply():
    alex = _alex()
    conv = alex.trunk.features[6]
    x3 = torch.rand(2, 192, 3, 3)
    with torch.inference_mode():
        assert conv.applies(x3)
        assert not conv.applies(torch.rand(2, 192, 5, 3))
        assert not conv.applies(x3.double())
    assert conv.applies(x3)  # grad mode, but nothing needs a gradient
    assert not conv.applies(x3.clone().requires_grad_(True))
    squeeze = metrics.create_metric("lpips-squeeze", trunk_weights=None, device="cpu")
    assert squeeze.trunk.fast_layers() == []  # its 3×3 convolutions sit inside fire modules
    # A trunk being trained ("tune"): its weights change every step, so never transformed.
    tuned = _alex()
    tuned.trunk.requires_grad_(True)
    with torch.inference_mode():
        assert not tuned.trunk.features[6].applies(x3)
    # Gradients flow through the eager path, to the input and to trainable weights.
    x = images((2, 3, 64, 64), seed=6, low=-1.0)
    x0 = x.clone().requires_grad_(True)
    alex(x0, images((2, 3, 64, 64), seed=7, low=-1.0)).sum().backward()
    assert x0.grad is not None and x0.grad.abs().sum() > 0
    tuned(x, images((2, 3, 64, 64), seed=7, low=-1.0)).sum().backward()
    assert tuned.trunk.features[8].weight.grad.abs().sum() > 0


def test_the_fast_convolution_follows_weight_changes():
    model = _alex()
    x0 = images((3, 3, 64, 64), seed=8, low=-1.0)
    x1 = near(x0, seed=9, noise=0.2, low=-1.0)
    with torch.inference_mode():
        before = model(x0, x1)
    # load_state_dict copies into the existing tensors: a hook drops the transformed kernels.
    other = _alex(seed=1)
    model.trunk.load_state_dict(other.trunk.state_dict())
    with torch.inference_mode():
        after = model(x0, x1)
        assert torch.equal(after, other(x0, x1))
    assert not torch.allclose(before, after)
    # The whole model's state dict, as a checkpoint would be loaded.
    model.load_state_dict(_alex(seed=2).state_dict())
    with torch.inference_mode():
        assert torch.equal(model(x0, x1), _alex(seed=2)(x0, x1))
    # New weight tensors (assignment, .to()) are seen by their storage.
    conv = model.trunk.features[8]
    conv.weight = nn.Parameter(conv.weight.detach() * 0.5, requires_grad=False)
    model.trunk.features[10].weight.data = model.trunk.features[10].weight.data.contiguous() * 2
    eager = _alex(cpu_engine="eager")
    eager.load_state_dict(model.state_dict())
    with torch.inference_mode():
        assert (model(x0, x1) - eager(x0, x1)).abs().max() <= 1e-6
    # An in-place edit by hand of a frozen weight needs invalidate() (no private version
    # counters); the edit is then picked up.
    with torch.no_grad():
        model.trunk.features[6].weight.mul_(0.5)
        eager.trunk.features[6].weight.mul_(0.5)
    model.trunk.features[6].invalidate()
    with torch.inference_mode():
        assert (model(x0, x1) - eager(x0, x1)).abs().max() <= 1e-6


def test_a_model_built_under_inference_mode_sees_weight_changes():
    with torch.inference_mode():
        model, eager = _alex(), _alex(cpu_engine="eager")
        x0 = images((2, 3, 64, 64), seed=10, low=-1.0)
        x1 = near(x0, seed=11, noise=0.2, low=-1.0)
        before = model(x0, x1)
        state = _alex(seed=5).state_dict()
        model.load_state_dict(state)
        eager.load_state_dict(state)
        after = model(x0, x1)
        assert (after - eager(x0, x1)).abs().max() <= 1e-6
    assert not torch.allclose(before, after)


def test_stacked_fast_layers_hand_their_layout_to_any_next_layer():
    # Two fast layers on a 3×3 map, then a 1×1 convolution, a max-pool and another 3×3
    # convolution on the resulting 2×2 map (which runs as an ordinary convolution).
    torch.manual_seed(0)
    features = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(16, 8, 1),
        nn.MaxPool2d(2, stride=1),
        nn.Conv2d(8, 4, 3, padding=1, bias=False),
        nn.ReLU(),
    ).eval()
    fast = copy.deepcopy(features)
    assert fastconv.install(fast) == ["0", "2", "6"]
    for x in (
        torch.randn(5, 3, 3, 3),
        torch.randn(5, 3, 3, 3).contiguous(memory_format=torch.channels_last),
    ):
        with torch.inference_mode():
            got, want = fast(x), features(x)
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=1e-5)


def test_reinitialising_a_random_trunk_in_place_is_picked_up():
    model, eager = _alex(), _alex(cpu_engine="eager")
    x0 = images((2, 3, 64, 64), seed=14, low=-1.0)
    x1 = near(x0, seed=15, noise=0.2, low=-1.0)
    with torch.inference_mode():
        model(x0, x1)  # transforms made
    model.trunk.reset_random(7)
    eager.trunk.reset_random(7)
    with torch.inference_mode():
        assert (model(x0, x1) - eager(x0, x1)).abs().max() <= 1e-6


def test_training_a_layer_in_place_then_freezing_it_again_is_picked_up():
    """Frozen forward (kernel cached), unfreeze, an optimizer step in place (same storage),
    freeze again: the next fast pass must use the trained weights, not the cached kernel."""
    conv = FastConv3x3(8, 6, kernel_size=3, padding=1)
    conv.requires_grad_(False)
    x = torch.randn(4, 8, 3, 3)
    with torch.no_grad():
        conv(x)  # caches the transformed kernel
    conv.requires_grad_(True)
    optimiser = torch.optim.SGD(conv.parameters(), lr=0.5)
    conv(torch.randn(4, 8, 3, 3)).square().sum().backward()
    optimiser.step()
    conv.requires_grad_(False)
    with torch.no_grad():
        assert conv.applies(x)
        got = conv(x)
        expected = F.conv2d(x, conv.weight, conv.bias, padding=1)
    # float32 rounding of the fast path is ~1e-7 of the outputs' scale; a stale kernel is far off.
    assert (got - expected).abs().max() <= 1e-6 * expected.abs().max()
