"""Collection under faults, against real processes: a gunicorn (DEBUG=false, the compose command)
on the test's PostgreSQL database, with its cache and throttles on a private Redis.

Simulated participants answer through HTTP the way the worker app does: each answer has its
client UUID, and a request that fails (a dropped connection, a 5xx) is sent again with the same
UUID. Meanwhile the test stops Redis, or SIGKILLs a gunicorn worker. Verification joins every
acknowledged answer to the database: none lost, none stored twice, every item answered once.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from crowd import services
from crowd.models import Response
from tests.factories import make_live_study

ROOT = Path(__file__).resolve().parents[2]
PACE = 0.3  # seconds between a participant's answers, so that faults fall mid-collection

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Redis:
    """A private redis-server that can be stopped and started again on the same port."""

    def __init__(self, tmp_path: Path):
        self.port, self.dir, self.process = _port(), tmp_path, None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(self.port)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


class Gunicorn:
    def __init__(self, tmp_path: Path, redis_url: str, database: dict):
        self.port = _port()
        self.log = tmp_path / "gunicorn.log"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CELERY_")},
            "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
                f"{database['PORT'] or 5432}/{database['NAME']}"
            ),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "DEBUG": "false",
            "SECRET_KEY": "collection-faults-test-secret-key-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1",
            "PERCEPTLAB_VAR_DIR": str(tmp_path / "var"),
            "THROTTLE_CROWD_ANSWER": "100000/minute",
        }
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", "3", "--threads", "4",
                 "--graceful-timeout", "5"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/health/")
                if conn.getresponse().status in (200, 503):
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.3)

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


class Participants:
    """Threads answering every item of their assignments, retrying with the same UUID."""

    def __init__(self, port: int, assignments: list):
        self.port = port
        self.work = [
            (a.token, list(a.items.order_by("position").values_list("position", flat=True)))
            for a in assignments
        ]
        self.acked: dict[str, tuple[str, int]] = {}
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self.answered = threading.Event()

    def _post(self, conn, token: str, body: dict) -> int:
        conn.request(
            "POST",
            f"/w/{token}/api/answers",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        return response.status

    def _run(self, token: str, positions: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        for position in positions:
            body = {
                "client_uuid": str(uuid.uuid4()),
                "position": position,
                "answer": "left",
                "rt_ms": 900,
            }
            for _attempt in range(200):
                try:
                    status = self._post(conn, token, body)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                    status = 0
                with self.lock:
                    self.statuses.append(status)
                if status in (200, 201):
                    with self.lock:
                        self.acked[body["client_uuid"]] = (token, position)
                    break
                time.sleep(0.1)
            time.sleep(PACE)  # 12 items take each participant at least 3.6 s
        conn.close()

    def run(self, during) -> None:
        threads = [threading.Thread(target=self._run, args=work) for work in self.work]
        for thread in threads:
            thread.start()
        during()
        for thread in threads:
            thread.join(timeout=300)

    def verify(self) -> None:
        stored = {
            str(u): (t, p)
            for u, t, p in Response.objects.values_list(
                "client_uuid", "assignment__token", "item__position"
            )
        }
        expected = sum(len(positions) for _, positions in self.work)
        assert len(self.acked) == expected, "a participant could not get every answer acknowledged"
        missing = set(self.acked) - set(stored)
        assert not missing, f"{len(missing)} acknowledged answers are not in the database"
        assert {u: stored[u] for u in self.acked} == self.acked
        assert len(stored) == expected, f"{len(stored)} rows for {expected} items: duplicates"


@pytest.fixture
def live(alice, tmp_path, settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("runs gunicorn against PostgreSQL (CI sets DATABASE_URL)")
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    study = make_live_study(alice, trials=30, sentinels=2, needed=40, assignment_size=12)
    assignments = [
        services.participant_enter(
            study=study, entry=services.Entry("prolific", f"person-{n}", session_id=f"s-{n}")
        )
        for n in range(12)
    ]
    redis = Redis(tmp_path)
    server = Gunicorn(tmp_path, f"redis://127.0.0.1:{redis.port}/0", settings.DATABASES["default"])
    yield server, redis, Participants(server.port, assignments)
    server.stop()
    if redis.process.poll() is None:
        redis.stop()


def test_redis_stopped_mid_collection_answers_are_still_acknowledged_exactly_once(live):
    _server, redis, people = live

    during = []

    def outage():
        time.sleep(0.8)
        redis.stop()
        time.sleep(2.0)
        during.append(len(people.acked))
        redis.start()

    people.run(outage)
    people.verify()
    assert 0 < during[0] < len(people.acked), "the outage did not fall mid-collection"
    assert not [s for s in people.statuses if s >= 500], "a 5xx during the Redis outage"


def test_a_gunicorn_worker_killed_under_load_loses_and_duplicates_nothing(live):
    server, _redis, people = live
    killed = []

    def kill():
        time.sleep(1.0)
        victim = server.workers()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append((victim, len(people.acked)))

    people.run(kill)
    people.verify()
    victim, acked_before = killed[0]
    assert victim not in server.workers(), "the worker was not killed"
    assert 0 < acked_before < len(people.acked), "the kill did not fall mid-collection"
