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
        Trial,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="load",
        help_text="The regular trial these counts belong to",
    )
    valid_count = models.PositiveIntegerField(
        default=0,
        verbose_name="valid responses",
        help_text="Responses that count toward the trial's quota",
    )
    leased_count = models.PositiveIntegerField(
        default=0,
        verbose_name="leased items",
        help_text="Unanswered items of active assignments that would count",
    )
    shown_straight = models.PositiveIntegerField(
        default=0,
        help_text="Counted items shown with p0 on the left (or first)",
    )
    shown_swapped = models.PositiveIntegerField(
        default=0,
        help_text="Counted items shown with p1 on the left (or first)",
    )

    class Meta:
        verbose_name = "trial collection count"

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

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="participants",
        help_text="The study the participant takes part in",
    )
    recruiter = models.CharField(
        max_length=10,
        choices=Recruiter.choices,
        help_text="Where the participant came from (Prolific, MTurk, plain link, simulated)",
    )
    external_id = models.CharField(
        max_length=128, help_text="PROLIFIC_PID / workerId / a browser id for plain links"
    )
    pseudonym = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Pseudonymous id used in exports instead of the recruiter id",
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.OK,
        help_text="Quality-control outcome: ok, flagged or excluded",
    )
    qc_reasons = models.JSONField(
        default=list,
        blank=True,
        verbose_name="QC reasons",
        help_text="Why quality control flagged or excluded the participant",
    )
    qc_stats = models.JSONField(
        default=dict,
        blank=True,
        verbose_name="QC statistics",
        help_text="Sentinel accuracy, fast-answer share, side bias, … at the last check",
    )
    excluded_manually = models.BooleanField(
        default=False,
        help_text="A researcher excluded the participant by hand",
    )
    reinstated_manually = models.BooleanField(
        default=False,
        help_text="A researcher reinstated the participant by hand, overriding QC",
    )

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

    study = models.ForeignKey(
        Study,
        on_delete=models.CASCADE,
        related_name="assignments",
        help_text="The study the assignment belongs to",
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="assignments",
        help_text="Who does the assignment",
    )
    token = models.CharField(
        max_length=64,
        unique=True,
        default=_token,
        editable=False,
        help_text="Secret token in the participant's link to this assignment",
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.ACTIVE,
        help_text="active, completed or expired",
    )
    lease_expires_at = models.DateTimeField(
        db_index=True,
        verbose_name="lease expires",
        help_text="When unanswered trials return to the pool if the participant is idle",
    )
    completed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the participant answered the last trial",
    )
    completion_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="Code shown to the participant at the end (for the recruiter)",
    )
    session_id = models.CharField(
        max_length=128, blank=True, help_text="Prolific SESSION_ID / MTurk assignmentId"
    )
    recruiter_study_id = models.CharField(
        max_length=128, blank=True, help_text="Prolific STUDY_ID / MTurk hitId"
    )
    turk_submit_to = models.URLField(
        blank=True,
        verbose_name="MTurk submit URL",
        help_text="Where the answer form is posted back to Mechanical Turk",
    )
    total = models.PositiveIntegerField(
        default=0,
        verbose_name="trials",
        help_text="Number of items in the assignment, sentinels and repeats included",
    )
    answered = models.PositiveIntegerField(
        default=0,
        help_text="Number of items answered so far",
    )

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

    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.CASCADE,
        related_name="items",
        help_text="The assignment the item belongs to",
    )
    position = models.PositiveIntegerField(
        help_text="Display order within the assignment (from 0)",
    )
    trial = models.ForeignKey(
        Trial,
        on_delete=models.PROTECT,
        related_name="assignment_items",
        help_text="The trial shown",
    )
    swapped = models.BooleanField(
        default=False,
        help_text="p1 shown on the left (2AFC) or first (JND), to counterbalance",
    )
    is_repeat = models.BooleanField(
        default=False,
        verbose_name="hidden repeat",
        help_text="A hidden repeat of an earlier item, for the QC consistency check",
    )
    counts = models.BooleanField(
        default=True,
        verbose_name="counts toward quota",
        help_text="The answer counts toward the trial's quota",
    )

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

    item = models.OneToOneField(
        AssignmentItem,
        on_delete=models.CASCADE,
        related_name="response",
        verbose_name="assignment item",
        help_text="The assignment item answered",
    )
    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.CASCADE,
        related_name="responses",
        help_text="The assignment the answer belongs to",
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="responses",
        help_text="Who answered",
    )
    trial = models.ForeignKey(
        Trial,
        on_delete=models.PROTECT,
        related_name="responses",
        help_text="The trial answered",
    )
    client_uuid = models.UUIDField(
        unique=True,
        verbose_name="client UUID",
        help_text="Id the browser generated, so a retried answer is stored once",
    )
    choice = models.CharField(
        max_length=10,
        help_text="The answer in trial terms after undoing the swap: p0/p1 (2AFC) or same/different (JND)",
    )
    side = models.CharField(
        max_length=10, help_text="left/right (2AFC) or same/different (JND) as clicked"
    )
    rt_ms = models.PositiveIntegerField(
        verbose_name="response time (ms)",
        help_text="Time from stimulus onset to the answer, in milliseconds",
    )
    display = models.JSONField(
        default=dict, help_text="Window size, devicePixelRatio, achieved scale, …"
    )
    timing = models.JSONField(
        default=dict, help_text="Browser timestamps of stimulus onsets/offsets"
    )
    received_at = models.DateTimeField(
        auto_now_add=True,
        help_text="When the server stored the answer",
    )

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
