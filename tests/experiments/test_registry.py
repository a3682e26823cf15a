"""The registry's contents, its listing, and its errors for bad names, severities and params."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import experiments

PAPER_TRADITIONAL = {
    "photometric": {"lightness_shift", "color_shift", "contrast", "saturation"},
    "noise": {
        "uniform_white_noise",
        "gaussian_white_noise",
        "pink_noise",
        "blue_noise",
        "gaussian_colored_noise",
        "checkerboard",
    },
    "blur": {"gaussian_blur", "bilateral_filter"},
    "spatial": {
        "shift",
        "affine_warp",
        "homography",
        "linear_warping",
        "cubic_warping",
        "ghosting",
        "chromatic_aberration",
    },
    "compression": {"jpeg"},
}


def test_it_registers_the_papers_twenty_traditional_distortions_by_family():
    for family, names in PAPER_TRADITIONAL.items():
        assert {i.name for i in experiments.list_distortions(family=family)} == names
    assert sum(map(len, PAPER_TRADITIONAL.values())) == 20


def test_it_registers_composition_cnn_and_real_algorithms():
    assert [i.name for i in experiments.list_distortions(family="composed")] == ["composed"]
    assert [i.name for i in experiments.list_distortions(category="cnn")] == ["cnn_autoencoder"]
    tasks = {}
    for info in experiments.list_distortions(category="real"):
        tasks.setdefault(info.task, set()).add(info.name)
    assert tasks == {
        "superres": {
            "superres_nearest",
            "superres_bilinear",
            "superres_bicubic",
            "superres_lanczos",
            "superres_net",
        },
        "deblur": {"deblur_wiener", "deblur_richardson_lucy", "deblur_unsupervised_wiener"},
        "frameinterp": {"frameinterp_blend", "frameinterp_flow", "frameinterp_phase"},
        "colorize": {"colorize_grey", "colorize_lut", "colorize_net"},
    }


def test_listing_is_json_serialisable_and_documents_every_parameter():
    infos = experiments.list_distortions()
    assert len({i.name for i in infos}) == len(infos)
    for info in infos:
        data = json.loads(json.dumps(info.to_dict()))
        assert data["severity"]
        assert data["description"]
        for param in data["params"]:
            if param["kind"] in ("float", "int", "floats"):
                assert param["low"] <= param["high"], info.name


def test_listing_rejects_unknown_family_and_category():
    with pytest.raises(ValueError, match="unknown family 'fog'"):
        experiments.list_distortions(family="fog")
    with pytest.raises(ValueError, match="unknown category"):
        experiments.list_distortions(category="fancy")


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"unknown distortion 'gausian_blur'.*'gaussian_blur'"):
        experiments.get_distortion("gausian_blur")
    with pytest.raises(ValueError, match="unknown distortion 'zzz'"):
        experiments.get_distortion("zzz")


@pytest.mark.parametrize("severity", [-0.01, 1.01, math.nan, math.inf, "0.5", True, None])
def test_sampling_rejects_out_of_range_severity(severity):
    with pytest.raises(ValueError, match="severity"):
        experiments.get_distortion("jpeg").sample_params(np.random.default_rng(0), severity)


def test_sampling_rejects_unknown_options_and_missing_models():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown sampling option"):
        experiments.get_distortion("jpeg").sample_params(rng, 0.5, models=["x"])
    with pytest.raises(ValueError, match="cnn_autoencoder needs trained models"):
        experiments.get_distortion("cnn_autoencoder").sample_params(rng, 0.5)
    with pytest.raises(ValueError, match="model must be a lowercase SHA-256"):
        experiments.get_distortion("superres_net").sample_params(rng, 0.5, models=["abc"])
    with pytest.raises(ValueError, match="pool needs at least two"):
        experiments.get_distortion("composed").sample_params(rng, 0.5, pool=["jpeg"])
    with pytest.raises(ValueError, match="not an atomic traditional"):
        experiments.get_distortion("composed").sample_params(
            rng, 0.5, pool=["jpeg", "colorize_grey"]
        )


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("gaussian_blur", {"sigma": 3.5}, r"'sigma' must be in \[0.0, 3.0\]"),
        ("gaussian_blur", {"sigma": -1}, "'sigma' must be in"),
        ("gaussian_blur", {"sigma": "1"}, "'sigma' must be a number"),
        ("gaussian_blur", {"sigma": True}, "'sigma' must be a number"),
        ("gaussian_blur", {"sigma": math.nan}, "'sigma' must be in"),
        ("gaussian_blur", {}, r"missing parameter\(s\) \['sigma'\]"),
        ("gaussian_blur", {"sigma": 1.0, "radius": 2}, r"unknown parameter\(s\) \['radius'\]"),
        ("jpeg", {"quality": 50.5, "subsampling": "4:2:0"}, "'quality' must be an integer"),
        ("jpeg", {"quality": 99, "subsampling": "4:2:0"}, "'quality' must be in"),
        ("jpeg", {"quality": 50, "subsampling": "4:1:1"}, "'subsampling' must be one of"),
        ("pink_noise", {"sigma": 0.1, "seed": -1}, "'seed' must be in"),
        ("pink_noise", {"sigma": 0.1, "seed": 2**32}, "'seed' must be in"),
        ("homography", {"offsets": [0.0] * 7}, "'offsets' must be a list of 8"),
        ("homography", {"offsets": [9.0] * 8}, "'offsets' must be in"),
        ("cnn_autoencoder", {"model": "ab", "strength": 1.0, "seed": 1}, "lowercase SHA-256"),
        (
            "composed",
            {"steps": [{"name": "jpeg", "params": {"quality": 50, "subsampling": "4:2:0"}}]},
            "list of two",
        ),
        (
            "composed",
            {
                "steps": [
                    {"name": "shift", "params": {"dx": 1.0, "dy": 0.0}},
                    {"name": "shift", "params": {"dx": 0.0, "dy": 1.0}},
                ]
            },
            "at least two distinct",
        ),
        (
            "composed",
            {
                "steps": [
                    {"name": "shift", "params": {"dx": 1.0, "dy": 0.0}},
                    {"name": "gaussian_blur", "params": {"sigma": 9.0}},
                ]
            },
            "gaussian_blur: parameter 'sigma'",
        ),
    ],
)
def test_validation_names_the_bad_parameter(name, params, message):
    distortion = experiments.get_distortion(name)
    with pytest.raises(ValueError, match=message):
        distortion.validate_params(params)


def test_apply_validates_params_before_touching_the_patch(patches):
    with pytest.raises(ValueError, match="'sigma' must be in"):
        experiments.get_distortion("gaussian_blur").apply(patches[0], sigma=10.0)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (np.zeros((64, 64, 3), np.float32), "dtype uint8"),
        (np.zeros((64, 64), np.uint8), r"shape H×W×3"),
        (np.zeros((64, 64, 4), np.uint8), r"shape H×W×3"),
        (np.zeros((8, 64, 3), np.uint8), "at least 16×16"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_apply_rejects_bad_patches(patch, message):
    with pytest.raises(ValueError, match=message):
        experiments.get_distortion("gaussian_blur").apply(patch, sigma=1.0)
