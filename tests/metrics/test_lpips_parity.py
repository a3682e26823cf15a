"""LPIPS equals the official package (lpips 0.1.4) to 1e-5 with the same random trunk weights."""

from __future__ import annotations

import pytest
import torch

from tests.metrics.helpers import images, official, ours

TOLERANCE = 1e-5
NETS = ("alex", "vgg", "squeeze")
SHAPES = ((1, 3, 64, 64), (16, 3, 64, 64), (2, 3, 97, 75))
# VGG16 costs ~2.5 GFLOP per 64×64 image and the official code runs two trunk passes per call, so
# on a 2-core runner its full matrix alone took a minute. The batching code is shared by all
# trunks (alex and squeeze run the full matrix); VGG runs batch 16 in its default configuration
# and smaller batches in the other three.
VGG_SMALL_SHAPES = ((1, 3, 64, 64), (4, 3, 64, 64), (1, 3, 97, 75))


def _shapes(net, version, variant):
    if net == "vgg" and (version, variant) != ("0.1", "lin"):
        return VGG_SMALL_SHAPES
    return SHAPES


@pytest.mark.parametrize("variant", ["lin", "baseline"])
@pytest.mark.parametrize("version", ["0.1", "0.0"])
@pytest.mark.parametrize("net", NETS)
def test_it_matches_the_official_distance(net, version, variant):
    model, reference = ours(net, version, variant), official(net, version, variant)
    for seed, shape in enumerate(_shapes(net, version, variant)):
        x0 = images(shape, seed=2 * seed, low=-1.0)
        x1 = images(shape, seed=2 * seed + 1, low=-1.0)
        with torch.no_grad():
            expected = reference(x0, x1).flatten()
        got = model(x0, x1)
        assert got.shape == (shape[0],)
        assert torch.allclose(got, expected, rtol=0, atol=TOLERANCE), (
            f"{shape}: max diff {(got - expected).abs().max().item():.3g}"
        )


@pytest.mark.parametrize(("net", "variant"), [("alex", "lin"), ("squeeze", "baseline")])
def test_spatial_maps_match_the_official_spatial_output(net, variant):
    model, reference = ours(net, "0.1", variant, True), official(net, "0.1", variant, True)
    for seed, shape in enumerate(((2, 3, 64, 64), (1, 3, 97, 75))):
        x0 = images(shape, seed=10 + seed, low=-1.0)
        x1 = images(shape, seed=20 + seed, low=-1.0)
        with torch.no_grad():
            expected = reference(x0, x1).squeeze(1)
        got = model(x0, x1)
        assert got.shape == (shape[0], shape[2], shape[3])
        assert torch.allclose(got, expected, rtol=0, atol=TOLERANCE)


def test_the_spatial_mean_approximates_the_distance():
    x0 = images((2, 3, 64, 64), seed=3, low=-1.0)
    x1 = images((2, 3, 64, 64), seed=4, low=-1.0)
    maps = ours("alex", "0.1", "lin", True)(x0, x1)
    scalar = ours("alex")(x0, x1)
    # Bilinear upsampling makes the mean only approximate (lpips-bapps.md §8.2).
    assert torch.allclose(maps.mean(dim=(1, 2)), scalar, rtol=0.1)


def test_triplets_equal_two_pair_calls_and_the_official_two_calls():
    model, reference = ours("alex"), official("alex")
    ref, p0, p1 = (images((5, 3, 64, 64), seed=s, low=-1.0) for s in (30, 31, 32))
    d0, d1 = model.triplet_distances(ref, p0, p1)
    assert torch.allclose(d0, model(ref, p0), rtol=0, atol=1e-6)
    assert torch.allclose(d1, model(ref, p1), rtol=0, atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(d0, reference(ref, p0).flatten(), rtol=0, atol=TOLERANCE)
        assert torch.allclose(d1, reference(ref, p1).flatten(), rtol=0, atol=TOLERANCE)
