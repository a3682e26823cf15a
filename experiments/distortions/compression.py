"""Compression distortion (BAPPS Table 2): JPEG.

Encoding and decoding use Pillow's libjpeg in memory with fixed settings (baseline, no
optimisation, no metadata), so the same quality and subsampling give the same bytes on the same
libjpeg build.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from experiments.registry import DistortionInfo, ParamSpec, register

BEST_QUALITY, WORST_QUALITY = 95, 5
_SUBSAMPLING = {"4:4:4": 0, "4:2:0": 2}


def jpeg(patch: np.ndarray, *, quality: int, subsampling: str) -> np.ndarray:
    """JPEG round trip at ``quality`` with the given chroma subsampling.

    Args:
        patch: H×W×3 uint8.
        quality: libjpeg quality in ``[5, 95]`` (lower is worse).
        subsampling: ``"4:4:4"`` (full chroma) or ``"4:2:0"`` (chroma halved both ways).

    Returns:
        The decoded H×W×3 uint8 image.
    """
    buffer = io.BytesIO()
    Image.fromarray(patch, mode="RGB").save(
        buffer,
        format="JPEG",
        quality=int(quality),
        subsampling=_SUBSAMPLING[subsampling],
        optimize=False,
    )
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.uint8).copy()


def _sample_jpeg(rng, s):
    subsampling = "4:2:0" if rng.random() < 0.5 else "4:4:4"
    return {
        "quality": round(BEST_QUALITY - (BEST_QUALITY - WORST_QUALITY) * s),
        "subsampling": subsampling,
    }


register(
    DistortionInfo(
        name="jpeg",
        family="compression",
        category="traditional",
        description="JPEG compression round trip (Pillow/libjpeg).",
        severity="quality = round(95 - 90·s); chroma subsampling 4:2:0 or 4:4:4 at random.",
        params=(
            ParamSpec("quality", "int", WORST_QUALITY, BEST_QUALITY, description="JPEG quality"),
            ParamSpec(
                "subsampling",
                "choice",
                choices=tuple(_SUBSAMPLING),
                description="chroma subsampling",
            ),
        ),
    ),
    sample=_sample_jpeg,
    apply=jpeg,
)
