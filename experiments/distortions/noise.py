"""Noise distortions (BAPPS Table 2): uniform white, Gaussian white, pink, blue, Gaussian
coloured (between violet and brown) and a checkerboard artifact.

Every noise field is drawn inside :func:`apply` from ``numpy.random.default_rng(seed)``, where the
seed is a parameter: the kernel stays pure and a stimulus regenerates from its stored parameters.
Noise is independent per RGB channel and added in float32 on ``[0, 1]``, then clipped.

Coloured noise has a power spectral density :math:`S(f) \\propto |f|^{\\beta}` with β = 2 violet,
1 blue, 0 white, -1 pink, -2 brown. It is white Gaussian noise multiplied by
:math:`|f|^{\\beta/2}` in the 2-D Fourier domain (DC removed), then rescaled to unit standard
deviation per channel, so ``sigma`` means the same thing for every colour.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

from experiments._arrays import to_float, to_uint8
from experiments._seeding import draw_seed
from experiments.registry import DistortionInfo, ParamSpec, register

MAX_UNIFORM = 0.5
MAX_SIGMA = 0.25
MAX_CHECKER = 0.25
_SEED = ParamSpec("seed", "seed", description="seed of the noise field")


def _white(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def colored_field(shape: tuple[int, int, int], exponent: float, seed: int) -> np.ndarray:
    """Unit-variance Gaussian noise with PSD ∝ |f|^exponent, independently per channel.

    Args:
        shape: ``(H, W, C)``.
        exponent: Spectral exponent β in ``[-2, 2]``.
        seed: Seed of the underlying white noise.

    Returns:
        float32 array of ``shape`` with zero mean and unit standard deviation per channel.
    """
    h, w, c = shape
    # Channels first: scipy.fft on contiguous float32 planes stays in single precision.
    white = np.random.default_rng(seed).standard_normal((c, h, w), dtype=np.float32)
    field = scipy.fft.irfft2(scipy.fft.rfft2(white) * _spectral_gain(h, w, exponent), s=(h, w))
    field -= field.mean(axis=(1, 2), keepdims=True)
    # A 16×16 field always has energy away from DC, so the std is positive.
    field /= field.std(axis=(1, 2), keepdims=True)
    return np.ascontiguousarray(field.transpose(1, 2, 0), dtype=np.float32)


def _spectral_gain(h: int, w: int, exponent: float) -> np.ndarray:
    """``|f|^(β/2)`` on the rfft2 grid of an H×W image, with the DC gain set to 0."""
    radius2 = _radius2(h, w)
    gain = np.power(radius2, np.float32(exponent / 4.0))  # (f²)^(β/4) = |f|^(β/2)
    gain[0, 0] = 0.0
    return gain


@functools.lru_cache(maxsize=16)
def _radius2(h: int, w: int) -> np.ndarray:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    radius2 = (fy * fy + fx * fx).astype(np.float32)
    radius2[0, 0] = 1.0  # its gain is zeroed; avoid 0 ** negative
    radius2.setflags(write=False)
    return radius2


def uniform_white_noise(patch: np.ndarray, *, amplitude: float, seed: int) -> np.ndarray:
    """Add i.i.d. :math:`\\mathcal U(-a, a)` noise per pixel and channel.

    Args:
        patch: H×W×3 uint8.
        amplitude: ``a`` in ``[0, 0.5]`` (full scale = 1).
        seed: Noise seed.
    """
    noise = np.random.default_rng(seed).random(patch.shape, dtype=np.float32) * 2.0 - 1.0
    return to_uint8(to_float(patch) + np.float32(amplitude) * noise)


def gaussian_white_noise(patch: np.ndarray, *, sigma: float, seed: int) -> np.ndarray:
    """Add i.i.d. :math:`\\mathcal N(0, \\sigma^2)` noise; ``sigma`` in ``[0, 0.25]``."""
    return to_uint8(to_float(patch) + np.float32(sigma) * _white(patch.shape, seed))


def gaussian_colored_noise(
    patch: np.ndarray, *, sigma: float, exponent: float, seed: int
) -> np.ndarray:
    """Add Gaussian noise with PSD ∝ |f|^exponent and standard deviation ``sigma``.

    Args:
        patch: H×W×3 uint8.
        sigma: Standard deviation in ``[0, 0.25]``.
        exponent: β in ``[-2, 2]`` (brown … violet).
        seed: Noise seed.
    """
    return to_uint8(
        to_float(patch) + np.float32(sigma) * colored_field(patch.shape, exponent, seed)
    )


def pink_noise(patch: np.ndarray, *, sigma: float, seed: int) -> np.ndarray:
    """Gaussian noise with PSD ∝ 1/|f| (β = -1)."""
    return gaussian_colored_noise(patch, sigma=sigma, exponent=-1.0, seed=seed)


def blue_noise(patch: np.ndarray, *, sigma: float, seed: int) -> np.ndarray:
    """Gaussian noise with PSD ∝ |f| (β = 1)."""
    return gaussian_colored_noise(patch, sigma=sigma, exponent=1.0, seed=seed)


def checkerboard(
    patch: np.ndarray, *, amplitude: float, period: int, phase_x: int, phase_y: int
) -> np.ndarray:
    """Add a ±``amplitude`` checkerboard of square cells ``period`` pixels wide.

    This mimics the periodic artifacts of strided transposed convolutions:
    :math:`y = x + a\\,(-1)^{\\lfloor (i + p_y)/P \\rfloor + \\lfloor (j + p_x)/P \\rfloor}`.

    Args:
        patch: H×W×3 uint8.
        amplitude: ``a`` in ``[0, 0.25]``.
        period: Cell size ``P`` in ``{1, …, 4}`` pixels.
        phase_x, phase_y: Offsets of the pattern in ``[0, 7]`` pixels.
    """
    h, w, _ = patch.shape
    rows = ((np.arange(h) + phase_y) // period)[:, None]
    cols = ((np.arange(w) + phase_x) // period)[None, :]
    pattern = np.where((rows + cols) % 2 == 0, np.float32(1.0), np.float32(-1.0))
    return to_uint8(to_float(patch) + np.float32(amplitude) * pattern[..., None])


def _sample_uniform(rng, s):
    return {"amplitude": MAX_UNIFORM * s, "seed": draw_seed(rng)}


def _sample_sigma(rng, s):
    return {"sigma": MAX_SIGMA * s, "seed": draw_seed(rng)}


def _sample_colored(rng, s):
    exponent = rng.uniform(-2.0, 2.0)
    return {"sigma": MAX_SIGMA * s, "exponent": exponent, "seed": draw_seed(rng)}


def _sample_checkerboard(rng, s):
    period = int(rng.integers(1, 4, endpoint=True))
    phase_x, phase_y = (int(v) for v in rng.integers(0, 8, size=2))
    return {"amplitude": MAX_CHECKER * s, "period": period, "phase_x": phase_x, "phase_y": phase_y}


_SIGMA = ParamSpec("sigma", "float", 0.0, MAX_SIGMA, description="noise standard deviation")


def _info(name, description, severity, params):
    return DistortionInfo(
        name=name,
        family="noise",
        category="traditional",
        description=description,
        severity=severity,
        params=params,
    )


register(
    _info(
        "uniform_white_noise",
        "Add i.i.d. uniform noise per pixel and channel.",
        "amplitude = 0.5·s.",
        (ParamSpec("amplitude", "float", 0.0, MAX_UNIFORM, description="half-width"), _SEED),
    ),
    sample=_sample_uniform,
    apply=uniform_white_noise,
)
register(
    _info(
        "gaussian_white_noise",
        "Add i.i.d. Gaussian noise per pixel and channel.",
        "sigma = 0.25·s.",
        (_SIGMA, _SEED),
    ),
    sample=_sample_sigma,
    apply=gaussian_white_noise,
)
register(
    _info(
        "pink_noise",
        "Add Gaussian noise with a 1/f power spectrum.",
        "sigma = 0.25·s.",
        (_SIGMA, _SEED),
    ),
    sample=_sample_sigma,
    apply=pink_noise,
)
register(
    _info(
        "blue_noise",
        "Add Gaussian noise with an f power spectrum.",
        "sigma = 0.25·s.",
        (_SIGMA, _SEED),
    ),
    sample=_sample_sigma,
    apply=blue_noise,
)
register(
    _info(
        "gaussian_colored_noise",
        "Add Gaussian noise with PSD ∝ f^β, β drawn between brown (-2) and violet (2).",
        "sigma = 0.25·s; β uniform in [-2, 2] whatever s.",
        (
            _SIGMA,
            ParamSpec("exponent", "float", -2.0, 2.0, description="spectral exponent β"),
            _SEED,
        ),
    ),
    sample=_sample_colored,
    apply=gaussian_colored_noise,
)
register(
    _info(
        "checkerboard",
        "Add a periodic ± checkerboard, like transposed-conv artifacts.",
        "amplitude = 0.25·s; cell size 1–4 px and phase drawn at random.",
        (
            ParamSpec("amplitude", "float", 0.0, MAX_CHECKER, description="pattern amplitude"),
            ParamSpec("period", "int", 1, 4, description="cell size in pixels"),
            ParamSpec("phase_x", "int", 0, 7, description="horizontal offset"),
            ParamSpec("phase_y", "int", 0, 7, description="vertical offset"),
        ),
    ),
    sample=_sample_checkerboard,
    apply=checkerboard,
)
