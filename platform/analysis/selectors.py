"""Reads of analysis, with the access rule: a researcher sees datasets they own or collaborate
on, or that belong to a study they can see; superusers see everything."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from studies.selectors import study_list

from .models import Dataset, FitRun, ScoreRun, UploadedMetric


def dataset_list(*, user) -> QuerySet[Dataset]:
    qs = Dataset.objects.all()
    if not user.is_superuser:
        visible = Dataset.objects.filter(
            Q(owner=user) | Q(collaborators=user) | Q(study__in=study_list(user=user).values("pk"))
        )
        qs = qs.filter(pk__in=visible.values("pk"))
    return qs.select_related("owner", "study")


def dataset_get(*, user, pk) -> Dataset:
    return get_object_or_404(dataset_list(user=user), pk=pk)


def fit_run_get(*, user, pk) -> FitRun:
    return get_object_or_404(
        FitRun.objects.filter(dataset__in=dataset_list(user=user).values("pk")), pk=pk
    )


def score_run_get(*, user, pk) -> ScoreRun:
    return get_object_or_404(
        ScoreRun.objects.filter(dataset__in=dataset_list(user=user).values("pk")), pk=pk
    )


def uploaded_metric_list(*, user) -> QuerySet[UploadedMetric]:
    return (
        UploadedMetric.objects.all()
        if user.is_superuser
        else UploadedMetric.objects.filter(owner=user)
    )
