"""Reads of analysis, with the access rule: a researcher sees datasets they own or collaborate
on, or that belong to a study they can see, and everything hanging off those datasets (fit runs,
score runs, exports); uploaded metrics and k-means trunks are their owner's. Superusers see
everything.

Objects outside that rule look exactly like missing ones (`NotFoundError`, or for a metric named
in a request body the same `ApplicationError` as an unknown id), so ids do not leak.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from common.exceptions import ApplicationError, ConflictError, NotFoundError
from metrics.refs import FITTED, UPLOADED, MetricRef
from studies.selectors import study_list

from .models import Dataset, Export, FitRun, KMeansTrunk, RunStatus, ScoreRun, UploadedMetric


def _missing(what: str) -> NotFoundError:
    return NotFoundError(f"No such {what}.")


def _get(qs: QuerySet, pk, what: str):
    try:
        return qs.get(pk=int(pk))
    except (TypeError, ValueError, qs.model.DoesNotExist):
        raise _missing(what) from None


# ---------------------------------------------------------------------------------------------
# Datasets and what hangs off them
# ---------------------------------------------------------------------------------------------


def dataset_list(*, user) -> QuerySet[Dataset]:
    qs = Dataset.objects.all()
    if not user.is_superuser:
        visible = Dataset.objects.filter(
            Q(owner=user) | Q(collaborators=user) | Q(study__in=study_list(user=user).values("pk"))
        )
        qs = qs.filter(pk__in=visible.values("pk"))
    return qs.select_related("owner", "study")


def dataset_get(*, user, pk) -> Dataset:
    return _get(dataset_list(user=user), pk, "dataset")


def _on_visible_datasets(model, *, user) -> QuerySet:
    return model.objects.filter(dataset__in=dataset_list(user=user).values("pk"))


def fit_run_list(*, user) -> QuerySet[FitRun]:
    return _on_visible_datasets(FitRun, user=user)


def fit_run_get(*, user, pk) -> FitRun:
    return _get(fit_run_list(user=user), pk, "fit run")


def fit_run_weights_get(*, user, pk) -> FitRun:
    """A visible fit run whose weights can be downloaded (ConflictError while it has none)."""
    run = fit_run_get(user=user, pk=pk)
    if not run.weights:
        raise ConflictError(
            f"Fit {run.pk} has no weights yet (it is {run.status}).", code="not_ready"
        )
    return run


def fitted_metric_list(*, user) -> QuerySet[FitRun]:
    """Finished fits the user may score with (`fitted:<id>`)."""
    return fit_run_list(user=user).filter(status=RunStatus.DONE).exclude(weights="")


def score_run_list(*, user) -> QuerySet[ScoreRun]:
    return _on_visible_datasets(ScoreRun, user=user)


def score_run_get(*, user, pk) -> ScoreRun:
    return _get(score_run_list(user=user), pk, "score run")


def export_list(*, user) -> QuerySet[Export]:
    return _on_visible_datasets(Export, user=user).select_related("dataset")


def export_get(*, user, pk) -> Export:
    return _get(export_list(user=user), pk, "export")


# ---------------------------------------------------------------------------------------------
# Uploaded metrics and metric references
# ---------------------------------------------------------------------------------------------


def uploaded_metric_list(*, user) -> QuerySet[UploadedMetric]:
    qs = UploadedMetric.objects.all()
    return qs if user.is_superuser else qs.filter(owner=user)


def uploaded_metric_get(*, user, pk) -> UploadedMetric:
    return _get(uploaded_metric_list(user=user), pk, "uploaded metric")


def usable_uploaded_metric_list(*, user) -> QuerySet[UploadedMetric]:
    """Uploads the user may score with (`uploaded:<id>`): their own, validated by a worker."""
    return uploaded_metric_list(user=user).filter(status=UploadedMetric.Status.READY)


def kmeans_trunk_list(*, user) -> QuerySet[KMeansTrunk]:
    qs = KMeansTrunk.objects.all()
    return qs if user.is_superuser else qs.filter(owner=user)


def kmeans_trunk_get(*, user, pk) -> KMeansTrunk:
    return _get(kmeans_trunk_list(user=user), pk, "k-means trunk")


def usable_kmeans_trunk_list(*, user) -> QuerySet[KMeansTrunk]:
    """Trunks the user may name as `trunk_weights` (`kmeans:<id>`): their own, finished.
    Superusers too use only their own (a trunk stays its owner's choice)."""
    return KMeansTrunk.objects.filter(owner=user, status=RunStatus.DONE).exclude(weights="")


def metric_ref_resolve(*, user, metric: str) -> MetricRef:
    """Parse a metric named in a request and check that `user` may score with it.

    Registry names are open to everyone; `fitted:<id>` must be a finished fit on a dataset the
    user can see, `uploaded:<id>` a validated upload of theirs. A foreign, unfinished or missing
    id gives one and the same error, so ids do not leak.

    Raises:
        ApplicationError: Malformed or unknown reference, or one the user may not use.
    """
    try:
        ref = MetricRef.parse(metric)
    except ValueError as exc:
        text = str(exc)
        raise ApplicationError(
            text[:1].upper() + text[1:], code="unknown_metric", fields={"metric": ["unknown"]}
        ) from None
    if ref.is_registry:
        return ref
    visible = {FITTED: fitted_metric_list, UPLOADED: usable_uploaded_metric_list}[ref.kind]
    if not visible(user=user).filter(pk=ref.pk).exists():
        raise ApplicationError(
            f"{ref} is not available (no such finished fit or validated upload of yours).",
            code="unavailable_metric",
            fields={"metric": ["unavailable"]},
        )
    return ref


def metric_list(*, user) -> dict[str, list[dict]]:
    """Metrics the user can score: the registry, finished fits and validated uploads."""
    import metrics

    registry = [
        {"name": m.name, "input_range": list(m.input_range), "summary": m.summary}
        for m in metrics.list_metrics()
    ]
    fitted = [
        {
            "name": run.metric_name,
            "summary": f"LPIPS {run.net}-{run.variant} fitted on dataset {run.dataset_id}",
        }
        for run in fitted_metric_list(user=user).order_by("pk")
    ]
    uploaded = [
        {"name": m.metric_name, "summary": m.name}
        for m in usable_uploaded_metric_list(user=user).order_by("pk")
    ]
    return {"registry": registry, "fitted": fitted, "uploaded": uploaded}
