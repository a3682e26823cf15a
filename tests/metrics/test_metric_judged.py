"""Tasks judged by a metric (``metrics.training.metric_judged``): shapes, ranges, determinism,
what the bots choose, and a clear error for an unknown distortion."""

from __future__ import annotations

import pytest
import torch

import metrics
from metrics.training import metric_judged as mj


def test_photo_patches_are_64px_crops_of_the_bundled_photographs_in_range():
    photos = mj.photos(mj.HELD_OUT_PHOTOS)
    assert len(photos) == 2 and all(p.shape[0] == 3 and p.dtype == torch.float32 for p in photos)
    patches = mj.photo_patches(photos, 5, seed=1)
    assert [tuple(p.shape) for p in patches] == [(3, 64, 64)] * 5
    assert all(float(p.min()) >= 0 and float(p.max()) <= 1 for p in patches)
    again = mj.photo_patches(photos, 5, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(patches, again, strict=True))


def test_triplets_hold_two_different_distortions_and_the_judge_follows_its_metric():
    refs = mj.structured_images(12, 64, seed=3)
    ref, p0, p1 = mj.two_distortion_triplets(refs, seed=4)
    assert ref.shape == p0.shape == p1.shape == (12, 3, 64, 64)
    assert float(torch.cat([p0, p1]).min()) >= 0 and float(torch.cat([p0, p1]).max()) <= 1
    again = mj.two_distortion_triplets(refs, seed=4)
    assert torch.equal(again[1], p0) and torch.equal(again[2], p1)
    l2 = metrics.create_metric("l2")
    judge = mj.judgments(l2, ref, p0, p1)
    assert mj.agreement(l2, ref, p0, p1, judge) == 1.0  # a metric agrees with itself
    assert mj.agreement(l2, ref, p0, p1, 1 - judge) == 0.0


def test_an_unknown_distortion_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown distortion 'swirl'; use one of blur, noise"):
        mj.distort(torch.zeros(3, 8, 8), "swirl", 0.5, torch.Generator())
