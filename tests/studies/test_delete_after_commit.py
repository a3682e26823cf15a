"""Stored files go only once the deletion of their rows has committed: a deletion that rolls
back leaves rows pointing at files that still exist."""

from __future__ import annotations

import pytest
from django.db import transaction

from studies import generation, services
from studies.models import ReferenceImage, Stimulus

pytestmark = pytest.mark.django_db


class Abort(Exception):
    pass


def _rolled_back(action) -> None:
    """Run `action` in a transaction that then rolls back."""
    try:
        with transaction.atomic():
            action()
            raise Abort
    except Abort:
        pass


def _exists(fieldfile) -> bool:
    return fieldfile.storage.exists(fieldfile.name)


def test_an_image_set_deletion_that_rolls_back_keeps_its_files(
    alice, image_set, django_capture_on_commit_callbacks
):
    image = ReferenceImage.objects.get(image_set=image_set)
    _rolled_back(lambda: services.image_set_delete(image_set=image_set, by=alice))
    image.refresh_from_db()
    assert _exists(image.file) and _exists(image.thumbnail)
    with django_capture_on_commit_callbacks(execute=True):
        services.image_set_delete(image_set=type(image_set).objects.get(), by=alice)
    assert not _exists(image.file)


def test_discarding_generated_stimuli_that_rolls_back_keeps_them(
    alice, study, generate, django_capture_on_commit_callbacks
):
    generate(study, by=alice)
    stimulus = Stimulus.objects.filter(study=study).first()
    _rolled_back(lambda: generation.generation_discard(study=study))
    stimulus.refresh_from_db()
    assert _exists(stimulus.file)
    with django_capture_on_commit_callbacks(execute=True):
        generation.generation_discard(study=study)
    assert not _exists(stimulus.file)
    assert not Stimulus.objects.filter(study=study).exists()
