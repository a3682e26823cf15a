"""The full-reference metric zoo (issue #16 item 2) against piq 0.8.0 on real photographs.

Parity: real photographs (``tests.metrics.zoo_images``: crops of scikit-image's samples on 8-bit
levels, every level 0…255 present in every channel) with real distortions (blur, noise, JPEG),
at 64×64 and 256×256. Ours runs on float32 inputs, as the platform calls it; piq on float64, as
the reference (DISTS: float32, see ``_piq_dists``); both after the documented conversion to a
distance. piq is a dev dependency used
only here and in the benchmark, never in ``metrics/``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metrics
from tests.metrics.zoo_images import pairs, uint8_pairs

SIZES = (64, 256)
PARITY = 1e-4


def _random_dists_weights(seed: int = 1) -> dict[str, torch.Tensor]:
    """α/β as the official file holds them (1×1475×1×1 each), drawn as the official code
    initialises them, N(0.1, 0.01²): not normalised, so our division by Σα + Σβ is exercised."""
    g = torch.Generator().manual_seed(seed)
    return {k: 0.1 + 0.01 * torch.randn(1, 1475, 1, 1, generator=g) for k in ("alpha", "beta")}


# Options every test builds a metric with: DISTS gets a seeded random VGG16 trunk and random α/β
# (its official α/β cannot be downloaded here, and no test may need the network).
TEST_OPTIONS = {"dists": {"weights": _random_dists_weights(), "trunk_weights": None}}


def _create(name: str, **options):
    return metrics.create_metric(name, **{**TEST_OPTIONS.get(name, {}), **options})


def _piq_dists(metric):
    """piq's DISTS with our metric's random VGG16 trunk and its α/β divided by their total (piq
    uses the weights as it loads them, the official code divides at every call).

    In float32, unlike the other references: VGG16 in float64 on the 24 images of 256 px takes a
    minute on a CPU (the float64 reference agreed to 1.0e-7 when this test was written, float32
    as well).

    piq.DISTS downloads its α/β and torchvision's VGG16 on construction; both downloads are
    replaced here by the same tensors our metric has, so nothing touches the network.
    """
    from unittest import mock

    import piq
    import piq.perceptual
    import torchvision

    vgg = torchvision.models.vgg16(weights=None)
    vgg.features.load_state_dict(metric.trunk.features.state_dict())  # pools hold no tensors
    ab = TEST_OPTIONS["dists"]["weights"]
    total = ab["alpha"].sum() + ab["beta"].sum()
    normalised = {k: v / total for k, v in ab.items()}
    with (
        mock.patch.object(piq.perceptual, "vgg16", return_value=vgg),
        mock.patch.object(torch.hub, "load_state_dict_from_url", return_value=normalised),
    ):
        reference = piq.DISTS(reduction="none")
    return lambda a, b: reference(a.float(), b.float())


def _piq(name: str, options: dict):
    """piq's value for a metric, converted to our distance, for float64 [0, 1] batches."""
    import piq

    table = {
        "gmsd": lambda a, b: piq.gmsd(a, b, data_range=1.0, reduction="none"),
        "ms-gmsd": lambda a, b: piq.multi_scale_gmsd(
            a, b, data_range=1.0, reduction="none", chromatic=options.get("chromatic", False)
        ),
        # piq's vif_p(x, y) takes the reference as y; ours takes it as x0.
        "vifp": lambda a, b: 1.0 - piq.vif_p(b, a, data_range=1.0, reduction="none"),
        "haarpsi": lambda a, b: 1.0 - piq.haarpsi(a, b, data_range=1.0, reduction="none"),
        "mdsi": lambda a, b: piq.mdsi(a, b, data_range=1.0, reduction="none"),
        "dss": lambda a, b: 1.0 - piq.dss(a, b, data_range=1.0, reduction="none"),
        "vsi": lambda a, b: 1.0 - piq.vsi(a, b, data_range=1.0, reduction="none"),
        # piq normalises SR saliency over the whole batch: one image at a time is the definition.
        # piq's information_weighted_ssim(x, y) takes the reference as y; below 161 px it is
        # given the exponents our small-input policy uses (the first L, renormalised by piq).
        "iw-ssim": lambda a, b: (
            1.0
            - piq.information_weighted_ssim(
                b,
                a,
                data_range=1.0,
                reduction="none",
                scale_weights=torch.tensor(IW_WEIGHTS[: _iw_levels(a)], dtype=a.dtype),
            )
        ),
        "srsim": lambda a, b: torch.cat(
            [1.0 - piq.srsim(p[None], q[None], reduction="none") for p, q in zip(a, b, strict=True)]
        ),
    }
    return table[name]


