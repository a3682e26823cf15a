"""Deterministic PNG encoding, so that stored stimulus bytes are reproducible.

:func:`encode_png` writes the PNG itself instead of going through Pillow: a signature, an
``IHDR`` chunk (8-bit RGB or grey, no interlace), one ``IDAT`` chunk and ``IEND``, with no
metadata. Every scanline uses PNG filter type 2 ("Up": each byte minus the byte above, modulo
256), and the filtered bytes are compressed with ``zlib`` at level :data:`COMPRESS_LEVEL`. The
output depends only on the pixels and the zlib build, not on Pillow's adaptive filter heuristics
(which may change between versions), and it is faster than Pillow's writer on 64×64 patches
(docs/performance.md), which matters when a study writes half a million stimuli. Compare pixels, not bytes, across different zlib builds.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

COMPRESS_LEVEL = 6
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_UP = 2


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode_png(array: np.ndarray) -> bytes:
    """Encode an H×W×3 (RGB) or H×W (grey) ``uint8`` array as PNG bytes (see the module docs).

    Raises:
        ValueError: Not a non-empty uint8 array of one of those shapes.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise ValueError("encode_png needs a uint8 numpy array")
    if array.ndim == 3 and array.shape[2] == 3:
        colour_type = 2
    elif array.ndim == 2:
        colour_type = 0
    else:
        raise ValueError(f"encode_png needs an H×W×3 or H×W array, got shape {array.shape}")
    height, width = array.shape[:2]
    if height == 0 or width == 0:
        raise ValueError("encode_png needs a non-empty array")
    rows = array.reshape(height, -1)
    scanlines = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    scanlines[:, 0] = _FILTER_UP
    scanlines[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=scanlines[1:, 1:])  # uint8 arithmetic wraps mod 256
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), COMPRESS_LEVEL))
        + _chunk(b"IEND", b"")
    )


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
