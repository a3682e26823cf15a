"""Files a killed generation chunk (or upload) wrote before committing its rows: the re-run uses
them instead of writing suffixed copies, and a worker starting deletes those no row names."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studies import generation
from studies.models import Stimulus, Study, Trial

pytestmark = pytest.mark.django_db


def _files(settings, folder: str) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in (root / folder).rglob("*") if p.is_file()}


def test_a_rerun_chunk_uses_the_files_a_killed_chunk_left(study, generate, settings):
    study = generate(study)
    assert study.status == Study.Status.READY
    before = _files(settings, f"stimuli/{study.pk}")
    # What a chunk killed after writing its files but before its commit leaves: files, no rows.
    trial = Trial.objects.filter(study=study, is_practice=False).order_by("index").last()
    Trial.objects.filter(pk=trial.pk).delete()
    Stimulus.objects.filter(study=study).exclude(
        pk__in=Trial.objects.filter(study=study).values("p0")
    ).exclude(pk__in=Trial.objects.filter(study=study).values("p1")).exclude(
        pk__in=Trial.objects.filter(study=study).values("ref")
    ).delete()
    created = generation.generation_run_chunk(study=study, start=trial.index, stop=trial.index + 1)
    assert created == 1
    assert _files(settings, f"stimuli/{study.pk}") == before  # no "_AbC123x.png" copies
    for stimulus in Stimulus.objects.filter(study=study):
        assert Path(stimulus.file.name).name == f"{stimulus.sha256}.png"


def test_a_cut_short_file_is_replaced_not_kept(study, generate, settings):
    study = generate(study)
    trial = Trial.objects.filter(study=study, is_practice=False).order_by("index").last()
    p1 = trial.p1
    Trial.objects.filter(pk=trial.pk).delete()
    Stimulus.objects.filter(pk=p1.pk).delete()
    if Stimulus.objects.filter(file=p1.file.name).exists():
        pytest.skip("this stimulus's file is shared by another stimulus")
    full = default_storage.open(p1.file.name).read()
    default_storage.delete(p1.file.name)
    default_storage.save(p1.file.name, ContentFile(full[: len(full) // 2]))  # killed mid-write
    generation.generation_run_chunk(study=study, start=trial.index, stop=trial.index + 1)
    again = Trial.objects.get(study=study, index=trial.index).p1
    assert again.file.name == p1.file.name
    assert default_storage.open(again.file.name).read() == full


def test_a_worker_starting_deletes_files_no_row_names(study, generate, settings, image_set):
    from studies.tasks import clean_up_after_dead_workers

    study = generate(study)
    kept = _files(settings, "stimuli") | _files(settings, "reference")
    orphans = [
        f"stimuli/{study.pk}/ab/{'ab' * 32}.png",
        f"reference/cd/{'cd' * 32}.png",
        f"models/{'ef' * 32}.bin",
    ]
    for name in orphans:
        default_storage.save(name, ContentFile(b"left by a killed task"))
    settings.PERCEPTLAB_ORPHAN_GRACE_S = 3600
    clean_up_after_dead_workers()
    assert all(default_storage.exists(n) for n in orphans)  # too recent: a task may be at work
    settings.PERCEPTLAB_ORPHAN_GRACE_S = 0
    clean_up_after_dead_workers()
    assert not any(default_storage.exists(n) for n in orphans)
    assert _files(settings, "stimuli") | _files(settings, "reference") == kept
    for stimulus in Stimulus.objects.filter(study=study):
        assert default_storage.exists(stimulus.file.name)


def test_a_retried_generation_deletes_what_killed_chunks_left(study, generate, settings):
    settings.PERCEPTLAB_ORPHAN_GRACE_S = 0
    name = f"stimuli/{study.pk}/ab/{'ab' * 32}.png"
    default_storage.save(name, ContentFile(b"left by a killed chunk"))
    study = generate(study)  # the generation task starts with the clean-up
    assert study.status == Study.Status.READY
    assert not default_storage.exists(name)
