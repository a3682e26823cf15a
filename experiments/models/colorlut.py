"""A look-up-table colouriser: mean chroma per (luma, local texture) bin, learned from patches.

A classical, weight-free baseline in the spirit of example-based colour transfer (Welsh et al.,
SIGGRAPH 2002, match by luminance and neighbourhood statistics): every pixel of the training
patches is binned by its BT.601 luma (``luma_bins`` equal bins on [0, 1]) and by the standard
deviation of luma in its 5×5 neighbourhood (``texture_bins`` bins with edges
:data:`TEXTURE_EDGES`), and each bin stores the mean ``(Cb, Cr)`` of its pixels; empty bins take
the global mean. Colourising looks the chroma up per pixel. NumPy only: no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

DEFAULT_STEPS = 1  # a single pass over the patches; kept for the common interface
USES_TORCH = False
TEXTURE_EDGES = (0.01, 0.03, 0.08)
_KEYS = {"luma_bins"}


def sample_hparams(rng: np.random.Generator) -> dict[str, Any]:
    """``luma_bins`` ∈ {16, 32}."""
    return {"luma_bins": int(rng.choice([16, 32]))}


def check_hparams(h: dict[str, Any]) -> dict[str, Any]:
    """Validate; raises ValueError naming the problem."""
    if not isinstance(h, dict) or set(h) != _KEYS or not (2 <= h["luma_bins"] <= 256):
        raise ValueError(f"colorizer_lut hparams need luma_bins in [2, 256], got {h!r}")
    return h


def bin_index(y: np.ndarray, luma_bins: int) -> np.ndarray:
    """Bin of every pixel of an (N×)H×W luma array in [0, 1]: ``luma_bin · T + texture_bin``."""
    size = (1,) * (y.ndim - 2) + (5, 5)
    mean = ndimage.uniform_filter(y, size=size, mode="reflect")
    var = np.maximum(ndimage.uniform_filter(y * y, size=size, mode="reflect") - mean * mean, 0.0)
    texture = np.searchsorted(np.asarray(TEXTURE_EDGES, np.float32), np.sqrt(var))
    level = np.clip((y * luma_bins).astype(np.int64), 0, luma_bins - 1)
    return level * (len(TEXTURE_EDGES) + 1) + texture


def train(
    patches: np.ndarray, h: dict[str, Any], *, steps: int, device: str, feature_trunk: Any = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Mean chroma per bin over every pixel of ``patches``."""
    from experiments._arrays import rgb_to_ycbcr, to_float

    ycc = rgb_to_ycbcr(to_float(patches))
    bins = bin_index(ycc[..., 0], h["luma_bins"]).ravel()
    size = h["luma_bins"] * (len(TEXTURE_EDGES) + 1)
    counts = np.bincount(bins, minlength=size)
    table = np.empty((size, 2), dtype=np.float32)
    for channel in (0, 1):
        values = ycc[..., 1 + channel].ravel().astype(np.float64)
        sums = np.bincount(bins, weights=values, minlength=size)
        table[:, channel] = np.where(counts > 0, sums / np.maximum(counts, 1), values.mean())
    return {"chroma": table}, {"filled_bins": int((counts > 0).sum()), "bins": size}


class ColorLUTRuntime:
    """A loaded colour table."""

    def __init__(self, blob) -> None:
        self.luma_bins = check_hparams(dict(blob.hparams))["luma_bins"]
        self.table = np.asarray(blob.arrays["chroma"], dtype=np.float32)

    def predict_chroma(self, patch: np.ndarray) -> np.ndarray:
        """H×W×3 uint8 → H×W×2 chroma looked up from the luma alone."""
        from experiments._arrays import luma, to_float

        return self.table[bin_index(luma(to_float(patch))[..., 0], self.luma_bins)]


def load(blob) -> ColorLUTRuntime:
    """Runtime for a stored colour table."""
    return ColorLUTRuntime(blob)
