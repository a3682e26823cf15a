"""Stacked k-means initialisation (``metrics.training.kmeans_init``, ``python -m metrics
kmeans-init``): deterministic for a seed; conv1's filters are the unit cluster centres of the
whitened patches (checked against an independent k-means on the same patches); layers keep
comparable variance; LPIPS on the trunk scores a tiny BAPPS folder and follows SSIM-judging bots
well above chance (the comparison with random trunks: ``benchmarks/kmeans_vs_random.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import metrics
from metrics.cli import main
from metrics.training import kmeans_init as km
from metrics.training import metric_judged as mj

# Kept small (the fixture must stay well inside the 300 s test timeout on a loaded CI machine):
# 96-pixel crops give conv3-5 5×5 positions (48 crops: 1200, over twice conv3's 384 filters);
# 512 patches (≥ conv1's 363 dims, so conv1 is whitened at full rank); 5 k-means steps; 3
# between-layer steps.
CONFIG = km.KMeansInitConfig(
    seed=4, crop_size=96, n_crops=48, n_patches=512, kmeans_iterations=5, between_steps=3,
    batch_size=16,
)  # fmt: skip
TINY = {"crop_size": 64, "n_crops": 90, "n_patches": 384, "kmeans_iterations": 3}
# The band of mean pre-activation variance (over r_k²) on images it was not fitted on.
BAND_NEW = (1 / 16, 2.0)


def images(n: int, size: int, seed: int) -> list[torch.Tensor]:
    return mj.structured_images(n, size, seed)


@pytest.fixture(scope="module")
def trunk():
    return km.kmeans_init(images(32, 128, seed=123), CONFIG)


# ---- determinism and the CLI -----------------------------------------------------------------


def test_the_cli_and_the_library_give_the_same_bytes_for_a_seed(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, image in enumerate(images(3, 100, seed=9)):
        array = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(array).save(folder / f"{i}.png")
    out = tmp_path / "km.pt"
    argv = ["kmeans-init", str(folder), str(out), "--seed", "7", "--crop-size", "64",
            "--crops", "90", "--patches", "384", "--iterations", "3", "--no-between-layer",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "conv5" in printed
    report = json.loads((tmp_path / "km.json").read_text())
    assert report["config"]["seed"] == 7 and len(report["layers"]) == 5
    # Its Table-5 row is declared beside it, not guessed from the file name.
    from metrics.supervision import trunk_declaration

    declared = trunk_declaration(str(out))
    assert (declared["supervision"], declared["method"]) == ("unsupervised", "kmeans"), declared

    from metrics.images import list_images, load_image

    again = km.kmeans_init(
        [load_image(p) for p in list_images(folder)],
        km.KMeansInitConfig(seed=7, **TINY, between_layer=False),
    )
    (tmp_path / "again").mkdir()
    again.save(tmp_path / "again" / "km.pt")  # torch.save names the archive after the file
    assert (tmp_path / "again" / "km.pt").read_bytes() == out.read_bytes()
    state = torch.load(out, weights_only=True)
    assert sorted(state) == sorted(
        f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")
    )
    # refused: an existing OUT, a folder without images, a missing folder (nothing written)
    assert main(argv) == 2 and "exists" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["kmeans-init", str(empty), str(tmp_path / "e.pt")]) == 2
    assert "holds no images" in capsys.readouterr().err
    assert main(["kmeans-init", str(tmp_path / "nope"), str(tmp_path / "n.pt")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "e.pt").exists() and not (tmp_path / "n.pt").exists()


def test_bad_settings_and_too_few_positions_are_clear_errors():
    with pytest.raises(ValueError, match="crop_size ≥ 63"):
        km.KMeansInitConfig(crop_size=32)
    with pytest.raises(ValueError, match="seed must be"):
        km.KMeansInitConfig(seed=-1)
    with pytest.raises(ValueError, match="conv3 sees 3×3 positions per 64-pixel crop"):
        km.kmeans_init(images(1, 80, seed=0), km.KMeansInitConfig(**{**TINY, "n_crops": 10}))
    with pytest.raises(ValueError, match="at least one image"):
        km.kmeans_init([], CONFIG)
    with pytest.raises(ValueError, match="outside"):
        km.kmeans_init([torch.full((3, 70, 70), 2.0)], CONFIG)


# ---- the recipe ---------------------------------------------------------------------------------


def _lloyd(unit: np.ndarray, start: np.ndarray, steps: int) -> np.ndarray:
    """A direct spherical k-means (NumPy), from given initial centres."""
    centres = unit[start].copy()
    for _ in range(steps):
        similarity = unit @ centres.T
        best, assign = similarity.max(1), similarity.argmax(1)
        sums = np.zeros_like(centres)
        np.add.at(sums, assign, unit)
        empty = np.flatnonzero(np.bincount(assign, minlength=len(centres)) == 0)
        # an empty cluster restarts from the patch worst served by its centre
        sums[empty] = unit[np.argsort(best, kind="stable")[: len(empty)]]
        centres = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return centres


def test_conv1_filters_are_the_unit_centres_of_a_direct_kmeans_on_the_whitened_patches(trunk):
    cfg = trunk.config
    g = torch.Generator().manual_seed(cfg.seed)
    crops = km.normalise(
        km.random_crops(images(32, 128, seed=123), n=cfg.n_crops, size=cfg.crop_size, generator=g)
    )
    layer_gen = torch.Generator().manual_seed(cfg.seed * 1000003)
    conv = torch.nn.Conv2d(3, 64, 11, stride=4, padding=2)
    patches = km.sample_patches(crops, conv, n=cfg.n_patches, generator=layer_gen)
    assert patches.shape == (cfg.n_patches, 363)
    whitening = km.zca(patches, eps=cfg.zca_eps)
    white = whitening.apply(patches)
    # whitened: covariance ≈ λ/(λ+ε) per direction, so ≤ 1 and near 1 in the strong ones
    cov = torch.linalg.eigvalsh(torch.cov(white.T))
    # (torch.cov divides by n − 1, the whitening by n)
    assert float(cov.max()) < cfg.n_patches / (cfg.n_patches - 1) + 1e-6
    assert float(cov[-20:].min()) > 0.8
    unit = (white / white.norm(dim=1, keepdim=True)).numpy()
    start = torch.randperm(cfg.n_patches, generator=layer_gen)[:64].numpy()
    direct = _lloyd(unit, start, cfg.kmeans_iterations)

    # Undo the whitening (Z⁻¹ on its full-rank span) and the scalings: unit centres remain.
    w = trunk.state_dict["features.0.weight"].double().reshape(64, -1)
    back = ((w @ whitening.vectors) / whitening.scales) @ whitening.vectors.T
    recovered = (back / back.norm(dim=1, keepdim=True)).numpy()
    cosine = (recovered * direct).sum(1)
    assert cosine.min() > 0.999, cosine.min()
    # k-means did its job: the centres serve the patches better than the initial ones
    initial = float((unit @ unit[start].T).max(1).mean())
    assert trunk.layers[0].kmeans_objective == pytest.approx(
        float((unit @ direct.T).max(1).mean()), abs=1e-4
    )
    assert trunk.layers[0].kmeans_objective > initial + 0.02
    # and the bias makes w·x + b the dot product with the centre in whitened space (scaled)
    x = patches[:5]
    scale = back.norm(dim=1)  # = σ / r: what the within- and between-layer steps applied
    pre = x @ w.T + trunk.state_dict["features.0.bias"].double()
    centred = torch.from_numpy(direct) @ whitening.matrix_times(x - whitening.mean).T  # k×5
    mean_shift = pre / scale - centred.T  # constant per filter (−m, the within-layer shift)
    assert torch.allclose(mean_shift, mean_shift[:1].expand_as(mean_shift), atol=1e-3)


def test_layers_keep_comparable_variance(trunk):
    """Within-layer scaling sets every channel to zero mean and unit variance on the fitting
    crops; between-layer scaling then multiplies layer k by r_k (its variance by r_k²), with
    every r_k within [1/8, 8]. On the fitting crops the mean channel variance of layer k is
    r_k² within 10 %; on new images of the same kind it stays within BAND_NEW of r_k² (the
    deeper layers lose variance there: at these small test settings conv2-5 are whitened from
    fewer patches than they have dimensions)."""
    cfg = trunk.config
    factors = [layer.between_factor for layer in trunk.layers]
    assert all(1 / 8 <= r <= 8 for r in factors), factors
    g = torch.Generator().manual_seed(cfg.seed)
    crops = km.random_crops(images(32, 128, seed=123), n=cfg.n_crops, size=96, generator=g)
    fitted = km.preactivation_variances(trunk.state_dict, crops)
    ratios = [v / r**2 for v, r in zip(fitted, factors, strict=True)]
    assert all(0.9 <= v <= 1.1 for v in ratios), ratios
    new = km.preactivation_variances(trunk.state_dict, torch.stack(images(16, 96, seed=77)))
    ratios = [v / r**2 for v, r in zip(new, factors, strict=True)]
    assert all(BAND_NEW[0] <= v <= BAND_NEW[1] for v in ratios), ratios


# ---- LPIPS on the trunk ---------------------------------------------------------------------------


def test_lpips_and_the_zoo_on_the_trunk_score_a_tiny_bapps_folder(trunk, tmp_path, capsys):
    from metrics.training.synthetic import write_synthetic_bapps

    path = tmp_path / "kmeans-alexnet.pt"
    trunk.save(path)
    root = tmp_path / "bapps"
    write_synthetic_bapps(root, train={"mix": 2}, val={"traditional": 12, "cnn": 12}, size=64)
    out = tmp_path / "r.json"
    code = main(["evaluate", str(root), "--metric", "lpips-alex", "-o", f"trunk_weights={path}",
                 "-o", "variant=baseline", "--resamples", "0", "--no-progress",
                 "--json", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(out.read_text())["results"][0]["2afc"]["categories"]
    assert set(result) == {"traditional", "cnn"}
    assert all(0 <= cat["score"] <= 1 for cat in result.values())
    zoo = metrics.create_metric("deep-alexnet", trunk_weights=str(path), device="cpu")
    lpips = metrics.create_metric(
        "lpips-alex", variant="baseline", trunk_weights=str(path), device="cpu"
    )
    g = torch.Generator().manual_seed(1)
    x0, x1 = (torch.rand(3, 3, 64, 64, generator=g) * 2 - 1 for _ in range(2))
    assert torch.allclose(zoo(x0, x1), lpips(x0, x1), atol=1e-6)


@pytest.fixture(scope="module")
def structural_scores(trunk, tmp_path_factory):
    """Agreement with SSIM-judging bots of LPIPS-baseline on the k-means trunk and on two random
    trunks, on 200 triplets of structured images with two different distortions each."""
    path = tmp_path_factory.mktemp("km") / "km.pt"
    trunk.save(path)
    task = mj.two_distortion_triplets(images(200, 64, seed=11), seed=11)
    judge = mj.judgments(metrics.create_metric("ssim"), *task)  # SSIM as a distance (1 − SSIM)
    ours = mj.agreement(
        metrics.create_metric("lpips-alex", variant="baseline", trunk_weights=str(path)),
        *task,
        judge,
    )
    random = [
        mj.agreement(
            metrics.create_metric("lpips-alex", variant="baseline", trunk_weights=None, seed=s),
            *task,
            judge,
        )
        for s in range(2)
    ]
    return ours, random


def test_the_kmeans_trunk_follows_structure_well_above_chance(structural_scores):
    """Whether it beats random trunks is measured, not asserted, by
    ``benchmarks/kmeans_vs_random.py`` (docs/reproducing-the-paper.md): against bots that follow
    a structural metric it does not, which is why issue #18's last check is blocked."""
    ours, random = structural_scores
    assert ours >= 0.8 and min(random) >= 0.8, structural_scores
