"""A real Celery worker process consumes a task: from Redis when REDIS_URL is set (CI), and from
the embedded filesystem broker the demo uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_worker_and_ping(env: dict, tmp_path: Path) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "SECRET_KEY": "worker-test",
        "DEBUG": "true",
        **env,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            "default",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = (
            "import json; from config.celery_app import app; import common.tasks as t;"
            "r = t.ping.apply_async(args=['hello'], queue='default'); print(json.dumps(r.get(timeout=60)))"
        )
        result = subprocess.run(
            [sys.executable, "-c", client],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr + (tmp_path / "worker.log").read_text()
        import json

        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()


@pytest.mark.celery_worker
def test_worker_consumes_from_redis(tmp_path):
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL not set (CI sets it)")
    # A private DB number keeps the test's queue apart from anything else using this Redis.
    url = url.rsplit("/", 1)[0] + "/14"
    started = time.monotonic()
    reply = _run_worker_and_ping({"REDIS_URL": url, "PERCEPTLAB_VAR_DIR": str(tmp_path)}, tmp_path)
    assert reply["payload"] == "hello"
    assert time.monotonic() - started < 120


@pytest.mark.celery_worker
def test_worker_consumes_from_the_filesystem_broker(tmp_path):
    env = {"PERCEPTLAB_VAR_DIR": str(tmp_path), "REDIS_URL": ""}
    reply = _run_worker_and_ping(env, tmp_path)
    assert reply["payload"] == "hello"
    assert (tmp_path / "celery" / "broker").is_dir()
    assert not (ROOT / "control").exists(), "the filesystem transport wrote outside var/"
