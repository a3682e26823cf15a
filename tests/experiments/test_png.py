"""Deterministic PNG encoding: same pixels, same bytes, no metadata chunks."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import experiments


def _chunk_types(data: bytes) -> list[bytes]:
    types, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        types.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return types


def test_encoding_is_deterministic_and_lossless(patches):
    data = experiments.encode_png(patches[0])
    assert data == experiments.encode_png(patches[0].copy())
    assert np.array_equal(experiments.decode_png(data), patches[0])
    assert _chunk_types(data)[0] == b"IHDR"
    assert _chunk_types(data)[-1] == b"IEND"
    assert set(_chunk_types(data)) == {b"IHDR", b"IDAT", b"IEND"}  # no tIME, tEXt, pHYs


def test_non_contiguous_and_grey_arrays_encode(patches):
    view = patches[0][:, ::-1]
    assert np.array_equal(experiments.decode_png(experiments.encode_png(view)), view)
    grey = patches[0][..., 0].copy()
    assert np.array_equal(experiments.decode_png(experiments.encode_png(grey))[..., 1], grey)


@pytest.mark.parametrize(
    "array", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), "pixels"]
)
def test_encoding_rejects_other_arrays(array):
    with pytest.raises(ValueError, match="encode_png needs"):
        experiments.encode_png(array)


def test_decoding_rejects_non_png():
    with pytest.raises(ValueError, match="not a readable PNG"):
        experiments.decode_png(b"not an image")


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (64, 64, 3), (5, 9)])
def test_random_arrays_round_trip_through_pillow(shape):
    array = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    decoded = experiments.decode_png(experiments.encode_png(array))
    expected = array if array.ndim == 3 else np.repeat(array[..., None], 3, axis=2)
    assert np.array_equal(decoded, expected)


def test_empty_arrays_are_refused():
    with pytest.raises(ValueError, match="non-empty"):
        experiments.encode_png(np.zeros((0, 4, 3), np.uint8))
