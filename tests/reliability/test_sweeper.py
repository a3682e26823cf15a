"""Defect 2 of issue #12: a job whose worker vanished is taken up again, from its checkpoint.

A running job beats (`common.Job.heartbeat_at`); the sweeper re-queues one whose heartbeat is
older than PERCEPTLAB_JOB_STALE_SECONDS under its next attempt, and a delivery of a superseded
attempt (Redis' late redelivery, a slow worker that wakes up) exits without writing. Tasks run
eagerly here; `test_worker_kill.py` does the same with real processes and SIGKILL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analysis import datasets, services
from analysis.models import FitRun
from analysis.tasks import fit_lpips
from common import jobs
from common.models import Job
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db
FIT = {"epochs": 1, "epochs_decay": 1, "seed": 3, "trunk_weights": "random"}


@pytest.fixture
def train_dataset(alice):
    study = make_live_study(
        alice, trials=12, sentinels=0, needed=2, assignment_size=12, sentinel_rate=0.0,
        split="train",
    )  # fmt: skip
    collect(study, 2, lambda item: "right" if item.swapped else "left")
    return datasets.dataset_freeze(study=study, by=alice)


@pytest.fixture(autouse=True)
def _beat_at_every_step(settings):
    settings.PERCEPTLAB_JOB_HEARTBEAT_SECONDS = 0  # eager tasks check their attempt every step


def _running_job(run: FitRun, *, attempt: int = 1, age: float = 0) -> Job:
    """A fit's job as a worker left it: running, last beat `age` seconds ago."""
    return Job.objects.create(
        task="analysis.tasks.fit_lpips",
        args=[run.pk],
        target="analysis.FitRun",
        target_id=run.pk,
        failed_fields={"status": "failed"},
        state=Job.State.RUNNING,
        attempt=attempt,
        worker="celery@gone",
        heartbeat_at=timezone.now() - timedelta(seconds=age),
    )


def test_a_fit_whose_worker_stopped_beating_is_requeued_and_resumes_with_the_same_weights(
    alice, train_dataset, monkeypatch, settings
):
    reference = FitRun.objects.create(dataset=train_dataset, created_by=alice, **FIT)
    services.fit_run_execute(run=reference, device="cpu")
    reference.refresh_from_db()
    assert reference.status == "done", reference.error

    run = FitRun.objects.create(dataset=train_dataset, created_by=alice, **FIT)
    job = jobs.enqueue(
        "analysis.tasks.fit_lpips", run.pk, target=(FitRun, run.pk), failed={"status": "failed"}
    )
    real_push = services._push_checkpoints
    swept = []

    def push_then_worker_looks_dead(run_, folder):
        real_push(run_, folder)
        if not swept:  # after the first epoch's checkpoint: no heartbeat for longer than allowed
            Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
            swept.append(jobs.requeue_stale())  # the sweeper, in another process

    monkeypatch.setattr(services, "_push_checkpoints", push_then_worker_looks_dead)
    outcome = fit_lpips.apply(args=[run.pk], kwargs={"job_id": job.pk, "attempt": 1}).get()

    assert swept == [{"requeued": 1, "given_up": 0}]
    assert outcome == {"skipped": "stale attempt"}
    run.refresh_from_db()
    # The superseded attempt stopped before writing its epoch, and recorded no failure.
    assert (run.status, run.error, run.history, run.weights.name) == ("running", "", [], "")
    job.refresh_from_db()
    assert (job.state, job.attempt) == ("pending", 2)

    assert jobs.dispatch_pending() == 1  # the sweeper publishes the new attempt (eager: runs it)
    run.refresh_from_db()
    job.refresh_from_db()
    assert run.status == "done", run.error
    assert (job.state, job.attempt) == ("done", 2)
    assert run.attempts == 2
    assert [h["epoch"] for h in run.history] == [1, 2]
    assert run.result["lin_sha256"] == reference.result["lin_sha256"], "resumed weights differ"


