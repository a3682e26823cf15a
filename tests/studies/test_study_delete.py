"""Deleting a ready study with generated trials and stimuli (issue #12 item 8: it answered 500,
ProtectedError): a clear answer, and when allowed, the study, its trials, stimuli and files go."""

from __future__ import annotations

import pytest

from studies.models import Stimulus, Study, Trial
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


def test_a_ready_study_with_trials_is_deleted_with_everything_it_made(api, alice):
    study = make_live_study(alice, trials=4, sentinels=1, practice=1)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.READY)  # generated, not yet live
    assert Trial.objects.filter(study=study).exists() and Stimulus.objects.filter(study=study)
    response = api.as_user(alice).delete(f"/api/studies/{study.pk}/delete/")
    assert response.status_code == 204, response.content
    assert not Study.objects.filter(pk=study.pk).exists()
    assert not Trial.objects.filter(study_id=study.pk).exists()
    assert not Stimulus.objects.filter(study_id=study.pk).exists()
