"""A fit whose worker is killed mid-run is re-delivered to another worker, which resumes from the
last checkpoint in shared storage and ends with the same weights as an uninterrupted run.

Needs PostgreSQL (shared with the worker processes) and Redis (the broker that re-delivers the
unacknowledged task): CI provides both.
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

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.celery_worker,
    pytest.mark.postgres,
]
FIT = {
    "epochs": 8,
    "epochs_decay": 0,
    "seed": 5,
    "trunk_weights": "random",
    "options": {"path": "full"},
}


@pytest.fixture(autouse=True)
def _services():
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip(
            "needs PostgreSQL and Redis shared with worker processes (CI sets DATABASE_URL and REDIS_URL)"
        )


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
    dataset.refresh_from_db()  # the import is queued on commit; tasks run eagerly in this process
    if dataset.status != "ready":
        dataset = datasets.dataset_import_run(dataset=dataset)
    return dataset


def _worker_env(settings, redis_url: str) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "SECRET_KEY": "worker-test",
        "DEBUG": "true",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_VISIBILITY_TIMEOUT": "3",
    }


def _start_worker(env: dict, log: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            "gpu",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(worker.pid, sig)
        worker.wait(timeout=30)
    except ProcessLookupError:
        pass  # already gone
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)


def test_a_killed_fit_resumes_on_another_worker_with_identical_weights(alice, settings, tmp_path):
    from config.celery_app import app

    dataset = _dataset(alice, tmp_path / "bapps")
    # The uninterrupted reference run, in this process.
    reference = FitRun.objects.create(dataset=dataset, created_by=alice, **FIT)
    services.fit_run_execute(run=reference, device="cpu")
    reference.refresh_from_db()
    assert reference.status == "done"

    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/13"
    env = _worker_env(settings, redis_url)
    run = FitRun.objects.create(dataset=dataset, created_by=alice, **FIT)
    first = _start_worker(env, tmp_path / "worker1.log", "first")
    second = None
    try:
        # An explicit connection: this process's Celery app may hold connections to another broker.
        with app.connection_for_write(redis_url) as conn:
            app.send_task("analysis.tasks.fit_lpips", args=[run.pk], queue="gpu", connection=conn)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # wait until at least two epochs are checkpointed
            run.refresh_from_db()
            if len(run.history) >= 2 or run.status in ("done", "failed"):
                break
            time.sleep(0.05)
        assert run.status == "running" and 2 <= len(run.history) < FIT["epochs"], (
            run.status,
            run.error,
            run.history,
            (tmp_path / "worker1.log").read_text()[-3000:],
        )
        _stop(first, signal.SIGKILL)  # the worker dies without acknowledging the task
        killed_at = len(run.history)

        second = _start_worker(env, tmp_path / "worker2.log", "second")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status in ("done", "failed"):
                break
            time.sleep(0.2)
        log = (tmp_path / "worker2.log").read_text()[-3000:]
        assert run.status == "done", (run.status, run.error, log)
        assert run.attempts == 2  # the first worker's attempt, then the second worker's
        assert "analysis.tasks.fit_lpips" in log  # the re-delivered task ran on the second worker
        assert [h["epoch"] for h in run.history] == list(range(1, FIT["epochs"] + 1))
        assert run.result["lin_sha256"] == reference.result["lin_sha256"], "resumed weights differ"
        assert killed_at >= 2
    finally:
        _stop(first, signal.SIGKILL)
        if second is not None:
            _stop(second)
