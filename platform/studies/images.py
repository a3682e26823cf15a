"""Decoding and normalising uploaded photographs (Pillow only, no Django models).

Every accepted upload becomes 8-bit RGB. Modes that are not 8-bit RGB are converted, and the
conversion is described in words so it can be stored next to the image; nothing is rejected for
its mode. Files that are not images, truncated, decompression bombs, or too small are refused
with `ImageRejected`, whose message names the file and the problem.

Zip archives are read member by member with limits on the archive size, the member count, the
total uncompressed size, path traversal (`../`, absolute paths) and nesting (zips in zips).
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

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
    conversion: str  # "" when the upload already was 8-bit RGB


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
                image.load()  # forces a full decode: truncated files fail here
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
    image = ImageOps.exif_transpose(image) if original_format in ("JPEG", "TIFF", "WEBP") else image
    rgb, conversion = _to_rgb8(image)
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
        conversion=conversion,
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
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def iter_zip_members(
    data: bytes, *, name: str, max_members: int, max_total_bytes: int
) -> Iterator[tuple[str, bytes]]:
    """Yield (member name, bytes) for the image files of a zip, after checking the whole archive.

    Every check runs before the first member is yielded, so a bad archive is refused whole.
    Directories, hidden files and `__MACOSX/` entries are skipped.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImageRejected(f"{name}: not a valid zip archive ({exc}).") from None
    with archive:
        members = []
        total = 0
        for info in archive.infolist():
            member = info.filename
            parts = member.replace("\\", "/").split("/")
            if (
                member.startswith(("/", "\\"))
                or ".." in parts
                or (len(member) > 1 and member[1] == ":")
            ):
                raise ImageRejected(
                    f"{name}: member {member!r} has an unsafe path (absolute or containing '..')."
                )
            if info.is_dir() or parts[0] == "__MACOSX" or parts[-1].startswith("."):
                continue
            if member.lower().endswith((".zip", ".jar", ".tar", ".gz", ".tgz", ".7z", ".rar")):
                raise ImageRejected(f"{name}: nested archives are not accepted ({member!r}).")
            total += info.file_size
            if total > max_total_bytes:
                raise ImageRejected(
                    f"{name}: archive expands to more than {max_total_bytes:,} bytes; split it or raise the limit."
                )
            members.append(info)
        if len(members) > max_members:
            raise ImageRejected(
                f"{name}: archive holds {len(members)} files; the limit is {max_members}."
            )
        if not members:
            raise ImageRejected(f"{name}: archive contains no files.")
        for info in members:
            try:
                with archive.open(info) as handle:
                    # At most the declared size + 1: a lying header cannot expand without bound.
                    content = handle.read(info.file_size + 1)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                # A CRC or size that does not match the data, corrupt or truncated compressed
                # data, an unsupported compression method, an encrypted member.
                raise ImageRejected(
                    f"{name}: member {info.filename!r} cannot be read ({exc})."
                ) from None
            if len(content) > info.file_size:
                raise ImageRejected(
                    f"{name}: member {info.filename!r} is larger than its header says."
                )
            if is_zip(content):
                raise ImageRejected(
                    f"{name}: nested archives are not accepted ({info.filename!r})."
                )
            yield info.filename, content
