"""Study design: image sets, reference images and studies.

Access rule used everywhere: a researcher sees an `ImageSet` or a `Study` when they own it or are
one of its collaborators (superusers see everything). Status changes of a study go only through
`studies.services.study_transition`, which enforces `Study.TRANSITIONS`; the one exception is
the task failure policy, which moves a generating study to `failed` (see `GeneratingStudy`).
Enumerations (kinds, splits, statuses) live in `studies.choices`.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models

from common.models import TimeStampedModel

from .choices import Split, StudyKind, StudyStatus, TrialKind


def _random_seed() -> int:
    return secrets.randbelow(2**31 - 1)


def _completion_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
    return "".join(secrets.choice(alphabet) for _ in range(8))


def _sort_key() -> int:
    return secrets.randbelow(2**31 - 1)


class ImageSet(TimeStampedModel):
    """A named collection of reference photographs that studies draw patches from."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="image_sets",
        help_text="The researcher who owns the set",
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="shared_image_sets",
        help_text="Researchers who may use and change this set (only the owner may change this list)",
    )
    name = models.CharField(max_length=200, help_text="A name for you; participants never see it")
    description = models.TextField(
        blank=True, help_text="Where the pictures come from, what they show"
    )
    # Shorter side an image must have to be accepted: the largest patch size studies may ask for.
    min_side = models.PositiveIntegerField(
        "smallest side (pixels)",
        default=64,
        validators=[MinValueValidator(8), MaxValueValidator(4096)],
        help_text="Uploads with a shorter side are refused: at least the largest patch size of "
        "the studies that will use the set",
    )

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

    image_set = models.ForeignKey(
        ImageSet,
        on_delete=models.CASCADE,
        related_name="images",
        help_text="The image set the photograph belongs to",
    )
    file = models.FileField(
        upload_to=_image_path,
        help_text="The photograph as canonical 8-bit RGB PNG",
    )
    thumbnail = models.FileField(
        upload_to=_thumb_path,
        blank=True,
        help_text="A small preview for lists",
    )
    sha256 = models.CharField(
        "pixel hash (SHA-256)",
        max_length=64,
        db_index=True,
        help_text="Of the decoded pixels: the same picture re-encoded has the same hash",
    )
    original_name = models.CharField(
        "file name", max_length=255, blank=True, help_text="The uploaded file's name"
    )
    original_mode = models.CharField(
        "uploaded colour mode", max_length=16, help_text="Pillow mode of the uploaded file"
    )
    original_format = models.CharField(
        "uploaded format", max_length=16, blank=True, help_text="PNG, JPEG, TIFF, …"
    )
    conversion = models.CharField(
        max_length=255, blank=True, help_text="How the upload was converted to 8-bit RGB, if it was"
    )
    width = models.PositiveIntegerField(help_text="Pixels")
    height = models.PositiveIntegerField(help_text="Pixels")
    source = models.CharField(max_length=500, blank=True, help_text="Where the picture comes from")
    licence = models.CharField(
        max_length=200, blank=True, help_text="Under which terms it may be used, e.g. CC BY 4.0"
    )

    class Meta:
        ordering = ["image_set", "id"]
        constraints = [
            models.UniqueConstraint(fields=["image_set", "sha256"], name="unique_image_per_set"),
        ]

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]


