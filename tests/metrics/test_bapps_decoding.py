"""Decoding BAPPS images: libspng (pyspng) for 8-bit RGB PNGs, Pillow for everything else, with
the same pixels either way (metrics/bapps/images.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import metrics.bapps.images as images
from metrics.bapps import BappsError
from metrics.bapps.images import load_image


def _pixels(seed: int, shape=(64, 64, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _pillow_rgb(path) -> np.ndarray:
    with Image.open(path) as opened:
        return np.asarray(opened.convert("RGB"))


@pytest.fixture
def spng_calls(monkeypatch):
    """Count the files libspng decodes."""
    calls = []
    real = images._spng_load
    assert real is not None, "pyspng is a declared dependency"

    def spy(data):
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(images, "_spng_load", spy)
    return calls


@pytest.mark.parametrize("save_options", [{}, {"compress_level": 9}, {"optimize": True}])
def test_rgb8_pngs_decode_through_libspng_to_the_pillow_pixels(tmp_path, spng_calls, save_options):
    path = tmp_path / "a.png"
    Image.fromarray(_pixels(0)).save(path, **save_options)
    got = load_image(path)
    assert spng_calls, "libspng was not used"
    assert got.dtype == np.uint8 and got.shape == (64, 64, 3)
    assert np.array_equal(got, _pillow_rgb(path))


def test_a_gamma_chunk_is_ignored_as_pillow_ignores_it(tmp_path, spng_calls):
    path = tmp_path / "g.png"
    info = {"gamma": 0.3}  # Pillow writes gAMA; neither decoder applies it
    Image.fromarray(_pixels(1)).save(path, **info)
    assert np.array_equal(load_image(path), _pillow_rgb(path))
    assert spng_calls


@pytest.mark.parametrize(
    "mode",
    ["RGBA", "P", "L", "LA", "I;16"],
)
def test_other_png_kinds_go_through_pillow_and_become_rgb(tmp_path, spng_calls, mode):
    base = Image.fromarray(_pixels(2))
    converted = base.convert("RGBA" if mode == "RGBA" else "L" if mode == "I;16" else mode)
    if mode == "I;16":
        converted = Image.fromarray(np.asarray(converted).astype(np.uint16) * 257)
    path = tmp_path / f"{mode.replace(';', '')}.png"
    converted.save(path)
    got = load_image(path)
    assert not spng_calls
    assert got.shape == (64, 64, 3)
    assert np.array_equal(got, _pillow_rgb(path))


def test_the_resize_rule_is_the_same_on_the_libspng_path(tmp_path, spng_calls):
    path = tmp_path / "big.png"
    Image.fromarray(_pixels(3, (96, 128, 3))).save(path)
    got = load_image(path, load_size=64)
    assert spng_calls
    with Image.open(path) as opened:
        expected = np.asarray(images.resize_short_side(opened.convert("RGB"), 64))
    assert got.shape == (64, 85, 3)
    assert np.array_equal(got, expected)


def test_a_truncated_rgb_png_is_reported_by_name(tmp_path, spng_calls):
    path = tmp_path / "cut.png"
    Image.fromarray(_pixels(4)).save(path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(BappsError, match=r"cut\.png: unreadable image"):
        load_image(path)


def test_a_corrupted_rgb_png_is_reported_by_name(tmp_path):
    path = tmp_path / "bad.png"
    Image.fromarray(_pixels(5)).save(path)
    data = bytearray(path.read_bytes())
    data[60:80] = bytes(20)  # inside the image data
    path.write_bytes(bytes(data))
    with pytest.raises(BappsError, match=r"bad\.png: unreadable image"):
        load_image(path)


def test_without_pyspng_pillow_reads_the_same_pixels(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    Image.fromarray(_pixels(6)).save(path)
    fast = load_image(path)
    monkeypatch.setattr(images, "_spng_load", None)
    assert np.array_equal(load_image(path), fast)


@pytest.mark.parametrize(
    "value", [np.float32(0.25), np.float64(1.0), np.array([0.5]), np.array([[0]], dtype=np.int64)]
)
def test_fractions_read_fast_equal_numpy_load(tmp_path, value):
    path = tmp_path / "j.npy"
    np.save(path, value)
    assert images._read_small_npy(path) is not None
    assert images.load_fraction(path, "judge") == float(np.load(path).reshape(-1)[0])


def test_unusual_npy_files_fall_back_to_numpy_and_its_errors(tmp_path):
    fortran = tmp_path / "f.npy"
    np.save(fortran, np.asfortranarray(np.zeros((2, 2))))
    assert images._read_small_npy(fortran) is None
    with pytest.raises(BappsError, match="expected one number"):
        images.load_fraction(fortran, "judge")
    cut = tmp_path / "cut.npy"
    np.save(cut, np.array([0.5, 0.25]))
    cut.write_bytes(cut.read_bytes()[:-4])
    assert images._read_small_npy(cut) is None
    with pytest.raises(BappsError, match=r"cut\.npy: unreadable \.npy file"):
        images.load_fraction(cut, "judge")
    objects = tmp_path / "o.npy"
    np.save(objects, np.array([0.5], dtype=object), allow_pickle=True)
    with pytest.raises(BappsError, match=r"o\.npy: unreadable \.npy file"):
        images.load_fraction(objects, "judge")
