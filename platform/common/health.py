"""What `/api/health/` reports: each dependency's state, each check bounded to about a second.

- database (needed by every request): down → the endpoint answers 503, status "down".
- broker, cache, workers: down or unseen → 200 with status "degraded" and their names in
  "degraded". The web tier still serves and stores answers without them: requested jobs wait in
  the outbox (`common.jobs`) and rate limits degrade (`common.throttling`). A load balancer must
  keep such a web process in rotation; monitoring alerts on "degraded".

docs/operations.md explains each check and what to do.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min
from django.utils import timezone

CHECK_TIMEOUT = 1.0  # seconds a network check may take before it is reported as a timeout
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
    return _pool


def _timed(check, *args) -> dict[str, Any]:
    started = time.monotonic()
    try:
        out = {"ok": True, **(check(*args) or {})}
    except Exception as exc:
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    out["ms"] = round((time.monotonic() - started) * 1000, 1)
    return out


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET statement_timeout = %s", [int(CHECK_TIMEOUT * 1000)])
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.execute("SET statement_timeout = 0")
        else:
            cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    """Connect to the Celery broker (Redis: a PING), with no retries."""
    from .jobs import producer_connection

    with producer_connection() as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
            timeout=CHECK_TIMEOUT,
        )  # fmt: skip
        transport = conn.transport_cls
        if transport == "filesystem":
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
            from pathlib import Path

            if not Path(folder).is_dir():
                raise OSError(f"broker folder {folder} is missing")
    return {"transport": str(transport)}


def check_cache() -> dict[str, Any]:
    """Write and read back a key in the default cache (rate-limit counters live there)."""
    from django.core.cache import cache

    key, value = "perceptlab:health", uuid.uuid4().hex
    cache.set(key, value, 10)
    if cache.get(key) != value:
        raise RuntimeError("the cache did not return what was just stored")
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def check_workers() -> dict[str, Any]:
    """The last sign of life of any worker (sweeps, job heartbeats, starts): seen within
    PERCEPTLAB_JOB_STALE_SECONDS, or the sweeper is not running and jobs are not taken up."""
    from .models import WorkerSeen

    window = settings.PERCEPTLAB_JOB_STALE_SECONDS
    now = timezone.now()
    last = WorkerSeen.objects.aggregate(last=Max("seen_at"))["last"]
    recent = WorkerSeen.objects.filter(seen_at__gte=now - timedelta(seconds=window)).count()
    if last is None:
        raise LookupError("no worker has been seen yet")
    age = (now - last).total_seconds()
    out = {"last_seen": last.isoformat(), "age_s": round(age, 1), "hosts": recent}
    if age > window:
        raise LookupError(f"no worker seen for {age:.0f} s (more than {window} s)")
    return out


def job_counts() -> dict[str, Any]:
    """Jobs in the outbox (not yet published) and running, with the oldest unsent one's age."""
    from .models import Job

    counts = dict(
        Job.objects.filter(state__in=[Job.State.PENDING, Job.State.SENT, Job.State.RUNNING])
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    oldest = Job.objects.filter(state=Job.State.PENDING).aggregate(at=Min("created_at"))["at"]
    return {
        "unsent": counts.get(Job.State.PENDING, 0),
        "waiting": counts.get(Job.State.SENT, 0),
        "running": counts.get(Job.State.RUNNING, 0),
        "oldest_unsent_s": round((timezone.now() - oldest).total_seconds(), 1) if oldest else None,
    }


def _bounded(check) -> dict[str, Any]:
    return _executor().submit(_timed, check)


def report() -> tuple[dict[str, Any], int]:
    """The health report and its HTTP status (503 when the database is down)."""
    started = time.monotonic()  # the broker and cache checks run meanwhile, one second at most
    futures = {"broker": _bounded(check_broker), "cache": _bounded(check_cache)}
    out: dict[str, Any] = {"database": _timed(check_database)}
    if out["database"]["ok"]:
        out["workers"] = _timed(check_workers)
        out["jobs"] = _timed(job_counts)
    else:
        out["workers"] = {"ok": False, "error": "unknown: the database is down"}
    deadline = started + CHECK_TIMEOUT
    for name, future in futures.items():
        try:
            out[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            out[name] = {"ok": False, "error": f"no answer within {CHECK_TIMEOUT:.0f} s"}
    degraded = [n for n in ("broker", "cache", "workers") if not out[n]["ok"]]
    if not out["database"]["ok"]:
        status, code = "down", 503
    else:
        status, code = ("degraded" if degraded else "ok"), 200
    return {"status": status, "degraded": degraded, **out}, code
