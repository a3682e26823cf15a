"""Stimulus generation for a study: from the researcher's choices to PNG stimuli and trials.

Steps (run by `studies.tasks`, on the `stimuli` queue):
1. `generation_prepare` validates the design (nothing is written when it is invalid), trains the
   networks that model-backed distortions need (CNN autoencoders, SR net, colourisers) on patches
   of the study's own images, stores them as `ModelArtifact`s, and freezes the designs (one per
   trial kind, plus practice) into `Study.design`.
2. `generation_run_chunk` renders trials `start … stop-1`. Trial `i` is a pure function of the
   frozen design and `i` (`experiments.plan_trial`), so chunks can run on any worker, in any order,
   crash and be re-run: existing trials are skipped, files are content-addressed.
3. `generation_progress` counts the trials made; `studies.services.study_generation_finish`
   moves the study to `ready` once every planned trial exists.

This module plans and renders; it changes no study status and never imports `studies.services`
(which calls it).

Stimulus files are named by the sha256 of their PNG bytes, so names reveal nothing about the
distortion; provenance in the database regenerates each one bit for bit.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import F

from common.exceptions import ApplicationError
from common.jobs import heartbeat
from common.stored_files import delete_unreferenced, save_content_addressed

from .choices import Split, TrialKind, trial_kinds
from .models import ModelArtifact, ReferenceImage, Stimulus, Study, Trial

DEFAULT_MODEL_COUNT = {"autoencoder": 4, "sr_net": 1, "colorizer_net": 1, "colorizer_lut": 1}
TRAINING_PATCHES = 192
CHUNK = 100
PRACTICE_SEED_OFFSET = 7919


@dataclass(frozen=True)
class Block:
    """A contiguous range of `Trial.index` values generated from one design."""

    name: str  # "2afc", "jnd", "practice-2afc", "practice-jnd"
    offset: int
    total: int
    practice_from: int = 0  # practice blocks keep only plan indices >= this (their sentinels)


def _experiments():
    import experiments  # numpy-only library; imported lazily to keep start-up light

    return experiments


# ---------------------------------------------------------------------------------------------
# Design
# ---------------------------------------------------------------------------------------------


def design_dicts(
    study: Study, *, model_shas: dict[int, list[str]] | None = None
) -> dict[str, dict]:
    """The TrialDesign dicts (one per kind) the researcher's specs and quotas describe."""
    images = sorted(
        ReferenceImage.objects.filter(image_set=study.image_set).values_list("sha256", flat=True)
    )
    categories: dict[str, list[dict]] = defaultdict(list)
    for spec in study.distortion_specs.all().order_by("id"):
        choice = {
            "name": spec.name,
            "severity": [spec.severity_min, spec.severity_max],
            "weight": spec.weight,
        }
        if model_shas is not None and spec.pk in model_shas:
            choice["models"] = model_shas[spec.pk]
        categories[spec.category].append(choice)
    designs = {}
    for kind in trial_kinds(study.kind):
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for quota in study.quotas.filter(kind=kind):
            counts[quota.split][quota.category] = quota.count
        designs[kind] = {
            "seed": study.seed,
            "kind": kind,
            "images": images,
            "categories": {label: {"choices": choices} for label, choices in categories.items()},
            "counts": dict(counts),
            "patch_size": study.patch_size,
            "sentinel_rate": study.sentinel_rate,
            "jnd_identical_share": study.jnd_identical_share,
        }
    return designs


def _practice_dict(design: dict) -> dict:
    """A small design whose sentinel trials serve as practice: for 2AFC, 3 obvious trials; for
    JND, the paper's 10 pairs (4 identical, 5 distorted, 1 obviously different)."""
    first = sorted(design["categories"])[0]
    practice = {
        **design,
        "seed": design["seed"] + PRACTICE_SEED_OFFSET,
        "categories": {first: design["categories"][first]},
    }
    if design["kind"] == TrialKind.TWOAFC:
        return {**practice, "counts": {"practice": {first: 3}}, "sentinel_rate": 0.5}
    return {
        **practice,
        "counts": {"practice": {first: 9}},
        "sentinel_rate": 0.1,
        "jnd_identical_share": 4 / 9,
        "jnd_sentinel_identical_share": 0.0,
    }