IW_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _iw_levels(x: torch.Tensor) -> int:
    """IW-SSIM scales that fit: the residual must hold the 11×11 window (piq's own limit)."""
    side = min(x.shape[-2:])
    return max(lv for lv in range(1, 6) if side >= 10 * 2 ** (lv - 1) + 1)


# (registry name, options): the parity cases.
CASES = [
    ("gmsd", {}),
    ("ms-gmsd", {}),
    ("ms-gmsd", {"chromatic": True}),
    ("vifp", {}),
    ("haarpsi", {}),
    ("mdsi", {}),
    ("srsim", {}),
    ("dss", {}),
    ("vsi", {}),
    ("iw-ssim", {}),
    ("dists", {}),
]


def _id(case):
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def test_the_test_images_hold_every_8bit_level_in_every_channel():
    for size in SIZES:
        a, b = uint8_pairs(size)
        for c in range(3):
            assert len(np.unique(np.concatenate((a[..., c].ravel(), b[..., c].ravel())))) == 256
        for x in pairs(size):
            assert torch.equal(torch.round(x * 255) / 255, x)  # 8-bit levels k/255


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_it_matches_piq_on_real_photographs(case, size):
    name, options = case
    x0, x1 = pairs(size)
    metric = _create(name, device="cpu", **options)
    ours = metric(x0.float(), x1.float()).double()
    reference = _piq_dists(metric) if name == "dists" else _piq(name, options)
    with torch.no_grad():
        expected = reference(x0, x1).double()
    assert ours.shape == (x0.shape[0],)
    diff = (ours - expected).abs().max().item()
    print(f"PARITY {_id(case)} {size}px max|ours-piq| = {diff:.1e}")
    assert diff <= PARITY, f"{name} {options} at {size}: max |ours − piq| = {diff:.2e}"
    # The distortions are told apart: the test is not comparing constants.
    assert ours.std() > 10 * PARITY


