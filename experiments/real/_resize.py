"""Pillow resizing shared by the super-resolution algorithms and the SR network's training."""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Upsampling methods of the classical super-resolution baselines.
UPSAMPLERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
#: Downsampling kernels that make the low-resolution input (Pillow's are antialiased).
DOWNSAMPLERS = {"bicubic": Image.Resampling.BICUBIC, "box": Image.Resampling.BOX}


def resize(patch: np.ndarray, width: int, height: int, method: Image.Resampling) -> np.ndarray:
    """Resize an H×W×3 uint8 array to ``height × width`` with a Pillow filter."""
    image = Image.fromarray(patch, mode="RGB").resize((width, height), method)
    return np.asarray(image, dtype=np.uint8).copy()


def low_resolution(patch: np.ndarray, factor: int, down: str) -> np.ndarray:
    """The ×``factor`` low-resolution version: ``round(W / f) × round(H / f)`` pixels."""
    h, w, _ = patch.shape
    return resize(patch, max(1, round(w / factor)), max(1, round(h / factor)), DOWNSAMPLERS[down])


def down_up(patch: np.ndarray, factor: int, down: str, up: str) -> np.ndarray:
    """Downsample by ``factor`` with ``down``, upsample back to the patch size with ``up``."""
    h, w, _ = patch.shape
    return resize(low_resolution(patch, factor, down), w, h, UPSAMPLERS[up])
