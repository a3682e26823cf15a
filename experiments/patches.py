"""Patch sampling: square crops of reference images at random positions and scales.

Patch ``i`` of an image is a pure function of ``(seed, image sha256, size, rescale, i)``: its
generator is :func:`experiments._seeding.derive_rng` of those keys, so generation can restart at
any index and two workers never need to agree on anything but the keys.

With ``rescale=(lo, hi)`` a scale ``k`` is drawn log-uniformly and a square of side
``round(size / k)`` source pixels is cropped and resized to ``size × size`` (Pillow's bicubic
filter, which is antialiased when shrinking). ``k < 1`` zooms out, ``k > 1`` zooms in; the scale
recorded is the exact ``size / side``.

Near-flat crops (sky, walls, borders) carry no information for a similarity judgment, so a crop
whose BT.601 luma variance (on the 0–255 scale) is below :data:`FLAT_VARIANCE` is rejected and the
next attempt for the same index is drawn, up to :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from experiments._arrays import LUMA, MIN_SIDE
from experiments._seeding import derive_rng

#: Luma variance (0–255 scale) below which a crop counts as flat: a standard deviation of about
#: 3.2 grey levels, i.e. below the visibility of most distortions at low severity.
FLAT_VARIANCE = 10.0
#: Attempts per index before the image is declared too flat to sample.
MAX_ATTEMPTS = 64
#: Accepted rescale bounds: beyond ×4 a patch is mostly interpolation.
MIN_SCALE, MAX_SCALE = 0.05, 4.0

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PatchRecord:
    """One sampled patch.

    Attributes:
        index: Patch index within the image (the caller's trial or patch number).
        box: ``(left, top, right, bottom)`` of the crop in source-image pixels, right and bottom
            exclusive; always square.
        scale: ``size / side``: the resize factor applied to the crop.
        attempt: How many flat candidates were skipped before this one.
        pixels: ``size × size × 3`` uint8 RGB.
    """

    index: int
    box: tuple[int, int, int, int]
    scale: float
    attempt: int
    pixels: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record without the pixels."""
        return {
            "index": self.index,
            "box": list(self.box),
            "scale": self.scale,
            "attempt": self.attempt,
            "size": int(self.pixels.shape[0]),
        }


def check_image(image: object) -> np.ndarray:
    """Check a reference image: H×W×3 ``uint8`` RGB. Returns it C-contiguous."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("image must be a uint8 numpy array (H×W×3 RGB)")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape H×W×3 (RGB), got {image.shape}")
    return np.ascontiguousarray(image)


def check_sha256(value: object, what: str = "image_sha256") -> str:
    """Check a lowercase hex SHA-256 digest."""
    if not isinstance(value, str) or not _SHA256.match(value):
        raise ValueError(f"{what} must be a lowercase SHA-256 hex digest, got {value!r}")
    return value


def _check_int(value: object, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{what} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_rescale(rescale: object) -> tuple[float, float] | None:
    """``None`` or a ``(lo, hi)`` pair with ``0.05 <= lo <= hi <= 4``."""
    if rescale is None:
        return None
    try:
        lo, hi = (float(v) for v in rescale)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"rescale must be None or a (lo, hi) pair, got {rescale!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and MIN_SCALE <= lo <= hi <= MAX_SCALE):
        raise ValueError(
            f"rescale must satisfy {MIN_SCALE} <= lo <= hi <= {MAX_SCALE}, got {rescale!r}"
        )
    return lo, hi


def crop_patch(
    image: np.ndarray, box: tuple[int, int, int, int] | list[int], size: int
) -> np.ndarray:
    """Cut ``box`` out of ``image`` and resize it to ``size × size`` (bicubic) if needed.

    This is the one function that turns a recorded crop box into pixels, for sampling and for
    regeneration alike.

    Raises:
        ValueError: The box is not a square inside the image.
    """
    left, top, right, bottom = (int(v) for v in box)
    h, w = image.shape[:2]
    side = right - left
    if side < 1 or bottom - top != side or left < 0 or top < 0 or right > w or bottom > h:
        raise ValueError(f"crop box {list(box)} is not a square inside the {w}×{h} image")
    crop = image[top:bottom, left:right]
    if side == size:
        return crop.copy()
    resized = Image.fromarray(crop, mode="RGB").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8).copy()


def is_flat(patch: np.ndarray) -> bool:
    """True when the patch's luma variance (0–255 scale) is below :data:`FLAT_VARIANCE`."""
    return float((patch.astype(np.float64) @ LUMA.astype(np.float64)).var()) < FLAT_VARIANCE


def sample_patch(
    image: np.ndarray,
    *,
    image_sha256: str,
    seed: int,
    index: int,
    size: int = 64,
    rescale: tuple[float, float] | None = None,
) -> PatchRecord:
    """Sample patch ``index`` of ``image`` (see the module docs for the procedure).

    Args:
        image: H×W×3 uint8 RGB reference image.
        image_sha256: SHA-256 of the image file; part of the seed.
        seed: Study seed (int >= 0).
        index: Patch index (int >= 0).
        size: Patch side in pixels (>= 16).
        rescale: ``None`` (crop at scale 1) or ``(lo, hi)`` scale bounds.

    Returns:
        The :class:`PatchRecord`.

    Raises:
        ValueError: Bad arguments, an image smaller than the largest crop the scale range can ask
            for, or no textured patch after :data:`MAX_ATTEMPTS` attempts.
    """
    image = check_image(image)
    image_sha256 = check_sha256(image_sha256)
    seed = _check_int(seed, "seed", 0)
    index = _check_int(index, "index", 0)
    size = _check_int(size, "size", MIN_SIDE)
    bounds = check_rescale(rescale)
    h, w = image.shape[:2]
    largest = size if bounds is None else round(size / bounds[0])
    if largest > min(h, w):
        at = "" if bounds is None else f" at scale {bounds[0]}"
        raise ValueError(
            f"patch of {size}×{size}{at} needs a {largest}×{largest} crop, "
            f"larger than the {w}×{h} image"
        )
    for attempt in range(MAX_ATTEMPTS):
        rng = derive_rng("patch", seed, image_sha256, size, bounds and list(bounds), index, attempt)
        side = size
        if bounds is not None:
            scale = math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))
            side = min(max(round(size / scale), 1), h, w)
        left = int(rng.integers(0, w - side, endpoint=True))
        top = int(rng.integers(0, h - side, endpoint=True))
        box = (left, top, left + side, top + side)
        pixels = crop_patch(image, box, size)
        if not is_flat(pixels):
            return PatchRecord(index, box, size / side, attempt, pixels)
    raise ValueError(
        f"no textured {size}×{size} patch found for index {index} after "
        f"{MAX_ATTEMPTS} attempts: the image is nearly flat "
        f"(luma variance < {FLAT_VARIANCE})"
    )


def sample_patches(
    image: np.ndarray,
    *,
    image_sha256: str,
    seed: int,
    count: int,
    size: int = 64,
    rescale: tuple[float, float] | None = None,
    start: int = 0,
) -> list[PatchRecord]:
    """Sample patches ``start … start + count - 1`` of ``image``; see :func:`sample_patch`.

    Raises:
        ValueError: ``count < 1`` or any error of :func:`sample_patch`.
    """
    count = _check_int(count, "count", 1)
    start = _check_int(start, "start", 0)
    return [
        sample_patch(
            image, image_sha256=image_sha256, seed=seed, index=i, size=size, rescale=rescale
        )
        for i in range(start, start + count)
    ]
