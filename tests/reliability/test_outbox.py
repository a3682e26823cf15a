"""Defect 3 of issue #12: a job requested while the broker is down is never orphaned.

The request answers as usual (201/202, nothing 5xx), the job's row is saved with an unsent
outbox entry (`common.Job`, pending), and once the broker is back the dispatcher publishes it
exactly once. The broker is real: requests go to a closed port (refused) or a port that never
answers, and "back" is a private redis-server whose queues are read to count the messages.
"""

from __future__ import annotations

import time

import pytest

from analysis.models import DatasetItem, Export, FitRun, ScoreRun
from common import jobs
from common.models import Job
from studies.models import Study
from tests.analysis.jobs import ready_dataset

pytestmark = pytest.mark.django_db


def _dataset(owner):
    dataset = ready_dataset(owner)
    item = DatasetItem.objects.get(dataset=dataset)
    DatasetItem.objects.create(
        **{f: getattr(item, f) for f in ("dataset", "kind", "category", "ref", "p0", "p1")},
        split="train",
        index=0,
        p0_sha256=item.p0_sha256,
        p1_sha256=item.p1_sha256,
        judge=0.5,
    )
    return dataset


def _export(api, request):
    dataset = _dataset(request.getfixturevalue("alice"))
    response = api.post(f"/api/datasets/{dataset.pk}/exports/", {"kind": "datasheet"})
    return response, Export.objects.get(dataset=dataset)


def _fit(api, request):
    dataset = _dataset(request.getfixturevalue("alice"))
    response = api.post(f"/api/datasets/{dataset.pk}/fit/", {"trunk_weights": "random"})
    return response, FitRun.objects.get(dataset=dataset)


def _score(api, request):
    dataset = _dataset(request.getfixturevalue("alice"))
    response = api.post(f"/api/datasets/{dataset.pk}/score/", {"metric": "l2", "split": "val"})
    return response, ScoreRun.objects.get(dataset=dataset)


def _generate(api, request):
    study = request.getfixturevalue("study")
    response = api.post(f"/api/studies/{study.pk}/transition/", {"status": "generating"})
    return response, Study.objects.get(pk=study.pk)


REQUESTS = {
    # name: (make the request, task, queue, the object's status while it waits)
    "export": (_export, "analysis.tasks.export_dataset", "default", "queued"),
    "fit": (_fit, "analysis.tasks.fit_lpips", "gpu", "queued"),
    "score": (_score, "analysis.tasks.score_metric", "gpu", "queued"),
    "generation": (_generate, "studies.tasks.generate_study", "stimuli", "generating"),
}


@pytest.mark.parametrize("name", list(REQUESTS))
@pytest.mark.parametrize("outage", ["refused", "hanging"])
def test_a_job_requested_while_the_broker_is_down_waits_and_is_sent_once_it_is_back(
    name,
    outage,
    request,
    api,
    alice,
    broker,
    private_redis,
    django_capture_on_commit_callbacks,
):
    make, task, queue, waiting = REQUESTS[name]
    down = request.getfixturevalue("closed_url" if outage == "refused" else "hanging_url")
    api.as_user(alice)
    with broker(down), django_capture_on_commit_callbacks(execute=True):
        started = time.monotonic()
        response, obj = make(api, request)
        elapsed = time.monotonic() - started
    assert response.status_code in (200, 201, 202), response.content
    assert elapsed < 5, f"the request waited {elapsed:.1f} s on the broker"
    assert obj.status == waiting
    job = Job.objects.get(task=task)
    assert (job.state, job.args, job.attempt) == ("pending", [obj.pk], 1)
    assert "publish failed" in job.error
    assert private_redis.messages(queue) == []

    with broker(private_redis.url):  # the broker is back: the sweeper's dispatcher runs
        assert jobs.dispatch_pending() == 1
        assert jobs.dispatch_pending() == 0  # a second sweep sends nothing more
    job.refresh_from_db()
    assert (job.state, job.error) == ("sent", "")
    assert private_redis.messages(queue) == [
        {"task": task, "args": [obj.pk], "kwargs": {"job_id": job.pk, "attempt": 1}}
    ]


def test_the_next_request_once_the_broker_is_back_also_sends_what_waited(
    request, api, alice, broker, closed_url, private_redis, django_capture_on_commit_callbacks
):
    api.as_user(alice)
    with broker(closed_url), django_capture_on_commit_callbacks(execute=True):
        first, waited = _export(api, request)
    with broker(private_redis.url), django_capture_on_commit_callbacks(execute=True):
        second, fresh = _export(api, request)
    assert (first.status_code, second.status_code) == (202, 202)
    assert sorted(m["args"][0] for m in private_redis.messages("default")) == sorted(
        [waited.pk, fresh.pk]
    )
    assert set(Job.objects.values_list("state", flat=True)) == {"sent"}


def test_a_job_requested_with_the_broker_up_is_sent_at_once(
    request, api, alice, broker, private_redis, django_capture_on_commit_callbacks
):
    api.as_user(alice)
    with broker(private_redis.url), django_capture_on_commit_callbacks(execute=True):
        response, export = _export(api, request)
    assert response.status_code == 202
    job = Job.objects.get()
    assert job.state == "sent" and job.sent_at is not None
    assert [m["args"] for m in private_redis.messages("default")] == [[export.pk]]


def test_a_request_that_fails_writes_neither_the_row_nor_the_job(api, alice, broker, closed_url):
    dataset = ready_dataset(alice)  # imported: it has no long table to export
    api.as_user(alice)
    with broker(closed_url):
        response = api.post(f"/api/datasets/{dataset.pk}/exports/", {"kind": "csv"})
    assert response.status_code == 400
    assert not Export.objects.exists() and not Job.objects.exists()