class Study(TimeStampedModel):
    Kind = StudyKind
    Status = StudyStatus

    # The only moves `study_transition` allows. generating→draft is the way back when generation
    # is cancelled; failed→generating retries a failed generation (finished trials are kept) and
    # failed→draft gives up on it; ready→draft re-opens the design (generated stimuli are
    # discarded); closed→live re-opens collection. Nothing moves a study *to* `failed` but the
    # generation tasks' failure policy (`studies.tasks`).
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.DRAFT: (Status.GENERATING,),
        Status.GENERATING: (Status.READY, Status.DRAFT),
        Status.FAILED: (Status.GENERATING, Status.DRAFT),
        Status.READY: (Status.LIVE, Status.DRAFT),
        Status.LIVE: (Status.CLOSED,),
        Status.CLOSED: (Status.LIVE,),
    }

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="studies",
        help_text="The researcher who owns the study",
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="shared_studies",
        help_text="Researchers who may see and change this study (only the owner may change "
        "this list)",
    )
    name = models.CharField(max_length=200, help_text="A name for you; participants never see it")
    slug = models.SlugField(
        "link name",
        max_length=80,
        unique=True,
        help_text="Part of the participants' link (/s/link-name/); fixed once created",
    )
    kind = models.CharField(
        "study kind",
        max_length=8,
        choices=Kind.choices,
        default=Kind.TWOAFC,
        help_text="Which judgments participants make (2AFC: which of two is closer to the "
        "reference; JND: same or different)",
    )
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.DRAFT,
        editable=False,
        help_text="Where the study stands: draft, generating, failed, ready, live or closed",
    )
    image_set = models.ForeignKey(
        ImageSet,
        on_delete=models.PROTECT,
        related_name="studies",
        null=True,
        blank=True,
        help_text="The photographs the patches are cut from",
    )
    seed = models.PositiveIntegerField(
        "random seed",
        default=_random_seed,
        validators=[MaxValueValidator(2**31 - 1)],
        help_text="Seeds every random draw of the study: the same seed and design give the same "
        "stimuli",
    )
    patch_size = models.PositiveIntegerField(
        "patch size (pixels)",
        default=64,
        validators=[MinValueValidator(16), MaxValueValidator(512)],
        help_text="Side of the square patches cut from the images (BAPPS: 64)",
    )
    display_scale = models.PositiveSmallIntegerField(
        "display magnification",
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(8)],
        help_text="Integer upscaling in device pixels (nearest neighbour)",
    )
    judgments_train = models.PositiveSmallIntegerField(
        "judgments per training trial",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="How many participants judge each 2AFC trial of the train split (BAPPS: 2)",
    )
    judgments_val = models.PositiveSmallIntegerField(
        "judgments per validation trial",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="How many participants judge each 2AFC trial of the val split (BAPPS: 5)",
    )
    judgments_jnd = models.PositiveSmallIntegerField(
        "judgments per JND pair",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="How many participants judge each same/different pair (BAPPS: 3)",
    )
    assignment_size = models.PositiveIntegerField(
        "trials per assignment",
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(2000)],
        help_text="Trials one participant does in one sitting, sentinels included",
    )
    sentinel_rate = models.FloatField(
        "share of sentinel trials",
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of an assignment's trials that are sentinels (obvious answers, for "
        "quality control), 0–0.5",
    )
    jnd_first_ms = models.PositiveIntegerField(
        "JND: first image shown (ms)",
        default=1000,
        validators=[MinValueValidator(50), MaxValueValidator(10000)],
        help_text="How long the first image of a same/different pair is shown",
    )
    jnd_gap_ms = models.PositiveIntegerField(
        "JND: blank gap (ms)",
        default=250,
        validators=[MinValueValidator(0), MaxValueValidator(10000)],
        help_text="The blank between the two images of a pair",
    )
    jnd_second_ms = models.PositiveIntegerField(
        "JND: second image shown (ms)",
        default=1000,
        validators=[MinValueValidator(50), MaxValueValidator(10000)],
        help_text="How long the second image of a pair is shown",
    )
    instructions = models.TextField(
        blank=True,
        max_length=50_000,
        validators=[MaxLengthValidator(50_000)],
        help_text="Markdown shown to participants (rendered safely)",
    )
    jnd_identical_share = models.FloatField(
        "JND: share of identical pairs",
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.9)],
        help_text="Share of JND pairs (non-sentinel) that are identical",
    )
    # Recruitment and completion
    max_assignments_per_participant = models.PositiveSmallIntegerField(
        "assignments per participant",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="How many assignments one participant may do",
    )
    lease_minutes = models.PositiveIntegerField(
        "assignment lease (minutes)",
        default=45,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="An assignment idle this long returns its trials to the pool",
    )
    completion_url = models.URLField(
        "completion link",
        blank=True,
        help_text="Where participants go after finishing; {code} is replaced "
        "by the completion code (e.g. https://app.prolific.com/submissions/complete?cc={code})",
    )
    completion_code = models.CharField(
        "completion code (passed)",
        max_length=40,
        default=_completion_code,
        help_text="Code for participants who pass QC",
    )
    completion_code_failed = models.CharField(
        "completion code (failed QC)",
        max_length=40,
        default=_completion_code,
        help_text="Code for participants who fail QC (a distinct Prolific code)",
    )
    # What the consent page tells a worker before they agree (with the number of trials)
    estimated_minutes = models.PositiveSmallIntegerField(
        "estimated minutes",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="Shown on the consent page; empty: estimated from the assignment size",
    )
    payment = models.CharField(
        max_length=100, blank=True, help_text="Shown on the consent page, e.g. “£2.50”"
    )
    contact = models.CharField(
        "contact",
        max_length=200,
        blank=True,
        help_text="Who workers can ask about the study (shown on the consent page), e.g. an email",
    )
    desktop_only = models.BooleanField(
        "computers and tablets only",
        default=False,
        help_text="Phones get a friendly refusal before consent (tablets and computers may take part)",
    )
    break_every = models.PositiveIntegerField(
        "break every (trials)",
        default=50,
        validators=[MaxValueValidator(10_000)],
        help_text="Offer a break after this many trials (0: never)",
    )
    # Quality control (see crowd.qc)
    qc_min_sentinel_accuracy = models.FloatField(
        "QC: lowest sentinel accuracy",
        default=0.93,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Participants who get a smaller share of sentinels right fail QC (0–1)",
    )
    qc_rt_floor_ms = models.PositiveIntegerField(
        "QC: too-fast answer (ms)",
        default=250,
        validators=[MaxValueValidator(60_000)],
        help_text="Answers faster than this count as too fast",
    )
    qc_max_fast_share = models.FloatField(
        "QC: most too-fast answers",
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Participants with a larger share of too-fast answers fail QC (0–1)",
    )
    qc_max_side_bias = models.FloatField(
        "QC: most answers on one side",
        default=0.85,
        validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text="Flag when more than this share of answers picks one side",
    )
    # Generation progress (written by the stimuli task)
    generation_total = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Trials the generation will make",
    )
    generation_done = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Trials generated so far",
    )
    # Why the study's generation failed (status `failed`), as `common.tasks.recording_failure`
    # stores it; cleared when generation is retried or discarded.
    error = models.TextField(
        blank=True,
        editable=False,
        help_text="Why generation failed",
    )
    design = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The frozen trial designs generation used (experiments.TrialDesign dicts)",
    )
    # Blank: the standard generation (`studies.generation`, from distortions and quotas).
    # Otherwise the name of a generator another app registered (`studies.generators`), e.g.
    # "duel": that app designs the regular trials; studies still makes sentinels and practice.
    generator = models.CharField(
        max_length=20,
        blank=True,
        default="",
        editable=False,
        help_text="App that designs the regular trials, e.g. duel (blank: the standard generation)",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.name

    def allowed_transitions(self) -> tuple[str, ...]:
        return self.TRANSITIONS.get(self.status, ())

    @property
    def generation_error(self) -> str:
        """The generation failure (`error`), under the name the API and commands show it."""
        return self.error


class GeneratingStudyManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(status=StudyStatus.GENERATING)


class GeneratingStudy(Study):
    """Studies whose generation is under way: what the generation tasks' failure policy
    (`common.tasks.recording_failure`) may mark failed. Updating through this manager never
    touches a study that was moved on meanwhile (back to draft, or ready)."""

    objects = GeneratingStudyManager()

    class Meta:
        proxy = True


class StudyStatusChange(models.Model):
    """Audit trail of status transitions."""

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="status_changes",
        help_text="The study whose status changed",
    )
    from_status = models.CharField(
        max_length=16,
        help_text="Status before the change",
    )
    to_status = models.CharField(
        max_length=16,
        help_text="Status after the change",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="Who made the change; empty for the system",
    )
    at = models.DateTimeField(
        auto_now_add=True,
        help_text="When the change happened",
    )
    note = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why, in a few words",
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.study_id}: {self.from_status} → {self.to_status}"


