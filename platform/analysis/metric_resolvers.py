"""Resolvers that let `metrics.create_metric` build metrics stored in the platform:
`fitted:<FitRun id>` and `uploaded:<UploadedMetric id>`. Registering is cheap (no torch); the
metric is built only when a worker asks for it."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path


def _lin_metric(*, net: str, version: str, fieldfile, **options):
    import metrics

    with fieldfile.open("rb") as handle, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lin.pth"
        path.write_bytes(handle.read())
        return metrics.create_metric(
            f"lpips-{net}", version=version, lin_weights=str(path), **options
        )


def load_fitted(key: str, **options):
    from .models import FitRun, RunStatus

    run = FitRun.objects.filter(pk=int(key) if key.isdigit() else -1, status=RunStatus.DONE).first()
    if run is None or not run.weights:
        raise ValueError(f"fitted:{key} is not a finished fit run")
    options.setdefault("trunk_weights", _trunk(run.trunk_weights))
    return _lin_metric(net=run.net, version=run.version, fieldfile=run.weights, **options)


def load_uploaded(key: str, **options):
    from .models import UploadedMetric

    upload = UploadedMetric.objects.filter(pk=int(key) if key.isdigit() else -1).first()
    if upload is None:
        raise ValueError(f"uploaded:{key} does not exist")
    return _lin_metric(net=upload.net, version=upload.version, fieldfile=upload.weights, **options)


def _trunk(value: str):
    return None if value == "random" else (value or "imagenet")


def register() -> None:
    import metrics

    for prefix, fn in (("fitted", load_fitted), ("uploaded", load_uploaded)):
        with contextlib.suppress(ValueError):  # already registered in this process
            metrics.register_resolver(prefix, fn)