# name -> (smallest accepted side, the distance of identical images)
ZOO = {
    "gmsd": (4, 0.0),
    "ms-gmsd": (17, 0.0),
    "vifp": (41, 0.0),
    "haarpsi": (16, 0.0),
    "mdsi": (2, 0.0),
    "srsim": (40, 0.0),
    "dss": (8, 0.0),
    "vsi": (2, 0.0),
    "iw-ssim": (21, 0.0),
    "dists": (17, 0.0),
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_identical_images_give_the_minimum_distance(name):
    x0, x1 = pairs(64)
    metric = _create(name, device="cpu")
    same = metric(x0.float(), x0.float())
    minimum = ZOO[name][1]
    assert torch.allclose(same, torch.full_like(same, minimum), rtol=0, atol=1e-6)
    assert torch.all(metric(x0.float(), x1.float()) > same)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_small_inputs_are_refused_below_the_declared_size(name):
    side = ZOO[name][0]
    metric = _create(name, device="cpu")
    x = torch.rand(1, 3, side, side + 3)
    assert metric(x, x.flip(-1)).shape == (1,)  # the smallest accepted size works
    small = torch.rand(1, 3, side - 1, 64)
    with pytest.raises(ValueError, match=rf"at least {side}×{side}"):
        metric(small, small)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_range_and_shape_errors_are_those_of_every_metric(name):
    metric = _create(name, device="cpu")
    x = torch.rand(2, 3, 64, 64)
    with pytest.raises(ValueError, match="look like 0–255 data"):
        metric(x * 255, x * 255)
    with pytest.raises(ValueError, match=r"look like \[-1, 1\] data"):
        metric(x * 2 - 1, x)
    with pytest.raises(TypeError, match="floating-point"):
        metric((x * 255).to(torch.uint8), x)
    with pytest.raises(ValueError, match="N×3×H×W"):
        metric(x[:, :1], x[:, :1])
    with pytest.raises(ValueError, match="must have the same shape"):
        metric(x, x[:1])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_batches_score_each_pair_on_its_own_and_score_pairs_agrees(name):
    x0, x1 = (t.float() for t in pairs(64))
    metric = _create(name, device="cpu")
    batched = metric(x0, x1)
    single = torch.cat([metric(a[None], b[None]) for a, b in zip(x0, x1, strict=True)])
    assert torch.allclose(batched, single, rtol=0, atol=1e-6)
    scored = metrics.score_pairs(metric, x0, x1, batch_size=5, progress=False)
    assert torch.allclose(scored, batched, rtol=0, atol=1e-6)
    d0, _ = metrics.score_triplets(metric, x0, x1, x0.flip(-1), batch_size=5, progress=False)
    assert torch.allclose(d0, batched, rtol=0, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", sorted(ZOO))
def test_cuda_gives_the_cpu_numbers(name):
    x0, x1 = (t.float() for t in pairs(64))
    cpu = _create(name, device="cpu")(x0, x1)
    cuda = _create(name, device="cuda")(x0.cuda(), x1.cuda())
    assert cuda.device.type == "cuda"
    assert torch.allclose(cuda.cpu(), cpu, rtol=0, atol=1e-5)


def test_iw_ssim_uses_the_most_scales_that_fit_or_refuses():
    metric = metrics.create_metric("iw-ssim", device="cpu")
    assert [metric.scales_for(s, 300) for s in (21, 40, 41, 64, 80, 81, 160, 161, 256)] == [
        2,
        2,
        3,
        3,
        3,
        4,
        4,
        5,
        5,
    ]
    x0, x1 = (t.float() for t in pairs(64))
    three = metrics.create_metric("iw-ssim", levels=3, small_inputs="error", device="cpu")
    assert torch.equal(metric(x0, x1), three(x0, x1))  # 'reduce' at 64 px is the 3-scale metric
    strict = metrics.create_metric("iw-ssim", small_inputs="error", device="cpu")
    with pytest.raises(ValueError, match=r"iw-ssim with 5 scales needs images of at least 161×161"):
        strict(x0, x1)
    with pytest.raises(ValueError, match="levels"):
        metrics.create_metric("iw-ssim", levels=1, device="cpu")


def test_iw_ssim_matches_piq_on_odd_sides_and_takes_x0_as_the_reference():
    # 97×83: pyramid levels with odd sides (97 → 49 → 25 → 13), where the up-sampling step's
    # zero insertion matters; float64 on both sides, so the agreement is to rounding.
    x0, x1 = (t[..., 40:137, 60:143] for t in pairs(256))
    metric = metrics.create_metric("iw-ssim", device="cpu")
    ours = metric(x0, x1)
    expected = _piq("iw-ssim", {})(x0, x1)
    assert (ours - expected).abs().max().item() < 1e-10
    # The weights come from the reference: swapping the images changes the scores.
    assert (metric(x1, x0) - ours).abs().max().item() > 1e-4


def test_iw_ssim_of_a_flat_reference_is_finite():
    # A flat band has a singular neighbourhood covariance (piq's inversion raises there); the
    # pseudo-inverse gives finite weights, and identical flat images are still at distance 0.
    flat = torch.full((1, 3, 64, 64), 0.5)
    noisy = flat + 0.05 * torch.randn(flat.shape, generator=torch.Generator().manual_seed(0))
    metric = metrics.create_metric("iw-ssim", device="cpu")
    assert metric(flat, flat).item() == pytest.approx(0.0, abs=1e-6)
    d = metric(flat, noisy.clamp(0, 1))
    assert torch.isfinite(d).all() and d.item() > 0.01


def test_dists_needs_its_alpha_beta_and_names_the_option():
    from metrics.dists import DISTSWeightsNotFound

    with pytest.raises(DISTSWeightsNotFound, match=r"weights=<path>.*'alpha' and 'beta'"):
        metrics.create_metric("dists", trunk_weights=None, device="cpu")
    with pytest.raises(DISTSWeightsNotFound, match=r"dists weights file no/such/weights\.pt"):
        metrics.create_metric("dists", weights="no/such/weights.pt", trunk_weights=None)
    with pytest.raises(ValueError, match="'alpha' and 'beta'"):
        metrics.create_metric("dists", weights={"alpha": torch.ones(1475)}, trunk_weights=None)
    bad = {"alpha": torch.ones(1, 1475, 1, 1), "beta": torch.ones(1, 64, 1, 1)}
    with pytest.raises(ValueError, match=r"beta must hold 1475 values \(1×1475×1×1\), got \(1, 64"):
        metrics.create_metric("dists", weights=bad, trunk_weights=None)


def test_dists_loads_the_official_file_format_as_it_is(tmp_path):
    # The official weights.pt is torch.save({'alpha': 1×1475×1×1, 'beta': 1×1475×1×1}).
    path = tmp_path / "weights.pt"
    torch.save(TEST_OPTIONS["dists"]["weights"], path)
    from_file = metrics.create_metric("dists", weights=str(path), trunk_weights=None, device="cpu")
    from_dict = _create("dists", device="cpu")
    assert torch.equal(from_file.alpha, from_dict.alpha)
    assert from_file.alpha.sum() + from_file.beta.sum() == pytest.approx(1.0, abs=1e-6)
    assert from_file.provenance()["options"]["weights"] == str(path)
    # Scaling α and β together leaves the metric unchanged: they are divided by their total.
    scaled = {k: 3.0 * v for k, v in TEST_OPTIONS["dists"]["weights"].items()}
    x0, x1 = (t[:2].float() for t in pairs(64))
    tripled = metrics.create_metric("dists", weights=scaled, trunk_weights=None, device="cpu")
    assert torch.allclose(tripled(x0, x1), from_dict(x0, x1), rtol=0, atol=1e-6)


def test_dists_trunk_comes_from_the_lpips_trunk_resolution(tmp_path, monkeypatch):
    from metrics.lpips import TrunkWeightsNotFound

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(TrunkWeightsNotFound, match="no ImageNet weights for dists trunk"):
        _create("dists", trunk_weights="imagenet", download=False, device="cpu")
    # A torchvision VGG16 checkpoint given as a path loads into the trunk (pools swapped).
    import torchvision

    vgg = torchvision.models.vgg16(weights=None)
    torch.save(vgg.state_dict(), tmp_path / "vgg16.pth")
    metric = _create("dists", trunk_weights=str(tmp_path / "vgg16.pth"), device="cpu")
    assert torch.equal(metric.trunk.features[28].weight, vgg.features[28].weight)
    assert [type(m).__name__ for m in metric.trunk.features if "Pool" in type(m).__name__] == [
        "L2Pool"
    ] * 4
    seeded = [_create("dists", seed=s, device="cpu").trunk.features[0].weight for s in (0, 0, 1)]
    assert torch.equal(seeded[0], seeded[1]) and not torch.equal(seeded[0], seeded[2])
