"""Base models shared by every app."""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    """Adds creation and last-change timestamps."""

    created_at = models.DateTimeField(
        auto_now_add=True,
        db_index=True,
        verbose_name="created",
        help_text="When the record was created",
    )
    updated_at = models.DateTimeField(
        auto_now=True,
        verbose_name="last changed",
        help_text="When the record was last saved",
    )

    class Meta:
        abstract = True


class Job(models.Model):
    """One requested background job: the transactional outbox entry of its message and, once a
    worker runs it, its heartbeat (`common.jobs`).

    The service that requests a job writes this row in the same transaction as the job's own row
    (a fit, an export, …), so a job is never lost to a broker outage: the message is published
    after the commit and, if that fails, by the dispatcher once the broker is back. A running job
    beats every few seconds; the sweeper re-queues one whose heartbeat went stale (its worker
    died) under the next `attempt`, and a delivery of an older attempt exits without writing.
    """

    class State(models.TextChoices):
        PENDING = "pending", "pending (not yet handed to the broker)"
        SENT = "sent", "sent (waiting for a worker)"
        RUNNING = "running", "running"
        DONE = "done", "done (the object's status tells the outcome)"
        FAILED = "failed", "given up (its worker was lost too often)"

    task = models.CharField(
        max_length=200,
        help_text="Dotted name of the Celery task to run",
    )
    args = models.JSONField(
        default=list,
        blank=True,
        verbose_name="arguments",
        help_text="Positional arguments passed to the task (JSON list)",
    )
    kwargs = models.JSONField(
        default=dict,
        blank=True,
        verbose_name="keyword arguments",
        help_text="Keyword arguments passed to the task (JSON object)",
    )
    # What the failure policy marks failed when the job is given up (`common.tasks`).
    target = models.CharField(
        max_length=100, blank=True, help_text="Model label, e.g. analysis.FitRun"
    )
    target_id = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        verbose_name="target id",
        help_text="Primary key of the object the job works on",
    )
    failed_fields = models.JSONField(
        default=dict,
        blank=True,
        help_text="Field values written to the target if the job is given up",
    )
    state = models.CharField(
        max_length=10,
        choices=State.choices,
        default=State.PENDING,
        help_text="Where the job stands: pending, sent, running, done or given up",
    )
    attempt = models.PositiveSmallIntegerField(
        default=1,
        help_text="Delivery attempt number; a stale job is re-queued under the next one",
    )
    created_at = models.DateTimeField(
        auto_now_add=True,
        verbose_name="requested",
        help_text="When the job was requested",
    )
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the job's message was handed to the broker",
    )
    started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a worker started the current attempt",
    )
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="last heartbeat",
        help_text="Last sign of life of the running worker",
    )
    finished_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the job finished or was given up",
    )
    worker = models.CharField(
        max_length=200,
        blank=True,
        help_text="Host name of the worker running the job",
    )
    error = models.TextField(
        blank=True, help_text="Why the last publish failed, or why it was given up"
    )

    class Meta:
        indexes = [models.Index(fields=["state", "heartbeat_at"])]
        verbose_name = "background job"

    def __str__(self) -> str:
        return f"job {self.pk}: {self.task}{tuple(self.args)} attempt {self.attempt} ({self.state})"


class WorkerSeen(models.Model):
    """The last sign of life of each worker host (sweeps, job heartbeats, worker start), read
    by the health endpoint."""

    hostname = models.CharField(
        max_length=200,
        unique=True,
        verbose_name="host name",
        help_text="The worker host's name",
    )
    seen_at = models.DateTimeField(
        db_index=True,
        verbose_name="last seen",
        help_text="When the worker last showed a sign of life",
    )

    class Meta:
        verbose_name = "worker host"

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class ApiToken(models.Model):
    """A researcher's API key, stored as its sha256 only: the key itself is shown once, when it
    is created or rotated (`common.tokens`), and cannot be read back by anyone afterwards.

    sha256 without a salt is enough here: keys are 32 random bytes (not passwords a dictionary
    could guess), and a lookup by digest stays one indexed query per request."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name="owner",
        help_text="The researcher the token acts for",
    )
    name = models.CharField(
        max_length=100, help_text="What the token is for, e.g. “laptop” or “CI pipeline”"
    )
    prefix = models.CharField(
        max_length=12, help_text="The key's first characters, to recognise it in a list"
    )
    key_hash = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        verbose_name="key hash (SHA-256)",
        help_text="SHA-256 of the key; the key itself is never stored",
    )
    created_at = models.DateTimeField(
        auto_now_add=True,
        help_text="When the token was created",
    )
    rotated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the key was last replaced; empty if never",
    )
    last_used_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="last used",
        help_text="When a request last used the token",
    )
    revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the token was revoked; empty while it is active",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