def validate_design(study: Study) -> dict[str, object]:
    """Check the study can be generated; raise ApplicationError naming the first problem."""
    ex = _experiments()
    if study.image_set is None or not study.image_set.images.exists():
        raise ApplicationError(
            "The study's image set has no images.", fields={"image_set": ["empty"]}
        )
    if not study.distortion_specs.exists():
        raise ApplicationError(
            "Choose at least one distortion.", fields={"distortion_specs": ["none"]}
        )
    kinds = trial_kinds(study.kind)
    quota_kinds = set(study.quotas.values_list("kind", flat=True))
    missing = [k for k in kinds if k not in quota_kinds]
    if missing:
        raise ApplicationError(
            f"No trial counts for {', '.join(missing)} trials; add counts per split and category.",
            fields={"quotas": ["missing"]},
        )
    placeholder = {
        spec.pk: ["0" * 64]
        for spec in study.distortion_specs.all()
        if ex.get_distortion(spec.name).info.model_kind
    }
    designs = {}
    try:
        for kind, data in design_dicts(study, model_shas=placeholder).items():
            designs[kind] = ex.TrialDesign.from_dict(data)
    except ValueError as exc:
        raise ApplicationError(f"Invalid design: {exc}", code="invalid_design") from None
    return designs


# ---------------------------------------------------------------------------------------------
# Loading images and models for the library
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _image_pixels(name: str) -> np.ndarray:
    # Keyed by the storage name, which is content-addressed (the pixels' sha256): an entry can
    # never go stale, even where database ids are reused.
    from django.core.files.storage import default_storage
    from PIL import Image

    with default_storage.open(name, "rb") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def image_loader(study: Study):
    by_sha = dict(
        ReferenceImage.objects.filter(image_set=study.image_set).values_list("sha256", "file")
    )

    def load(sha256: str) -> np.ndarray:
        if sha256 not in by_sha:
            raise ValueError(f"image {sha256[:12]}… is not in the study's image set")
        return _image_pixels(by_sha[sha256])

    return load


def model_loader(study: Study):
    def load(sha256: str) -> bytes:
        artifact = ModelArtifact.objects.filter(study=study, sha256=sha256).first()
        if artifact is None:
            raise ValueError(f"model {sha256[:12]}… is not stored for this study")
        with artifact.file.open("rb") as handle:
            return handle.read()

    return load


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------


