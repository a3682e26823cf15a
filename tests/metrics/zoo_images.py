"""Real photographs with real distortions, for the parity tests of the full-reference metric zoo.

Crops of scikit-image's sample photographs (astronaut, chelsea, coffee: bundled with the package,
no download), histogram-equalised per channel so the 8-bit levels span 0…255, then distorted with
Pillow: Gaussian blur, additive Gaussian noise (rounded back to 8 bits) and JPEG at quality 20.
Everything stays on 8-bit levels k/255, as real image files arrive. ``pairs(size)`` returns the
references and their distorted versions as float64 N×3×size×size tensors in [0, 1].
"""

from __future__ import annotations

import functools
import io

import numpy as np
import torch
from PIL import Image, ImageFilter
from skimage import data as skdata
from skimage import exposure

# (photo, top, left, side of the square crop before resizing to the test size)
_CROPS = (
    ("astronaut", 0, 100, 320),
    ("astronaut", 180, 0, 300),
    ("chelsea", 20, 100, 280),
    ("coffee", 60, 150, 320),
)


def _equalised(image: np.ndarray) -> np.ndarray:
    """Per-channel histogram equalisation onto 0…255 (uint8)."""
    out = np.empty_like(image)
    for c in range(3):
        out[..., c] = np.round(exposure.equalize_hist(image[..., c], nbins=256) * 255)
    return out


def _distort(image: Image.Image, kind: str, seed: int) -> Image.Image:
    if kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(radius=1.2))
    if kind == "noise":
        rng = np.random.default_rng(seed)
        noisy = np.asarray(image, dtype=np.float64) + rng.normal(0.0, 12.0, (*image.size[::-1], 3))
        return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    if kind == "jpeg":
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=20)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    raise ValueError(kind)


DISTORTIONS = ("blur", "noise", "jpeg")


@functools.cache
def uint8_pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """References and distorted versions as uint8 N×size×size×3 arrays (N = crops × distortions)."""
    refs, dists = [], []
    for i, (name, top, left, side) in enumerate(_CROPS):
        photo = getattr(skdata, name)()[top : top + side, left : left + side, :3]
        crop = Image.fromarray(photo).resize((size, size), Image.Resampling.LANCZOS)
        ref = Image.fromarray(_equalised(np.asarray(crop)))
        for j, kind in enumerate(DISTORTIONS):
            refs.append(np.asarray(ref))
            dists.append(np.asarray(_distort(ref, kind, seed=10 * i + j)))
    return np.stack(refs), np.stack(dists)


def pairs(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The pairs of ``uint8_pairs(size)`` as float64 N×3×H×W tensors of levels k/255."""
    a, b = uint8_pairs(size)

    def to_tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x.astype(np.float64) / 255.0).permute(0, 3, 1, 2).contiguous()

    return to_tensor(a), to_tensor(b)