# ---------------------------------------------------------------------------------------------
# Stimuli and trials (generated from the design by `studies.generation`)
# ---------------------------------------------------------------------------------------------


class DistortionSpec(TimeStampedModel):
    """One distortion a study draws from: a registry name (see `experiments.list_distortions()`),
    a severity range in [0, 1], a category label for scoring, and a relative weight."""

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="distortion_specs",
        help_text="The study that uses the distortion",
    )
    name = models.CharField(
        "distortion",
        max_length=80,
        help_text="Registry name from experiments.list_distortions()",
    )
    family = models.CharField(
        max_length=20,
        editable=False,
        blank=True,
        help_text="Distortion family, filled in from the registry",
    )
    category = models.SlugField(
        "scoring category",
        max_length=40,
        default="traditional",
        db_index=False,
        help_text="Scoring category (BAPPS: traditional, cnn, superres, deblur, color, frameinterp)",
    )
    severity_min = models.FloatField(
        "lowest severity",
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="0 (weakest) to 1 (strongest)",
    )
    severity_max = models.FloatField(
        "highest severity",
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="0 (weakest) to 1 (strongest); at least the lowest",
    )
    weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0)],
        help_text="How often it is drawn relative to the category's other distortions",
    )

    class Meta:
        ordering = ["study", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "name", "category"], name="unique_spec_per_category"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.category}] {self.severity_min:.2f}–{self.severity_max:.2f}"


