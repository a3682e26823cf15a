"""Writes of a study's distortion choices and trial counts (drafts only).

Each write has a `*_check` that raises the error the write would raise, without writing: the
write calls it, and the admin's inline forms call it to show the same message on the form.
"""

from __future__ import annotations

import difflib

from django.db import transaction

from common.exceptions import ApplicationError, ConflictError

from ..choices import Split, TrialKind, trial_kinds
from ..models import DistortionSpec, Study, TrialQuota

SPEC_FIELDS = ["name", "category", "severity_min", "severity_max", "weight"]


def _require_draft(study: Study) -> None:
    if study.status != Study.Status.DRAFT:
        raise ConflictError(
            f"Distortions and trial counts can only change while the study is a draft "
            f"(it is {study.status}).",
            code="not_draft",
        )


def distortion_spec_check(
    *,
    study: Study,
    name: str,
    category: str = "traditional",
    severity_min: float = 0.0,
    severity_max: float = 1.0,
    weight: float = 1.0,
    spec: DistortionSpec | None = None,
) -> None:
    """Raise the error `distortion_spec_add` (or `_update`, for `spec`) would raise."""
    import experiments

    _require_draft(study)
    names = [info.name for info in experiments.list_distortions()]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ApplicationError(f"Unknown distortion {name!r}.{hint}", fields={"name": ["unknown"]})
    if not (0.0 <= severity_min <= severity_max <= 1.0):
        raise ApplicationError(
            f"Severity range [{severity_min}, {severity_max}] must lie within [0, 1] with "
            "min ≤ max.",
            fields={"severity_min": ["out of range"]},
        )
    if study.pk is not None:  # an unsaved study (the admin's add page) has no choices yet
        taken = DistortionSpec.objects.filter(study=study, name=name, category=category)
        if spec is not None:
            taken = taken.exclude(pk=spec.pk)
        if taken.exists():
            raise ApplicationError(
                f"{name} is already chosen for category {category!r}.",
                fields={"name": ["duplicate"]},
            )


@transaction.atomic
def distortion_spec_add(
    *,
    study: Study,
    name: str,
    category: str = "traditional",
    severity_min: float = 0.0,
    severity_max: float = 1.0,
    weight: float = 1.0,
) -> DistortionSpec:
    import experiments

    study = Study.objects.select_for_update().get(pk=study.pk)
    values = {
        "name": name,
        "category": category,
        "severity_min": severity_min,
        "severity_max": severity_max,
        "weight": weight,
    }
    distortion_spec_check(study=study, **values)
    spec = DistortionSpec(
        study=study, family=experiments.get_distortion(name).info.family, **values
    )
    spec.full_clean()
    spec.save()
    return spec


@transaction.atomic
def distortion_spec_update(*, spec: DistortionSpec, data: dict) -> DistortionSpec:
    """Change a distortion choice (any of `SPEC_FIELDS`); its family follows its name."""
    import experiments

    study = Study.objects.select_for_update().get(pk=spec.study_id)
    unknown = set(data) - set(SPEC_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown distortion choice fields: {sorted(unknown)}")
    values = {f: data.get(f, getattr(spec, f)) for f in SPEC_FIELDS}
    distortion_spec_check(study=study, spec=spec, **values)
    for field, value in values.items():
        setattr(spec, field, value)
    spec.family = experiments.get_distortion(spec.name).info.family
    spec.full_clean()
    spec.save()
    return spec


@transaction.atomic
def distortion_spec_remove(*, spec: DistortionSpec) -> None:
    _require_draft(Study.objects.select_for_update().get(pk=spec.study_id))
    spec.delete()


def trial_quota_check(*, study: Study, kind: str, split: str, category: str, count: int) -> None:
    """Raise the error `trial_quota_set` would raise."""
    _require_draft(study)
    if kind not in TrialKind.values:
        raise ApplicationError(
            f"Unknown trial kind {kind!r}; kinds are {list(TrialKind.values)}.",
            fields={"kind": ["unknown"]},
        )
    allowed = trial_kinds(study.kind)
    if kind not in allowed:
        raise ApplicationError(
            f"This is a {study.kind} study; trial kind must be one of {[str(k) for k in allowed]}.",
            fields={"kind": ["invalid"]},
        )
    if split not in Split.values:
        raise ApplicationError(
            f"Unknown split {split!r}; splits are {list(Split.values)}.",
            fields={"split": ["unknown"]},
        )
    if count < 1:
        raise ApplicationError(
            "Zero trials requested: count must be at least 1 (remove the row instead).",
            fields={"count": ["must be >= 1"]},
        )


@transaction.atomic
def trial_quota_set(
    *, study: Study, kind: str, split: str, category: str, count: int
) -> TrialQuota:
    """Set how many trials of `kind` the study generates for `split` and `category`."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    trial_quota_check(study=study, kind=kind, split=split, category=category, count=count)
    quota = TrialQuota.objects.filter(
        study=study, kind=kind, split=split, category=category
    ).first() or TrialQuota(study=study, kind=kind, split=split, category=category)
    quota.count = count
    quota.full_clean()
    quota.save()
    return quota


@transaction.atomic
def trial_quota_remove(*, quota: TrialQuota) -> None:
    _require_draft(Study.objects.select_for_update().get(pk=quota.study_id))
    quota.delete()
