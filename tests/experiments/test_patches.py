"""Patch sampling: determinism by (seed, sha256, index), boxes, rescaling, flat-patch skipping,
and errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

import experiments
from experiments.patches import FLAT_VARIANCE, MAX_ATTEMPTS, is_flat

SHA = "ab" * 32


def _luma_var(patch):
    return float((patch.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).var())


def test_patches_are_deterministic_and_addressable_by_index(images):
    sha, image = sorted(images.items())[0]
    full = experiments.sample_patches(image, image_sha256=sha, seed=3, count=8, rescale=(0.5, 2))
    again = experiments.sample_patches(image, image_sha256=sha, seed=3, count=8, rescale=(0.5, 2))
    tail = experiments.sample_patches(
        image, image_sha256=sha, seed=3, count=3, start=5, rescale=(0.5, 2)
    )
    assert [p.box for p in full] == [p.box for p in again]
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(full, again, strict=True))
    assert [p.to_dict() for p in full[5:]] == [p.to_dict() for p in tail]
    other_seed = experiments.sample_patches(image, image_sha256=sha, seed=4, count=8)
    other_sha = experiments.sample_patches(image, image_sha256="cd" * 32, seed=3, count=8)
    assert [p.box for p in other_seed] != [p.box for p in full[:8]]
    assert [p.box for p in other_sha] != [p.box for p in other_seed]


def test_boxes_are_squares_inside_the_image_and_crop_back_to_the_pixels(images):
    for sha, image in images.items():
        h, w = image.shape[:2]
        for record in experiments.sample_patches(
            image, image_sha256=sha, seed=1, count=10, size=48, rescale=(0.4, 3.0)
        ):
            left, top, right, bottom = record.box
            assert 0 <= left < right <= w
            assert 0 <= top < bottom <= h
            assert right - left == bottom - top
            assert record.pixels.shape == (48, 48, 3)
            assert record.pixels.dtype == np.uint8
            assert record.scale == pytest.approx(48 / (right - left))
            assert 0.4 * 0.9 <= record.scale <= 3.0 * 1.1
            assert np.array_equal(experiments.crop_patch(image, record.box, 48), record.pixels)


def test_without_rescale_patches_are_plain_crops(images):
    sha, image = sorted(images.items())[1]
    record = experiments.sample_patch(image, image_sha256=sha, seed=0, index=7)
    left, top, right, bottom = record.box
    assert record.scale == 1.0
    assert np.array_equal(record.pixels, image[top:bottom, left:right])


def test_it_skips_flat_patches():
    # A flat grey image with one textured square: only crops overlapping it may be returned.
    rng = np.random.default_rng(0)
    image = np.full((200, 200, 3), 90, np.uint8)
    image[120:160, 30:70] = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    records = experiments.sample_patches(image, image_sha256=SHA, seed=2, count=12, size=32)
    assert all(not is_flat(r.pixels) for r in records)
    assert all(_luma_var(r.pixels) >= FLAT_VARIANCE for r in records)
    assert any(r.attempt > 0 for r in records)


def test_a_flat_image_is_a_clear_error():
    image = np.full((100, 100, 3), 40, np.uint8)
    image[::2] += 1  # luma variance 0.25, far below the threshold
    with pytest.raises(
        ValueError, match=f"after {MAX_ATTEMPTS} attempts: the image is nearly flat"
    ):
        experiments.sample_patch(image, image_sha256=SHA, seed=0, index=0, size=32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 128}, r"patch of 128×128 needs a 128×128 crop, larger than the 120×100 image"),
        ({"rescale": (0.5, 1.0)}, r"at scale 0.5 needs a 128×128 crop"),
        ({"count": 0}, "count must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"seed": 1.5}, "seed must be an integer >= 0"),
        ({"size": 8}, "size must be an integer >= 16"),
        ({"image_sha256": "ABC"}, "image_sha256 must be a lowercase SHA-256"),
        ({"rescale": (2.0, 1.0)}, "rescale must satisfy"),
        ({"rescale": (0.0, 1.0)}, "rescale must satisfy"),
        ({"rescale": "big"}, "rescale must be None or a"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    image = np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    arguments = {"image_sha256": SHA, "seed": 0, "count": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        experiments.sample_patches(image, **arguments)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((80, 80), np.uint8),
        np.zeros((80, 80, 4), np.uint8),
        np.zeros((80, 80, 3), np.float32),
    ],
)
def test_images_must_be_rgb_uint8(image):
    with pytest.raises(ValueError, match="image must"):
        experiments.sample_patch(image, image_sha256=SHA, seed=0, index=0)


def test_crop_box_outside_the_image_is_an_error():
    image = np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(ValueError, match="not a square inside the 60×50 image"):
        experiments.crop_patch(image, (40, 0, 70, 30), 16)
    with pytest.raises(ValueError, match="not a square"):
        experiments.crop_patch(image, (0, 0, 20, 30), 16)
