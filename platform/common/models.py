"""Base models shared by every app."""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    """Adds creation and last-change timestamps."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

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

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # What the failure policy marks failed when the job is given up (`common.tasks`).
    target = models.CharField(
        max_length=100, blank=True, help_text="Model label, e.g. analysis.FitRun"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    failed_fields = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    error = models.TextField(
        blank=True, help_text="Why the last publish failed, or why it was given up"
    )

    class Meta:
        indexes = [models.Index(fields=["state", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"job {self.pk}: {self.task}{tuple(self.args)} attempt {self.attempt} ({self.state})"


class WorkerSeen(models.Model):
    """The last sign of life of each worker host (sweeps, job heartbeats, worker start), read
    by the health endpoint."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(db_index=True)

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
    )
    name = models.CharField(
        max_length=100, help_text="What the token is for, e.g. “laptop” or “CI pipeline”"
    )
    prefix = models.CharField(
        max_length=12, help_text="The key's first characters, to recognise it in a list"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
