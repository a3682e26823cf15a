"""Analysis's steps of the study page's stepper (`studies.workflow`): freeze a dataset, fit LPIPS
and score metrics on it, open its leaderboard. Each button calls the service the API's
`POST /api/datasets/freeze/`, `/fit/` and `/score/` call, so refusals read the same."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from common.exceptions import ConflictError
from studies import workflow
from studies.models import Study

from . import datasets, selectors, services
from .models import Dataset, RunStatus

S = Study.Status
# The study page's "Fit LPIPS": alex-lin, as the Datasets page's action (epochs, decay epochs).
FIT_EPOCHS = (5, 5)
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


def _latest(study, user) -> Dataset | None:
    return selectors.dataset_list(user=user).filter(study=study).order_by("-version").first()


def _freeze_step(*, step, study, user):
    latest = _latest(study, user)
    if latest is not None:
        step.state = workflow.DONE
        step.detail.append(
            f"Latest dataset: version {latest.version} ({latest.get_status_display()})"
        )
    if study.status in (S.LIVE, S.CLOSED):
        step.actions.append(("freeze", "Freeze dataset"))
    step.links.append(
        ("Datasets", reverse("admin:analysis_dataset_changelist") + f"?study__id__exact={study.pk}")
    )


def _analyse_step(*, step, study, user):
    latest = _latest(study, user)
    if latest is None:
        step.detail.append("Freeze a dataset first.")
        return
    fits = selectors.fit_run_list(user=user).filter(dataset=latest)
    scores = selectors.score_run_list(user=user).filter(dataset=latest)
    for run in fits.filter(status__in=ACTIVE).order_by("pk"):
        epochs = (run.progress or {}).get("epoch") or 0
        step.progress.append(
            workflow.Progress(
                f"fit-{run.pk}",
                f"Fit {run.pk} ({run.net}-{run.variant}), epochs",
                epochs,
                run.epochs + run.epochs_decay,
            )
        )
    for run in scores.filter(status__in=ACTIVE).order_by("pk"):
        p = run.progress or {}
        step.progress.append(
            workflow.Progress(
                f"score-{run.pk}", f"Score {run.metric}", p.get("done", 0), p.get("of", 0)
            )
        )
    done_fits = fits.filter(status=RunStatus.DONE).count()
    done_scores = scores.filter(status=RunStatus.DONE).count()
    failed = (
        fits.filter(status=RunStatus.FAILED).count()
        + scores.filter(status=RunStatus.FAILED).count()
    )
    step.detail.append(
        f"Dataset v{latest.version}: {done_fits} fit(s) and {done_scores} score run(s) finished"
        + (f", {failed} failed" if failed else "")
    )
    if latest.status == Dataset.Status.READY:
        step.actions += [("fit", "Fit LPIPS"), ("score", "Score metrics")]
    if done_scores and not step.progress:
        step.state = workflow.DONE
    step.links += [
        (
            "Fit runs",
            reverse("admin:analysis_fitrun_changelist") + f"?dataset__id__exact={latest.pk}",
        ),
        (
            "Score runs",
            reverse("admin:analysis_scorerun_changelist") + f"?dataset__id__exact={latest.pk}",
        ),
    ]


def _leaderboard_step(*, step, study, user):
    latest = _latest(study, user)
    if latest is None:
        return
    step.links.append(
        (
            f"Open the leaderboard (v{latest.version})",
            reverse("analysis-leaderboard", args=[latest.pk]),
        )
    )


def _freeze(*, study, user) -> str:
    dataset = datasets.dataset_freeze(study=study, by=user)
    return f"Dataset {dataset} frozen ({dataset.items.count()} items)."


def _ready_dataset(study, user) -> Dataset:
    latest = _latest(study, user)
    if latest is None:
        raise ConflictError("Freeze a dataset first: this study has none.", code="no_dataset")
    return latest


def _fit(*, study, user) -> str:
    """LPIPS alex-lin on the latest dataset, as the Datasets page's action does."""
    run = services.fit_run_create(
        dataset=_ready_dataset(study, user),
        by=user,
        trunk_weights=settings.PERCEPTLAB_DEFAULT_TRUNK,
        epochs=FIT_EPOCHS[0],
        epochs_decay=FIT_EPOCHS[1],
    )
    return f"Fit {run.pk} queued ({run.net}-{run.variant}, {run.epochs}+{run.epochs_decay} epochs)."


def _score(*, study, user) -> str:
    """The baseline metrics and every finished fit of the latest dataset not scored yet."""
    from .admin import _trunk_options

    dataset = _ready_dataset(study, user)
    scored = set(
        selectors.score_run_list(user=user)
        .filter(dataset=dataset)
        .exclude(status__in=(RunStatus.FAILED, RunStatus.CANCELLED))
        .values_list("metric", flat=True)
    )
    queued = []
    for metric in settings.PERCEPTLAB_BASELINE_METRICS:
        if metric not in scored:
            services.score_run_create(
                dataset=dataset, metric=metric, by=user, options=_trunk_options(metric)
            )
            queued.append(metric)
    for run in selectors.fitted_metric_list(user=user).filter(dataset=dataset):
        if run.metric_name not in scored:
            services.score_run_create(dataset=dataset, metric=run.metric_name, by=user)
            queued.append(run.metric_name)
    if not queued:
        raise ConflictError(
            "Every baseline metric and every finished fit of this dataset is already scored "
            "(or being scored).",
            code="nothing_to_score",
        )
    return f"Scoring queued: {', '.join(queued)}."


def register() -> None:
    workflow.contribute("freeze", _freeze_step)
    workflow.contribute("analyse", _analyse_step)
    workflow.contribute("leaderboard", _leaderboard_step)
    workflow.action("freeze", _freeze)
    workflow.action("fit", _fit)
    workflow.action("score", _score)
