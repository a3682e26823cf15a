"""Metric references in request bodies obey the tenant rule: `fitted:<id>` only for fits on
datasets the user can see, `uploaded:<id>` only for the user's own validated uploads; anything
else gets the same error as an id that does not exist."""

from __future__ import annotations

import pytest

from analysis import selectors, services
from analysis.models import RunStatus, ScoreRun, UploadedMetric
from common.exceptions import ApplicationError
from tests.analysis.jobs import finished_fit, ready_dataset, upload

pytestmark = pytest.mark.django_db

MISSING = 999_999


def _score(api, user, dataset, metric):
    return api.as_user(user).post(
        f"/api/datasets/{dataset.pk}/score/", {"metric": metric}, format="json"
    )


def _error(response, ref: str) -> dict:
    """The error with the reference's id blanked, so two ids can be compared."""
    error = response.json()["error"]
    return {**error, "message": error["message"].replace(ref, "<ref>")}


@pytest.fixture
def alice_objects(alice, bob):
    dataset = ready_dataset(alice, collaborators=[bob])
    return {
        "dataset": dataset,
        "fit": finished_fit(dataset, by=alice),
        "running fit": finished_fit(dataset, by=alice, status=RunStatus.RUNNING),
        "upload": upload(alice),
        "pending upload": upload(alice, status=UploadedMetric.Status.PENDING),
    }


def test_the_owner_scores_with_her_fit_and_upload(api, alice, alice_objects):
    dataset = alice_objects["dataset"]
    for key in ("fit", "upload"):
        response = _score(api, alice, dataset, alice_objects[key].metric_name)
        assert response.status_code == 201, response.content
    assert set(ScoreRun.objects.values_list("metric", flat=True)) == {
        alice_objects["fit"].metric_name,
        alice_objects["upload"].metric_name,
    }


def test_a_collaborator_may_use_fits_of_the_shared_dataset_but_not_uploads(api, bob, alice_objects):
    dataset = alice_objects["dataset"]
    assert _score(api, bob, dataset, alice_objects["fit"].metric_name).status_code == 201
    ref = alice_objects["upload"].metric_name
    refused, missing = (
        _score(api, bob, dataset, ref),
        _score(api, bob, dataset, f"uploaded:{MISSING}"),
    )
    assert refused.status_code == missing.status_code == 400
    assert _error(refused, ref) == _error(missing, f"uploaded:{MISSING}")


@pytest.mark.parametrize("key", ["fit", "running fit", "upload", "pending upload"])
def test_a_stranger_gets_the_error_of_a_missing_id(api, charlie, alice_objects, key):
    own = ready_dataset(charlie, name="charlie's")
    ref = alice_objects[key].metric_name
    missing_ref = f"{ref.split(':')[0]}:{MISSING}"
    refused, missing = _score(api, charlie, own, ref), _score(api, charlie, own, missing_ref)
    assert refused.status_code == missing.status_code == 400
    assert _error(refused, ref) == _error(missing, missing_ref)
    assert refused.json()["error"]["fields"] == {"metric": ["unavailable"]}
    assert not ScoreRun.objects.filter(dataset=own).exists()


@pytest.mark.parametrize("key", ["running fit", "pending upload"])
def test_unfinished_fits_and_unvalidated_uploads_are_refused_to_the_owner_too(
    alice, alice_objects, key
):
    with pytest.raises(ApplicationError, match="is not available"):
        services.score_run_create(
            dataset=alice_objects["dataset"], metric=alice_objects[key].metric_name, by=alice
        )
    assert not ScoreRun.objects.exists()


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("fitted:abc", "Bad id 'abc'"),
        ("fitted:007", "Bad id '007'"),
        ("trained:3", "Unknown metric prefix 'trained'"),
        ("lpips_alex", "Did you mean lpips-alex"),
    ],
)
def test_malformed_references_are_refused_with_the_problem_named(alice, metric, message):
    with pytest.raises(ApplicationError, match=message) as caught:
        selectors.metric_ref_resolve(user=alice, metric=metric)
    assert caught.value.fields == {"metric": ["unknown"]}


def test_metric_list_shows_only_what_the_user_may_score_with(api, alice, bob, alice_objects):
    def names(user):
        data = api.as_user(user).get("/api/metrics/").json()
        return {kind: [m["name"] for m in data[kind]] for kind in ("fitted", "uploaded")}

    assert names(alice) == {
        "fitted": [alice_objects["fit"].metric_name],
        "uploaded": [alice_objects["upload"].metric_name],
    }
    assert names(bob) == {"fitted": [alice_objects["fit"].metric_name], "uploaded": []}


def test_retrying_a_score_run_checks_the_metric_again(api, alice, bob, alice_objects):
    """Bob scored his own dataset with a fit of a dataset Alice shared with him; she then stops
    sharing it. Retrying his failed run must not run Alice's weights for him any more."""
    ref = alice_objects["fit"].metric_name
    own = ready_dataset(bob)
    run = ScoreRun.objects.create(
        dataset=own, metric=ref, created_by=bob, status=RunStatus.FAILED, error="boom"
    )
    alice_objects["dataset"].collaborators.remove(bob)
    response = api.as_user(bob).post(f"/api/score-runs/{run.pk}/retry/")
    missing = _score(api, bob, own, f"fitted:{MISSING}")
    assert response.status_code == missing.status_code == 400
    assert _error(response, ref) == _error(missing, f"fitted:{MISSING}")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    with pytest.raises(ApplicationError, match="is not available"):
        services.score_run_retry(run=run, by=bob)
