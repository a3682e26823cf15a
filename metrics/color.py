"""Colour conversions used by the baseline metrics, as batched torch functions.

``rgb_to_lab`` follows the sRGB → CIE XYZ → CIE L*a*b* conversion with the D65 white point and the
2° observer, the convention of ``skimage.color.rgb2lab`` that the official LPIPS baselines call.
``rgb_to_yiq`` uses the NTSC YIQ matrix that FSIM's reference code uses.
"""

from __future__ import annotations

import torch

# sRGB (linear) → XYZ, D65 (IEC 61966-2-1 with the primaries rounded as scikit-image has them).
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_D65_WHITE = (0.95047, 1.0, 1.08883)
# CIE constants: ε = 216/24389 and κ/116 = 7.787, rounded as in the common reference code.
_LAB_EPSILON = 0.008856
_LAB_SLOPE = 7.787

_YIQ_FROM_RGB = (
    (0.299, 0.587, 0.114),
    (0.596, -0.274, -0.322),
    (0.211, -0.523, 0.312),
)


def _mix(x: torch.Tensor, matrix: tuple[tuple[float, ...], ...]) -> torch.Tensor:
    """Apply a 3×3 colour matrix to the channel dimension of an N×3×H×W tensor."""
    m = torch.tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,njhw->nihw", m, x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to CIE L*a*b* (D65, 2° observer).

    Args:
        rgb: N×3×H×W tensor, sRGB in [0, 1].

    Returns:
        N×3×H×W tensor: L* in [0, 100], a* and b* roughly in [-128, 127].
    """
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = _mix(linear, _XYZ_FROM_RGB)
    white = torch.tensor(_D65_WHITE, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    t = xyz / white
    # clamp_min only keeps pow() away from tiny negative rounding noise in the unused branch.
    f = torch.where(
        t > _LAB_EPSILON, t.clamp_min(0.0) ** (1.0 / 3.0), _LAB_SLOPE * t + 16.0 / 116.0
    )
    fx, fy, fz = f.unbind(1)
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=1)


def rgb_to_yiq(rgb: torch.Tensor) -> torch.Tensor:
    """Convert RGB to NTSC YIQ with the same scale as the input.

    Args:
        rgb: N×3×H×W tensor (any scale, e.g. 0–255 for FSIM).

    Returns:
        N×3×H×W tensor with channels Y, I, Q.
    """
    return _mix(rgb, _YIQ_FROM_RGB)


QUANTIZE_MODES = (False, True, "official", "floor")


def official_8bit(x: torch.Tensor) -> torch.Tensor:
    """The 8-bit levels the official LPIPS baselines (``lpips.L2``, ``lpips.DSSIM``) score.

    Those baselines receive the loader's float32 [-1, 1] tensor t = (x − 0.5)/0.5 (``ToTensor``
    then ``Normalize(0.5, 0.5)``) and turn it back into uint8 with ``tensor2im``: float32
    (t + 1)·127.5, truncated. For 8-bit input x = k/255 that lowers 63 of the 256 levels by one
    (k = 1…10 among them), because (t + 1)·127.5 rounds to just below k. This reproduces the
    float32 arithmetic step by step, so the levels are the official ones for every input.

    Args:
        x: [0, 1] tensor of any shape and float dtype.

    Returns:
        The levels divided by 255, in ``x``'s dtype.
    """
    t = (
        x.to(torch.float32).mul(2.0).sub(1.0)
    )  # the loader's tensor (2x − 1 rounds like (x − .5)/.5)
    levels = t.add(1.0).mul(127.5).floor().clamp(0.0, 255.0)
    return levels.div(255.0).to(x.dtype)


def floor_8bit(x: torch.Tensor) -> torch.Tensor:
    """Truncate [0, 1] values to 8-bit levels, floor(255·x)/255: leaves 8-bit input unchanged."""
    return torch.floor(x * 255.0) / 255.0


def apply_quantize(x: torch.Tensor, mode: bool | str) -> torch.Tensor:
    """Apply a ``quantize`` option: False (as given), True or "official" (``official_8bit``, the
    official baselines' numbers), "floor" (``floor_8bit``, the mathematically clean truncation)."""
    if mode is False:
        return x
    if mode is True or mode == "official":
        return official_8bit(x)
    if mode == "floor":
        return floor_8bit(x)
    raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {mode!r}")


def check_quantize(mode: object) -> bool | str:
    """Validate a ``quantize`` option at construction (a clear ValueError for anything else)."""
    if not any(mode is m if isinstance(m, bool) else mode == m for m in QUANTIZE_MODES):
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {mode!r}")
    return mode  # type: ignore[return-value]
