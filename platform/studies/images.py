"""Decoding and normalising uploaded photographs (Pillow only, no Django models).

Every accepted upload becomes 8-bit RGB. Whatever is changed on the way is described in words so
it can be stored next to the image (`DecodedImage.conversion`): modes that are not 8-bit RGB,
16 bits per channel reduced to 8, an EXIF orientation applied, the first frame taken of an
animation. Nothing is rejected for its mode. Files that are not images, truncated, decompression bombs, or too small are refused
with `ImageRejected`, whose message names the file and the problem.

Zip archives are read member by member from a file (`common.archives`), with limits on the
member count and the total uncompressed size, and refusals of path traversal (`../`, absolute
paths), symbolic links, nesting (zips in zips) and lying headers.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from common.archives import ArchiveRejected, checked_members, open_zip, read_member
from common.archives import is_zip as _is_zip_head

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".ppm", ".pgm")
THUMBNAIL_SIDE = 128


class ImageRejected(ValueError):
    """An upload that cannot become a reference image; the message says why."""


@dataclass(frozen=True)
class DecodedImage:
    name: str
    rgb: Image.Image  # mode "RGB", 8 bits per channel
    sha256: str
    original_mode: str
    original_format: str
    conversion: str  # "" when the upload already was 8-bit RGB, else every change, "; "-joined


def pixel_sha256(rgb: Image.Image) -> str:
    """Hash of an RGB image's pixels: sha256 over "H×W\\n" and the raw row-major RGB bytes."""
    array = np.asarray(rgb, dtype=np.uint8)
    digest = hashlib.sha256(f"{array.shape[0]}x{array.shape[1]}\n".encode())
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _to_rgb8(image: Image.Image) -> tuple[Image.Image, str]:
    mode = image.mode
    if mode == "RGB":
        return image, ""
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit integer) greyscale: scale the full 16-bit range down to 8 bits.
        array = np.asarray(image, dtype=np.float64)
        scale = (
            257.0
            if mode.startswith("I;16") or array.max(initial=0) <= 65535
            else array.max() / 255.0
        )
        grey = np.clip(np.rint(array / scale), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert(
            "RGB"
        ), f"{mode} (16-bit greyscale) scaled to 8-bit RGB"
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        span = hi - lo if hi > lo else 1.0
        grey = np.clip(np.rint((array - lo) / span * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert(
            "RGB"
        ), "F (float greyscale) min-max scaled to 8-bit RGB"
    if mode == "CMYK":
        return image.convert("RGB"), "CMYK converted to RGB (naive, no ICC profile)"
    if mode in ("P", "PA"):
        rgba = image.convert("RGBA")
        has_alpha = "transparency" in image.info or mode == "PA"
        if has_alpha:
            return _flatten_alpha(
                rgba
            ), f"{mode} (palette with transparency) converted to RGB, alpha composited on white"
        return rgba.convert("RGB"), f"{mode} (palette) converted to RGB"
    if mode in ("RGBA", "LA", "RGBa", "La"):
        return _flatten_alpha(
            image.convert("RGBA")
        ), f"{mode} alpha composited on white, converted to RGB"
    if mode in ("L", "1", "YCbCr", "LAB", "HSV"):
        return image.convert("RGB"), f"{mode} converted to RGB"
    return image.convert("RGB"), f"{mode} converted to RGB"


def _flatten_alpha(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


_ORIENTATION = 0x0112
_ORIENTATION_WORDS = {
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped vertically",
    5: "mirrored and rotated 90° anticlockwise",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated 90° clockwise",
    8: "rotated 90° anticlockwise",
}


def _deep_channels(image: Image.Image) -> str:
    """A note when Pillow will read 16 bits per colour channel as 8 (48-bit RGB, 64-bit RGBA):
    Pillow keeps the high byte of each sample, silently, so we record it."""
    if image.mode not in ("RGB", "RGBA") or not image.tile:
        return ""
    args = image.tile[0].args
    rawmode = args[0] if isinstance(args, tuple) and args else args
    if not isinstance(rawmode, str) or ";16" not in rawmode:
        return ""
    bits = 16 * len(image.mode)
    return f"{bits}-bit {image.mode} (16 bits per channel) reduced to 8 bits per channel"


def _animation(image: Image.Image) -> str:
    frames = getattr(image, "n_frames", 1) if getattr(image, "is_animated", False) else 1
    if frames <= 1:
        return ""
    return f"first frame of {frames} (animated {image.format or 'image'}); the other frames dropped"


def _apply_exif_orientation(image: Image.Image) -> tuple[Image.Image, str]:
    try:
        orientation = int(image.getexif().get(_ORIENTATION, 1))
    except (TypeError, ValueError, OSError, SyntaxError):  # unreadable EXIF: shown as stored
        return image, ""
    if orientation not in _ORIENTATION_WORDS:
        return image, ""
    rotated = ImageOps.exif_transpose(image)
    words = _ORIENTATION_WORDS[orientation]
    return rotated, f"EXIF orientation {orientation} applied ({words})"


def decode_image(data: bytes, *, name: str, min_side: int, max_pixels: int) -> DecodedImage:
    """Decode, verify and normalise one uploaded image.

    Args:
        data: the file's bytes.
        name: the file name, used in messages.
        min_side: the shortest side accepted (the largest patch a study may cut).
        max_pixels: Pillow's decompression-bomb threshold; images above it are refused.

    Raises:
        ImageRejected: not an image, truncated, a decompression bomb, or smaller than `min_side`.
    """
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            # Pillow only warns between max_pixels and 2×max_pixels; refuse those as well.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(io.BytesIO(data))
                original_format = image.format or ""
                deep = _deep_channels(image)  # read before load(), which drops the tile
                animation = _animation(image)
                image.load()  # forces a full decode (of the first frame): truncated files fail here
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise ImageRejected(
                    f"{name}: image has too many pixels (limit {max_pixels:,}); refusing a possible decompression bomb."
                ) from None
            except UnidentifiedImageError:
                raise ImageRejected(f"{name}: not an image file Pillow can read.") from None
            except (OSError, SyntaxError, ValueError) as exc:
                raise ImageRejected(f"{name}: image is damaged or truncated ({exc}).") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit

    original_mode = image.mode
    notes = [note for note in (deep, animation) if note]
    image, rotation = _apply_exif_orientation(image)
    rgb, conversion = _to_rgb8(image)
    notes += [note for note in (conversion, rotation) if note]
    width, height = rgb.size
    if min(width, height) < min_side:
        raise ImageRejected(
            f"{name}: image is {width}×{height}; its shorter side must be at least {min_side} px (the patch size)."
        )
    return DecodedImage(
        name=name,
        rgb=rgb,
        sha256=pixel_sha256(rgb),
        original_mode=original_mode,
        original_format=original_format,
        conversion="; ".join(notes)[:255],
    )


def encode_png(rgb: Image.Image) -> bytes:
    """Deterministic PNG bytes (no metadata, fixed compression)."""
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def make_thumbnail(rgb: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    thumb = rgb.copy()
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    return encode_png(thumb)


def is_zip(data: bytes) -> bool:
    return _is_zip_head(data)


def iter_zip_members(
    source: IO[bytes], *, name: str, max_members: int, max_total_bytes: int
) -> Iterator[tuple[str, bytes]]:
    """Yield (member name, bytes) for the files of a zip read from `source`, after checking the
    whole archive's directory (`common.archives.checked_members`): an unsafe archive is refused
    before any member is read. Directories, hidden files and `__MACOSX/` entries are skipped.
    """
    try:
        archive = open_zip(source, name=name)
        with archive:
            members = checked_members(
                archive, name=name, max_members=max_members, max_total_bytes=max_total_bytes
            )
            for info in members:
                yield info.filename, read_member(archive, info, name=name)
    except ArchiveRejected as exc:
        raise ImageRejected(str(exc)) from None
