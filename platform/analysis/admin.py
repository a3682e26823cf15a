"""Researcher UI for analysis: studies to freeze, datasets (score, fit, export, publish, retry
a failed import), fit runs with live progress, score runs, exports and uploaded metrics (retry),
image sets to initialise a k-means trunk from, and k-means trunks (retry).

Every action calls the same service as the API and reports the same message: a domain error
becomes an error message naming the object, so the admin and the API never disagree.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from common.admin_mixins import ResearcherScopedAdmin
from common.exceptions import DomainError
from metrics.refs import IMAGENET_TRUNK, trunk_option
from studies import selectors as study_selectors

from . import datasets, display, exports, selectors, services
from .leaderboard.selectors import metric_label
from .models import (
    Dataset,
    Export,
    FitRun,
    FreezableStudy,
    KMeansTrunk,
    RunStatus,
    ScoreRun,
    TrunkImageSet,
    UploadedMetric,
)

FIT_PAGE_REFRESH_SECONDS = 10


def _trunk_options(metric: str) -> dict:
    """The deployment's default trunk (PERCEPTLAB_DEFAULT_TRUNK, a stored trunk setting) as
    options for a registry metric that takes `trunk_weights` (the LPIPS metrics)."""
    import metrics

    option = trunk_option(settings.PERCEPTLAB_DEFAULT_TRUNK)
    try:
        info = metrics.get_metric_info(metric)
    except ValueError:
        return {}  # not a registry name: score_run_create refuses it with the usual message
    takes_trunk = any(o.name == "trunk_weights" for o in info.options)
    return {"trunk_weights": option} if takes_trunk and option != IMAGENET_TRUNK else {}


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ServiceActions:
    """Admin actions that call one service per selected object."""

    def _each(self, request, queryset, fn, done: str, noun: str) -> int:
        count = 0
        for obj in queryset:
            try:
                fn(obj)
            except DomainError as exc:
                self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{done} for {count} {noun}.", messages.SUCCESS)
        return count


@admin.register(FreezableStudy)
class FreezableStudyAdmin(ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    """Studies the researcher can see, with the action that freezes one into a dataset."""

    list_display = ["name", "kind", "status", "owner", "dataset_versions"]
    list_display_links = None
    actions = ["freeze_dataset"]

    def scoped_queryset(self, request):
        return FreezableStudy.objects.filter(
            pk__in=study_selectors.study_list(user=request.user).values("pk")
        ).select_related("owner")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="dataset versions")
    def dataset_versions(self, obj):
        return obj.datasets.count()

    @admin.action(description="Freeze the valid judgments into a new dataset version")
    def freeze_dataset(self, request, queryset):
        for study in queryset:
            try:
                dataset = datasets.dataset_freeze(study=study, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{study}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{study}: dataset {dataset} frozen ({dataset.items.count()} items).",
                    messages.SUCCESS,
                )


@admin.register(Dataset)
class DatasetAdmin(ServiceActions, ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "version",
        "source",
        "status",
        "item_counts",
        "is_public",
        "leaderboard",
        "created_at",
    ]
    list_filter = ["source", "status", "is_public"]
    readonly_fields = [
        "name",
        "version",
        "source",
        "study",
        "status",
        "counts",
        "error",
        "is_public",
        "leaderboard",
        "manifest_summary",
    ]
    fields = readonly_fields
    actions = [
        "score_baselines",
        "fit_alex_lin",
        "score_fitted",
        "export_bapps",
        "export_csv",
        "export_datasheet",
        "publish",
        "unpublish",
        "retry_import",
    ]

    def scoped_queryset(self, request):
        return selectors.dataset_list(user=request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # datasets are immutable releases

    @admin.display(description="items")
    def item_counts(self, obj):
        return (
            ", ".join(
                f"{kind} {split}: {sum(cats.values())}"
                for kind, splits in (obj.counts or {}).items()
                for split, cats in splits.items()
            )
            or "-"
        )

    @admin.display(description="leaderboard")
    def leaderboard(self, obj):
        return format_html(
            '<a href="{}">leaderboard</a> · <a href="{}">triplets</a>',
            reverse("analysis-leaderboard", args=[obj.pk]),
            reverse("analysis-triplets", args=[obj.pk]),
        )

    @admin.display(description="manifest")
    def manifest_summary(self, obj):
        manifest = obj.manifest or {}
        return format_html(
            "{} files with sha256; code {}; QC {}",
            len(manifest.get("files", {})),
            manifest.get("code_version"),
            manifest.get("qc", "-"),
        )

    def _each(self, request, queryset, fn, done: str, noun: str = "dataset(s)") -> int:
        return super()._each(request, queryset, fn, done, noun)

    @admin.action(description="Score the baseline metrics (runs on the gpu queue)")
    def score_baselines(self, request, queryset):
        def score(dataset):
            for metric in settings.PERCEPTLAB_BASELINE_METRICS:
                services.score_run_create(
                    dataset=dataset, metric=metric, by=request.user, options=_trunk_options(metric)
                )

        self._each(request, queryset, score, "Scoring queued")

    @admin.action(description="Fit LPIPS alex-lin, 5+5 epochs (runs on the gpu queue)")
    def fit_alex_lin(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda d: services.fit_run_create(
                dataset=d, by=request.user, trunk_weights=settings.PERCEPTLAB_DEFAULT_TRUNK
            ),
            "Fit queued",
        )

    @admin.action(description="Score every finished fit of the dataset")
    def score_fitted(self, request, queryset):
        def score(dataset):
            for run in selectors.fitted_metric_list(user=request.user).filter(dataset=dataset):
                services.score_run_create(dataset=dataset, metric=run.metric_name, by=request.user)

        self._each(request, queryset, score, "Scoring queued")

    def _export(self, request, queryset, kind: str):
        self._each(
            request,
            queryset,
            lambda d: exports.export_create(dataset=d, kind=kind),
            f"{kind} export queued (see Exports)",
        )

    @admin.action(description="Export as BAPPS layout (.tar.gz)")
    def export_bapps(self, request, queryset):
        self._export(request, queryset, "bapps")

    @admin.action(description="Export one row per judgment (CSV)")
    def export_csv(self, request, queryset):
        self._export(request, queryset, "csv")

    @admin.action(description="Export the datasheet (Markdown)")
    def export_datasheet(self, request, queryset):
        self._export(request, queryset, "datasheet")

    def _publish(self, request, queryset, is_public: bool):
        self._each(
            request,
            queryset,
            lambda d: services.dataset_publish(dataset=d, by=request.user, is_public=is_public),
            "Leaderboard published" if is_public else "Leaderboard unpublished",
        )

    @admin.action(description="Publish the leaderboard (public URL)")
    def publish(self, request, queryset):
        self._publish(request, queryset, True)

    @admin.action(description="Unpublish the leaderboard")
    def unpublish(self, request, queryset):
        self._publish(request, queryset, False)

    @admin.action(description="Retry a failed import")
    def retry_import(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda d: datasets.dataset_import_retry(dataset=d),
            "Import queued again",
        )


@admin.register(FitRun)
class FitRunAdmin(ServiceActions, ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = [
        "id",
        "dataset",
        "net",
        "variant",
        "version",
        "status",
        "latest",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "net", "variant"]
    readonly_fields = [
        "dataset",
        "net",
        "variant",
        "version",
        "epochs",
        "epochs_decay",
        "seed",
        "trunk_weights",
        "status",
        "cancel_requested",
        "latest",
        "history_table",
        "attempts",
        "worker",
        "result_text",
        "computed_with_text",
        "error",
        "download",
    ]
    fields = readonly_fields
    actions = ["cancel", "retry"]
    change_form_template = "admin/analysis/fitrun/change_form.html"

    def scoped_queryset(self, request):
        return selectors.fit_run_list(user=request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="progress")
    def latest(self, obj):
        return display.fit_progress(obj)

    @admin.display(description="history")
    def history_table(self, obj):
        return display.fit_history_table(obj.history or [])

    @admin.display(description="result")
    def result_text(self, obj):
        return display.fit_result(obj.result or {})

    @admin.display(description="computed with")
    def computed_with_text(self, obj):
        return display.key_values(obj.computed_with or {})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra = {**(extra_context or {})}
        if run is not None:
            extra["fit_history"] = display.fit_history_points(run.history or [])
            extra["leaderboard_url"] = reverse("analysis-leaderboard", args=[run.dataset_id])
            # A fit still queued or running reloads itself: its curves grow epoch by epoch.
            extra["refresh_seconds"] = (
                FIT_PAGE_REFRESH_SECONDS
                if run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
                else None
            )
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="weights")
    def download(self, obj):
        if not obj.weights:
            return "-"
        return format_html(
            '<a href="/api/fit-runs/{}/weights/">download .pth</a> (metric name: {})',
            obj.pk,
            obj.metric_name,
        )

    @admin.action(description="Cancel (stops at the next step; keeps checkpoints)")
    def cancel(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda run: services.fit_run_cancel(run=run),
            "Cancellation requested",
            "fit(s)",
        )

    @admin.action(description="Retry a failed fit (resumes from its last checkpoint)")
    def retry(self, request, queryset):
        self._each(
            request, queryset, lambda run: services.fit_run_retry(run=run), "Queued again", "fit(s)"
        )


@admin.register(ScoreRun)
class ScoreRunAdmin(ServiceActions, ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = ["id", "dataset", "metric_label", "split", "status", "all_score", "created_at"]
    list_filter = ["status", "metric"]
    readonly_fields = [
        "dataset",
        "metric_label",
        "stored_as",
        "options_text",
        "split",
        "status",
        "progress_text",
        "twoafc_table",
        "jnd_table",
        "computed_with_text",
        "error",
        "leaderboard",
    ]
    fields = readonly_fields

    actions = ["retry"]

    def scoped_queryset(self, request):
        return selectors.score_run_list(user=request.user)

    @admin.display(description="metric")
    def metric_label(self, obj):
        return metric_label(obj)

    @admin.display(description="stored as")
    def stored_as(self, obj):
        return format_html("<code>{}</code>", obj.metric)

    @admin.display(description="2AFC All ×100")
    def all_score(self, obj):
        return display.report_headline(obj.result or {})

    @admin.display(description="options")
    def options_text(self, obj):
        return display.key_values(obj.options or {}) if obj.options else "none"

    @admin.display(description="progress")
    def progress_text(self, obj):
        return display.score_progress(obj)

    @admin.display(description="2AFC per category")
    def twoafc_table(self, obj):
        return display.report_table((obj.result or {}).get("2afc"), kind="2afc")

    @admin.display(description="JND per category")
    def jnd_table(self, obj):
        return display.report_table((obj.result or {}).get("jnd"), kind="jnd")

    @admin.display(description="computed with")
    def computed_with_text(self, obj):
        return display.key_values(obj.computed_with or {})

    @admin.display(description="leaderboard")
    def leaderboard(self, obj):
        return format_html(
            '<a href="{}?split={}">open the leaderboard</a>',
            reverse("analysis-leaderboard", args=[obj.dataset_id]),
            obj.split,
        )

    @admin.action(description="Retry a failed score run")
    def retry(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda run: services.score_run_retry(run=run, by=request.user),
            "Queued again",
            "score run(s)",
        )


@admin.register(Export)
class ExportAdmin(ServiceActions, ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = ["id", "dataset", "kind", "status", "size", "download", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = ["dataset", "kind", "status", "sha256", "size", "error", "download"]
    fields = readonly_fields
    actions = ["retry"]

    def scoped_queryset(self, request):
        return selectors.export_list(user=request.user)

    @admin.action(description="Retry a failed export")
    def retry(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda export: exports.export_retry(export=export),
            "Queued again",
            "export(s)",
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="file")
    def download(self, obj):
        if obj.status != "ready":
            return "-"
        return format_html(
            '<a href="{}">download</a>', reverse("analysis-export-download", args=[obj.pk])
        )


@admin.register(UploadedMetric)
class UploadedMetricAdmin(ServiceActions, ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    """Uploaded lin weights (upload through the API); validated by a worker, usable once ready."""

    list_display = ["id", "name", "net", "version", "status", "metric", "owner", "created_at"]
    list_filter = ["status", "net"]
    readonly_fields = [
        "name",
        "owner",
        "net",
        "version",
        "metric",
        "status",
        "error",
        "sha256",
        "size",
    ]
    fields = readonly_fields
    actions = ["retry"]

    def scoped_queryset(self, request):
        return selectors.uploaded_metric_list(user=request.user).select_related("owner")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="metric name")
    def metric(self, obj):
        return obj.metric_name

    @admin.action(description="Retry a failed validation")
    def retry(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda upload: services.uploaded_metric_retry(upload=upload),
            "Validation queued again",
            "upload(s)",
        )


@admin.register(TrunkImageSet)
class TrunkImageSetAdmin(ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    """Image sets the researcher can see, with the action that initialises an AlexNet trunk by
    stacked k-means from one (the same `kmeans_trunk_create` as the API; default settings)."""

    list_display = ["name", "owner", "image_count", "trunks"]
    list_display_links = None
    actions = ["kmeans_trunk"]

    def scoped_queryset(self, request):
        return TrunkImageSet.objects.filter(
            pk__in=study_selectors.image_set_list(user=request.user).values("pk")
        ).select_related("owner")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="images")
    def image_count(self, obj):
        return obj.images.count()

    @admin.display(description="k-means trunks")
    def trunks(self, obj):
        return obj.kmeans_trunks.count()

    @admin.action(description="Initialise a trunk by k-means from this image set")
    def kmeans_trunk(self, request, queryset):
        for image_set in queryset:
            try:
                trunk = services.kmeans_trunk_create(owner=request.user, image_set=image_set)
            except DomainError as exc:
                self.message_user(request, f"{image_set}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{image_set}: k-means trunk queued; once done, use trunk_weights "
                    f"{trunk.trunk_ref}.",
                    messages.SUCCESS,
                )


@admin.register(KMeansTrunk)
class KMeansTrunkAdmin(ServiceActions, ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    """AlexNet trunks initialised by k-means (queued from an image set); usable once done."""

    list_display = ["id", "name", "image_set", "status", "trunk_weights", "owner", "created_at"]
    list_filter = ["status"]
    readonly_fields = [
        "name",
        "owner",
        "image_set",
        "seed",
        "options",
        "trunk_weights",
        "status",
        "progress",
        "error",
        "sha256",
        "layers",
        "computed_with",
    ]
    fields = readonly_fields
    actions = ["retry"]

    def scoped_queryset(self, request):
        return selectors.kmeans_trunk_list(user=request.user).select_related("owner", "image_set")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="trunk_weights")
    def trunk_weights(self, obj):
        return obj.trunk_ref

    @admin.display(description="layers")
    def layers(self, obj):
        rows = (obj.report or {}).get("layers") or []
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>layer</th><th>filters</th><th>patch dim</th><th>k-means</th>"
            "<th>between-layer factor</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        r.get("name"),
                        r.get("filters"),
                        r.get("patch_dim"),
                        f"{float(r.get('kmeans_objective', 0)):.3f}",
                        f"{float(r.get('between_factor', 1)):.3f}",
                    )
                    for r in rows
                ),
            ),
        )

    @admin.action(description="Retry a failed k-means trunk")
    def retry(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda trunk: services.kmeans_trunk_retry(trunk=trunk),
            "Queued again",
            "k-means trunk(s)",
        )
