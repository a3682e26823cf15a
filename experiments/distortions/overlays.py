"""Spatial distortions that misalign copies of the patch (BAPPS Table 2): ghosting and chromatic
aberration. Resampling is bilinear with reflected borders, as in :mod:`.warps`.
"""

from __future__ import annotations

import math

import numpy as np

from experiments._arrays import to_float, to_uint8
from experiments.distortions._warp import pixel_grid, sample_channels
from experiments.registry import DistortionInfo, ParamSpec, register

MAX_GHOST_ALPHA = 0.5
MIN_GHOST_OFFSET, MAX_GHOST_OFFSET = 3.0, 10.0
MAX_CA_SCALE = 0.04
MAX_CA_SHIFT = 1.5


def ghosting(patch: np.ndarray, *, alpha: float, dx: float, dy: float) -> np.ndarray:
    """Blend in a displaced copy: :math:`y(p) = (1 - \\alpha)\\,x(p) + \\alpha\\,x(p - d)`.

    Args:
        patch: H×W×3 uint8.
        alpha: Weight of the ghost in ``[0, 0.5]``.
        dx, dy: Ghost offset in ``[-10, 10]`` pixels.
    """
    x = to_float(patch)
    rows, cols = pixel_grid(*patch.shape[:2])
    ghost = sample_channels(x, rows - np.float32(dy), cols - np.float32(dx))
    return to_uint8((1.0 - np.float32(alpha)) * x + np.float32(alpha) * ghost)


def chromatic_aberration(
    patch: np.ndarray, *, scale: float, dx: float, dy: float, cx: float, cy: float
) -> np.ndarray:
    """Misregister red and blue against green, as a lens with lateral colour error does.

    Red samples the source at :math:`c + (1 - k)(p - c) + t` (magnified, shifted by ``t``), blue
    at :math:`c + (1 + k)(p - c) - t`; green is untouched. ``c`` is the optical centre.

    Args:
        patch: H×W×3 uint8.
        scale: ``k`` in ``[0, 0.04]``.
        dx, dy: ``t`` in ``[-1.5, 1.5]`` pixels.
        cx, cy: Optical centre as a fraction of width and height, ``[0, 1]``.
    """
    h, w, _ = patch.shape
    x = to_float(patch)
    rows, cols = pixel_grid(h, w)
    centre_x, centre_y = np.float32(cx * (w - 1)), np.float32(cy * (h - 1))
    out = x.copy()
    for channel, sign in ((0, 1.0), (2, -1.0)):
        gain = np.float32(1.0 - sign * scale)
        src_rows = centre_y + gain * (rows - centre_y) + np.float32(sign * dy)
        src_cols = centre_x + gain * (cols - centre_x) + np.float32(sign * dx)
        out[..., channel] = sample_channels(x[..., channel : channel + 1], src_rows, src_cols)[
            ..., 0
        ]
    return to_uint8(out)


def _sample_ghosting(rng, s):
    angle = rng.uniform(0.0, 2.0 * math.pi)
    length = rng.uniform(MIN_GHOST_OFFSET, MAX_GHOST_OFFSET)
    return {
        "alpha": MAX_GHOST_ALPHA * s,
        "dx": length * math.cos(angle),
        "dy": length * math.sin(angle),
    }


def _sample_aberration(rng, s):
    angle = rng.uniform(0.0, 2.0 * math.pi)
    cx, cy = rng.uniform(0.0, 1.0, size=2)
    return {
        "scale": MAX_CA_SCALE * s,
        "dx": MAX_CA_SHIFT * s * math.cos(angle),
        "dy": MAX_CA_SHIFT * s * math.sin(angle),
        "cx": float(cx),
        "cy": float(cy),
    }


register(
    DistortionInfo(
        name="ghosting",
        family="spatial",
        category="traditional",
        description="Blend in a displaced copy of the patch (double image).",
        severity="ghost weight alpha = 0.5·s; offset 3–10 px in a random direction.",
        params=(
            ParamSpec("alpha", "float", 0.0, MAX_GHOST_ALPHA, description="ghost weight"),
            ParamSpec("dx", "float", -MAX_GHOST_OFFSET, MAX_GHOST_OFFSET, description="px"),
            ParamSpec("dy", "float", -MAX_GHOST_OFFSET, MAX_GHOST_OFFSET, description="px"),
        ),
    ),
    sample=_sample_ghosting,
    apply=ghosting,
)
register(
    DistortionInfo(
        name="chromatic_aberration",
        family="spatial",
        category="traditional",
        description="Scale and shift red and blue in opposite directions about a random centre.",
        severity="scale k = 0.04·s, shift length 1.5·s px; centre uniform over the patch.",
        params=(
            ParamSpec("scale", "float", 0.0, MAX_CA_SCALE, description="magnification error k"),
            ParamSpec("dx", "float", -MAX_CA_SHIFT, MAX_CA_SHIFT, description="red shift x (px)"),
            ParamSpec("dy", "float", -MAX_CA_SHIFT, MAX_CA_SHIFT, description="red shift y (px)"),
            ParamSpec("cx", "float", 0.0, 1.0, description="centre x (fraction of width)"),
            ParamSpec("cy", "float", 0.0, 1.0, description="centre y (fraction of height)"),
        ),
    ),
    sample=_sample_aberration,
    apply=chromatic_aberration,
)
