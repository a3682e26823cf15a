"""Crowd collection: participants, assignments (leased sets of trials) and responses.

Exactly-once rule: a `Response` is unique per assignment item (one occurrence of a trial in an
assignment) and per client-generated UUID; a retry with the same UUID returns the stored row.
Only Postgres (or SQLite) sits on the response path: no broker, no cache.

Crowd owns the running counts of collection (`TrialLoad`); studies owns the trials themselves.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models

from common.models import TimeStampedModel
from studies.models import Study, Trial


def _token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits: unguessable


class TrialLoad(models.Model):
    """Collection's counts for one regular trial (not practice, not sentinel), written only by
    `crowd.services` under row locks; allocation reads and locks these rows in one query.

    - `valid_count`: responses that count toward the trial's quota (first occurrence, participant
      not excluded);
    - `leased_count`: unanswered items of active assignments that would count;
    - `shown_straight` / `shown_swapped`: counted items handed out with p0 / p1 on the left (or
      first), to balance presentation per trial.

    Created in bulk for every regular trial when the study goes live (`trial_loads_open`).
    """

    trial = models.OneToOneField(
        Trial, on_delete=models.CASCADE, primary_key=True, related_name="load"
    )
    valid_count = models.PositiveIntegerField(default=0)
    leased_count = models.PositiveIntegerField(default=0)
    shown_straight = models.PositiveIntegerField(default=0)
    shown_swapped = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return (
            f"load of trial {self.trial_id}: {self.valid_count} valid, {self.leased_count} leased"
        )


class Participant(TimeStampedModel):
    class Recruiter(models.TextChoices):
        PLAIN = "plain", "Plain link"
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "Mechanical Turk"
        BOT = "bot", "Simulated"

    class Status(models.TextChoices):
        OK = "ok", "ok"
        FLAGGED = "flagged", "flagged"
        EXCLUDED = "excluded", "excluded"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    recruiter = models.CharField(max_length=10, choices=Recruiter.choices)
    external_id = models.CharField(
        max_length=128, help_text="PROLIFIC_PID / workerId / a browser id for plain links"
    )
    pseudonym = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Pseudonymous id used in exports instead of the recruiter id",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    qc_reasons = models.JSONField(default=list, blank=True)
    qc_stats = models.JSONField(default=dict, blank=True)
    excluded_manually = models.BooleanField(default=False)
    reinstated_manually = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "recruiter", "external_id"], name="unique_participant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recruiter}:{str(self.pseudonym)[:8]}"


class Assignment(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        COMPLETED = "completed", "completed"
        EXPIRED = "expired", "expired"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assignments")
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="assignments"
    )
    token = models.CharField(max_length=64, unique=True, default=_token, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    lease_expires_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completion_code = models.CharField(max_length=40, blank=True)
    session_id = models.CharField(
        max_length=128, blank=True, help_text="Prolific SESSION_ID / MTurk assignmentId"
    )
    recruiter_study_id = models.CharField(
        max_length=128, blank=True, help_text="Prolific STUDY_ID / MTurk hitId"
    )
    turk_submit_to = models.URLField(blank=True)
    total = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["study", "status", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"


class AssignmentItem(models.Model):
    """One occurrence of a trial in an assignment, in display order.

    `swapped` counterbalances presentation: for 2AFC, p1 is shown on the left; for JND, p1 is
    shown first. `is_repeat` marks the hidden repeat of an earlier item (QC consistency).
    `counts` is true for the item whose answer counts toward the trial's quota.
    """

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="assignment_items")
    swapped = models.BooleanField(default=False)
    is_repeat = models.BooleanField(default=False)
    counts = models.BooleanField(default=True)

    class Meta:
        ordering = ["assignment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "position"], name="unique_item_position")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}#{self.position}"


class Response(models.Model):
    """A participant's answer to one assignment item. `choice` is in trial terms (p0/p1 for 2AFC,
    same/different for JND) after undoing the counterbalancing; `side` is what was clicked."""

    item = models.OneToOneField(AssignmentItem, on_delete=models.CASCADE, related_name="response")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="responses")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="responses")
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="responses")
    client_uuid = models.UUIDField(unique=True)
    choice = models.CharField(max_length=10)
    side = models.CharField(
        max_length=10, help_text="left/right (2AFC) or same/different (JND) as clicked"
    )
    rt_ms = models.PositiveIntegerField()
    display = models.JSONField(
        default=dict, help_text="Window size, devicePixelRatio, achieved scale, …"
    )
    timing = models.JSONField(
        default=dict, help_text="Browser timestamps of stimulus onsets/offsets"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["trial", "participant"])]

    def __str__(self) -> str:
        return f"response {self.pk}"


class StudyCollection(Study):
    """A study seen from crowd collection (progress, participants, QC) in the admin."""

    class Meta:
        proxy = True
        verbose_name = "collection progress"
        verbose_name_plural = "collection progress"
