"""Image and value files of a BAPPS folder: decoding, the loader's resize, deterministic writing.

Reading follows the official evaluation loader (reference §3.4): PIL opens the file and converts
it to RGB (alpha is dropped, palettes expanded), then torchvision's ``Resize(load_size)`` makes
the **shorter** side ``load_size`` and the longer side ``int(load_size * long / short)``
(truncated), with bilinear interpolation. On PIL images torchvision simply calls
``Image.resize(..., BILINEAR)``, and Pillow's resize is always area-aware: when shrinking it
widens the bilinear kernel by the scale factor, i.e. it antialiases (torchvision's ``antialias``
flag only affects tensors). We call Pillow the same way, so a 256x256 BAPPS patch becomes the
same 64x64 pixels as in the official pipeline. ``load_size=None`` keeps the stored size.

The official tensors are ``ToTensor`` then ``Normalize(0.5, 0.5)``: float32 ``(v / 255 - 0.5) /
0.5`` in [-1, 1]. ``to_official_float`` computes exactly that in float32, keeping NumPy's H×W×3
layout (transpose to C×H×W yourself when building tensors).

Decoding: 8-bit RGB PNGs (BAPPS's own files, and our exports) are decoded with libspng through
``pyspng`` when it is installed, faster than Pillow on 64×64 patches (docs/performance.md) and the
same pixels (libspng is called without gamma correction or transparency expansion, as Pillow reads
them; tests/metrics/test_bapps_images.py compares the two). Every other file, and any file
libspng refuses, goes through Pillow, whose errors are the ones reported.

Writing uses Pillow's PNG encoder with fixed settings and no metadata, so the same pixels give
the same bytes with a given Pillow/zlib build.
"""

from __future__ import annotations

import ast
import functools
import os
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from metrics.bapps._layout import BappsError

PNG_COMPRESS_LEVEL = 6
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

try:  # libspng's decoder (see the module docstring); Pillow alone works too, only slower
    from pyspng import load as _spng_load
except ImportError:  # pragma: no cover - pyspng is a declared dependency
    _spng_load = None


def resized_shape(width: int, height: int, load_size: int) -> tuple[int, int]:
    """``(new_width, new_height)`` with the shorter side ``load_size`` (torchvision's rule)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = load_size, int(load_size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def resize_short_side(image: Image.Image, load_size: int) -> Image.Image:
    """Resize a PIL image so its shorter side is ``load_size`` (bilinear, Pillow's filter)."""
    size = resized_shape(image.width, image.height, load_size)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.BILINEAR)


