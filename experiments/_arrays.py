"""Array helpers shared by every distortion: input checks and float/uint8 conversion.

Patches travel as H×W×3 ``uint8`` RGB arrays. Kernels compute in ``float32`` on ``[0, 1]`` and
quantise back with round-half-up, which is exact and platform independent for finite inputs.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

#: Smallest patch side the distortions accept: ×4 super-resolution must leave 4 pixels.
MIN_SIDE = 16

#: ITU-R BT.601 luma weights, used for luma, saturation and the YCbCr colour space.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def check_patch(patch: object, *, what: str = "patch") -> np.ndarray:
    """Check that ``patch`` is an H×W×3 ``uint8`` array with ``H, W >= MIN_SIDE``.

    Args:
        patch: The candidate array.
        what: Name used in the error message.

    Returns:
        The same data as a C-contiguous array.

    Raises:
        ValueError: Wrong type, dtype, shape or size.
    """
    if not isinstance(patch, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(patch).__name__}")
    if patch.dtype != np.uint8:
        raise ValueError(f"{what} must have dtype uint8, got {patch.dtype}")
    if patch.ndim != 3 or patch.shape[2] != 3:
        raise ValueError(f"{what} must have shape H×W×3 (RGB), got {patch.shape}")
    if min(patch.shape[:2]) < MIN_SIDE:
        raise ValueError(f"{what} must be at least {MIN_SIDE}×{MIN_SIDE}, got {patch.shape[:2]}")
    return np.ascontiguousarray(patch)


def check_severity(severity: object) -> float:
    """Return ``severity`` as a float, or raise ValueError unless it is a finite number in [0, 1]."""
    if isinstance(severity, bool) or not isinstance(severity, numbers.Real):
        raise ValueError(f"severity must be a number in [0, 1], got {severity!r}")
    value = float(severity)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"severity must be in [0, 1], got {severity!r}")
    return value


def to_float(patch: np.ndarray) -> np.ndarray:
    """uint8 H×W×C → float32 in [0, 1]."""
    return patch.astype(np.float32) * np.float32(1.0 / 255.0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float in [0, 1] (values outside are clipped) → uint8, rounding half up.

    Raises:
        FloatingPointError: If the kernel produced NaN or infinity (a bug, never silently zero).
    """
    if not np.isfinite(image).all():
        raise FloatingPointError("distortion produced non-finite values")
    scaled = np.clip(image * np.float32(255.0) + np.float32(0.5), 0.0, 255.0)
    return scaled.astype(np.uint8)


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` of an H×W×3 float image → H×W×1."""
    return (image @ LUMA)[..., None]


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """Full-range BT.601 (JPEG) YCbCr of a float RGB image in [0, 1]; Cb, Cr centred on 0."""
    y = image @ LUMA
    cb = (image[..., 2] - y) * np.float32(0.5 / (1.0 - 0.114))
    cr = (image[..., 0] - y) * np.float32(0.5 / (1.0 - 0.299))
    return np.stack([y, cb, cr], axis=-1)


def ycbcr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`."""
    y, cb, cr = image[..., 0], image[..., 1], image[..., 2]
    r = y + np.float32(1.402) * cr
    b = y + np.float32(1.772) * cb
    g = (y - np.float32(0.299) * r - np.float32(0.114) * b) / np.float32(0.587)
    return np.stack([r, g, b], axis=-1)
