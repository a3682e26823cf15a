"""Celery task for dataset exports (queue `default` by the `analysis.tasks.*` route).

Registered under the name `analysis.tasks.export_dataset`; `analysis/tasks.py` imports this
module so that workers (which autodiscover `analysis.tasks`) know the task.
"""

from __future__ import annotations

import logging

from celery import shared_task

from config.celery_app import LONG_TASK_OPTIONS

log = logging.getLogger(__name__)


@shared_task(name="analysis.tasks.export_dataset", **LONG_TASK_OPTIONS)
def export_dataset(export_id: int) -> dict:
    from .exports import export_run
    from .models import Export

    export = Export.objects.select_related("dataset").filter(pk=export_id).first()
    if export is None:
        return {"skipped": "missing"}
    if export.status == Export.Status.READY:
        return {"skipped": "ready"}
    try:
        export = export_run(export=export)
    except Exception:
        log.exception("export %s failed", export_id)
        raise
    return {"status": export.status, "sha256": export.sha256, "size": export.size}
