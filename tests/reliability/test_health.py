"""`/api/health/` reports each dependency and answers 503 only when the web tier cannot serve.

Database down → 503 "down". Broker, cache or workers down → 200 "degraded" with their names:
answers are still collected and requested jobs wait in the outbox (docs/operations.md). The
broker and cache outages are real (a closed port, a port that never answers); no check may hold
the request much longer than a second.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from common.models import Job, WorkerSeen

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_alive():
    WorkerSeen.objects.create(hostname="celery@box", seen_at=timezone.now())


def _health(client):
    started = time.monotonic()
    response = client.get("/api/health/")
    return response, response.json(), time.monotonic() - started


def test_all_up_is_ok(client, worker_alive):
    response, body, _ = _health(client)
    assert response.status_code == 200
    assert (body["status"], body["degraded"]) == ("ok", [])
    for name in ("database", "broker", "cache", "workers"):
        assert body[name]["ok"] is True, body
    assert body["workers"]["hosts"] == 1
    assert body["jobs"]["unsent"] == 0


def test_the_database_down_is_503(client, worker_alive, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response, body, _ = _health(client)
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["database"]["ok"] is False and "Connection refused" in body["database"]["error"]


@pytest.mark.parametrize("outage", ["closed_url", "hanging_url"])
def test_the_broker_down_is_degraded_not_503(client, worker_alive, broker, request, outage):
    with broker(request.getfixturevalue(outage)):
        response, body, elapsed = _health(client)
    assert response.status_code == 200
    assert (body["status"], body["degraded"]) == ("degraded", ["broker"])
    assert body["broker"]["ok"] is False and body["broker"]["error"]
    assert body["database"]["ok"] and body["cache"]["ok"]
    assert elapsed < 2.5, f"the health check took {elapsed:.1f} s"


def test_the_broker_up_is_reported_with_its_transport(client, worker_alive, broker, private_redis):
    with broker(private_redis.url):
        response, body, _ = _health(client)
    assert response.status_code == 200
    assert body["broker"] == {**body["broker"], "ok": True, "transport": "redis"}
    assert body["status"] == "ok"


@pytest.mark.parametrize("outage", ["closed_url", "hanging_url"])
def test_the_cache_down_is_degraded_not_503(client, worker_alive, settings, request, outage):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": request.getfixturevalue(outage),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response, body, elapsed = _health(client)
    assert response.status_code == 200
    assert (body["status"], body["degraded"]) == ("degraded", ["cache"])
    assert elapsed < 2.5


def test_no_worker_seen_recently_is_degraded(client, settings):
    response, body, _ = _health(client)
    assert (response.status_code, body["degraded"]) == (200, ["workers"])
    assert "no worker" in body["workers"]["error"]
    WorkerSeen.objects.create(
        hostname="celery@old",
        seen_at=timezone.now() - timedelta(seconds=settings.PERCEPTLAB_JOB_STALE_SECONDS + 5),
    )
    response, body, _ = _health(client)
    assert body["degraded"] == ["workers"] and "no worker seen for" in body["workers"]["error"]


def test_jobs_waiting_in_the_outbox_are_counted(client, worker_alive):
    Job.objects.create(task="analysis.tasks.export_dataset", args=[1])
    body = _health(client)[1]
    assert body["jobs"]["unsent"] == 1 and body["jobs"]["oldest_unsent_s"] >= 0
