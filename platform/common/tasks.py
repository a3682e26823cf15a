"""Tasks that belong to no domain app, and the one failure policy every task follows.

A task whose work fails marks its object failed with the error (`recording_failure`), so the
failure is visible in the admin and the API and the object can be retried through its service.
Domain errors (bad input that a retry cannot fix) are recorded and the task returns normally;
anything else is recorded and re-raised, so Celery logs it with its traceback. A job given up by
the sweeper (its worker was lost too often, `common.jobs`) is recorded the same way
(`record_failure`). Tasks are requested through `common.jobs.enqueue` (the outbox), never with
`.delay()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import shared_task

log = logging.getLogger(__name__)

ERROR_CHARS = 4000


def error_text(exc: BaseException) -> str:
    """How a failure is stored on its object: the exception's class and message, bounded."""
    from common.exceptions import DomainError

    text = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    return text[:ERROR_CHARS]


class Failure:
    """What `recording_failure` saw: `error` is the stored text, or "" when the work succeeded."""

    error = ""


def record_failure(model: Any, pk: int, error: str, **failed_fields: Any) -> None:
    """Store `error` and `failed_fields` on row `pk` of `model` (a model or its label, e.g.
    "analysis.FitRun"): the one write of the failure policy."""
    if isinstance(model, str):
        from django.apps import apps

        model = apps.get_model(model)
    model.objects.filter(pk=pk).update(error=error, **failed_fields)


@contextmanager
def recording_failure(model: Any, pk: int, **failed_fields: Any) -> Iterator[Failure]:
    """Run a task's work; on an exception store `error` and `failed_fields` on row `pk` of `model`.

    Example: ``with recording_failure(FitRun, fit_id, status=RunStatus.FAILED): ...``.
    """
    from common.exceptions import DomainError
    from common.jobs import StaleAttempt

    outcome = Failure()
    try:
        yield outcome
    except StaleAttempt:
        raise  # another attempt owns the object now: record nothing (common.jobs.tracked)
    except DomainError as exc:
        outcome.error = error_text(exc)
        record_failure(model, pk, outcome.error, **failed_fields)
        log.warning("%s %s failed: %s", model.__name__, pk, outcome.error)
    except Exception as exc:
        outcome.error = error_text(exc)
        record_failure(model, pk, outcome.error, **failed_fields)
        log.exception("%s %s failed", model.__name__, pk)
        raise


def requeue_failed(
    instance: Any,
    *,
    label: Callable[[Any], str],
    kind: str,
    failed: str,
    queued: str,
    enqueue: Callable[[Any], None],
    eligible: Callable[[Any], bool] | None = None,
    **reset: Any,
) -> Any:
    """The retry half of the failure policy, for a `<entity>_retry` service (call it inside the
    service's transaction): lock the row; unless it failed (and is `eligible`), refuse with the
    same ConflictError for every entity; else clear its error, set `queued` and the `reset`
    fields, and `enqueue` it (`common.jobs.enqueue`: a new job, published after the commit)."""
    from common.exceptions import ConflictError

    locked = type(instance).objects.select_for_update().get(pk=instance.pk)
    if locked.status != failed or (eligible is not None and not eligible(locked)):
        raise ConflictError(
            f"{label(locked)} is {locked.status}; only a failed {kind} can be retried.",
            code="not_failed",
        )
    fields = {"status": queued, "error": "", **reset}
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*fields, "updated_at"])
    enqueue(locked)
    return locked


@shared_task(name="common.ping")
def ping(payload: str = "pong") -> dict:
    """Round-trip check for workers: returns the payload and the worker's host name."""
    import socket

    return {"payload": payload, "host": socket.gethostname()}


@shared_task(name="common.tasks.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict:
    """The sweeper, run by Celery beat every PERCEPTLAB_JOB_SWEEP_SECONDS (`common.jobs.sweep`):
    re-queue jobs whose worker died, publish jobs left in the outbox by a broker outage."""
    from common.jobs import sweep

    return sweep()
