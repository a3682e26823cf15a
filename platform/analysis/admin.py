"""Researcher UI for analysis: datasets (freeze from a study, score, fit, publish), fit runs
with live progress, score runs. Every action calls the same services as the API."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from common.admin_mixins import ResearcherScopedAdmin
from common.exceptions import ApplicationError

from . import selectors, services
from .models import Dataset, Export, FitRun, ScoreRun


def _trunk_options(metric: str) -> dict:
    if metric.startswith("lpips-") and settings.PERCEPTLAB_DEFAULT_TRUNK != "imagenet":
        trunk = settings.PERCEPTLAB_DEFAULT_TRUNK
        return {"trunk_weights": None if trunk == "random" else trunk}
    return {}


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
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
        return format_html('<a href="/leaderboards/{}/">open</a>', obj.pk)

    @admin.display(description="manifest")
    def manifest_summary(self, obj):
        manifest = obj.manifest or {}
        return format_html(
            "{} files with sha256; code {}; QC {}",
            len(manifest.get("files", {})),
            manifest.get("code_version"),
            manifest.get("qc", "-"),
        )

    def _each(self, request, queryset, fn, done: str):
        count = 0
        for dataset in queryset:
            try:
                fn(dataset)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{dataset}: {exc.message}", messages.ERROR)
        if count:
            self.message_user(request, f"{done} for {count} dataset(s).", messages.SUCCESS)

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
            for run in FitRun.objects.filter(dataset=dataset, status="done"):
                services.score_run_create(dataset=dataset, metric=run.metric_name, by=request.user)

        self._each(request, queryset, score, "Scoring queued")

    def _export(self, request, queryset, kind: str):
        from . import exports

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

    @admin.action(description="Publish the leaderboard (public URL)")
    def publish(self, request, queryset):
        queryset.filter(owner=request.user).update(is_public=True)

    @admin.action(description="Unpublish the leaderboard")
    def unpublish(self, request, queryset):
        queryset.filter(owner=request.user).update(is_public=False)


@admin.register(FitRun)
class FitRunAdmin(ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
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
        "result",
        "error",
        "download",
    ]
    fields = readonly_fields
    actions = ["cancel"]

    def scoped_queryset(self, request):
        return FitRun.objects.filter(
            dataset__in=selectors.dataset_list(user=request.user).values("pk")
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="progress")
    def latest(self, obj):
        p = obj.progress or {}
        if not p:
            return "-"
        return (
            f"epoch {p.get('epoch', '?')}/{p.get('epochs', '?')} loss {p.get('loss', '-')} "
            f"val 2AFC {p.get('val_2afc', '-')}"
        )

    @admin.display(description="history")
    def history_table(self, obj):
        rows = obj.history or []
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>epoch</th><th>lr</th><th>loss</th><th>train 2AFC</th><th>val 2AFC</th>"
            "</tr>{}</table>",
            format_html_join(
                mark_safe(""),
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        r.get("epoch"),
                        r.get("lr"),
                        r.get("loss"),
                        r.get("train_2afc"),
                        r.get("val_2afc"),
                    )
                    for r in rows
                ),
            ),
        )

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
        for run in queryset:
            services.fit_run_cancel(run=run)
        self.message_user(
            request, f"Cancellation requested for {queryset.count()} fit(s).", messages.SUCCESS
        )


@admin.register(ScoreRun)
class ScoreRunAdmin(ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = ["id", "dataset", "metric", "split", "status", "created_at"]
    list_filter = ["status", "metric"]
    readonly_fields = [
        "dataset",
        "metric",
        "options",
        "split",
        "status",
        "progress",
        "result",
        "error",
    ]
    fields = readonly_fields

    def scoped_queryset(self, request):
        return ScoreRun.objects.filter(
            dataset__in=selectors.dataset_list(user=request.user).values("pk")
        )


@admin.register(Export)
class ExportAdmin(ReadOnly, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = ["id", "dataset", "kind", "status", "size", "download", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = ["dataset", "kind", "status", "sha256", "size", "error", "download"]
    fields = readonly_fields

    def scoped_queryset(self, request):
        return Export.objects.filter(
            dataset__in=selectors.dataset_list(user=request.user).values("pk")
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="file")
    def download(self, obj):
        from django.urls import reverse

        if obj.status != "ready":
            return "-"
        return format_html(
            '<a href="{}">download</a>', reverse("analysis-export-download", args=[obj.pk])
        )
