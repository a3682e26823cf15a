"""Generation on the stimuli queue: every family, provenance, idempotent chunks, bad input."""

from __future__ import annotations

import hashlib

import pytest

from common.exceptions import ApplicationError
from studies import generation, services
from studies.models import ModelArtifact, Stimulus, Study, Trial

pytestmark = pytest.mark.django_db

# One category per traditional family so that every family is drawn even with 2 trials each.
FAMILY_PICKS = {
    "traditional": ["lightness_shift", "composed"],
    "noise": ["gaussian_white_noise"],
    "blur": ["gaussian_blur"],
    "spatial": ["affine_warp"],
    "compression": ["jpeg"],
    "cnn": ["cnn_autoencoder"],
    "superres": ["superres_bicubic", "superres_nearest"],
    "deblur": ["deblur_wiener", "deblur_richardson_lucy"],
    "color": ["colorize_grey", "colorize_lut"],
    "frameinterp": ["frameinterp_blend", "frameinterp_flow"],
}


@pytest.fixture
def every_family_study(alice, image_set):
    from tests.conftest import make_png

    services.reference_images_upload(
        image_set=image_set, data=make_png(160, 140, seed=9), name="two.png"
    )
    study = services.study_create(
        owner=alice,
        name="Every family",
        image_set=image_set,
        kind="both",
        sentinel_rate=0.2,
        jnd_identical_share=0.25,
        seed=11,
    )
    for category, names in FAMILY_PICKS.items():
        for name in names:
            services.distortion_spec_add(study=study, name=name, category=category)
        services.trial_quota_set(study=study, kind="2afc", split="val", category=category, count=2)
    services.trial_quota_set(
        study=study, kind="2afc", split="train", category="traditional", count=2
    )
    services.trial_quota_set(study=study, kind="jnd", split="val", category="traditional", count=4)
    return study


def _load_image(study):
    return generation.image_loader(study)


def test_generation_makes_every_family_and_moves_to_ready(every_family_study, generate):
    study = generate(every_family_study)
    assert study.status == Study.Status.READY, study.generation_error
    assert (
        study.generation_done == study.generation_total == Trial.objects.filter(study=study).count()
    )
    regular = Trial.objects.filter(study=study, is_sentinel=False, is_practice=False)
    by_category = {(t.kind, t.split, t.category) for t in regular}
    assert {c for k, s, c in by_category if k == "2afc"} == set(FAMILY_PICKS)
    assert ("2afc", "train", "traditional") in by_category
    # Judgments per trial follow the study's defaults: 2 train, 5 val, 3 JND.
    assert {(t.split, t.kind, t.judgments_needed) for t in regular} == {
        ("val", "2afc", 5),
        ("train", "2afc", 2),
        ("val", "jnd", 3),
    }
    sentinels = Trial.objects.filter(study=study, is_sentinel=True)
    assert sentinels.exists() and all(t.expected for t in sentinels)
    jnd_practice = Trial.objects.filter(study=study, is_practice=True, kind="jnd")
    assert jnd_practice.count() == 10
    assert sum(t.expected == "same" for t in jnd_practice) == 4
    assert Trial.objects.filter(study=study, is_practice=True, kind="2afc").count() == 3
    assert ModelArtifact.objects.filter(study=study, kind="autoencoder").count() == 4
    # Every non-traditional choice shows up (their categories have one task each and few choices).
    names = {
        step["name"] for s in Stimulus.objects.filter(study=study) for step in s.provenance["chain"]
    }
    assert {n for picks in FAMILY_PICKS.values() for n in picks} <= names


def test_stimulus_files_are_named_by_content_and_regenerate_bit_for_bit(
    every_family_study, generate
):
    import experiments

    study = generate(every_family_study)
    load_image, load_model = generation.image_loader(study), generation.model_loader(study)
    seen_families = set()
    for stimulus in Stimulus.objects.filter(study=study):
        data = stimulus.file.open("rb").read()
        assert hashlib.sha256(data).hexdigest() == stimulus.sha256
        assert stimulus.sha256 in stimulus.file.name
        for step in stimulus.provenance["chain"]:
            assert step["name"] not in stimulus.file.name
        pixels = experiments.regenerate(
            stimulus.provenance, load_image=load_image, load_model=load_model
        )
        assert experiments.encode_png(pixels) == data
        seen_families |= {
            experiments.get_distortion(s["name"]).info.family for s in stimulus.provenance["chain"]
        }
    assert {
        "photometric",
        "noise",
        "blur",
        "spatial",
        "compression",
        "cnn",
        "real",
    } <= seen_families


def test_chunks_are_idempotent_and_restore_lost_trials(study, generate):
    study = generate(study)
    before = {t.index: (t.p0.sha256, t.p1.sha256) for t in Trial.objects.filter(study=study)}
    blocks = generation.plan_blocks(study.design)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.GENERATING)
    study.refresh_from_db()
    for start, stop in generation.chunks(blocks):
        assert generation.generation_run_chunk(study=study, start=start, stop=stop) == 0
    lost = sorted(before)[:2]
    Trial.objects.filter(study=study, index__in=lost).delete()
    for start, stop in generation.chunks(blocks):
        generation.generation_run_chunk(study=study, start=start, stop=stop)
    after = {t.index: (t.p0.sha256, t.p1.sha256) for t in Trial.objects.filter(study=study)}
    assert after == before


