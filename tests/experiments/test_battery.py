"""One battery for every registered distortion: a new registration is tested automatically.

Checks: same seed → same parameters and bytes; JSON round trip of parameters; output shape,
dtype and finiteness on ordinary and degenerate patches at both ends of the severity range; and
severity monotonicity: the mean absolute pixel difference to the reference, averaged over 50
patches, grows strictly with severity.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import experiments
from tests.experiments.conftest import sampling_options

NAMES = [info.name for info in experiments.list_distortions()]
# Iterative deconvolution and optical flow take 10–60 ms a patch; still run, but marked.
SLOW = {
    "deblur_wiener",
    "deblur_richardson_lucy",
    "deblur_unsupervised_wiener",
    "frameinterp_flow",
    "frameinterp_phase",
}
MONOTONE_SEVERITIES = (0.1, 0.5, 0.9)


def _marks(name):
    return [pytest.mark.slow] if name in SLOW else []


BATTERY = [pytest.param(name, marks=_marks(name), id=name) for name in NAMES]


def _edge_patches(patches):
    grey = np.full((64, 64, 3), 128, np.uint8)
    ramp = np.tile(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], (24, 1, 3))
    return [
        patches[0],
        np.zeros((64, 64, 3), np.uint8),
        np.full((64, 64, 3), 255, np.uint8),
        grey,
        ramp,
        patches[1][:16, :16].copy(),
    ]


@pytest.mark.parametrize("name", BATTERY)
def test_same_seed_gives_same_params_and_bytes(name, patches, trained):
    distortion = experiments.get_distortion(name)
    options = sampling_options(name, trained)
    first = distortion.sample_params(np.random.default_rng(123), 0.7, **options)
    second = distortion.sample_params(np.random.default_rng(123), 0.7, **options)
    assert first == second
    a = distortion.apply(patches[2], **first)
    b = distortion.apply(patches[2].copy(), **second)
    assert a.tobytes() == b.tobytes()
    other = distortion.sample_params(np.random.default_rng(124), 0.7, **options)
    assert json.loads(json.dumps(other)) == other


@pytest.mark.parametrize("name", BATTERY)
def test_params_survive_a_json_round_trip(name, patches, trained):
    distortion = experiments.get_distortion(name)
    params = distortion.sample_params(
        np.random.default_rng(5), 0.5, **sampling_options(name, trained)
    )
    restored = json.loads(json.dumps(params))
    assert distortion.validate_params(restored) == params
    assert np.array_equal(
        distortion.apply(patches[3], **restored), distortion.apply(patches[3], **params)
    )


@pytest.mark.parametrize("name", BATTERY)
def test_output_is_a_finite_uint8_patch_of_the_same_shape(name, patches, trained):
    distortion = experiments.get_distortion(name)
    options = sampling_options(name, trained)
    for k, patch in enumerate(_edge_patches(patches)):
        before = patch.copy()
        for severity in (0.0, 1.0):
            params = distortion.sample_params(np.random.default_rng(k), severity, **options)
            out = distortion.apply(patch, **params)  # non-finite values raise inside
            assert out.shape == patch.shape
            assert out.dtype == np.uint8
            assert out.flags.c_contiguous
        assert np.array_equal(patch, before), "apply must not modify its input"


@pytest.mark.parametrize("name", BATTERY)
def test_mean_distance_grows_with_severity_over_50_patches(name, patches, trained):
    assert len(patches) == 50
    distortion = experiments.get_distortion(name)
    options = sampling_options(name, trained)
    means = []
    for severity in MONOTONE_SEVERITIES:
        total = 0.0
        for k, patch in enumerate(patches):
            # Equal generators per patch: only the severity differs between the levels.
            params = distortion.sample_params(np.random.default_rng(k), severity, **options)
            out = distortion.apply(patch, **params)
            total += np.abs(out.astype(np.float64) - patch).mean()
        means.append(total / len(patches))
    assert all(a < b for a, b in itertools.pairwise(means)), (name, means)
