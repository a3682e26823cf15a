"""A corpus of hostile and odd uploads, generated in code, sent through the real HTTP upload
endpoints: the image upload API, the admin's image-set form and the dataset import API.

For every file and endpoint: never a 5xx. A refused file stores no row and no file (the media
folder is compared before and after). An accepted odd image is stored as 8-bit RGB and records
what was converted (`conversion`, shown in the API and the admin).
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from analysis.models import Dataset, DatasetItem
from studies.models import ReferenceImage

pytestmark = pytest.mark.django_db

BOMB_LIMIT = 8 * 1024 * 1024  # PERCEPTLAB_MAX_ZIP_BYTES for the zip bomb (expands to 64 MB)


# ---------------------------------------------------------------------------------------------
# Makers
# ---------------------------------------------------------------------------------------------


def _noise(width=96, height=80, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB")


def _encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _png(seed=0) -> bytes:
    return _encode(_noise(seed=seed), "PNG")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _raw_png(width: int, height: int, *, depth: int, colour: int, rows: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def _png_48bit() -> bytes:
    rng = np.random.default_rng(4)
    samples = rng.integers(0, 65535, size=(80, 96 * 3), dtype=np.uint16)
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in samples)
    return _raw_png(96, 80, depth=16, colour=2, rows=rows)


def _png_huge_dimensions() -> bytes:
    # Declares 100,000 × 100,000 px (10 G pixels) in 200 bytes: refused before decoding.
    return _raw_png(100_000, 100_000, depth=8, colour=0, rows=b"\x00" * 1000)


def _png_with_html() -> bytes:
    """A valid PNG carrying an HTML page in a text chunk (an image/HTML polyglot)."""
    data = _png(seed=3)
    html = b"comment\x00<html><script>alert(document.cookie)</script></html>"
    at = data.index(b"IEND") - 4
    return data[:at] + _chunk(b"tEXt", html) + data[at:]


def _cmyk_jpeg() -> bytes:
    return _encode(_noise(seed=5).convert("CMYK"), "JPEG", quality=90)


def _palette_alpha_png() -> bytes:
    image = _noise(seed=6).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _encode(image, "PNG", transparency=0)


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (90, 80), (20 * i, 120, 30)) for i in range(7)]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40)


def _exif_rotated_jpeg() -> bytes:
    image = _noise(120, 80, seed=7)
    exif = image.getexif()
    exif[0x0112] = 6
    return _encode(image, "JPEG", exif=exif, quality=90)


def _zip(members: dict[str, bytes], *, compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _zip_with_symlink() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.png", _png(seed=8))
        info = zipfile.ZipInfo("passwd.png")
        info.create_system = 3  # unix
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _lying_zip(field: str) -> bytes:
    """Headers (local and central) that lie about the first member's CRC-32 or size."""
    data = bytearray(_zip({"a.png": _png(seed=9), "b.png": _png(seed=10)}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    real = info.CRC if field == "crc" else info.file_size
    lie = struct.pack("<I", (real ^ 0x5A5A5A5A) if field == "crc" else real - 100)
    local, central = (14, 16) if field == "crc" else (22, 24)
    data[info.header_offset + local : info.header_offset + local + 4] = lie
    start = bytes(data).index(b"PK\x01\x02")
    data[start + central : start + central + 4] = lie
    return bytes(data)


def _zip_bomb() -> bytes:
    """64 MB of zeros in a ~64 KB archive (the limit is set to 8 MB expanded)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.png", "w") as member,
    ):
        block = bytes(1024 * 1024)
        for _ in range(64):
            member.write(block)
    return buffer.getvalue()


def _zip_bomb_lying() -> bytes:
    """The same zeros with headers claiming 1 KB: reads are bounded by the claim."""
    data = bytearray(_zip_bomb())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    lie = struct.pack("<I", 1024)
    data[info.header_offset + 22 : info.header_offset + 26] = lie
    start = bytes(data).index(b"PK\x01\x02")
    data[start + 24 : start + 28] = lie
    return bytes(data)


@dataclass(frozen=True)
class Case:
    make: object
    name: str
    accepted: bool
    expect: str  # a word of the refusal, or of the recorded conversion ("" = none expected)


LONG_NAME = "a" * 300 + ".png"
UNICODE_NAME = "фото \u202egnp.exe 📷 ünïcödé.png"  # includes a right-to-left override

CORPUS = {
    "zip slip": Case(lambda: _zip({"../../evil.png": _png()}), "slip.zip", False, "unsafe path"),
    "zip absolute path": Case(lambda: _zip({"/tmp/evil.png": _png()}), "abs.zip", False, "unsafe"),
    "nested zip": Case(
        lambda: _zip({"inner.zip": _zip({"a.png": _png()})}), "nest.zip", False, "nested"
    ),
    "nested zip renamed .png": Case(
        lambda: _zip({"a.png": _png(), "b.png": _zip({"c.png": _png()})}), "n.zip", False, "nested"
    ),
    "zip lying about a CRC": Case(lambda: _lying_zip("crc"), "crc.zip", False, "cannot be read"),
    "zip lying about a size": Case(lambda: _lying_zip("size"), "size.zip", False, "a.png"),
    "symlink in zip": Case(_zip_with_symlink, "link.zip", False, "symbolic link"),
    "zip bomb": Case(_zip_bomb, "bomb.zip", False, "expands to more than"),
    "zip bomb lying about its size": Case(_zip_bomb_lying, "bomb2.zip", False, "zeros.png"),
    "huge-dimension png": Case(_png_huge_dimensions, "huge.png", False, "decompression bomb"),
    "truncated png": Case(lambda: _png()[:300], "cut.png", False, "damaged or truncated"),
    "html named .png": Case(
        lambda: b"<!doctype html><script>alert(1)</script>", "page.png", False, "not an image"
    ),
    "svg with script": Case(
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "vector.svg",
        False,
        "not an image",
    ),
    "zero bytes": Case(lambda: b"", "empty.png", False, "empty"),
    "long file name": Case(lambda: _png(seed=11), LONG_NAME, True, ""),
    "unicode file name": Case(lambda: _png(seed=12), UNICODE_NAME, True, ""),
    "png carrying html": Case(_png_with_html, "poly.png", True, ""),
    "48-bit png": Case(_png_48bit, "deep.png", True, "48-bit RGB (16 bits per channel)"),
    "16-bit grey png": Case(
        lambda: _encode(Image.fromarray(np.full((80, 96), 50000, dtype=np.uint16)), "PNG"),
        "grey16.png",
        True,
        "16-bit greyscale",
    ),
    "cmyk jpeg": Case(_cmyk_jpeg, "print.jpg", True, "CMYK converted to RGB"),
    "palette with alpha png": Case(
        _palette_alpha_png, "pal.png", True, "palette with transparency"
    ),
    "animated gif": Case(_animated_gif, "anim.gif", True, "first frame of 7 (animated GIF)"),
    "exif-rotated jpeg": Case(_exif_rotated_jpeg, "phone.jpg", True, "EXIF orientation 6 applied"),
}
assert len(CORPUS) >= 15


@pytest.fixture
def corpus_settings(settings):
    settings.PERCEPTLAB_MAX_ZIP_BYTES = BOMB_LIMIT
    return settings


def _media(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


def _check_stored(image: ReferenceImage, case: Case, name: str) -> None:
    assert case.expect in image.conversion, image.conversion
    # Kept for the researcher (the last 255 characters), without the right-to-left override
    # (Django's upload parser drops it: it could disguise the name's end).
    assert image.original_name == name.replace("\u202e", "")[-255:]
    with image.file.open("rb") as handle:
        data = handle.read()
    assert b"<script" not in data  # stored re-encoded, metadata and all else dropped
    stored = Image.open(io.BytesIO(data))
    assert (stored.format, stored.mode) == ("PNG", "RGB")


# ---------------------------------------------------------------------------------------------
# The image upload API
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", list(CORPUS))
def test_the_image_upload_api(api, alice, image_set, corpus_settings, label):
    case = CORPUS[label]
    rows, files = ReferenceImage.objects.count(), _media(corpus_settings)
    response = api.as_user(alice).post(
        f"/api/image-sets/{image_set.pk}/images/upload/",
        {"file": SimpleUploadedFile(case.name, case.make())},
        format="multipart",
    )
    assert response.status_code < 500, response.content
    if not case.accepted:
        assert response.status_code == 400, response.json()
        assert case.expect in response.json()["error"]["message"]
        assert ReferenceImage.objects.count() == rows
        assert _media(corpus_settings) == files
        return
    assert response.status_code == 201, response.json()
    (created,) = response.json()["created"]
    assert case.expect in created["conversion"]
    _check_stored(ReferenceImage.objects.get(pk=created["id"]), case, case.name)


# ---------------------------------------------------------------------------------------------
# The admin's image-set uploader
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", list(CORPUS))
def test_the_admin_image_set_uploader(client, alice, image_set, corpus_settings, label):
    case = CORPUS[label]
    client.force_login(alice)
    rows, files = ReferenceImage.objects.count(), _media(corpus_settings)
    response = client.post(
        f"/admin/studies/imageset/{image_set.pk}/upload/",
        {"file": SimpleUploadedFile(case.name, case.make())},
    )
    assert response.status_code < 500
    result = response.json()
    if not case.accepted:
        assert response.status_code == 400
        if case.name == "empty.png":
            assert "the file is empty" in result["error"]
        else:
            assert case.expect in result["error"], result
        assert ReferenceImage.objects.count() == rows
        assert _media(corpus_settings) == files
        return
    assert response.status_code == 200 and len(result["accepted"]) == 1
    assert ReferenceImage.objects.count() == rows + 1
    _check_stored(ReferenceImage.objects.order_by("-pk").first(), case, case.name)


# ---------------------------------------------------------------------------------------------
# The dataset import API (archives)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", list(CORPUS))
def test_the_dataset_import_api(
    api, alice, corpus_settings, label, django_capture_on_commit_callbacks
):
    """None of these is a BAPPS folder: each is refused up front (400, nothing stored), or, if
    its directory looks sound, fails on the worker with nothing imported."""
    case = CORPUS[label]
    files = _media(corpus_settings)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(
            "/api/datasets/import/",
            {"name": label, "archive": SimpleUploadedFile(case.name, case.make())},
            format="multipart",
        )
    assert response.status_code < 500, response.content
    if response.status_code == 400:
        assert not Dataset.objects.exists()
        assert _media(corpus_settings) == files
        return
    assert response.status_code == 202, response.json()
    dataset = Dataset.objects.get()
    assert dataset.status == "failed" and dataset.error
    assert not DatasetItem.objects.exists()
    assert not any(name.startswith("datasets/") for name in _media(corpus_settings))