def _training_patches(study: Study) -> list[np.ndarray]:
    ex = _experiments()
    load = image_loader(study)
    shas = sorted(
        ReferenceImage.objects.filter(image_set=study.image_set).values_list("sha256", flat=True)
    )
    per_image = max(TRAINING_PATCHES // len(shas), 1)
    patches = []
    for sha in shas:
        records = ex.sample_patches(
            load(sha),
            image_sha256=sha,
            seed=study.seed + 104729,
            count=per_image,
            size=study.patch_size,
        )
        patches += [r.pixels for r in records]
    return patches


def generation_prepare(*, study: Study, model_steps: int | None = None) -> list[Block]:
    """Train the networks the design needs, freeze the designs and plan the trial index blocks.
    Idempotent: models already stored (same seed → same bytes) are reused."""
    ex = _experiments()
    validate_design(study)
    model_shas: dict[int, list[str]] = {}
    patches = None
    for spec in study.distortion_specs.all().order_by("id"):
        kind = ex.get_distortion(spec.name).info.model_kind
        if not kind:
            continue
        patches = patches if patches is not None else _training_patches(study)
        shas = []
        for n in range(DEFAULT_MODEL_COUNT.get(kind, 1)):
            seed = (study.seed * 1009 + spec.pk * 31 + n) % (2**31)
            model = ex.train_model(kind, patches, seed=seed, steps=model_steps)
            if not ModelArtifact.objects.filter(study=study, sha256=model.sha256).exists():
                artifact = ModelArtifact(
                    study=study,
                    sha256=model.sha256,
                    kind=kind,
                    params={"hparams": model.hparams, "training": model.training, "spec": spec.pk},
                )
                name = artifact.file.field.generate_filename(artifact, f"{model.sha256}.bin")
                artifact.file.name, _ = save_content_addressed(
                    artifact.file.storage, name, model.data
                )
                with contextlib.suppress(
                    IntegrityError
                ):  # another worker stored the same model first
                    artifact.save()
            shas.append(model.sha256)
        model_shas[spec.pk] = shas

    designs = {}
    for kind, data in design_dicts(study, model_shas=model_shas).items():
        designs[kind] = ex.TrialDesign.from_dict(data).to_dict()
        designs[f"practice-{kind}"] = ex.TrialDesign.from_dict(_practice_dict(data)).to_dict()
    blocks = plan_blocks(designs)
    Study.objects.filter(pk=study.pk).update(
        design=designs,
        generation_total=sum(b.total - b.practice_from for b in blocks),
        generation_done=0,
        error="",
    )
    study.refresh_from_db()
    return blocks


def sentinel_design(study: Study, *, regular: int) -> dict[str, dict]:
    """The designs of a study whose regular 2AFC trials another app stores (`studies.generators`):
    `"sentinels-2afc"` plans `regular` trials plus the study's share of sentinels and keeps only
    the sentinels (trial indices `regular …`; indices `0 … regular-1` are the app's own trials),
    and `"practice-2afc"` the practice trials, exactly as for a standard 2AFC study."""
    ex = _experiments()
    data = design_dicts(study)[TrialKind.TWOAFC]
    if not data["categories"]:
        raise ApplicationError(
            "Choose at least one distortion.", fields={"distortion_specs": ["none"]}
        )
    first = sorted(data["categories"])[0]
    data = {**data, "counts": {Split.VAL: {first: max(regular, 1)}}}
    try:
        return {
            "sentinels-2afc": ex.TrialDesign.from_dict(data).to_dict(),
            "practice-2afc": ex.TrialDesign.from_dict(_practice_dict(data)).to_dict(),
        }
    except ValueError as exc:
        raise ApplicationError(f"Invalid design: {exc}", code="invalid_design") from None


def plan_blocks(designs: dict[str, dict]) -> list[Block]:
    ex = _experiments()
    blocks, offset = [], 0
    for name in ("2afc", "jnd", "sentinels-2afc", "practice-2afc", "practice-jnd"):
        if name not in designs:
            continue
        design = ex.TrialDesign.from_dict(designs[name])
        # Practice blocks and the sentinel block of generator studies keep only their sentinels.
        keeps_sentinels = name in ("practice-2afc", "sentinels-2afc")
        practice_from = design.regular_trials if keeps_sentinels else 0
        blocks.append(Block(name, offset, design.total_trials, practice_from))
        offset += design.total_trials
    return blocks


def _expected(kind: str, value: int | None) -> str:
    if value is None:
        return ""
    if kind == TrialKind.TWOAFC:
        return "p1" if value == 1 else "p0"
    return "same" if value == 1 else "different"


def _store_stimulus(study: Study, rendered, cache: dict[str, Stimulus]) -> Stimulus:
    data = rendered.png()
    digest = hashlib.sha256(data).hexdigest()
    if digest in cache:
        return cache[digest]
    stimulus = Stimulus(study=study, sha256=digest, provenance=rendered.provenance)
    existing = Stimulus.objects.filter(study=study, sha256=digest).exclude(file="").first()
    if existing is not None:
        stimulus.file.name = existing.file.name  # same bytes, same file
    else:
        # A file left by a chunk killed before its commit has this very name and bytes: use it.
        name = stimulus.file.field.generate_filename(stimulus, "stimulus.png")
        stimulus.file.name, _ = save_content_addressed(stimulus.file.storage, name, data)
    stimulus.save()
    cache[digest] = stimulus
    return stimulus


def store_stimulus(study: Study, rendered, cache: dict[str, Stimulus]) -> Stimulus:
    """Store a rendered image (`.png()` bytes and `.provenance`) as a stimulus of `study`,
    content-addressed; for apps that design trials of their own (`studies.generators`)."""
    return _store_stimulus(study, rendered, cache)


def _split(plan, *, practice: bool) -> str:
    """The trial's dataset split: train/val for regular trials, blank for practice and sentinels."""
    if practice or plan.sentinel:
        return ""
    if plan.split not in Split.values:
        raise ApplicationError(
            f"Trial {plan.index}: split {plan.split!r} is not one of {list(Split.values)}.",
            code="invalid_design",
        )
    return plan.split


def _needed(study: Study, kind: str, split: str) -> int:
    if not split:  # practice and sentinel trials collect no judgments of their own
        return 0
    if kind == TrialKind.JND:
        return study.judgments_jnd
    return study.judgments_train if split == Split.TRAIN else study.judgments_val


def generation_run_chunk(*, study: Study, start: int, stop: int) -> int:
    """Render trials with `Trial.index` in [start, stop); returns how many were created."""
    ex = _experiments()
    blocks = plan_blocks(study.design)
    designs = {name: ex.TrialDesign.from_dict(data) for name, data in study.design.items()}
    existing = set(
        Trial.objects.filter(study=study, index__gte=start, index__lt=stop).values_list(
            "index", flat=True
        )
    )
    load_image, load_model = image_loader(study), model_loader(study)
    created = 0
    for block in blocks:
        for index in range(
            max(start, block.offset + block.practice_from), min(stop, block.offset + block.total)
        ):
            if index in existing:
                continue
            heartbeat()  # a superseded attempt stops here (common.jobs)
            plan = ex.plan_trial(designs[block.name], index - block.offset)
            rendered = ex.render_trial(plan, load_image=load_image, load_model=load_model)
            practice = block.name.startswith("practice")
            kind = plan.kind
            with transaction.atomic():
                cache: dict[str, Stimulus] = {}
                ref = _store_stimulus(study, rendered.reference, cache)
                p0 = _store_stimulus(
                    study, rendered.p0, cache
                )  # JND: the reference itself (same bytes)
                p1 = _store_stimulus(study, rendered.p1, cache)
                split = _split(plan, practice=practice)
                try:
                    with transaction.atomic():
                        Trial.objects.create(
                            study=study,
                            kind=kind,
                            split=split,
                            category=plan.category,
                            index=index,
                            ref=ref if kind == TrialKind.TWOAFC else None,
                            p0=p0,
                            p1=p1,
                            is_sentinel=plan.sentinel and not practice,
                            is_practice=practice,
                            expected=_expected(kind, plan.expected),
                            judgments_needed=_needed(study, kind, split),
                        )
                except IntegrityError:
                    continue  # another worker made this trial meanwhile
            created += 1
    if created:
        Study.objects.filter(pk=study.pk).update(generation_done=F("generation_done") + created)
    return created


def chunks(blocks: list[Block], size: int = CHUNK) -> list[tuple[int, int]]:
    out = []
    for block in blocks:
        first, end = block.offset + block.practice_from, block.offset + block.total
        out += [(s, min(s + size, end)) for s in range(first, end, size)]
    return out


def generation_progress(*, study: Study) -> tuple[int, int]:
    """(trials made, trials planned); stores the count as `Study.generation_done`. A generator
    study (`studies.generators`) plans `Study.generation_total`, which its generator sets once
    its own trials are chosen (0 until then)."""
    if study.generator:
        planned = Study.objects.filter(pk=study.pk).values_list("generation_total", flat=True)[0]
        if not study.design:
            planned = 0
    elif not study.design:
        return Trial.objects.filter(study=study).count(), 0
    else:
        planned = sum(b.total - b.practice_from for b in plan_blocks(study.design))
    made = Trial.objects.filter(study=study).count()
    Study.objects.filter(pk=study.pk).update(generation_done=made)
    study.generation_done = made
    return made, planned


def generation_discard(*, study: Study) -> None:
    """Delete generated trials, stimuli and models (going back to draft)."""
    storage = Stimulus._meta.get_field("file").storage
    # Several stimuli of a study may share one file (same bytes): collect the names first, and
    # delete a file once no stimulus names it any more.
    names = set(
        Stimulus.objects.filter(study=study).exclude(file="").values_list("file", flat=True)
    )
    Trial.objects.filter(study=study).delete()
    Stimulus.objects.filter(study=study).delete()
    models = []
    for artifact in ModelArtifact.objects.filter(study=study):
        artifact.delete()
        models.append((artifact.file.storage, artifact.file.name))

    def delete_files() -> None:
        # After the commit (a rollback keeps rows and files); a file another row still names
        # stays (content-addressed: the same bytes, or a study trained with the same seed).
        for name in names:
            if not Stimulus.objects.filter(file=name).exists():
                storage.delete(name)
        for model_storage, name in models:
            if name and not ModelArtifact.objects.filter(file=name).exists():
                model_storage.delete(name)

    transaction.on_commit(delete_files)
    Study.objects.filter(pk=study.pk).update(
        design={}, generation_total=0, generation_done=0, error=""
    )


def _named(model, field: str, names: list[str], batch: int = 500) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        found.update(model.objects.filter(**{f"{field}__in": chunk}).values_list(field, flat=True))
    return found


def orphan_files_delete(*, study: Study | None = None, older_than_s: int | None = None) -> int:
    """Delete stored stimuli and model files (of `study`, or of every study) and reference
    images that no row names: files a task or an upload wrote before it was killed. Files
    younger than `older_than_s` (PERCEPTLAB_ORPHAN_GRACE_S) are kept, as a task still running
    may be about to commit their row. Returns how many files were deleted."""
    from django.conf import settings

    grace = settings.PERCEPTLAB_ORPHAN_GRACE_S if older_than_s is None else older_than_s
    storage = Stimulus._meta.get_field("file").storage
    stimuli = "stimuli" if study is None else f"stimuli/{study.pk}"
    deleted = delete_unreferenced(
        storage,
        stimuli,
        referenced=lambda names: _named(Stimulus, "file", names),
        older_than_s=grace,
    )
    deleted += delete_unreferenced(
        ModelArtifact._meta.get_field("file").storage,
        "models",
        referenced=lambda names: _named(ModelArtifact, "file", names),
        older_than_s=grace,
    )
    if study is None:
        deleted += delete_unreferenced(
            ReferenceImage._meta.get_field("file").storage,
            "reference",
            referenced=lambda names: (
                _named(ReferenceImage, "file", names) | _named(ReferenceImage, "thumbnail", names)
            ),
            older_than_s=grace,
        )
    return len(deleted)


# ---------------------------------------------------------------------------------------------
# Preview
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewTrial:
    kind: str
    category: str
    labels: tuple[str, str]
    pngs: tuple[bytes, bytes, bytes]  # reference, p0, p1


def preview_trials(*, study: Study, per_category: int = 4) -> tuple[list[PreviewTrial], list[str]]:
    """Render a few trials per category straight from the current design, without storing
    anything. Model-backed distortions need trained networks, so they are left out of the
    preview (listed in the second return value) and shown after generation."""
    ex = _experiments()
    validate_design(study)
    skipped = sorted(
        {
            spec.name
            for spec in study.distortion_specs.all()
            if ex.get_distortion(spec.name).info.model_kind
        }
    )
    specs = [spec for spec in study.distortion_specs.all() if spec.name not in skipped]
    out: list[PreviewTrial] = []
    if not specs:
        return out, skipped
    load_image = image_loader(study)
    for kind, data in design_dicts(study).items():
        categories = {}
        for spec in specs:
            categories.setdefault(spec.category, []).append(
                {
                    "name": spec.name,
                    "severity": [spec.severity_min, spec.severity_max],
                    "weight": spec.weight,
                }
            )
        data = {
            **data,
            "categories": {k: {"choices": v} for k, v in categories.items()},
            "counts": {"preview": dict.fromkeys(categories, per_category)},
            "sentinel_rate": 0.0,
        }
        design = ex.TrialDesign.from_dict(data)
        for index in range(design.total_trials):
            plan = ex.plan_trial(design, index)
            rendered = ex.render_trial(plan, load_image=load_image)
            out.append(
                PreviewTrial(
                    kind,
                    plan.category,
                    (plan.p0.label, plan.p1.label),
                    (rendered.reference.png(), rendered.p0.png(), rendered.p1.png()),
                )
            )
    return out, skipped


# ---------------------------------------------------------------------------------------------
# Samples for the distortion picker
# ---------------------------------------------------------------------------------------------

SAMPLE_SEVERITY = 0.6


def distortion_needs_model(name: str) -> bool:
    """Whether `name` draws from networks trained during generation (no sample before it)."""
    return _experiments().get_distortion(name).info.model_kind is not None


def sample_patch_pixels(study: Study) -> np.ndarray | None:
    """The centre patch (`patch_size`, at most the image) of the first image of the study's set,
    or None when the set has no images."""
    if study.image_set is None:
        return None
    image = ReferenceImage.objects.filter(image_set=study.image_set).order_by("pk").first()
    if image is None:
        return None
    pixels = _image_pixels(image.file.name)
    side = min(study.patch_size, pixels.shape[0], pixels.shape[1])
    top, left = (pixels.shape[0] - side) // 2, (pixels.shape[1] - side) // 2
    return np.ascontiguousarray(pixels[top : top + side, left : left + side])


def distortion_sample_png(
    *, study: Study, name: str | None, severity: float = SAMPLE_SEVERITY
) -> bytes | None:
    """A PNG of the study's sample patch distorted by `name` at `severity` (None: the
    reference patch), drawn from the study's seed; None when there is nothing to draw (no
    image, or a distortion that needs the study's trained networks)."""
    ex = _experiments()
    patch = sample_patch_pixels(study)
    if patch is None:
        return None
    if name is not None:
        distortion = ex.get_distortion(name)
        if distortion.info.model_kind is not None:
            return None
        params = distortion.sample_params(np.random.default_rng(study.seed), severity)
        patch = distortion.apply(patch, **params)
    return ex.encode_png(patch)


# BAPPS's scoring category of a real-algorithm task (the registry's `task`).
REAL_TASK_CATEGORIES = {
    "superres": "superres",
    "deblur": "deblur",
    "colorize": "color",
    "frameinterp": "frameinterp",
}


def registry_category(info) -> str:
    """The scoring category a distortion belongs to, from the registry: traditional and cnn
    as registered; a real algorithm by its task, as BAPPS names it (superres, deblur, color,
    frameinterp)."""
    if info.category == "real":
        return REAL_TASK_CATEGORIES.get(info.task or "", "real")
    return info.category


def distortion_catalog() -> list[dict]:
    """Every registered distortion, in the registry's family order, with its category."""
    return [
        {
            "name": info.name,
            "label": info.name.replace("_", " "),
            "family": info.family,
            "category": registry_category(info),
            "description": info.description,
            "severity": info.severity,
            "needs_model": info.model_kind is not None,
        }
        for info in _experiments().list_distortions()
    ]


def registry_categories() -> list[str]:
    """The scoring categories the registry's distortions fall into, in first-seen order."""
    return list(dict.fromkeys(entry["category"] for entry in distortion_catalog()))
