"""Deblurring (BAPPS §5.3 "deblur"): blur the patch, then restore it by deconvolution.

The patch is the sharp ground truth. It is blurred by a known point-spread function (PSF), either
linear **motion** (a segment of length ``size`` at ``angle``) or **defocus** (a disc of diameter
``size``), Gaussian noise of std ``noise`` is added and the result is quantised to 8 bits, as a
camera would. Three non-blind deconvolutions then estimate the sharp patch:

* ``deblur_wiener``: Wiener–Hunt deconvolution with a Laplacian regulariser,
  :math:`\\hat X = \\frac{H^*}{|H|^2 + \\lambda |L|^2} Y`, λ = :data:`WIENER_BALANCE`;
* ``deblur_richardson_lucy``: :data:`RL_ITERATIONS` multiplicative Richardson–Lucy updates
  :math:`x \\leftarrow x \\cdot (\\tilde h * \\frac{y}{h * x})`;
* ``deblur_unsupervised_wiener``: Wiener–Hunt with the noise and prior precisions estimated by a
  Gibbs sampler (Orieux et al. 2010), its random stream seeded from ``seed``.

Each channel is processed separately on a reflect-padded copy (the FFT-based solvers assume
periodic borders). The three share one sampler (task ``deblur``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from experiments._arrays import to_float, to_uint8
from experiments._seeding import draw_seed
from experiments.registry import DistortionInfo, ParamSpec, register

BLURS = ("motion", "defocus")
MIN_SIZE, MAX_SIZE = 1.5, 8.0
NOISE_SIGMA = 0.005
WIENER_BALANCE = 0.02
RL_ITERATIONS = 30
_SUPERSAMPLE = 8


def point_spread(blur: str, size: float, angle: float) -> np.ndarray:
    """The normalised PSF (odd square) of a motion segment or defocus disc, anti-aliased by
    8× supersampling of each pixel.

    Args:
        blur: ``"motion"`` or ``"defocus"``.
        size: Segment length / disc diameter in pixels.
        angle: Motion direction in radians (ignored for defocus).
    """
    radius = math.ceil(size / 2.0) + 1
    offsets = (np.arange(_SUPERSAMPLE) + 0.5) / _SUPERSAMPLE - 0.5
    grid = np.arange(-radius, radius + 1, dtype=np.float64)
    ys = (grid[:, None] + offsets[None, :]).reshape(-1)
    yy, xx = np.meshgrid(ys, ys, indexing="ij")
    if blur == "defocus":
        inside = (xx * xx + yy * yy) <= (size / 2.0) ** 2
    else:
        # Distance to the segment centred at the origin, half a pixel thick.
        along = xx * math.cos(angle) + yy * math.sin(angle)
        across = -xx * math.sin(angle) + yy * math.cos(angle)
        inside = (np.abs(along) <= size / 2.0) & (np.abs(across) <= 0.5)
    n = 2 * radius + 1
    kernel = inside.reshape(n, _SUPERSAMPLE, n, _SUPERSAMPLE).mean(axis=(1, 3))
    return kernel / kernel.sum()


def blurred_observation(patch: np.ndarray, psf: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """``quantise(psf * x + n)`` as float in [0, 1], with ``n ~ N(0, noise²)`` from ``seed``."""
    x = to_float(patch)
    blurred = ndimage.convolve(x, psf[..., None], mode="reflect")
    noisy = blurred + np.float32(noise) * np.random.default_rng(seed).standard_normal(
        x.shape, dtype=np.float32
    )
    return to_float(to_uint8(noisy))


def _deconvolve(observed: np.ndarray, psf: np.ndarray, solve) -> np.ndarray:
    pad = psf.shape[0]
    padded = np.pad(observed, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    h, w, _ = observed.shape
    out = np.stack([solve(padded[..., c].astype(np.float64), psf) for c in range(3)], axis=-1)
    return out[pad : pad + h, pad : pad + w].astype(np.float32)


def deblur(
    patch: np.ndarray, *, blur: str, size: float, angle: float, noise: float, seed: int, method: str
) -> np.ndarray:
    """Blur ``patch`` (see the module docs) and deconvolve it with ``method``.

    Args:
        patch: H×W×3 uint8 sharp patch.
        blur: ``"motion"`` or ``"defocus"``.
        size: PSF length/diameter in ``[1.5, 8]`` pixels.
        angle: Motion angle in ``[0, π]`` radians.
        noise: Noise std in ``[0, 0.05]``.
        seed: Seed of the noise (and of the Gibbs sampler).
        method: ``"wiener"``, ``"richardson_lucy"`` or ``"unsupervised_wiener"``.
    """
    from skimage import restoration

    psf = point_spread(blur, size, angle)
    observed = blurred_observation(patch, psf, noise, seed)
    if method == "wiener":

        def solve(y, h):
            return restoration.wiener(y, h, WIENER_BALANCE, clip=False)
    elif method == "richardson_lucy":

        def solve(y, h):
            return restoration.richardson_lucy(y, h, num_iter=RL_ITERATIONS, clip=False)
    else:
        rng = np.random.default_rng(seed + 1)

        def solve(y, h):
            return restoration.unsupervised_wiener(y, h, clip=False, rng=rng)[0]

    return to_uint8(_deconvolve(observed, psf, solve))


def _sample(rng: np.random.Generator, s: float) -> dict:
    blur = BLURS[int(rng.integers(len(BLURS)))]
    angle = rng.uniform(0.0, math.pi)
    return {
        "blur": blur,
        "size": MIN_SIZE + (MAX_SIZE - MIN_SIZE) * s,
        "angle": angle,
        "noise": NOISE_SIGMA,
        "seed": draw_seed(rng),
    }


_PARAMS = (
    ParamSpec("blur", "choice", choices=BLURS, description="PSF shape"),
    ParamSpec("size", "float", MIN_SIZE, MAX_SIZE, description="motion length / disc diameter"),
    ParamSpec("angle", "float", 0.0, math.pi, description="motion direction (rad)"),
    ParamSpec("noise", "float", 0.0, 0.05, description="noise std before deconvolution"),
    ParamSpec("seed", "seed", description="seed of the noise and the Gibbs sampler"),
)
_NAMES = {
    "wiener": "Wiener–Hunt deconvolution",
    "richardson_lucy": f"Richardson–Lucy deconvolution ({RL_ITERATIONS} iterations)",
    "unsupervised_wiener": "unsupervised Wiener–Hunt deconvolution (Gibbs sampler)",
}

for _method, _label in _NAMES.items():

    def _apply(patch, *, blur, size, angle, noise, seed, _method=_method):
        return deblur(
            patch, blur=blur, size=size, angle=angle, noise=noise, seed=seed, method=_method
        )

    register(
        DistortionInfo(
            name=f"deblur_{_method}",
            family="real",
            category="real",
            description=f"Motion or defocus blur plus noise, restored by {_label}.",
            severity=f"PSF size = {MIN_SIZE} + {MAX_SIZE - MIN_SIZE}·s px; shape and angle random; "
            f"noise std {NOISE_SIGMA}.",
            params=_PARAMS,
            task="deblur",
        ),
        sample=_sample,
        apply=_apply,
    )
