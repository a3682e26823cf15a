"""Crowd's part of the study page's stepper (`studies.workflow`): how far collection is, and
links to the collection progress page, the worker links, the pilot and the participants."""

from __future__ import annotations

from django.urls import reverse

from studies import workflow
from studies.models import Study

from . import selectors

S = Study.Status


def _live_step(*, step, study, user):
    progress = reverse("admin:crowd_studycollection_progress", args=[study.pk])
    if study.status in (S.LIVE, S.CLOSED):
        data = selectors.study_progress(study)
        step.detail.append(
            f"{data['valid']} of {data['needed']} judgments ({data['percent']}%), "
            f"{data['participants']} participant(s)"
        )
        if data["needed"] and data["valid"] >= data["needed"]:
            step.state = workflow.DONE  # every trial has its judgments (closing is optional)
    if study.status in (S.READY, S.LIVE, S.CLOSED):
        pilot = reverse("admin:crowd_studycollection_pilot", args=[study.pk])
        participants = (
            reverse("admin:crowd_participant_changelist") + f"?study__id__exact={study.pk}"
        )
        step.links += [
            ("Collection progress", progress),
            ("Worker links", progress + "#worker-links"),
            ("Pilot", pilot),
            ("Participants", participants),
        ]


def register() -> None:
    workflow.contribute("live", _live_step)
