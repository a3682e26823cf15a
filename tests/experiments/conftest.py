"""Shared fixtures: skimage's bundled photographs, patches cut from them, and tiny trained models.

Everything is session-scoped and small: the models train for a handful of steps, enough to have
real weights whose outputs depend on the input, not to be good.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import skimage.data

import experiments
from experiments import models

IMAGE_LOADERS = (
    skimage.data.astronaut,
    skimage.data.coffee,
    skimage.data.chelsea,
    skimage.data.rocket,
)
MODEL_STEPS = 6


@pytest.fixture(scope="session")
def images() -> dict[str, np.ndarray]:
    """SHA-256 of the PNG file → H×W×3 uint8 image."""
    out = {}
    for load in IMAGE_LOADERS:
        image = np.ascontiguousarray(load())
        out[hashlib.sha256(experiments.encode_png(image)).hexdigest()] = image
    return out


@pytest.fixture(scope="session")
def patches(images) -> list[np.ndarray]:
    """50 textured 64×64 patches spread over the four images."""
    out = []
    for k, (sha, image) in enumerate(sorted(images.items())):
        records = experiments.sample_patches(image, image_sha256=sha, seed=k, count=13)
        out.extend(r.pixels for r in records)
    return out[:50]


@pytest.fixture(scope="session")
def trained(patches) -> dict[str, experiments.TrainedModel]:
    """One tiny trained model per kind, on CPU."""
    return {
        kind: experiments.train_model(kind, patches[:24], seed=5, steps=MODEL_STEPS, device="cpu")
        for kind in models.model_kinds()
    }


@pytest.fixture(scope="session")
def model_store(trained) -> dict[str, bytes]:
    """sha256 → bytes, as the platform's storage would hold them."""
    return {m.sha256: m.data for m in trained.values()}


def sampling_options(name: str, trained: dict[str, experiments.TrainedModel]) -> dict:
    """The ``models`` option a model-backed distortion needs, else nothing."""
    kind = experiments.get_distortion(name).info.model_kind
    return {"models": [trained[kind].sha256]} if kind else {}


@pytest.fixture
def empty_model_cache(trained):
    """Start with no model loaded in this process; put the session's models back afterwards."""
    models.clear()
    yield
    models.clear()
    for model in trained.values():
        models.remember(model.data)