def test_a_delivery_of_a_superseded_attempt_exits_without_writing(alice, train_dataset):
    run = FitRun.objects.create(dataset=train_dataset, created_by=alice, **FIT)
    job = _running_job(run, attempt=2)
    Job.objects.filter(pk=job.pk).update(state=Job.State.SENT)
    outcome = fit_lpips.apply(args=[run.pk], kwargs={"job_id": job.pk, "attempt": 1}).get()
    assert outcome == {"skipped": "stale attempt"}
    run.refresh_from_db()
    assert (run.status, run.attempts, run.progress, run.worker) == ("queued", 0, {}, "")
    job.refresh_from_db()
    assert (job.state, job.attempt) == ("sent", 2)


def test_a_duplicate_of_a_running_attempt_waits_for_its_heartbeat_to_go_stale(
    alice, train_dataset, settings
):
    run = FitRun.objects.create(dataset=train_dataset, created_by=alice, **FIT)
    job = _running_job(run, age=5)  # alive: Redis re-delivered the message of a running task
    assert not jobs.claim(job.pk, 1, worker="celery@other")
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.PERCEPTLAB_JOB_STALE_SECONDS + 1)
    )
    assert jobs.claim(job.pk, 1, worker="celery@other")  # its worker died: taken over
    job.refresh_from_db()
    assert (job.worker, job.attempt) == ("celery@other", 1)


def test_a_fresh_heartbeat_is_left_alone(alice, train_dataset, settings):
    run = FitRun.objects.create(dataset=train_dataset, created_by=alice, **FIT)
    job = _running_job(run, age=settings.PERCEPTLAB_JOB_STALE_SECONDS - 10)
    assert jobs.requeue_stale() == {"requeued": 0, "given_up": 0}
    job.refresh_from_db()
    assert (job.state, job.attempt) == ("running", 1)


def test_a_job_whose_worker_is_lost_too_often_is_failed_and_can_be_retried(
    alice, train_dataset, settings, django_capture_on_commit_callbacks
):
    settings.PERCEPTLAB_JOB_MAX_ATTEMPTS = 2
    run = FitRun.objects.create(dataset=train_dataset, created_by=alice, status="running", **FIT)
    job = _running_job(run, attempt=2, age=10_000)
    assert jobs.sweep()["given_up"] == 1
    run.refresh_from_db()
    job.refresh_from_db()
    assert job.state == "failed"
    assert run.status == "failed"
    assert "Given up after 2 attempts" in run.error and "celery@gone" in run.error
    with django_capture_on_commit_callbacks(execute=True):
        services.fit_run_retry(run=run)  # the one retry path: a new job, run eagerly here
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert Job.objects.filter(target_id=run.pk, state="done").count() == 1


def test_the_sweep_records_the_worker_it_ran_on():
    from common.models import WorkerSeen

    jobs.sweep()
    assert WorkerSeen.objects.count() == 1


def test_the_sweep_deletes_jobs_that_ended_longer_ago_than_the_retention(settings):
    settings.PERCEPTLAB_JOB_RETENTION_DAYS = 30
    now = timezone.now()

    def job(state, ended_days_ago=None):
        finished = now - timedelta(days=ended_days_ago) if ended_days_ago is not None else None
        return Job.objects.create(task="t", state=state, finished_at=finished).pk

    old_done, old_failed = job(Job.State.DONE, 31), job(Job.State.FAILED, 40)
    kept = [
        job(Job.State.DONE, 29),
        job(Job.State.FAILED, 1),
        job(Job.State.PENDING),
        job(Job.State.SENT),
        job(Job.State.RUNNING, 90),  # a running job is never pruned, whatever its fields say
    ]
    assert jobs.prune_finished() == 2
    assert not Job.objects.filter(pk__in=[old_done, old_failed]).exists()
    assert sorted(Job.objects.values_list("pk", flat=True)) == sorted(kept)
    settings.PERCEPTLAB_JOB_RETENTION_DAYS = 0  # keep for ever
    Job.objects.filter(pk=kept[0]).update(finished_at=now - timedelta(days=400))
    assert jobs.prune_finished() == 0 and Job.objects.filter(pk=kept[0]).exists()
    # The periodic sweep runs it (jobs of a real task: the sweep publishes what is pending).
    Job.objects.exclude(state=Job.State.DONE).delete()
    settings.PERCEPTLAB_JOB_RETENTION_DAYS = 30
    assert jobs.sweep()["pruned"] == 1 and not Job.objects.exists()
