"""Researcher UI for duel studies: create one (the same service as the API), see its design and
generation, move it through the study lifecycle (the study services), and open its results.

Participants, collection progress and QC are the study's own admin pages (crowd), as for any
study; the results page is linked from each duel study.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from common.admin_mixins import ResearcherScopedAdmin, ServiceAdmin
from common.exceptions import DomainError
from studies import selectors as study_selectors
from studies import services as study_services
from studies.models import ImageSet, Study

from . import selectors, services
from .models import DuelMethod, DuelStudy


def _distortion_lines(text: str) -> list[dict]:
    """One family per line: `name [severity_min severity_max]`."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (1, 3):
            raise forms.ValidationError(
                f"Line {n}: write `name` or `name severity_min severity_max`."
            )
        item = {"name": parts[0]}
        if len(parts) == 3:
            try:
                item["severity_min"], item["severity_max"] = float(parts[1]), float(parts[2])
            except ValueError:
                raise forms.ValidationError(f"Line {n}: severities must be numbers.") from None
        out.append(item)
    return out


class DuelStudyAddForm(forms.ModelForm):
    name = forms.CharField(max_length=200)
    image_set = forms.ModelChoiceField(queryset=ImageSet.objects.none())
    metric_list = forms.CharField(
        label="Metrics",
        help_text="At least two, comma-separated: registry names (l2, ssim, lpips-alex), "
        "fitted:<id> or uploaded:<id>",
    )
    distortion_list = forms.CharField(
        label="Distortion families",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: name, optionally followed by severity_min severity_max "
        "(e.g. `gaussian_blur 0 0.8`)",
    )
    judgments_val = forms.IntegerField(
        min_value=1, max_value=50, initial=5, label="Judgments per pair"
    )
    sentinel_rate = forms.FloatField(min_value=0.0, max_value=0.5, initial=0.1)
    patch_size = forms.IntegerField(min_value=16, max_value=512, initial=64)

    class Meta:
        model = DuelStudy
        fields = [
            "method",
            "levels",
            "pairs_per_level",
            "tolerance",
            "severity_steps",
            "patches_per_image",
            "synthesis_steps",
        ]

    def clean_distortion_list(self):
        return _distortion_lines(self.cleaned_data["distortion_list"])

    def clean_metric_list(self):
        return [m.strip() for m in self.cleaned_data["metric_list"].split(",") if m.strip()]


@admin.register(DuelStudy)
class DuelStudyAdmin(ServiceAdmin, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = ["study_name", "status", "method", "metric_names", "pairs", "results"]
    actions = ["generate", "go_live", "close"]
    readonly_fields = [
        "study_link",
        "status",
        "metric_names",
        "method",
        "levels",
        "pairs_per_level",
        "tolerance",
        "severity_steps",
        "patches_per_image",
        "synthesis_steps",
        "distortions",
        "generation",
        "pairs",
        "results",
    ]

    def scoped_queryset(self, request):
        return selectors.duel_study_list(user=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            form = DuelStudyAddForm
            form.base_fields["image_set"].queryset = study_selectors.image_set_list(
                user=request.user
            )
            kwargs["form"] = form
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "name",
                "image_set",
                "metric_list",
                "distortion_list",
                "method",
                "levels",
                "pairs_per_level",
                "tolerance",
                "severity_steps",
                "patches_per_image",
                "synthesis_steps",
                "judgments_val",
                "sentinel_rate",
                "patch_size",
            ]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        duel = services.duel_study_create(
            owner=request.user,
            name=data["name"],
            image_set=data["image_set"],
            metrics=data["metric_list"],
            distortions=data["distortion_list"],
            method=data["method"],
            levels=data["levels"],
            pairs_per_level=data["pairs_per_level"],
            tolerance=data["tolerance"],
            severity_steps=data["severity_steps"],
            patches_per_image=data["patches_per_image"],
            synthesis_steps=data["synthesis_steps"],
            judgments_val=data["judgments_val"],
            sentinel_rate=data["sentinel_rate"],
            patch_size=data["patch_size"],
        )
        obj.pk = duel.pk
        obj.study = duel.study

    def save_related(self, request, form, formsets, change):
        pass  # everything was written by the service

    def delete_model(self, request, obj):
        study_services.study_delete(study=obj.study, by=request.user)

    @admin.display(description="study")
    def study_name(self, obj):
        return obj.study.name

    @admin.display(description="study")
    def study_link(self, obj):
        url = reverse("admin:studies_study_change", args=[obj.study_id])
        return format_html('<a href="{}">{} (study {})</a>', url, obj.study.name, obj.study_id)

    @admin.display(description="status")
    def status(self, obj):
        return obj.study.get_status_display()

    @admin.display(description="metrics")
    def metric_names(self, obj):
        return ", ".join(obj.metrics)

    @admin.display(description="distortion families")
    def distortions(self, obj):
        return ", ".join(
            f"{s.name} [{s.severity_min:g}, {s.severity_max:g}]"
            for s in obj.study.distortion_specs.all().order_by("id")
        )

    @admin.display(description="generation")
    def generation(self, obj):
        study = obj.study
        text = f"{study.generation_done} of {study.generation_total or '?'} trials"
        return f"{text}; failed: {study.error}" if study.error else text

    @admin.display(description="pairs")
    def pairs(self, obj):
        return obj.pairs.filter(trial__isnull=False).count()

    @admin.display(description="results")
    def results(self, obj):
        url = reverse("duels-results", kwargs={"duel_id": obj.study_id})
        return format_html('<a href="{}">Results</a>', url)

    def _move(self, request, queryset, to: str, done: str):
        for duel in queryset:
            try:
                study_services.study_transition(study=duel.study, to=to, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{duel.study}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{duel.study}: {done}.", messages.SUCCESS)

    @admin.action(description="Generate the duel pairs (on the workers)")
    def generate(self, request, queryset):
        self._move(request, queryset, Study.Status.GENERATING, "generation queued")

    @admin.action(description="Go live (collect judgments)")
    def go_live(self, request, queryset):
        self._move(request, queryset, Study.Status.LIVE, "live")

    @admin.action(description="Close collection")
    def close(self, request, queryset):
        self._move(request, queryset, Study.Status.CLOSED, "closed")


__all__ = ["DuelMethod", "DuelStudyAdmin"]
