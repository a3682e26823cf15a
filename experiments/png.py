"""Deterministic PNG encoding, so that stored stimulus bytes are reproducible.

Pillow writes no timestamp or text chunk unless asked; the encoder settings are fixed here
(zlib level 6, no ``optimize`` search, no metadata), so the same pixels give the same bytes with
the same Pillow/zlib build. Compare pixels, not bytes, across different builds.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

COMPRESS_LEVEL = 6


def encode_png(array: np.ndarray) -> bytes:
    """Encode an H×W×3 (RGB) or H×W (grey) ``uint8`` array as PNG bytes.

    Raises:
        ValueError: Not a uint8 array of one of those shapes.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise ValueError("encode_png needs a uint8 numpy array")
    if array.ndim == 3 and array.shape[2] == 3:
        mode = "RGB"
    elif array.ndim == 2:
        mode = "L"
    else:
        raise ValueError(f"encode_png needs an H×W×3 or H×W array, got shape {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array), mode=mode).save(
        buffer, format="PNG", compress_level=COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes to an H×W×3 ``uint8`` RGB array (grey and palette images are expanded).

    Raises:
        ValueError: The bytes are not a PNG image, or carry an alpha channel.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise ValueError(f"expected PNG data, got {image.format}")
            if "A" in image.getbands() or "transparency" in image.info:
                raise ValueError("PNG has transparency; flatten it before use")
            return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except OSError as error:
        raise ValueError(f"not a readable PNG image: {error}") from error
