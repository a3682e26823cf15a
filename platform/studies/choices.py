"""The enumerations of study design, in one place: models, services, serializers, generation and
crowd all use these (never bare strings).

A trial's `split` is a dataset split (`train`/`val`, as in BAPPS). Practice and sentinel trials
belong to no split: their `split` is blank and `Trial.is_practice`/`Trial.is_sentinel` say what
they are.
"""

from __future__ import annotations

from django.db import models


class StudyKind(models.TextChoices):
    TWOAFC = "2afc", "2AFC"
    JND = "jnd", "JND"
    BOTH = "both", "2AFC and JND"


class TrialKind(models.TextChoices):
    TWOAFC = "2afc", "2AFC"
    JND = "jnd", "JND"


class Split(models.TextChoices):
    TRAIN = "train", "train"
    VAL = "val", "val"


class StudyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    GENERATING = "generating", "Generating stimuli"
    FAILED = "failed", "Generation failed"
    READY = "ready", "Ready"
    LIVE = "live", "Live"
    CLOSED = "closed", "Closed"


def trial_kinds(study_kind: str) -> list[TrialKind]:
    """The trial kinds a study of `study_kind` generates and collects, in a fixed order."""
    if study_kind == StudyKind.BOTH:
        return [TrialKind.TWOAFC, TrialKind.JND]
    return [TrialKind(study_kind)]
