"""Photometric distortions (BAPPS Table 2): lightness shift, colour shift, contrast, saturation.

All four act per pixel in float32 on ``[0, 1]`` RGB and clip the result. Colour is handled in
full-range BT.601 YCbCr (the JPEG colour space), whose luma ``Y`` is a weighted mean of R, G, B:
adding the same offset to R, G and B moves ``Y`` only, and an offset along ``(ΔCb, ΔCr)`` moves
chroma only.
"""

from __future__ import annotations

import math

import numpy as np

from experiments._arrays import luma, to_float, to_uint8
from experiments.registry import DistortionInfo, ParamSpec, register

MAX_LIGHTNESS = 0.35
MAX_CHROMA = 0.25
MAX_CONTRAST = 3.0
MAX_SATURATION_GAIN = 2.0


def lightness_shift(patch: np.ndarray, *, delta: float) -> np.ndarray:
    """Shift luma by ``delta``: :math:`y = \\mathrm{clip}(x + \\delta)` on every channel.

    Args:
        patch: H×W×3 uint8.
        delta: Offset in units of full scale, ``[-0.35, 0.35]``.

    Returns:
        H×W×3 uint8.
    """
    return to_uint8(to_float(patch) + np.float32(delta))


def color_shift(patch: np.ndarray, *, delta_cb: float, delta_cr: float) -> np.ndarray:
    """Add a constant chroma offset: :math:`(Y, C_b, C_r) \\to (Y, C_b + \\delta_b, C_r + \\delta_r)`.

    In RGB this is the offset ``(1.402 δr, -0.344136 δb - 0.714136 δr, 1.772 δb)``.

    Args:
        patch: H×W×3 uint8.
        delta_cb, delta_cr: Chroma offsets in ``[-0.25, 0.25]``.
    """
    offset = np.array(
        [1.402 * delta_cr, -0.344136 * delta_cb - 0.714136 * delta_cr, 1.772 * delta_cb],
        dtype=np.float32,
    )
    return to_uint8(to_float(patch) + offset)


def contrast(patch: np.ndarray, *, factor: float) -> np.ndarray:
    """Scale deviations from the patch's mean luma: :math:`y = \\bar Y + k (x - \\bar Y)`.

    Args:
        patch: H×W×3 uint8.
        factor: ``k`` in ``[1/3, 3]``; below 1 flattens, above 1 stretches (and clips).
    """
    x = to_float(patch)
    mean = np.float32(luma(x).mean())
    return to_uint8(mean + np.float32(factor) * (x - mean))


def saturation(patch: np.ndarray, *, factor: float) -> np.ndarray:
    """Scale each pixel's distance from its own grey: :math:`y = Y + k (x - Y)`.

    Args:
        patch: H×W×3 uint8.
        factor: ``k`` in ``[0, 3]``; 0 gives the grey image, above 1 over-saturates.
    """
    x = to_float(patch)
    y = luma(x)
    return to_uint8(y + np.float32(factor) * (x - y))


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _sample_lightness(rng, s):
    return {"delta": _sign(rng) * MAX_LIGHTNESS * s}


def _sample_color(rng, s):
    angle = rng.uniform(0.0, 2.0 * math.pi)
    return {
        "delta_cb": MAX_CHROMA * s * math.cos(angle),
        "delta_cr": MAX_CHROMA * s * math.sin(angle),
    }


def _sample_contrast(rng, s):
    return {"factor": MAX_CONTRAST ** (_sign(rng) * s)}


def _sample_saturation(rng, s):
    # Desaturating reaches grey at s = 1; over-saturating triples the chroma.
    return {"factor": 1.0 - s if rng.random() < 0.5 else 1.0 + MAX_SATURATION_GAIN * s}


def _info(name, description, severity, params):
    return DistortionInfo(
        name=name,
        family="photometric",
        category="traditional",
        description=description,
        severity=severity,
        params=params,
    )


register(
    _info(
        "lightness_shift",
        "Add the same offset to R, G and B (a luma shift).",
        "|delta| = 0.35·s, sign drawn at random.",
        (ParamSpec("delta", "float", -MAX_LIGHTNESS, MAX_LIGHTNESS, description="luma offset"),),
    ),
    sample=_sample_lightness,
    apply=lightness_shift,
)
register(
    _info(
        "color_shift",
        "Add a constant chroma offset (YCbCr) in a random hue direction.",
        "chroma offset length = 0.25·s, direction uniform.",
        (
            ParamSpec("delta_cb", "float", -MAX_CHROMA, MAX_CHROMA, description="Cb offset"),
            ParamSpec("delta_cr", "float", -MAX_CHROMA, MAX_CHROMA, description="Cr offset"),
        ),
    ),
    sample=_sample_color,
    apply=color_shift,
)
register(
    _info(
        "contrast",
        "Scale deviations from the mean luma.",
        "factor = 3^(±s): flatter or steeper with equal probability.",
        (
            ParamSpec(
                "factor", "float", 1.0 / MAX_CONTRAST, MAX_CONTRAST, description="contrast gain"
            ),
        ),
    ),
    sample=_sample_contrast,
    apply=contrast,
)
register(
    _info(
        "saturation",
        "Scale each pixel's chroma about its own grey.",
        "factor = 1 - s (towards grey) or 1 + 2·s (more saturated), equally likely.",
        (
            ParamSpec(
                "factor", "float", 0.0, 1.0 + MAX_SATURATION_GAIN, description="saturation gain"
            ),
        ),
    ),
    sample=_sample_saturation,
    apply=saturation,
)