def to_official_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 → float32 in [-1, 1], bit-identical to ``ToTensor`` + ``Normalize(0.5, 0.5)``."""
    return (pixels.astype(np.float32) / np.float32(255.0) - np.float32(0.5)) / np.float32(0.5)


def load_image(
    path: str | os.PathLike, *, load_size: int | None = 64, as_float: bool = False
) -> np.ndarray:
    """Read one image the way the official BAPPS loader does.

    Args:
        path: Image file.
        load_size: Target length of the shorter side, or ``None`` for the stored size.
        as_float: Return float32 in [-1, 1] (official convention) instead of uint8.

    Returns:
        An H×W×3 array, uint8 or float32.

    Raises:
        BappsError: If the file cannot be opened or decoded (the message names it).
    """
    pixels = _decode_rgb8_png(path)
    if pixels is not None:
        height, width = pixels.shape[:2]
        if load_size is not None and resized_shape(width, height, load_size) != (width, height):
            pixels = np.asarray(resize_short_side(Image.fromarray(pixels), load_size))
    else:
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")  # convert() forces the full decode inside the try
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise BappsError(f"{path}: unreadable image ({exc})", path) from exc
        if load_size is not None:
            image = resize_short_side(image, load_size)
        pixels = np.asarray(image, dtype=np.uint8)
    return to_official_float(pixels) if as_float else pixels


def _chunks_intact(data: bytes) -> bool:
    """Every chunk's CRC matches and the file ends with IEND (libspng, as pyspng calls it,
    decodes some damaged image data without complaint)."""
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(data):
            return False
        if zlib.crc32(data[pos + 4 : end]) != int.from_bytes(data[end : end + 4], "big"):
            return False
        if data[pos + 4 : pos + 8] == b"IEND":
            return True
        pos = end + 4
    return False


def _decode_rgb8_png(path: str | os.PathLike) -> np.ndarray | None:
    """H×W×3 uint8 pixels of an 8-bit RGB PNG through libspng, or None to use Pillow.

    None when pyspng is missing, the file is not an 8-bit truecolour PNG (IHDR colour type 2),
    is larger than Pillow's decompression-bomb limit, or libspng fails on it.
    """
    if _spng_load is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # Signature, then the IHDR chunk: width, height, bit depth, colour type.
    if len(data) < 33 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    bomb_limit = Image.MAX_IMAGE_PIXELS
    if data[24] != 8 or data[25] != 2 or (bomb_limit and width * height > bomb_limit):
        return None
    if not _chunks_intact(data):
        return None  # Pillow reports the damage
    try:
        pixels = _spng_load(data)
    except Exception:  # libspng's errors; Pillow then reads the file and reports any problem
        return None
    if pixels.dtype != np.uint8 or pixels.shape != (height, width, 3):
        return None
    return pixels


def load_fraction(path: str | os.PathLike, meaning: str) -> float:
    """Read a one-value ``.npy`` file holding a fraction in [0, 1].

    Args:
        path: The ``judge/*.npy`` or ``same/*.npy`` file.
        meaning: What the fraction counts, for the error message.

    Raises:
        BappsError: Unreadable file, not exactly one numeric value, or a value outside [0, 1].
    """
    arr = _read_small_npy(path)
    if arr is None:
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise BappsError(f"{path}: unreadable .npy file ({exc})", path) from exc
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise BappsError(
            f"{path}: expected one number ({meaning}), "
            f"found {arr.dtype} array of shape {arr.shape}",
            path,
        )
    value = float(arr.reshape(-1)[0])
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise BappsError(f"{path}: value {value!r} is outside [0, 1] ({meaning})", path)
    return value


def _read_small_npy(path: str | os.PathLike) -> np.ndarray | None:
    """A version-1.0 ``.npy`` file of plain numbers, or None to let ``np.load`` read it.

    ``np.load`` parses every header with ``ast``, which costs more than decoding an image; the
    judge files of a set share one header, so it is parsed once here (``_npy_header``). Anything
    unusual (other versions, structured or object dtypes, a size that does not match) goes to
    ``np.load`` and its errors.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(4096)
    except OSError:
        return None
    if len(data) < 10 or data[:8] != b"\x93NUMPY\x01\x00":
        return None
    end = 10 + int.from_bytes(data[8:10], "little")
    header = _npy_header(bytes(data[10:end]))
    if header is None:
        return None
    dtype, shape, count = header
    if len(data) - end != count * dtype.itemsize:
        return None
    return np.frombuffer(data, dtype=dtype, count=count, offset=end).reshape(shape)


@functools.lru_cache(maxsize=64)
def _npy_header(header: bytes) -> tuple[np.dtype, tuple[int, ...], int] | None:
    try:
        fields = ast.literal_eval(header.decode("latin1"))
        dtype = np.dtype(fields["descr"])
        shape = tuple(int(n) for n in fields["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError, MemoryError):
        return None
    if fields.get("fortran_order") or dtype.kind not in "biuf" or dtype.fields is not None:
        return None
    return dtype, shape, int(np.prod(shape, dtype=np.int64))


def save_png(pixels: np.ndarray, path: Path) -> None:
    """Write uint8 H×W×3 pixels as an RGB PNG with fixed encoder settings."""
    # H×W×3 uint8 is inferred as RGB (the explicit mode argument is deprecated in Pillow).
    Image.fromarray(np.ascontiguousarray(pixels)).save(
        path, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False
    )


def save_fraction(value: float, path: Path) -> None:
    """Write one fraction as a float64 ``.npy`` of shape (1,) (the loader reshapes it anyway)."""
    np.save(path, np.array([value], dtype=np.float64), allow_pickle=False)
