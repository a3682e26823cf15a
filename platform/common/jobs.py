"""Background jobs that survive broker outages and dead workers: the one way to enqueue a task.

Requesting a job (`enqueue`, inside the service's transaction) writes a `common.Job` row beside
the job's own row (a fit, an export, …): a transactional outbox. After the commit the message is
published with short timeouts; if the broker is down the request still answers normally, the job
stays `pending`, and the dispatcher (`dispatch_pending`: the periodic sweep, a worker starting,
and the web tier's next successful publish) sends it once the broker is back.

A worker runs the task through `tracked`: it claims the job's current attempt (a delivery of an
older attempt, or a duplicate of one already running, exits without writing), beats every
`PERCEPTLAB_JOB_HEARTBEAT_SECONDS` from a background thread, and checks at each progress step
(`heartbeat()`) that its attempt is still the current one. The sweeper (`sweep`) re-queues a
running job whose heartbeat is older than `PERCEPTLAB_JOB_STALE_SECONDS` under the next attempt,
so the job resumes from its checkpoint on another worker; after `PERCEPTLAB_JOB_MAX_ATTEMPTS`
lost attempts it marks the job's object failed (the one failure policy, `common.tasks`), and the
object's retry service queues it again.

`send` is for requests that need no outbox because their reader asks again (e.g. a board's
significance refresh): the same publish, best effort, logged on failure.

docs/operations.md explains the settings and what an operator sees.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 1.0  # seconds to reach the broker before a publish is left to the dispatcher
DISPATCH_BATCH = 100


class StaleAttempt(Exception):
    """This delivery's attempt is no longer the job's current one (the sweeper re-queued the job,
    or another delivery runs it): stop without writing."""


def _app():
    from config.celery_app import app

    return app


def _eager() -> bool:
    return bool(_app().conf.task_always_eager)


# ---------------------------------------------------------------------------------------------
# Publishing (web tier and workers)
# ---------------------------------------------------------------------------------------------


def producer_connection():
    """A broker connection whose every socket operation gives up after PUBLISH_TIMEOUT (Redis
    that accepts connections but does not answer must not hang a request)."""
    timeouts = {"socket_timeout": PUBLISH_TIMEOUT, "socket_connect_timeout": PUBLISH_TIMEOUT}
    return _app().connection_for_write(transport_options=timeouts)


def _publish(task: str, args: list, kwargs: dict) -> None:
    """Hand one message to the broker, or raise (kombu's OperationalError when it is down).

    Connects with a short timeout and no retries (the outbox retries), and without subscribing to
    a result: with the Redis result backend that subscription alone retries for 20 s when Redis
    is down. In eager mode (tests) the task runs here and its errors propagate.
    """
    app = _app()
    if app.conf.task_always_eager:
        import_module(task.rpartition(".")[0])  # registers the task in this process
        app.tasks[task].apply_async(args=args, kwargs=kwargs)
        return
    with producer_connection() as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
            timeout=PUBLISH_TIMEOUT,
        )  # fmt: skip
        app.send_task(
            task, args=args, kwargs=kwargs, connection=conn, retry=False, ignore_result=True
        )


def send(task: str, *args: Any, on_error: Callable[[], None] | None = None, **kwargs: Any) -> None:
    """After the current transaction commits, ask for `task` best effort: for idempotent requests
    whose reader asks again when they are lost. A broker outage is logged (and `on_error`
    called), never raised."""

    def publish() -> None:
        try:
            _publish(task, list(args), kwargs)
        except Exception:
            if _eager():
                raise
            log.warning(
                "could not send %s%s; it will be asked for again", task, args, exc_info=True
            )
            if on_error is not None:
                on_error()

    transaction.on_commit(publish)


def enqueue(
    task: str,
    *args: Any,
    target: tuple[type, int] | None = None,
    failed: dict | None = None,
):
    """Request `task(*args)` as a job (call inside the transaction that writes the job's row).

    `target` (model, pk) and `failed` (fields) say what the failure policy marks failed if the
    job is given up, e.g. ``target=(FitRun, run.pk), failed={"status": "failed"}``. The message
    is published after the commit; if the broker is unreachable the job waits in the outbox.
    """
    from .models import Job

    model, pk = target if target is not None else (None, None)
    job = Job.objects.create(
        task=task,
        args=list(args),
        target=model._meta.label if model is not None else "",
        target_id=pk,
        failed_fields=dict(failed or {}),
    )
    transaction.on_commit(lambda: publish_job(job.pk))
    return job


def _message_kwargs(job) -> dict:
    return {**job.kwargs, "job_id": job.pk, "attempt": job.attempt}


def publish_job(job_id: int) -> bool:
    """Publish a pending job's current attempt and mark it `sent`; False when the broker was
    unreachable (the job stays pending) or the job is not pending. After a success in the web
    tier, older pending jobs are dispatched too (the broker is evidently back)."""
    from .models import Job

    if _eager():
        job = Job.objects.filter(pk=job_id, state=Job.State.PENDING).first()
        if job is None:
            return False
        _publish(job.task, job.args, _message_kwargs(job))
        Job.objects.filter(pk=job.pk, state=Job.State.PENDING, attempt=job.attempt).update(
            state=Job.State.SENT, sent_at=timezone.now(), error=""
        )
        return True
    sent = _publish_locked(job_id)
    if sent and Job.objects.filter(state=Job.State.PENDING).exists():
        dispatch_pending()
    return sent


def _publish_locked(job_id: int) -> bool:
    """Lock the pending row (others skip it), publish, mark sent; on a broker error record it and
    leave the job pending."""
    from .models import Job

    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, state=Job.State.PENDING)
            .first()
        )
        if job is None:
            return False
        try:
            _publish(job.task, job.args, _message_kwargs(job))
        except Exception as exc:
            Job.objects.filter(pk=job.pk).update(error=f"publish failed: {exc}"[:2000])
            log.warning("job %s (%s) waits in the outbox: %s", job.pk, job.task, exc)
            return False
        Job.objects.filter(pk=job.pk).update(state=Job.State.SENT, sent_at=timezone.now(), error="")
    return True


def dispatch_pending(limit: int = DISPATCH_BATCH) -> int:
    """Publish up to `limit` pending jobs, oldest first; stops at the first broker error.
    Returns how many were sent. Safe to run from several processes at once."""
    from .models import Job

    sent = 0
    for job_id in (
        Job.objects.filter(state=Job.State.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    ):
        if _eager():
            ok = publish_job(job_id)
        else:
            ok = _publish_locked(job_id)
            if not ok and Job.objects.filter(pk=job_id, state=Job.State.PENDING).exists():
                break  # the broker is still down (or another process holds it): try next sweep
        sent += ok
    return sent


# ---------------------------------------------------------------------------------------------
# Running (workers)
# ---------------------------------------------------------------------------------------------


class _Attempt:
    """The job attempt this thread runs, with its heartbeat thread (none in eager mode)."""

    def __init__(self, job_id: int, attempt: int, *, thread: bool):
        self.job_id, self.attempt = job_id, attempt
        self.interval = settings.PERCEPTLAB_JOB_HEARTBEAT_SECONDS
        self.stale = False
        self.last_beat = time.monotonic()
        self._stop = threading.Event()
        self._thread = (
            threading.Thread(target=self._beat_loop, name=f"job-{job_id}-heartbeat", daemon=True)
            if thread
            else None
        )

    def beat(self) -> bool:
        """Record a heartbeat for this attempt; False (and `stale`) when it is no longer current."""
        from .models import Job

        updated = Job.objects.filter(
            pk=self.job_id, attempt=self.attempt, state=Job.State.RUNNING
        ).update(heartbeat_at=timezone.now())
        self.last_beat = time.monotonic()
        if not updated:
            self.stale = True
        return not self.stale

    def _beat_loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.beat():
                        log.warning("job %s attempt %s is stale", self.job_id, self.attempt)
                        return
                    worker_seen()
                except Exception:
                    log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    def start(self) -> None:
        if self._thread is not None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


_current: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "perceptlab_job", default=None
)


def heartbeat() -> None:
    """Called by long work at each progress step: raise StaleAttempt when this attempt was
    superseded. Without a heartbeat thread (eager mode) it also beats, at most every interval.
    Does nothing outside a tracked job."""
    current = _current.get()
    if current is None:
        return
    if current._thread is None and time.monotonic() - current.last_beat >= current.interval:
        current.beat()
    if current.stale:
        raise StaleAttempt(f"job {current.job_id} attempt {current.attempt} was superseded")


def _hostname() -> str:
    from celery import current_task

    request = getattr(current_task, "request", None)
    return (getattr(request, "hostname", None) or socket.gethostname())[:200]


def claim(job_id: int, attempt: int, *, worker: str = "") -> bool:
    """Take attempt `attempt` of job `job_id` for this worker. Refused when the attempt is not the
    job's current one, the job finished, or it runs elsewhere with a fresh heartbeat; a running
    attempt whose heartbeat is stale (its worker died) is taken over."""
    from .models import Job

    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.PERCEPTLAB_JOB_STALE_SECONDS)
    return bool(
        Job.objects.filter(pk=job_id, attempt=attempt)
        .filter(
            Q(state__in=[Job.State.PENDING, Job.State.SENT])
            | Q(state=Job.State.RUNNING, heartbeat_at__lt=stale_before)
        )
        .update(state=Job.State.RUNNING, started_at=now, heartbeat_at=now, worker=worker)
    )


def _finish(job_id: int, attempt: int) -> None:
    from .models import Job

    Job.objects.filter(pk=job_id, attempt=attempt, state=Job.State.RUNNING).update(
        state=Job.State.DONE, finished_at=timezone.now()
    )


def tracked(func: Callable) -> Callable:
    """Decorate a task function (under `@shared_task`) so that a message from `enqueue` (with
    `job_id` and `attempt`) runs only as the job's current attempt, with a heartbeat. A stale
    delivery returns ``{"skipped": "stale attempt"}`` without writing. A call without `job_id`
    (tests, the shell) runs the function as it is."""

    @functools.wraps(func)
    def run(*args: Any, job_id: int | None = None, attempt: int | None = None, **kwargs: Any):
        if job_id is None:
            return func(*args, **kwargs)
        from celery import current_task

        request = getattr(current_task, "request", None)
        eager = bool(getattr(request, "is_eager", False)) or _eager()
        worker = _hostname()
        if not claim(job_id, attempt, worker=worker):
            log.info("job %s attempt %s: not current or already running; skipped", job_id, attempt)
            return {"skipped": "stale attempt"}
        if not eager:
            worker_seen(worker)
        current = _Attempt(job_id, attempt, thread=not eager)
        token = _current.set(current)
        current.start()
        try:
            return func(*args, **kwargs)
        except StaleAttempt as exc:
            log.warning("%s; stopped without writing", exc)
            return {"skipped": "stale attempt"}
        finally:
            current.stop()
            _current.reset(token)
            _finish(job_id, attempt)

    return run


# ---------------------------------------------------------------------------------------------
# Sweeping (workers: periodic, and at start)
# ---------------------------------------------------------------------------------------------


def worker_seen(hostname: str | None = None) -> None:
    """Record a sign of life of this worker host (read by the health endpoint)."""
    from .models import WorkerSeen

    WorkerSeen.objects.update_or_create(
        hostname=(hostname or _hostname())[:200], defaults={"seen_at": timezone.now()}
    )


def requeue_stale() -> dict[str, int]:
    """Re-queue running jobs whose heartbeat is older than PERCEPTLAB_JOB_STALE_SECONDS under the
    next attempt (published after the commit); give up those that already had
    PERCEPTLAB_JOB_MAX_ATTEMPTS, marking their object failed."""
    from .models import Job
    from .tasks import record_failure

    stale_before = timezone.now() - timedelta(seconds=settings.PERCEPTLAB_JOB_STALE_SECONDS)
    requeued = given_up = 0
    with transaction.atomic():
        jobs = list(
            Job.objects.select_for_update(skip_locked=True).filter(
                state=Job.State.RUNNING, heartbeat_at__lt=stale_before
            )[:DISPATCH_BATCH]
        )
        for job in jobs:
            lost = f"its worker {job.worker or '?'} stopped beating (attempt {job.attempt})"
            if job.attempt >= settings.PERCEPTLAB_JOB_MAX_ATTEMPTS:
                message = (
                    f"Given up after {job.attempt} attempts: {lost}. "
                    "Retry it once the cause (e.g. memory) is fixed."
                )
                Job.objects.filter(pk=job.pk).update(
                    state=Job.State.FAILED, finished_at=timezone.now(), error=message
                )
                if job.target and job.target_id is not None:
                    record_failure(job.target, job.target_id, message, **job.failed_fields)
                log.error("job %s (%s) %s", job.pk, job.task, message)
                given_up += 1
                continue
            Job.objects.filter(pk=job.pk).update(
                state=Job.State.PENDING, attempt=job.attempt + 1, error=f"re-queued: {lost}"
            )
            log.warning(
                "job %s (%s) re-queued as attempt %s: %s", job.pk, job.task, job.attempt + 1, lost
            )
            requeued += 1
    return {"requeued": requeued, "given_up": given_up}


def prune_finished() -> int:
    """Delete the jobs that ended (done or given up) more than PERCEPTLAB_JOB_RETENTION_DAYS ago
    (0: none); returns how many. A job's outcome stays on its object (a fit's status and error),
    so the outbox need not keep it; pending, sent and running jobs are never touched."""
    from .models import Job

    days = settings.PERCEPTLAB_JOB_RETENTION_DAYS
    if not days:
        return 0
    deleted, _ = Job.objects.filter(
        state__in=[Job.State.DONE, Job.State.FAILED],
        finished_at__lt=timezone.now() - timedelta(days=days),
    ).delete()
    return deleted


def sweep(hostname: str | None = None) -> dict[str, int]:
    """One pass of the sweeper: re-queue stale jobs, publish pending ones, delete long-finished
    ones, note this worker."""
    outcome = requeue_stale()
    outcome["sent"] = dispatch_pending()
    outcome["pruned"] = prune_finished()
    worker_seen(hostname)
    return outcome


def sweep_at_worker_start(sender: Any = None, **_kwargs: Any) -> None:
    """The sweep a worker runs as it starts (Celery's worker_ready, connected in `common.apps`):
    never stops the worker."""
    try:
        outcome = sweep(getattr(sender, "hostname", None))
        log.info("start-up sweep: %s", outcome)
    except Exception:
        log.exception("start-up sweep failed")
    finally:
        connection.close()
