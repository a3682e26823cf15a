"""Uploading reference images: conversions are recorded, bad files are refused and write nothing."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from studies.models import ReferenceImage
from tests.conftest import make_png

pytestmark = pytest.mark.django_db


def _upload(api, user, image_set, data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api.as_user(user).post(
        f"/api/image-sets/{image_set.pk}/images/upload/",
        {"file": SimpleUploadedFile(name, data)},
        format="multipart",
    )


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_it_stores_an_rgb_png_with_hash_size_and_thumbnail(api, alice, image_set):
    response = _upload(api, alice, image_set, make_png(200, 150, seed=7), "photo.png")
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert (
        created["width"],
        created["height"],
        created["original_mode"],
        created["conversion"],
    ) == (200, 150, "RGB", "")
    image = ReferenceImage.objects.get(pk=created["id"])
    stored = Image.open(image.file.open("rb"))
    assert stored.mode == "RGB"
    assert stored.size == (200, 150)
    assert max(Image.open(image.thumbnail.open("rb")).size) <= 128
    assert api.get(f"/api/images/{image.pk}/thumbnail/").status_code == 200


def test_it_deduplicates_by_pixel_hash(api, alice, image_set):
    data = make_png(100, 100, seed=3)
    assert _upload(api, alice, image_set, data, "a.png").status_code == 201
    # The same pixels re-encoded differently are still the same image.
    again = _encode(Image.open(io.BytesIO(data)), "PNG", compress_level=1)
    response = _upload(api, alice, image_set, again, "b.png")
    assert response.status_code == 200
    assert len(response.json()["duplicates"]) == 1
    assert response.json()["created"] == []


@pytest.mark.parametrize(
    ("mode", "maker", "expected"),
    [
        ("I;16", lambda: Image.fromarray(np.full((80, 90), 40000, dtype=np.uint16)), "16-bit"),
        ("CMYK", lambda: Image.new("CMYK", (90, 80), (10, 20, 30, 0)), "CMYK"),
        ("P", lambda: Image.new("RGB", (90, 80), (200, 10, 10)).convert("P"), "palette"),
        ("RGBA", lambda: Image.new("RGBA", (90, 80), (0, 0, 0, 0)), "alpha composited on white"),
    ],
)
def test_it_converts_other_modes_to_8bit_rgb_and_records_it(
    api, alice, image_set, mode, maker, expected
):
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    response = _upload(api, alice, image_set, _encode(maker(), fmt), f"odd.{fmt.lower()}")
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert created["original_mode"] == mode
    assert expected in created["conversion"]
    stored = Image.open(ReferenceImage.objects.get(pk=created["id"]).file.open("rb"))
    assert stored.mode == "RGB"
    if mode == "RGBA":  # fully transparent black on white is white
        assert stored.getpixel((0, 0)) == (255, 255, 255)
    if mode == "I;16":  # 40000/257 rounds to 156
        assert stored.getpixel((0, 0)) == (156, 156, 156)


def _truncated_png() -> bytes:
    data = make_png(120, 120, seed=5)
    return data[: len(data) // 2]


def _bomb_png() -> bytes:
    # A tiny file that decodes to a huge image: 20000×20000 px of one colour.
    return _encode(Image.new("L", (20000, 20000)), "PNG", optimize=True)


def _lying_zip(field: str) -> bytes:
    """A zip whose headers (local and central) lie about the first member's CRC-32 or its
    uncompressed size: the archive opens, reading the member fails."""
    import struct

    data = bytearray(_zip({"a.png": make_png(80, 80, seed=3), "b.png": make_png(80, 80, seed=4)}))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.infolist()[0]
    real = info.CRC if field == "crc" else info.file_size
    lie = struct.pack("<I", (real ^ 0x5A5A5A5A) if field == "crc" else real - 100)
    local, central = 14 if field == "crc" else 22, 16 if field == "crc" else 24
    data[info.header_offset + local : info.header_offset + local + 4] = lie
    start = bytes(data).index(b"PK\x01\x02")  # the first central directory entry
    data[start + central : start + central + 4] = lie
    return bytes(data)


BAD_UPLOADS = {
    "zip lying about a member's CRC": (lambda: _lying_zip("crc"), "crc.zip", "cannot be read"),
    "zip lying about a member's size": (lambda: _lying_zip("size"), "size.zip", "a.png"),
    "not an image": (
        lambda: b"%PDF-1.4 this is not an image at all",
        "doc.png",
        "not an image file",
    ),
    "truncated png": (_truncated_png, "cut.png", "damaged or truncated"),
    "decompression bomb": (_bomb_png, "bomb.png", "decompression bomb"),
    "smaller than patch": (
        lambda: make_png(63, 200),
        "tiny.png",
        "shorter side must be at least 64",
    ),
    "zip with ../ path": (lambda: _zip({"../evil.png": make_png()}), "up.zip", "unsafe path"),
    "zip with absolute path": (
        lambda: _zip({"/etc/evil.png": make_png()}),
        "abs.zip",
        "unsafe path",
    ),
    "nested zip": (
        lambda: _zip({"inner.zip": _zip({"a.png": make_png()})}),
        "nest.zip",
        "nested archives",
    ),
    "nested zip renamed": (
        lambda: _zip({"a.png": make_png(), "b.png": _zip({"c.png": make_png()})}),
        "n2.zip",
        "nested archives",
    ),
    "zip with a bad member": (
        lambda: _zip({"good.png": make_png(), "bad.png": b"junk"}),
        "mixed.zip",
        "bad.png: not an image",
    ),
    "zip with a text file": (
        lambda: _zip({"good.png": make_png(), "notes.txt": b"hi"}),
        "t.zip",
        "not an image file",
    ),
    "empty file": (lambda: b"", "empty.png", "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_it_refuses_bad_uploads_with_a_clear_message_and_writes_nothing(
    api, alice, image_set, settings, case
):
    maker, name, message = BAD_UPLOADS[case]
    before_rows, before_files = ReferenceImage.objects.count(), _media_files(settings)
    response = _upload(api, alice, image_set, maker(), name)
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert message in body["message"], body
    assert ReferenceImage.objects.count() == before_rows
    assert _media_files(settings) == before_files


def test_it_refuses_a_zip_over_the_size_limit(api, alice, image_set, settings):
    settings.PERCEPTLAB_MAX_ZIP_BYTES = 2000
    data = _zip({f"{i}.png": make_png(80, 80, seed=i) for i in range(3)})
    response = _upload(api, alice, image_set, data, "big.zip")
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["message"]
    assert ReferenceImage.objects.count() == 1


def test_a_good_zip_adds_every_image(api, alice, image_set):
    data = _zip(
        {f"dir/{i}.png": make_png(80, 80, seed=10 + i) for i in range(3)} | {"__MACOSX/._x": b"x"}
    )
    response = _upload(api, alice, image_set, data, "ok.zip")
    assert response.status_code == 201, response.json()
    assert len(response.json()["created"]) == 3


def png_16bit_rgb(width: int, height: int, *, alpha: bool = False) -> bytes:
    """A 48-bit RGB (or 64-bit RGBA) PNG written by hand: Pillow cannot write one."""
    import struct
    import zlib

    channels = 4 if alpha else 3
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 65535, size=(height, width * channels), dtype=np.uint16)
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rows)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 16, 6 if alpha else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def exif_rotated_jpeg(width: int = 120, height: int = 80, orientation: int = 6) -> bytes:
    image = Image.new("RGB", (width, height), (0, 0, 0))
    image.paste((255, 0, 0), (0, 0, width // 2, height))  # left half red
    exif = image.getexif()
    exif[0x0112] = orientation
    return _encode(image, "JPEG", exif=exif, quality=95)


def animated_gif(frames: int = 12) -> bytes:
    images = [Image.new("RGB", (90, 80), (20 * i, 100, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=50)
    return buffer.getvalue()


def test_a_48_bit_png_is_reduced_to_8_bits_and_it_is_recorded(api, alice, image_set):
    response = _upload(api, alice, image_set, png_16bit_rgb(90, 80), "deep.png")
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert created["conversion"] == "48-bit RGB (16 bits per channel) reduced to 8 bits per channel"
    image = ReferenceImage.objects.get(pk=created["id"])
    assert image.conversion == created["conversion"]


def test_a_64_bit_rgba_png_records_both_conversions(api, alice, image_set):
    response = _upload(api, alice, image_set, png_16bit_rgb(90, 80, alpha=True), "deep.png")
    assert response.status_code == 201, response.json()
    conversion = response.json()["created"][0]["conversion"]
    assert conversion.startswith(
        "64-bit RGBA (16 bits per channel) reduced to 8 bits per channel; "
    )
    assert "alpha composited on white" in conversion


def test_an_exif_rotation_is_applied_and_recorded(api, alice, image_set):
    response = _upload(api, alice, image_set, exif_rotated_jpeg(), "phone.jpg")
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert created["conversion"] == "EXIF orientation 6 applied (rotated 90° clockwise)"
    assert (created["width"], created["height"]) == (80, 120)  # as the camera meant it
    stored = Image.open(ReferenceImage.objects.get(pk=created["id"]).file.open("rb"))
    red, _, _ = stored.getpixel((40, 5))  # the red left half is now on top
    assert red > 200


def test_an_animated_gif_keeps_its_first_frame_and_records_it(api, alice, image_set):
    response = _upload(api, alice, image_set, animated_gif(12), "moving.gif")
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert created["conversion"].startswith("first frame of 12 (animated GIF)")
    assert "P (palette) converted to RGB" in created["conversion"]
    stored = Image.open(ReferenceImage.objects.get(pk=created["id"]).file.open("rb"))
    assert stored.getpixel((0, 0))[0] < 10  # the first frame's colour (0, 100, 0)


def test_the_conversion_is_shown_in_the_admin(client, alice, image_set, api):
    response = _upload(api, alice, image_set, exif_rotated_jpeg(), "phone.jpg")
    image = ReferenceImage.objects.get(pk=response.json()["created"][0]["id"])
    client.force_login(alice)
    page = client.get(f"/admin/studies/referenceimage/{image.pk}/change/")
    assert page.status_code == 200
    assert "EXIF orientation 6 applied" in page.content.decode()
