"""A whole Celery worker SIGKILLed mid-fit (issue #12, defect 2), with real processes.

A private redis-server on a free port is the broker; Redis' visibility timeout stays at its
6-hour default, so only the heartbeat and the sweeper can bring the job back. The worker (with
beat, as deployed) is killed with its whole process group after two epochs; a new worker starts,
the sweeper re-queues the job under attempt 2, and the fit resumes from its checkpoint and ends
with the same lin weights as an uninterrupted fit.

Needs PostgreSQL shared with the worker processes (set DATABASE_URL) and redis-server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from django.db import connection

from analysis import datasets, services
from analysis.models import FitRun
from common.models import Job

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.slow,
]
FIT = {"epochs": 8, "epochs_decay": 0, "seed": 5, "trunk_weights": "random"}
STALE = 6  # seconds without a heartbeat before the sweeper takes the job for dead


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL shared with the worker processes (set DATABASE_URL)")


def _dataset(owner, folder: Path):
    from metrics.bapps import write_2afc

    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (300, 64, 64, 3), dtype=np.uint8)
    noise = rng.normal(0, 1, base.shape)
    triplets = []
    for n in range(300):
        weak = np.clip(base[n] + 8 * noise[n], 0, 255).astype(np.uint8)
        strong = np.clip(base[n] + 40 * noise[n][::-1], 0, 255).astype(np.uint8)
        triplets.append((base[n], weak, strong, float(rng.integers(0, 3)) / 2))
    write_2afc(folder, "train", "traditional", triplets)
    dataset = datasets.dataset_import_create(owner=owner, name="kill test", path=str(folder))
    dataset.refresh_from_db()  # imported eagerly, in this process, as the transaction commits
    assert dataset.status == "ready", dataset.error
    return dataset


def _start_worker(settings, redis_url: str, log: Path, name: str) -> subprocess.Popen:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "SECRET_KEY": "worker-test",
        "DEBUG": "true",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PERCEPTLAB_VAR_DIR": str(log.parent / f"var-{name}"),
        "PERCEPTLAB_JOB_HEARTBEAT_SECONDS": "1",
        "PERCEPTLAB_JOB_STALE_SECONDS": str(STALE),
        "PERCEPTLAB_JOB_SWEEP_SECONDS": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.pop("CELERY_VISIBILITY_TIMEOUT", None)  # the 6-hour default: no early re-delivery
    command = [
        sys.executable, "-m", "celery", "-A", "config.celery_app", "worker",
        "-Q", "default,gpu", "--pool", "solo", "--beat", "--loglevel", "INFO",
        "--hostname", f"{name}@%h",
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _kill(worker: subprocess.Popen, sig=signal.SIGKILL) -> None:
    try:
        os.killpg(worker.pid, sig)
        worker.wait(timeout=30)
    except ProcessLookupError:
        pass


def _wait(run: FitRun, until, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if until(run):
            return
        time.sleep(0.1)


def test_a_fit_whose_whole_worker_was_killed_finishes_on_a_new_worker_with_the_same_weights(
    alice, settings, tmp_path, private_redis, broker
):
    dataset = _dataset(alice, tmp_path / "bapps")
    reference = FitRun.objects.create(
        dataset=dataset, created_by=alice, **FIT, options={"path": "full"}
    )
    services.fit_run_execute(run=reference, device="cpu")
    reference.refresh_from_db()
    assert reference.status == "done", reference.error

    first = _start_worker(settings, private_redis.url, tmp_path / "worker1.log", "first")
    second = None
    try:
        with broker(
            private_redis.url
        ):  # the web tier's request: row and outbox entry, then publish
            run = services.fit_run_create(
                dataset=dataset, by=alice, **FIT, options={"path": "full"}
            )
        job = Job.objects.get(task="analysis.tasks.fit_lpips", args=[run.pk])
        _wait(run, lambda r: len(r.history) >= 2 or r.status in ("done", "failed"), 240)
        log1 = (tmp_path / "worker1.log").read_text()[-3000:]
        assert run.status == "running" and 2 <= len(run.history) < FIT["epochs"], (run.status, log1)
        _kill(first)  # the worker's main process and its beat, without a word
        killed_at = len(run.history)

        second = _start_worker(settings, private_redis.url, tmp_path / "worker2.log", "second")
        started = time.monotonic()
        _wait(run, lambda r: r.status in ("done", "failed"), 300)
        took = time.monotonic() - started
        log2 = (tmp_path / "worker2.log").read_text()[-4000:]
        assert run.status == "done", (run.status, run.error, log2)
        assert took < 300, f"taken up again and finished {took:.0f} s after the new worker started"
        job.refresh_from_db()
        assert (job.state, job.attempt) == ("done", 2), log2
        assert run.attempts == 2
        assert [h["epoch"] for h in run.history] == list(range(1, FIT["epochs"] + 1))
        assert run.history[0]["epoch"] == 1 and killed_at >= 2
        assert run.result["lin_sha256"] == reference.result["lin_sha256"], "resumed weights differ"
        assert "resumed_from" in str(run.result["summary"]) and "ckpt-e" in str(
            run.result["summary"]
        )
    finally:
        _kill(first)
        if second is not None:
            _kill(second, signal.SIGTERM)
