"""Study design: image sets, reference images and studies.

Access rule used everywhere: a researcher sees an `ImageSet` or a `Study` when they own it or are
one of its collaborators (superusers see everything). Status changes of a study go only through
`studies.services.study_transition`, which enforces `Study.TRANSITIONS`.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from common.models import TimeStampedModel


def _random_seed() -> int:
    return secrets.randbelow(2**31 - 1)


class ImageSet(TimeStampedModel):
    """A named collection of reference photographs that studies draw patches from."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="image_sets")
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_image_sets"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Shorter side an image must have to be accepted: the largest patch size studies may ask for.
    min_side = models.PositiveIntegerField(default=64, validators=[MinValueValidator(8), MaxValueValidator(4096)])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


def _image_path(instance: ReferenceImage, filename: str) -> str:
    # Content-addressed: the name reveals nothing but the pixels' hash.
    return f"reference/{instance.sha256[:2]}/{instance.sha256}.png"


def _thumb_path(instance: ReferenceImage, filename: str) -> str:
    return f"reference/{instance.sha256[:2]}/{instance.sha256}.thumb.png"


class ReferenceImage(TimeStampedModel):
    """One photograph, stored as canonical 8-bit RGB PNG.

    `sha256` is the hash of the decoded 8-bit RGB pixels (height, width and raw bytes, see
    `studies.images.pixel_sha256`), so re-encoding the same picture is recognised as a duplicate
    and stimuli provenance can name their source independently of file encodings.
    """

    image_set = models.ForeignKey(ImageSet, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=_image_path)
    thumbnail = models.FileField(upload_to=_thumb_path, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    original_name = models.CharField(max_length=255, blank=True)
    original_mode = models.CharField(max_length=16, help_text="Pillow mode of the uploaded file")
    original_format = models.CharField(max_length=16, blank=True)
    conversion = models.CharField(
        max_length=255, blank=True, help_text="How the upload was converted to 8-bit RGB, if it was"
    )
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    source = models.CharField(max_length=500, blank=True, help_text="Where the picture comes from")
    licence = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["image_set", "id"]
        constraints = [
            models.UniqueConstraint(fields=["image_set", "sha256"], name="unique_image_per_set"),
        ]

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]


class Study(TimeStampedModel):
    class Kind(models.TextChoices):
        TWOAFC = "2afc", "2AFC"
        JND = "jnd", "JND"
        BOTH = "both", "2AFC and JND"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        GENERATING = "generating", "Generating stimuli"
        READY = "ready", "Ready"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    # The only moves `study_transition` allows. generating→draft is the way back when generation
    # fails or is cancelled; ready→draft re-opens the design (generated stimuli are discarded);
    # closed→live re-opens collection.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.DRAFT: (Status.GENERATING,),
        Status.GENERATING: (Status.READY, Status.DRAFT),
        Status.READY: (Status.LIVE, Status.DRAFT),
        Status.LIVE: (Status.CLOSED,),
        Status.CLOSED: (Status.LIVE,),
    }

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="studies")
    collaborators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_studies")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TWOAFC)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False)
    image_set = models.ForeignKey(ImageSet, on_delete=models.PROTECT, related_name="studies", null=True, blank=True)
    seed = models.PositiveIntegerField(default=_random_seed, help_text="Seeds every random draw of the study")
    patch_size = models.PositiveIntegerField(default=64, validators=[MinValueValidator(16), MaxValueValidator(512)])
    display_scale = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(8)],
        help_text="Integer upscaling in device pixels (nearest neighbour)",
    )
    judgments_train = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1), MaxValueValidator(50)])
    judgments_val = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1), MaxValueValidator(50)])
    judgments_jnd = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(50)])
    assignment_size = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1), MaxValueValidator(2000)],
        help_text="Trials per assignment, sentinels included",
    )
    sentinel_rate = models.FloatField(
        default=0.1, validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of an assignment's trials that are sentinels",
    )
    jnd_first_ms = models.PositiveIntegerField(default=1000, validators=[MinValueValidator(50), MaxValueValidator(10000)])
    jnd_gap_ms = models.PositiveIntegerField(default=250, validators=[MinValueValidator(0), MaxValueValidator(10000)])
    jnd_second_ms = models.PositiveIntegerField(default=1000, validators=[MinValueValidator(50), MaxValueValidator(10000)])
    instructions = models.TextField(blank=True, help_text="Markdown shown to participants (rendered safely)")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.name

    def allowed_transitions(self) -> tuple[str, ...]:
        return self.TRANSITIONS.get(self.status, ())


class StudyStatusChange(models.Model):
    """Audit trail of status transitions."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.study_id}: {self.from_status} → {self.to_status}"
