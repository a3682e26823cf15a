"""Blur distortions (BAPPS Table 2): Gaussian blur and bilateral filtering.

Both filter each patch with reflected borders (``d c b a | a b c d``), so a blurred patch does not
darken at its edges.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from experiments._arrays import to_float, to_uint8
from experiments.registry import DistortionInfo, ParamSpec, register

MAX_BLUR_SIGMA = 3.0
MIN_SPATIAL, MAX_SPATIAL = 0.5, 2.0
MIN_RANGE, MAX_RANGE = 0.02, 0.3


def gaussian_blur(patch: np.ndarray, *, sigma: float) -> np.ndarray:
    """Convolve each channel with an isotropic Gaussian,
    :math:`g(u, v) \\propto e^{-(u^2 + v^2) / 2\\sigma^2}`, truncated at 3σ.

    Args:
        patch: H×W×3 uint8.
        sigma: Standard deviation in pixels, ``[0, 3]``; 0 returns the patch unchanged.
    """
    if sigma == 0.0:
        return patch.copy()
    x = to_float(patch)
    return to_uint8(
        ndimage.gaussian_filter(x, sigma=(sigma, sigma, 0.0), mode="reflect", truncate=3.0)
    )


def bilateral_filter(patch: np.ndarray, *, sigma_spatial: float, sigma_range: float) -> np.ndarray:
    """Edge-preserving smoothing (Tomasi & Manduchi 1998) with a joint RGB range kernel.

    .. math::
        y_p = \\frac{\\sum_{q \\in N(p)} w_{pq} x_q}{\\sum_{q} w_{pq}},\\quad
        w_{pq} = e^{-\\|p - q\\|^2 / 2\\sigma_s^2}\\, e^{-\\|x_p - x_q\\|^2 / 2\\sigma_r^2}

    over a disc ``N(p)`` of radius ``ceil(2 σs)``. The centre weight is 1, so the denominator never
    vanishes.

    Args:
        patch: H×W×3 uint8.
        sigma_spatial: σs in pixels, ``[0.5, 2]``.
        sigma_range: σr in full-scale units, ``[0.02, 0.3]``.
    """
    # Planar (C×H×W) float32 with preallocated buffers: each offset is then a handful of
    # contiguous whole-patch operations (timings: benchmarks/bench_distortions.py).
    x = np.ascontiguousarray(to_float(patch).transpose(2, 0, 1))
    _, h, w = x.shape
    radius = math.ceil(2.0 * sigma_spatial)
    padded = np.pad(x, ((0, 0), (radius, radius), (radius, radius)), mode="symmetric")
    inv_range = np.float32(-0.5 / (sigma_range * sigma_range))
    num = x.copy()
    den = np.ones((h, w), dtype=np.float32)
    diff = np.empty_like(x)
    weight = np.empty((h, w), dtype=np.float32)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            dist2 = dx * dx + dy * dy
            if dist2 == 0 or dist2 > radius * radius:
                continue  # the centre is already in num/den with weight 1
            neighbour = padded[:, radius + dy : radius + dy + h, radius + dx : radius + dx + w]
            np.subtract(neighbour, x, out=diff)
            np.multiply(diff, diff, out=diff)
            np.sum(diff, axis=0, out=weight)
            weight *= inv_range
            weight -= np.float32(dist2 / (2.0 * sigma_spatial * sigma_spatial))
            np.exp(weight, out=weight)
            num += weight * neighbour
            den += weight
    return to_uint8((num / den).transpose(1, 2, 0))


def _sample_gaussian(rng, s):
    return {"sigma": MAX_BLUR_SIGMA * s}


def _sample_bilateral(rng, s):
    return {
        "sigma_spatial": MIN_SPATIAL + (MAX_SPATIAL - MIN_SPATIAL) * s,
        "sigma_range": MIN_RANGE + (MAX_RANGE - MIN_RANGE) * s,
    }


register(
    DistortionInfo(
        name="gaussian_blur",
        family="blur",
        category="traditional",
        description="Isotropic Gaussian blur.",
        severity="sigma = 3·s pixels.",
        params=(ParamSpec("sigma", "float", 0.0, MAX_BLUR_SIGMA, description="kernel std (px)"),),
    ),
    sample=_sample_gaussian,
    apply=gaussian_blur,
)
register(
    DistortionInfo(
        name="bilateral_filter",
        family="blur",
        category="traditional",
        description="Edge-preserving bilateral smoothing.",
        severity="sigma_spatial = 0.5 + 1.5·s px, sigma_range = 0.02 + 0.28·s.",
        params=(
            ParamSpec(
                "sigma_spatial", "float", MIN_SPATIAL, MAX_SPATIAL, description="spatial std (px)"
            ),
            ParamSpec(
                "sigma_range", "float", MIN_RANGE, MAX_RANGE, description="range std (full scale)"
            ),
        ),
    ),
    sample=_sample_bilateral,
    apply=bilateral_filter,
)
