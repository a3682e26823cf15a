"""A small frozen study dataset with varied judgments (for exports and the CI dashboard)."""

from __future__ import annotations

from analysis import datasets
from crowd.models import Participant
from crowd.services import participant_set_excluded
from tests.factories import collect, make_live_study


def _side(item, choice: str) -> str:
    left = "p1" if item.swapped else "p0"
    return "left" if choice == left else "right"


def choose(item) -> str:
    """Sentinels answered correctly; otherwise mostly p0, but person n picks p1 on trials where
    (index + n) % 3 == 0, so judge values vary between triplets."""
    trial = item.trial
    if trial.is_sentinel:
        return _side(item, trial.expected)
    person = int(item.assignment.participant.external_id.rsplit("-", 1)[1])
    return _side(item, "p1" if (trial.index + person) % 3 == 0 else "p0")


def judged_study(owner, *, trials: int = 6, people: int = 3):
    study = make_live_study(
        owner, trials=trials, sentinels=2, needed=people, assignment_size=trials + 3
    )
    collect(study, people, choose)
    return study


def frozen_dataset(owner, *, exclude_one: bool = False, **kwargs):
    study = judged_study(owner, **kwargs)
    if exclude_one:
        participant_set_excluded(
            participant=Participant.objects.get(study=study, external_id="person-0"), excluded=True
        )
    return datasets.dataset_freeze(study=study, by=owner)
