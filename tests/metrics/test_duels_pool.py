"""Pool scoring equals per-pair scoring and refuses malformed pools; the registry's
``differentiable`` flags agree with finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metrics
from metrics.duels import is_differentiable, score_pool
from tests.metrics.helpers import images, near


def test_pool_scores_equal_score_pairs_and_the_direct_call():
    refs = images((3, 3, 32, 32), seed=0)
    cands = torch.stack([near(refs, seed=s, noise=0.02 * (s + 1)) for s in range(5)], dim=1)
    l2 = metrics.create_metric("l2", device="cpu")
    got = score_pool(l2, refs, cands, batch_size=4)
    assert got.shape == (3, 5) and got.dtype == np.float64
    flat_refs = refs.repeat_interleave(5, dim=0)
    expect = metrics.score_pairs(l2, flat_refs, cands.flatten(0, 1)).view(3, 5).double()
    assert np.array_equal(got, expect.numpy())
    direct = ((refs[:, None] - cands) ** 2).mean(dim=(2, 3, 4)).double().numpy()
    assert got == pytest.approx(direct, rel=1e-5)
    # More noise, further away, for every reference.
    assert np.all(np.diff(got, axis=1) > 0)


def test_ragged_pools_pad_with_nan():
    refs = images((2, 3, 32, 32), seed=1)
    per_ref = [
        torch.stack([near(refs[0], seed=s, noise=0.05) for s in range(3)]),
        near(refs[1], seed=9, noise=0.05)[None],
    ]
    got = score_pool(metrics.create_metric("l2", device="cpu"), refs, iter(per_ref))
    assert got.shape == (2, 3)
    assert np.isnan(got[1, 1:]).all() and np.isfinite(got[0]).all() and np.isfinite(got[1, 0])


@pytest.mark.parametrize(
    ("cands", "match"),
    [
        (torch.zeros(2, 0, 3, 32, 32), "pool is empty"),
        (torch.zeros(3, 2, 3, 32, 32), "same references: 2 references, candidates for 3"),
        (torch.zeros(2, 2, 3, 16, 16), "have shape"),
        (torch.zeros(2, 3, 32, 32), "R×C×3×H×W"),
    ],
)
def test_malformed_pools_are_refused(cands, match):
    refs = images((2, 3, 32, 32), seed=2)
    with pytest.raises(ValueError, match=match):
        score_pool(metrics.create_metric("l2", device="cpu"), refs, cands)


# deep-* and DISTS are conv nets like LPIPS (checked here through lpips-alex) and slow in float64.
FLAGGED_TRUE = [
    i.name
    for i in metrics.list_metrics()
    if i.differentiable and not i.name.startswith(("deep-", "dists", "lpips-vgg", "lpips-sq"))
]


def test_flags():
    flags = {i.name: i.differentiable for i in metrics.list_metrics()}
    assert [n for n, f in flags.items() if not f] == ["fsim", "fsimc", "vsi"]
    assert all(is_differentiable(n) == f for n, f in flags.items())


@pytest.mark.parametrize("name", FLAGGED_TRUE)
def test_differentiable_metrics_have_exact_gradients(name):
    """Autograd's directional derivative equals a float64 central difference (step 1e-6)."""
    info = metrics.get_metric_info(name)
    options = {"device": "cpu"}
    if "trunk_weights" in {o.name for o in info.options}:
        options["trunk_weights"] = None
    metric = metrics.create_metric(name, **options).double()
    lo, hi = info.input_range
    coarse = images((1, 3, 8, 8), seed=0).double()
    ref = torch.nn.functional.interpolate(coarse, size=(48, 48), mode="bilinear")
    x = near(ref, seed=1, noise=0.05).clamp(0.02, 0.98)
    ref, x = ref * (hi - lo) + lo, (x * (hi - lo) + lo).requires_grad_(True)
    (grad,) = torch.autograd.grad(metric(ref, x).sum(), x)
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    eps = 1e-6
    with torch.no_grad():
        fd = (metric(ref, x + eps * v) - metric(ref, x - eps * v)).item() / (2 * eps)
    assert (grad * v).sum().item() == pytest.approx(fd, rel=1e-3)


def test_names_and_references():
    assert is_differentiable("lpips-alex") and is_differentiable("uploaded:7")
    assert not is_differentiable("fsimc")
    with pytest.raises(ValueError, match="unknown metric prefix"):
        is_differentiable("zoo:3")
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        is_differentiable("nope")
    with pytest.raises(TypeError, match="metric name or a built metric"):
        is_differentiable(3)
