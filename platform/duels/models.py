"""Metric duels: a `studies.Study` whose regular 2AFC trials show two metrics' strongest
disagreements (gMAD selection from a candidate pool, MAD synthesis by gradient steps).

`DuelStudy` holds the duel design (metrics, pool, levels, method, tolerance) of one study;
`DuelPair` one chosen or synthesised pair with what each metric said about it, and the trial that
serves it (set when the pairs are assembled); `DuelPoolScore` one metric's distances on the
candidate pool; `DuelChunk` one unit of the fanned-out generation (a metric's pool scoring, an
ordered pair's synthesis). Participants, assignments, timing and QC are the study's, as for every
2AFC study.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from common.models import TimeStampedModel
from studies.models import Stimulus, Study, Trial


class DuelMethod(models.TextChoices):
    SELECTION = "selection", "gMAD selection"
    SYNTHESIS = "synthesis", "MAD synthesis"
    BOTH = "both", "Selection and synthesis"


class DuelStudy(TimeStampedModel):
    study = models.OneToOneField(
        Study,
        on_delete=models.CASCADE,
        related_name="duel",
        help_text="The 2AFC study that serves the duel's pairs",
    )
    metrics = models.JSONField(help_text="Metric references (l2, fitted:42, uploaded:7), ≥ 2")
    method = models.CharField(
        max_length=10,
        choices=DuelMethod.choices,
        help_text="gMAD selection from a candidate pool, MAD synthesis, or both",
    )
    levels = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Quality levels of the defender (quantile bins of its distances)",
    )
    pairs_per_level = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Pairs per ordered duel (defender, attacker) and level",
    )
    tolerance = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="How nearly equal the defender (or the fixed metric) must rate a pair",
    )
    severity_steps = models.PositiveSmallIntegerField(
        default=16,
        validators=[MinValueValidator(2), MaxValueValidator(256)],
        help_text="Severities per distortion family in the candidate pool (an even grid)",
    )
    patches_per_image = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(64)],
        help_text="Reference patches drawn from each image of the image set",
    )
    synthesis_steps = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(1), MaxValueValidator(5000)],
        help_text="Gradient steps per synthesised image (MAD)",
    )
    pool = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The frozen candidate pool: reference patches and (family, severity) columns",
    )
    assembled = models.BooleanField(
        default=False,
        editable=False,
        help_text="The pairs have been turned into the study's trials",
    )

    class Meta:
        verbose_name = "duel study"
        verbose_name_plural = "duel studies"

    def __str__(self) -> str:
        return f"duel: {self.study.name}"

    @property
    def uses_selection(self) -> bool:
        return self.method in (DuelMethod.SELECTION, DuelMethod.BOTH)

    @property
    def uses_synthesis(self) -> bool:
        return self.method in (DuelMethod.SYNTHESIS, DuelMethod.BOTH)


class DuelChunk(models.Model):
    """One unit of generation: `score:<metric index>` or `synth:<fixed>:<moved>`."""

    duel = models.ForeignKey(
        DuelStudy,
        on_delete=models.CASCADE,
        related_name="chunks",
        verbose_name="duel study",
        help_text="The duel this generation unit belongs to",
    )
    key = models.CharField(
        max_length=40,
        help_text="Which unit: score:<metric index> or synth:<fixed>:<moved>",
    )
    done = models.BooleanField(
        default=False,
        help_text="The unit has finished",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["duel", "key"], name="unique_duel_chunk")]
        verbose_name = "duel generation unit"

    def __str__(self) -> str:
        return f"{self.key} ({'done' if self.done else 'pending'})"


class DuelPoolScore(models.Model):
    """One metric's distances on the pool: `values[r][c]` = metric(ref r, candidate c)."""

    duel = models.ForeignKey(
        DuelStudy,
        on_delete=models.CASCADE,
        related_name="pool_scores",
        verbose_name="duel study",
        help_text="The duel whose pool was scored",
    )
    metric = models.CharField(
        max_length=120,
        help_text="Metric reference (l2, fitted:42, uploaded:7)",
    )
    values = models.JSONField(
        help_text="Distances: values[r][c] = metric(reference r, candidate c)",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["duel", "metric"], name="unique_pool_score")]

    def __str__(self) -> str:
        return f"{self.metric} on the pool of duel {self.duel_id}"


class DuelPair(models.Model):
    """One duel pair. `attacker_prefers` is the side (p0/p1) the attacker rates closer to the
    reference; people choosing that side side with the attacker. For synthesis the defender is
    the metric held fixed and the attacker the one moved (to its max and its min)."""

    duel = models.ForeignKey(
        DuelStudy,
        on_delete=models.CASCADE,
        related_name="pairs",
        verbose_name="duel study",
        help_text="The duel this pair belongs to",
    )
    method = models.CharField(
        max_length=10,
        choices=[(DuelMethod.SELECTION, "selection"), (DuelMethod.SYNTHESIS, "synthesis")],
        help_text="How the pair was found: gMAD selection or MAD synthesis",
    )
    defender = models.CharField(
        max_length=120,
        help_text="Metric that rates the pair (nearly) equal; held fixed in synthesis",
    )
    attacker = models.CharField(
        max_length=120,
        help_text="Metric that rates the pair most differently; moved in synthesis",
    )
    level = models.PositiveSmallIntegerField(
        help_text="Quality level of the defender (quantile bin, from 0)",
    )
    ref = models.ForeignKey(
        Stimulus,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="reference",
        help_text="The reference patch",
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
    attacker_prefers = models.CharField(
        max_length=2,
        choices=[("p0", "p0"), ("p1", "p1")],
        help_text="The patch the attacker rates closer to the reference",
    )
    defender_scores = models.JSONField(help_text="[defender(ref, p0), defender(ref, p1)]")
    attacker_scores = models.JSONField(help_text="[attacker(ref, p0), attacker(ref, p1)]")
    info = models.JSONField(
        default=dict,
        blank=True,
        help_text="Further details of how the pair was chosen or synthesised",
    )
    trial = models.OneToOneField(
        Trial,
        on_delete=models.SET_NULL,
        related_name="duel_pair",
        null=True,
        blank=True,
        help_text="The study trial that shows this pair, once assembled",
    )

    class Meta:
        ordering = ["duel", "method", "defender", "attacker", "level", "id"]

    def __str__(self) -> str:
        return f"{self.attacker} attacks {self.defender} (level {self.level}, {self.method})"
