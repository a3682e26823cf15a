"""Ids beyond what the database stores (found by the fuzzer, tests/security/test_fuzz.py): a
distortion choice or trial count of study 2**70 answered 500 on SQLite (OverflowError: the study
id was compared on the foreign key, where Django does not guard out-of-range integers as it does
on primary keys; PostgreSQL compares such a literal as a numeric and finds nothing). They are
missing ids: 404, nothing changed."""

from __future__ import annotations

import pytest

from studies.models import DistortionSpec, TrialQuota

pytestmark = pytest.mark.django_db

HUGE = 2**70


@pytest.mark.parametrize(
    ("method", "url", "message"),
    [
        ("patch", "/api/studies/{huge}/distortions/{spec}/update/", "Distortion choice"),
        ("delete", "/api/studies/{huge}/distortions/{spec}/delete/", "Distortion choice"),
        ("delete", "/api/studies/{huge}/quotas/{quota}/delete/", "Trial count"),
    ],
)
def test_a_study_id_out_of_range_is_a_missing_one(api, alice, study, method, url, message):
    spec, quota = study.distortion_specs.first(), study.quotas.first()
    response = getattr(api.as_user(alice), method)(
        url.format(huge=HUGE, spec=spec.pk, quota=quota.pk), {"weight": 2.0}, format="json"
    )
    assert response.status_code == 404, response.content
    assert response.json()["error"]["message"].startswith(message)
    assert DistortionSpec.objects.get(pk=spec.pk).weight == spec.weight
    assert TrialQuota.objects.filter(pk=quota.pk).exists()


def test_the_right_study_still_reaches_its_rows(api, alice, study):
    spec = study.distortion_specs.first()
    response = api.as_user(alice).patch(
        f"/api/studies/{study.pk}/distortions/{spec.pk}/update/", {"weight": 2.0}, format="json"
    )
    assert response.status_code == 200, response.content
    other = study.quotas.first()
    wrong = api.as_user(alice).delete(f"/api/studies/{study.pk + 1}/quotas/{other.pk}/delete/")
    assert wrong.status_code == 404
    assert TrialQuota.objects.filter(pk=other.pk).exists()