class TrialQuota(models.Model):
    """How many trials of a kind, split and category the study generates."""

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="quotas",
        help_text="The study the quota belongs to",
    )
    kind = models.CharField(
        "trial kind", max_length=8, choices=TrialKind.choices, help_text="2AFC triplet or JND pair"
    )
    split = models.CharField(
        max_length=8,
        choices=Split.choices,
        default=Split.VAL,
        help_text="train (for fitting metrics) or val (for scoring them)",
    )
    category = models.SlugField(
        "scoring category",
        max_length=40,
        default="traditional",
        db_index=False,
        help_text="The distortions chosen for this category are drawn",
    )
    count = models.PositiveIntegerField(
        "trials",
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text="How many trials of this kind, split and category to generate",
    )

    class Meta:
        verbose_name = "trial count"
        verbose_name_plural = "trial counts"
        ordering = ["study", "kind", "split", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "kind", "split", "category"], name="unique_quota"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} {self.kind} {self.split}/{self.category}"


class ModelArtifact(TimeStampedModel):
    """A network trained for a study's stimuli (CNN autoencoder, SR net, colouriser): weights and
    hyper-parameters, content-addressed so provenance can name it."""

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="model_artifacts",
        help_text="The study whose stimuli the network makes",
    )
    sha256 = models.CharField(
        max_length=64,
        verbose_name="SHA-256",
        help_text="SHA-256 of the model file",
    )
    kind = models.CharField(
        max_length=40,
        help_text="What the network does, e.g. a CNN autoencoder, SR net or colouriser",
    )
    file = models.FileField(
        upload_to="models/",
        help_text="The trained weights",
    )
    params = models.JSONField(
        default=dict,
        verbose_name="parameters",
        help_text="Hyper-parameters of the training",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "sha256"], name="unique_artifact_per_study")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sha256[:12]}"


class Patch(models.Model):
    """A square crop of a reference image (box in the source image's pixels, after `scale`)."""

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="patches",
        help_text="The study the patch belongs to",
    )
    image = models.ForeignKey(
        ReferenceImage,
        on_delete=models.PROTECT,
        related_name="patches",
        verbose_name="reference image",
        help_text="The photograph the patch is cut from",
    )
    index = models.PositiveIntegerField(
        help_text="Number of the patch within the study",
    )
    box = models.JSONField(help_text="[left, top, right, bottom] in source-image pixels")
    scale = models.FloatField(
        default=1.0,
        help_text="Patch size over the side of the cropped square (1: pixels as is; below 1 zooms out)",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "image", "index"], name="unique_patch")
        ]

    def __str__(self) -> str:
        return f"patch {self.index} of {self.image_id}"


