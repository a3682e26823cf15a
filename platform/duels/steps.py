"""The duel's part of the study page's stepper (`studies.workflow`): a duel study's design is its
metrics and method, edited on the duel's admin page, not the distortion picker."""

from __future__ import annotations

from django.urls import reverse

from .models import DuelStudy
from .services import GENERATOR


def design_step(*, step, study, user) -> None:
    if study.generator != GENERATOR:
        return
    duel = DuelStudy.objects.filter(study=study).first()
    if duel is None:
        step.detail.append("No duel design: create the duel from the Metric duels admin")
        return
    step.detail.append(
        f"Duel of {', '.join(duel.metrics)} by {duel.get_method_display()}: {duel.levels} "
        f"level(s) × {duel.pairs_per_level} pair(s) per ordered duel"
    )
    step.links.append(("Duel design", reverse("admin:duels_duelstudy_change", args=[duel.pk])))
    step.links.append(("Duel results", reverse("duels-results", kwargs={"duel_id": study.pk})))
