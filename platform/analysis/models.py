"""Analysis: frozen dataset releases, exports, LPIPS fit runs, metric score runs, leaderboards.

A `Dataset` is immutable once `ready`: its items, judge/same fractions and manifest never change;
a new freeze of the same study makes a new version. Files are read through Django's storage API,
so workers on other machines read them the same way (shared volume or S3-compatible storage).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from common.models import TimeStampedModel
from metrics.refs import MetricRef
from studies.models import ImageSet, Study

SEED_MAX = 2**31 - 1  # seeds are stored in a 32-bit signed integer column


def _public_slug() -> str:
    return secrets.token_urlsafe(12)


class Dataset(TimeStampedModel):
    class Source(models.TextChoices):
        STUDY = "study", "frozen from a study"
        IMPORT = "import", "imported BAPPS-layout folder"

    class Status(models.TextChoices):
        BUILDING = "building", "building"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="datasets",
        help_text="The researcher who owns the dataset",
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_datasets"
    )
    name = models.CharField(
        max_length=200,
        help_text="A name for you and the leaderboard",
    )
    source = models.CharField(
        max_length=8,
        choices=Source.choices,
        help_text="Frozen from a study or imported from a BAPPS-layout folder",
    )
    study = models.ForeignKey(
        "studies.Study",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="datasets",
        help_text="The study it was frozen from; empty for imports",
    )
    version = models.PositiveIntegerField(
        default=1,
        help_text="Freeze number of the study's datasets (1, 2, …)",
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.BUILDING,
        help_text="building, ready or failed; a ready dataset never changes",
    )
    import_path = models.CharField(
        max_length=500,
        blank=True,
        help_text="Folder under PERCEPTLAB_IMPORT_ROOT an import reads from (as given)",
    )
    import_archive = models.FileField(
        upload_to="imports/",
        blank=True,
        help_text="Uploaded BAPPS-layout .zip an import reads from; removed once imported",
    )
    counts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Items per kind, split and category",
    )
    manifest = models.JSONField(
        default=dict, blank=True, help_text="Files with sha256, design, code version"
    )
    progress = models.JSONField(
        default=dict,
        blank=True,
        help_text="How far the build has come",
    )
    error = models.TextField(
        blank=True,
        help_text="Why the build failed",
    )
    is_public = models.BooleanField(
        default=False, help_text="Leaderboard visible to anyone with its URL"
    )
    public_slug = models.CharField(
        max_length=32,
        unique=True,
        default=_public_slug,
        editable=False,
        verbose_name="public link name",
        help_text="Part of the public leaderboard URL",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "version"], name="unique_study_dataset_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class FreezableStudy(Study):
    """A study seen from analysis in the admin: where a researcher freezes its judgments into
    a new dataset version (the same `datasets.dataset_freeze` as the API)."""

    class Meta:
        proxy = True
        verbose_name = "study to freeze"
        verbose_name_plural = "studies to freeze"


class DatasetItem(models.Model):
    """One 2AFC triplet (ref, p0, p1, judge = share preferring p1) or JND pair (p0, p1,
    judge = share answering "same"), with storage names and sha256 of its images."""

    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.CASCADE,
        related_name="items",
        help_text="The dataset the item belongs to",
    )
    kind = models.CharField(
        max_length=8,
        help_text="2afc (triplet) or jnd (pair)",
    )
    split = models.CharField(
        max_length=16,
        help_text="train or val",
    )
    category = models.CharField(
        max_length=64,
        help_text="Scoring category, e.g. traditional or cnn",
    )
    index = models.PositiveIntegerField(help_text="Position within (kind, split, category)")
    ref = models.CharField(
        max_length=300,
        blank=True,
        verbose_name="reference",
        help_text="Storage name of the reference image; blank for JND",
    )
    p0 = models.CharField(
        max_length=300,
        verbose_name="patch 0",
        help_text="Storage name of the first distorted image",
    )
    p1 = models.CharField(
        max_length=300,
        verbose_name="patch 1",
        help_text="Storage name of the second distorted image",
    )
    ref_sha256 = models.CharField(
        max_length=64,
        blank=True,
        verbose_name="reference SHA-256",
        help_text="SHA-256 of the reference image file",
    )
    p0_sha256 = models.CharField(
        max_length=64,
        verbose_name="patch 0 SHA-256",
        help_text="SHA-256 of patch 0's file",
    )
    p1_sha256 = models.CharField(
        max_length=64,
        verbose_name="patch 1 SHA-256",
        help_text="SHA-256 of patch 1's file",
    )
    judge = models.FloatField(
        help_text="2AFC: share of judgments preferring p1; JND: share answering “same” (0–1)",
    )
    n_judgments = models.PositiveIntegerField(
        default=0,
        verbose_name="judgments",
        help_text="Number of valid judgments behind the judge value",
    )
    trial = models.ForeignKey(
        "studies.Trial",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="The study trial it came from; empty for imports",
    )

    class Meta:
        ordering = ["dataset", "kind", "split", "category", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "kind", "split", "category", "index"], name="unique_dataset_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.split}/{self.category}/{self.index}"


class DatasetJudgment(models.Model):
    """One response in the snapshot a study dataset was frozen from, and whether it counted.

    The freeze reads every response of the study in one statement (one snapshot, also on
    PostgreSQL's READ COMMITTED) and stores them here; every export of the dataset reads this
    set, so an answer still in flight during the freeze (stored, not yet committed) is in neither
    the dataset nor any export, and a later QC decision changes neither. `valid` is the freeze's
    decision: it counts toward an item's `n_judgments`.
    """

    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.CASCADE,
        related_name="judgments",
        help_text="The dataset frozen from the response's study",
    )
    response = models.ForeignKey(
        "crowd.Response",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="One response in the freeze's snapshot",
    )
    valid = models.BooleanField(
        help_text="The freeze counted the response toward its item's judgments",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "response"], name="unique_dataset_judgment")
        ]

    def __str__(self) -> str:
        return f"response {self.response_id} in dataset {self.dataset_id}"


class Export(TimeStampedModel):
    class Kind(models.TextChoices):
        BAPPS = "bapps", "BAPPS layout (.tar.gz)"
        CSV = "csv", "one row per judgment (CSV)"
        PARQUET = "parquet", "one row per judgment (Parquet)"
        DATASHEET = "datasheet", "datasheet (Markdown)"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.CASCADE,
        related_name="exports",
        help_text="The dataset exported",
    )
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        help_text="File format of the export",
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.QUEUED,
        help_text="queued, running, ready or failed",
    )
    file = models.FileField(
        upload_to="exports/",
        blank=True,
        help_text="The exported file, once ready",
    )
    sha256 = models.CharField(
        max_length=64,
        blank=True,
        verbose_name="SHA-256",
        help_text="SHA-256 of the exported file",
    )
    size = models.PositiveBigIntegerField(
        default=0,
        verbose_name="size (bytes)",
        help_text="Size of the exported file in bytes",
    )
    error = models.TextField(
        blank=True,
        help_text="Why the export failed",
    )

    def __str__(self) -> str:
        return f"{self.kind} of {self.dataset_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


class FitRun(TimeStampedModel):
    """Fitting an LPIPS variant on a dataset's train split (queue `gpu`)."""

    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.PROTECT,
        related_name="fit_runs",
        help_text="The dataset whose train split is fitted",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        help_text="The researcher who started the fit",
    )
    net = models.CharField(
        max_length=40, default="alex", help_text="alex, vgg, squeeze or a zoo net deep-<arch>"
    )
    variant = models.CharField(
        max_length=10,
        default="lin",
        help_text="lin (linear layer on frozen trunk), tune or scratch",
    )
    version = models.CharField(
        max_length=4,
        default="0.1",
        verbose_name="LPIPS version",
        help_text="LPIPS version, e.g. 0.1",
    )
    epochs = models.PositiveSmallIntegerField(
        default=5,
        help_text="Epochs at the initial learning rate",
    )
    epochs_decay = models.PositiveSmallIntegerField(
        default=5,
        verbose_name="epochs of decaying learning rate",
        help_text="Further epochs while the learning rate decays to 0",
    )
    seed = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(SEED_MAX)],
        verbose_name="random seed",
        help_text="Seeds initialisation and shuffling",
    )
    trunk_weights = models.CharField(
        max_length=500,
        blank=True,
        help_text="Trunk checkpoint path on the worker; blank = torch hub cache; "
        "'random' = seeded random trunk",
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Further metrics.training options, e.g. {"path": "full"}',
    )
    status = models.CharField(
        max_length=10,
        choices=RunStatus.choices,
        default=RunStatus.QUEUED,
        help_text="queued, running, done, failed or cancelled",
    )
    cancel_requested = models.BooleanField(
        default=False,
        help_text="A researcher asked to cancel; the worker stops at the next check",
    )
    progress = models.JSONField(
        default=dict, blank=True, help_text="Latest epoch, loss, validation 2AFC"
    )
    history = models.JSONField(
        default=list,
        blank=True,
        help_text="Loss and validation 2AFC per epoch",
    )
    attempts = models.PositiveSmallIntegerField(
        default=0,
        help_text="How often a worker started the fit",
    )
    worker = models.CharField(
        max_length=200,
        blank=True,
        help_text="Host name of the worker that ran the fit",
    )
    weights = models.FileField(
        upload_to="fits/", blank=True, help_text="Fitted lin weights (official key format)"
    )
    result = models.JSONField(
        default=dict,
        blank=True,
        help_text="Final validation scores",
    )
    computed_with = models.JSONField(
        default=dict, blank=True, help_text="How it was computed: torch version, device, dtype"
    )
    error = models.TextField(
        blank=True,
        help_text="Why the fit failed",
    )

    def __str__(self) -> str:
        return f"fit {self.pk}: {self.net}-{self.variant} on {self.dataset_id}"

    @property
    def metric_name(self) -> str:
        return str(MetricRef.fitted(self.pk))