def _stimulus_path(instance: Stimulus, filename: str) -> str:
    # Names reveal nothing about the distortion: study id and the PNG's own hash.
    return f"stimuli/{instance.study_id}/{instance.sha256[:2]}/{instance.sha256}.png"


class Stimulus(models.Model):
    """One image shown to participants (a reference patch or a distorted version), with the
    provenance that regenerates it bit for bit (`experiments.regenerate`)."""

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="stimuli",
        help_text="The study the stimulus belongs to",
    )
    patch = models.ForeignKey(
        Patch,
        on_delete=models.CASCADE,
        related_name="stimuli",
        null=True,
        blank=True,
        help_text="The reference patch it was made from",
    )
    file = models.FileField(
        upload_to=_stimulus_path,
        help_text="The stimulus PNG",
    )
    sha256 = models.CharField(
        max_length=64,
        db_index=True,
        help_text="sha256 of the PNG bytes",
        verbose_name="SHA-256",
    )
    provenance = models.JSONField(
        help_text="How it was made: distortion, severity, seed, code version",
    )
    created_at = models.DateTimeField(
        auto_now_add=True,
        help_text="When the stimulus was made",
    )

    class Meta:
        verbose_name_plural = "stimuli"

    def __str__(self) -> str:
        return f"stimulus {self.pk}"


class Trial(models.Model):
    """A 2AFC triplet (ref, p0, p1) or a JND pair (p0 shown first, p1 second, before any
    counterbalancing). `expected` is the hidden answer of sentinels and practice trials; it never
    reaches a participant's browser except as practice feedback."""

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="trials",
        help_text="The study the trial belongs to",
    )
    kind = models.CharField(
        "trial kind",
        max_length=8,
        choices=TrialKind.choices,
        help_text="2AFC triplet or JND pair",
    )
    split = models.CharField(
        max_length=8,
        choices=Split.choices,
        blank=True,
        help_text="train / val; blank for practice and sentinel trials, which are in no split",
    )
    category = models.CharField(
        "scoring category",
        max_length=40,
        help_text="Scoring category, e.g. traditional or cnn",
    )
    index = models.PositiveIntegerField(
        "position", help_text="Position in the study's generation plan"
    )
    ref = models.ForeignKey(
        Stimulus,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name="reference",
        help_text="The reference patch (2AFC); empty for JND",
    )
    p0 = models.ForeignKey(
        Stimulus,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="patch 0",
        help_text="First distorted patch",
    )
    p1 = models.ForeignKey(
        Stimulus,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="patch 1",
        help_text="Second distorted patch",
    )
    is_sentinel = models.BooleanField(
        "sentinel", default=False, help_text="An obvious trial for quality control"
    )
    is_practice = models.BooleanField(
        "practice", default=False, help_text="Shown with feedback before the real trials"
    )
    expected = models.CharField(
        "expected answer", max_length=10, blank=True, help_text="2AFC: p0/p1; JND: same/different"
    )
    judgments_needed = models.PositiveSmallIntegerField(
        "judgments needed", default=0, help_text="How many valid judgments the trial collects"
    )
    # Random tie-breaker among trials with the same load, fixed at generation. (The load itself,
    # judgments collected and leased, is crowd's: `crowd.TrialLoad`.)
    sort_key = models.PositiveIntegerField(
        default=_sort_key,
        help_text="Random key that orders trials for allocation",
    )

    class Meta:
        ordering = ["study", "index"]
        constraints = [
            models.UniqueConstraint(fields=["study", "index"], name="unique_trial_index"),
            # A regular trial is in a dataset split; practice and sentinel trials are in none.
            models.CheckConstraint(
                condition=(
                    models.Q(is_practice=False, is_sentinel=False, split__in=Split.values)
                    | (models.Q(is_practice=True) | models.Q(is_sentinel=True)) & models.Q(split="")
                ),
                name="trial_split_matches_role",
                violation_error_message=(
                    "A regular trial's split must be train or val; practice and sentinel trials "
                    "have no split."
                ),
            ),
        ]
        indexes = [models.Index(fields=["study", "kind", "is_sentinel", "is_practice"])]

    def __str__(self) -> str:
        return f"{self.kind} trial {self.index} ({self.split}/{self.category})"
