"""Resolvers that let `metrics.create_metric` build metrics stored in the platform:
`fitted:<FitRun id>` (finished fits) and `uploaded:<UploadedMetric id>` (validated uploads).
Registering is cheap (no torch); the metric is built only when a worker asks for it.

These run in workers, after the web tier checked who may use the reference
(`selectors.metric_ref_resolve`); here only the object's state matters.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from metrics.deep.archs import is_deep, metric_for_net
from metrics.refs import FITTED, UPLOADED, MetricRef, trunk_option


def _lin_metric(*, net: str, version: str, fieldfile, **options):
    import metrics

    # deep-<arch> nets have no `version` option (always the ImageNet normalisation, 0.1).
    named = {"variant": "lin"} if is_deep(net) else {"version": version}
    with fieldfile.open("rb") as handle, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lin.pth"
        path.write_bytes(handle.read())
        return metrics.create_metric(metric_for_net(net), lin_weights=str(path), **named, **options)


def load_fitted(key: str, **options):
    from .models import FitRun, RunStatus

    ref = MetricRef(FITTED, key)
    run = FitRun.objects.filter(pk=ref.pk, status=RunStatus.DONE).first()
    if run is None or not run.weights:
        raise ValueError(f"{ref} is not a finished fit run")
    from .weight_files import weights_on_worker

    options.setdefault("trunk_weights", weights_on_worker(trunk_option(run.trunk_weights)))
    return _lin_metric(net=run.net, version=run.version, fieldfile=run.weights, **options)


def load_uploaded(key: str, **options):
    from .models import UploadedMetric

    ref = MetricRef(UPLOADED, key)
    upload = UploadedMetric.objects.filter(pk=ref.pk, status=UploadedMetric.Status.READY).first()
    if upload is None:
        raise ValueError(f"{ref} is not a validated upload")
    return _lin_metric(net=upload.net, version=upload.version, fieldfile=upload.weights, **options)


def register() -> None:
    import metrics

    for prefix, fn in ((FITTED, load_fitted), (UPLOADED, load_uploaded)):
        with contextlib.suppress(ValueError):  # already registered in this process
            metrics.register_resolver(prefix, fn)