BAD_SPECS = {
    "unknown distortion": (
        {"name": "gausian_blur"},
        "Unknown distortion 'gausian_blur'. Did you mean gaussian_blur",
    ),
    "severity above 1": ({"name": "jpeg", "severity_max": 1.5}, "must lie within [0, 1]"),
    "min above max": ({"name": "jpeg", "severity_min": 0.8, "severity_max": 0.2}, "min ≤ max"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_distortion_choices_are_refused(alice, image_set, case):
    study = services.study_create(owner=alice, name="bad", image_set=image_set)
    kwargs, message = BAD_SPECS[case]
    with pytest.raises(ApplicationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        services.distortion_spec_add(study=study, **kwargs)
    assert not study.distortion_specs.exists()


def test_zero_trials_and_missing_counts_are_refused_before_anything_is_written(alice, image_set):
    study = services.study_create(owner=alice, name="empty", image_set=image_set)
    services.distortion_spec_add(study=study, name="jpeg")
    with pytest.raises(ApplicationError, match="Zero trials requested"):
        services.trial_quota_set(
            study=study, kind="2afc", split="val", category="traditional", count=0
        )
    with pytest.raises(ApplicationError, match="No trial counts for 2afc"):
        services.study_transition(study=study, to="generating")
    services.trial_quota_set(study=study, kind="2afc", split="val", category="cnn", count=3)
    with pytest.raises(ApplicationError, match="unknown category 'cnn'"):
        services.study_transition(study=study, to="generating")
    study.refresh_from_db()
    assert study.status == "draft" and not Trial.objects.exists() and not Stimulus.objects.exists()


def test_patch_larger_than_the_images_is_refused(alice):
    from tests.conftest import make_png

    image_set = services.image_set_create(owner=alice, name="small", min_side=32)
    services.reference_images_upload(image_set=image_set, data=make_png(40, 40), name="s.png")
    with pytest.raises(ApplicationError, match="patch_size 64 is larger than 1 image"):
        services.study_create(owner=alice, name="big patches", image_set=image_set)


def test_going_back_to_draft_discards_generated_stimuli(
    study, generate, settings, django_capture_on_commit_callbacks
):
    study = generate(study)
    assert Trial.objects.filter(study=study).exists()
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows have gone
        services.study_transition(study=study, to="draft")
    assert (
        not Trial.objects.filter(study=study).exists()
        and not Stimulus.objects.filter(study=study).exists()
    )
    assert not list((settings.MEDIA_ROOT / "stimuli").rglob("*.png"))


def test_preview_renders_without_storing(study):
    trials, skipped = generation.preview_trials(study=study)
    assert trials and skipped == []
    assert all(len(t.pngs) == 3 and t.pngs[0].startswith(b"\x89PNG") for t in trials)
    assert not Stimulus.objects.exists()


def test_admin_preview_generation_and_trials_pages(client, alice, study, generate):
    client.force_login(alice)
    page = client.get(f"/admin/studies/study/{study.pk}/preview/").content.decode()
    assert page.count("data:image/png;base64,") >= 12
    generate(study)
    listing = client.get(f"/admin/studies/trial/?study__id__exact={study.pk}").content.decode()
    assert "/api/stimuli/" in listing
    stimulus = Stimulus.objects.filter(study=study).first()
    assert client.get(f"/api/stimuli/{stimulus.pk}/file/").status_code == 200
    client.force_login(
        study.owner.__class__.objects.create_user("eve", password="x-eve-12345", is_staff=True)
    )
    assert client.get(f"/api/stimuli/{stimulus.pk}/file/").status_code == 404


def test_splits_are_train_or_val_and_blank_for_practice_and_sentinels(every_family_study, generate):
    from django.db import IntegrityError, transaction

    study = generate(every_family_study)
    trials = Trial.objects.filter(study=study)
    assert set(
        trials.filter(is_practice=False, is_sentinel=False).values_list("split", flat=True)
    ) == {
        "train",
        "val",
    }
    assert set(trials.filter(is_practice=True).values_list("split", flat=True)) | set(
        trials.filter(is_sentinel=True).values_list("split", flat=True)
    ) == {""}
    # The database refuses the old mixed use of `split`, in both directions.
    sentinel = trials.filter(is_sentinel=True).first()
    regular = trials.filter(is_practice=False, is_sentinel=False).first()
    for trial, split in (
        (sentinel, "sentinel"),
        (sentinel, "val"),
        (regular, ""),
        (regular, "test"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Trial.objects.filter(pk=trial.pk).update(split=split)


def test_quota_splits_and_kinds_are_checked_by_name(alice, image_set):
    study = services.study_create(owner=alice, name="enums", image_set=image_set)
    with pytest.raises(
        ApplicationError, match=r"Unknown split 'practice'; splits are \['train', 'val'\]"
    ):
        services.trial_quota_set(
            study=study, kind="2afc", split="practice", category="traditional", count=3
        )
    with pytest.raises(ApplicationError, match="Unknown trial kind 'both'"):
        services.trial_quota_set(study=study, kind="both", split="val", category="x", count=3)
    assert not study.quotas.exists()
