"""Shared fixtures: personas (as in healthchecks), API clients and tiny images.

- alice: researcher who owns the objects under test
- bob: researcher and collaborator on alice's objects
- charlie: researcher with no access to alice's objects
- anonymous: not logged in
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path, tmp_path_factory):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Server-folder imports are off by default; tests import BAPPS folders they write under
    # pytest's temporary folder, so that is their import root (tests of the root set their own).
    settings.PERCEPTLAB_IMPORT_ROOT = str(tmp_path_factory.getbasetemp())
    settings.PERCEPTLAB_SCRATCH_DIR = str(tmp_path_factory.getbasetemp() / "scratch")


def make_png(width: int = 96, height: int = 80, mode: str = "RGB", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    if mode in ("I;16",):
        array = rng.integers(0, 65535, size=(height, width), dtype=np.uint16)
        image = Image.fromarray(array)
    else:
        array = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
        image = Image.fromarray(array, "RGB")
        if mode != "RGB":
            image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG" if mode != "CMYK" else "JPEG")
    return buffer.getvalue()


@pytest.fixture
def png_bytes():
    return make_png


@pytest.fixture
def researchers(django_user_model):
    make = django_user_model.objects.create_user
    return {
        "alice": make("alice", password="pw-alice-123", is_staff=True),
        "bob": make("bob", password="pw-bob-123", is_staff=True),
        "charlie": make("charlie", password="pw-charlie-123", is_staff=True),
    }


@pytest.fixture
def alice(researchers):
    return researchers["alice"]


@pytest.fixture
def bob(researchers):
    return researchers["bob"]


@pytest.fixture
def charlie(researchers):
    return researchers["charlie"]


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates it (None for anonymous)."""

    class Client(APIClient):
        def as_user(self, user):
            self.force_authenticate(user=None)
            self.logout()
            if user is not None:
                self.force_authenticate(user=user)
            return self

    return Client()


@pytest.fixture
def image_set(alice, bob):
    from studies import services

    image_set = services.image_set_create(owner=alice, name="alice's photos", collaborators=[bob])
    services.reference_images_upload(
        image_set=image_set, data=make_png(128, 100, seed=1), name="one.png"
    )
    return image_set


@pytest.fixture
def study(alice, bob, image_set):
    """A draft 2AFC study with a valid (tiny) design: two traditional distortions, 4 val trials."""
    from studies import services

    study = services.study_create(
        owner=alice, name="Alice study", image_set=image_set, collaborators=[bob], sentinel_rate=0.2
    )
    services.distortion_spec_add(study=study, name="gaussian_blur", category="traditional")
    services.distortion_spec_add(study=study, name="jpeg", category="traditional")
    services.trial_quota_set(study=study, kind="2afc", split="val", category="traditional", count=4)
    return study


@pytest.fixture
def generate(django_capture_on_commit_callbacks):
    """Run a study's generation synchronously (tasks are eager in tests): draft → ready."""
    from studies import services

    def run(study, by=None):
        with django_capture_on_commit_callbacks(execute=True):
            services.study_transition(study=study, to="generating", by=by)
        study.refresh_from_db()
        return study

    return run
