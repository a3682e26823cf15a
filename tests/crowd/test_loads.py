"""Crowd owns the collection counters (`TrialLoad`): one row per regular trial, created when
the study goes live, kept when it closes and re-opens."""

from __future__ import annotations

import pytest

from crowd import services
from crowd.models import TrialLoad
from studies import services as study_services
from studies.models import Trial
from tests.factories import answer_assignment

pytestmark = pytest.mark.django_db


def careful(item) -> str:
    """Answers sentinels right (so QC keeps the participant), everything else on the left."""
    if not item.trial.is_sentinel:
        return "left"
    return "left" if (item.trial.expected == "p0") != item.swapped else "right"


def test_going_live_opens_one_load_per_regular_trial_and_reopening_keeps_counts(
    alice, study, generate
):
    generate(study)
    assert not TrialLoad.objects.exists()  # ready, not yet collecting
    study_services.study_transition(study=study, to="live", by=alice)
    regular = Trial.objects.filter(study=study, is_sentinel=False, is_practice=False)
    assert set(TrialLoad.objects.values_list("trial_id", flat=True)) == set(
        regular.values_list("pk", flat=True)
    )
    assignment = services.participant_enter(study=study, entry=services.Entry("prolific", "P-1"))
    answer_assignment(assignment, careful)
    counts = dict(TrialLoad.objects.values_list("trial_id", "valid_count"))
    assert sum(counts.values()) == len(regular)
    study_services.study_transition(study=study, to="closed", by=alice)
    study_services.study_transition(study=study, to="live", by=alice)
    assert dict(TrialLoad.objects.values_list("trial_id", "valid_count")) == counts
    assert services.trial_loads_open(study=study) == 0  # idempotent


def test_progress_counts_come_from_the_loads(alice, study, generate):
    from crowd.selectors import study_progress

    generate(study)
    before = study_progress(study)
    assert (before["needed"], before["valid"]) == (20, 0)  # 4 val trials × 5 judgments
    study_services.study_transition(study=study, to="live", by=alice)
    assignment = services.participant_enter(study=study, entry=services.Entry("prolific", "P"))
    answer_assignment(assignment, careful)
    assert study_progress(study)["valid"] == 4