class UploadedMetric(TimeStampedModel):
    """LPIPS lin weights a researcher uploaded (official key format), usable as `uploaded:<id>`
    once a worker has validated them (status `ready`): the web process only stores the file."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending (queued for validation)"
        VALIDATING = "validating", "validating"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="uploaded_metrics",
        help_text="The researcher who uploaded the weights",
    )
    name = models.CharField(
        max_length=200,
        help_text="A name for you and the leaderboard",
    )
    net = models.CharField(
        max_length=10,
        default="alex",
        verbose_name="network",
        help_text="Trunk network the weights belong to: alex, vgg or squeeze",
    )
    version = models.CharField(
        max_length=4,
        default="0.1",
        verbose_name="LPIPS version",
        help_text="LPIPS version, e.g. 0.1",
    )
    weights = models.FileField(
        upload_to="uploaded-metrics/",
        help_text="LPIPS lin weights file (official key format)",
    )
    sha256 = models.CharField(
        max_length=64,
        verbose_name="SHA-256",
        help_text="SHA-256 of the weights file",
    )
    size = models.PositiveBigIntegerField(
        default=0,
        verbose_name="size (bytes)",
        help_text="Size of the weights file in bytes",
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.PENDING,
        help_text="pending, validating, ready or failed; usable once ready",
    )
    error = models.TextField(
        blank=True,
        help_text="Why validation failed",
    )

    def __str__(self) -> str:
        return self.name

    @property
    def metric_name(self) -> str:
        return str(MetricRef.uploaded(self.pk))


KMEANS_PREFIX = "kmeans"  # a trunk_weights value "kmeans:<id>" names a KMeansTrunk


class KMeansTrunk(TimeStampedModel):
    """An AlexNet trunk initialised by stacked k-means on one of the researcher's image sets
    (Krähenbühl et al., ICLR 2016; the LPIPS paper's unsupervised row), computed by a worker
    (queue `gpu`). Once `done`, its owner names it as `trunk_weights` = `kmeans:<id>` in fits
    and score runs of `lpips-alex` and `deep-alexnet`; nobody else can."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="kmeans_trunks",
        help_text="The researcher who owns the trunk",
    )
    # The checkpoint stands on its own: deleting the image set keeps the trunk (its report
    # names the images' count and settings).
    image_set = models.ForeignKey(
        "studies.ImageSet",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="kmeans_trunks",
        help_text="The image set the k-means ran on; kept empty if the set is deleted",
    )
    name = models.CharField(
        max_length=200,
        help_text="A name for you",
    )
    seed = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(SEED_MAX)],
        verbose_name="random seed",
        help_text="Seeds the crops and k-means",
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text="metrics.training.kmeans_init settings, e.g. "
        '{"crop_size": 128, "n_crops": 256, "n_patches": 8192}',
    )
    status = models.CharField(
        max_length=10,
        choices=RunStatus.choices,
        default=RunStatus.QUEUED,
        help_text="queued, running, done, failed or cancelled",
    )
    progress = models.JSONField(
        default=dict,
        blank=True,
        help_text="How far the computation has come",
    )
    attempts = models.PositiveSmallIntegerField(
        default=0,
        help_text="How often a worker started the computation",
    )
    worker = models.CharField(
        max_length=200,
        blank=True,
        help_text="Host name of the worker that computed it",
    )
    weights = models.FileField(
        upload_to="trunks/", blank=True, help_text="torchvision AlexNet features state dict"
    )
    sha256 = models.CharField(
        max_length=64,
        blank=True,
        verbose_name="SHA-256",
        help_text="SHA-256 of the weights file",
    )
    report = models.JSONField(
        default=dict, blank=True, help_text="Settings and what each layer did (k-means, scaling)"
    )
    computed_with = models.JSONField(
        default=dict,
        blank=True,
        help_text="How it was computed: torch version, device, dtype",
    )
    error = models.TextField(
        blank=True,
        help_text="Why the computation failed",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "k-means trunk"

    def __str__(self) -> str:
        return f"{self.name} ({self.trunk_ref})"

    @property
    def trunk_ref(self) -> str:
        return f"{KMEANS_PREFIX}:{self.pk}"


class TrunkImageSet(ImageSet):
    """An image set seen from analysis in the admin: where a researcher initialises a trunk by
    k-means from it (the same `kmeans_trunk_create` as the API)."""

    class Meta:
        proxy = True
        verbose_name = "image set for a k-means trunk"
        verbose_name_plural = "image sets for k-means trunks"


class ScoreRun(TimeStampedModel):
    """A metric scored on a dataset (queue `gpu`): per-category 2AFC with bootstrap CIs, JND mAP,
    human ceiling, and per-item credit."""

    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.CASCADE,
        related_name="score_runs",
        help_text="The dataset scored",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        help_text="The researcher who started the run",
    )
    metric = models.CharField(
        max_length=120, help_text="Registry name, fitted:<id> or uploaded:<id>"
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text="Metric options, e.g. trunk_weights",
    )
    split = models.CharField(
        max_length=16,
        default="val",
        help_text="The dataset split scored (train or val)",
    )
    status = models.CharField(
        max_length=10,
        choices=RunStatus.choices,
        default=RunStatus.QUEUED,
        help_text="queued, running, done, failed or cancelled",
    )
    progress = models.JSONField(
        default=dict,
        blank=True,
        help_text="How far the run has come",
    )
    result = models.JSONField(default=dict, blank=True, help_text="ScoreReport dicts (2afc, jnd)")
    credits = models.FileField(
        upload_to="scores/", blank=True, help_text="Per-item distances and credit (JSON)"
    )
    computed_with = models.JSONField(
        default=dict,
        blank=True,
        help_text="How it was computed (metric.provenance()): torch version, device, dtype, engine",
    )
    error = models.TextField(
        blank=True,
        help_text="Why the run failed",
    )

    class Meta:
        indexes = [models.Index(fields=["dataset", "metric", "status"])]

    def __str__(self) -> str:
        return f"{self.metric} on {self.dataset_id}"


from .board_models import BoardSignificance  # noqa: E402, F401
