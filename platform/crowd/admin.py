"""Researcher view of crowd collection: progress per study, participants with QC reasons,
exclude/reinstate actions. Access follows the study's owner/collaborator rule.

Everything here is read-only except the actions, which call `crowd.services`. (Freezing a
dataset is analysis's business and lives in the analysis admin.)"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from common.admin_mixins import ResearcherScopedAdmin, get_or_404
from common.exceptions import DomainError, http_status
from studies import selectors as study_selectors
from studies.choices import trial_kinds

from . import selectors, services
from .models import Assignment, Participant, StudyCollection, TrialLoad


class ReadOnlyMixin:
    """View-only pages: rows change only through the actions (services), never a form."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StudyCollection)
class StudyCollectionAdmin(ReadOnlyMixin, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "status", "progress_bar", "participants", "links"]
    list_display_links = None

    def scoped_queryset(self, request):
        return StudyCollection.objects.filter(
            pk__in=study_selectors.study_list(user=request.user).values("pk")
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="crowd_studycollection_progress",
            ),
            path(
                "<int:pk>/monitor/",
                self.admin_site.admin_view(self.monitor_view),
                name="crowd_studycollection_monitor",
            ),
            path(
                "<int:pk>/monitor/data/",
                self.admin_site.admin_view(self.monitor_data_view),
                name="crowd_studycollection_monitor_data",
            ),
            path(
                "<int:pk>/pilot/",
                self.admin_site.admin_view(self.pilot_view),
                name="crowd_studycollection_pilot",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="collected")
    def progress_bar(self, obj):
        data = selectors.study_progress(obj)
        return format_html(
            '<progress value="{}" max="{}"></progress> {}/{} judgments',
            data["valid"],
            max(data["needed"], 1),
            data["valid"],
            data["needed"],
        )

    @admin.display(description="participants")
    def participants(self, obj):
        return obj.participants.count()

    @admin.display(description="")
    def links(self, obj):
        return format_html(
            '<a href="{}">progress</a> · <a href="{}">monitor</a> · <a href="{}">pilot</a>',
            reverse("admin:crowd_studycollection_progress", args=[obj.pk]),
            reverse("admin:crowd_studycollection_monitor", args=[obj.pk]),
            reverse("admin:crowd_studycollection_pilot", args=[obj.pk]),
        )

    def progress_view(self, request, pk: int):
        study = get_or_404(study_selectors.study_get, user=request.user, pk=pk)
        data = selectors.study_progress(study)
        base = settings.SITE_URL
        links = {
            "Plain link": f"{base}/s/{study.slug}/",
            "Prolific": f"{base}/s/{study.slug}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}"
            f"&SESSION_ID={{{{%SESSION_ID%}}}}",
            "MTurk ExternalQuestion": f"{base}/s/{study.slug}/mturk/",
        }
        context = {
            **self.admin_site.each_context(request),
            "study": study,
            "data": data,
            "links": links,
            "title": f"Collection progress: {study.name}",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/crowd/progress.html", context)

    def monitor_view(self, request, pk: int):
        """The collection monitor: judgments over time with the projected finish, QC outcomes,
        participants answering now; the page polls `monitor_data_view` and redraws itself."""
        study = get_or_404(study_selectors.study_get, user=request.user, pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "study": study,
            "monitor": selectors.study_monitor(study),
            "data_url": reverse("admin:crowd_studycollection_monitor_data", args=[study.pk]),
            "progress_url": reverse("admin:crowd_studycollection_progress", args=[study.pk]),
            "every": MONITOR_REFRESH_SECONDS,
            "title": f"Collection monitor: {study.name}",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/crowd/monitor.html", context)

    def monitor_data_view(self, request, pk: int):
        study = get_or_404(study_selectors.study_get, user=request.user, pk=pk)
        response = JsonResponse(selectors.study_monitor(study))
        response["Cache-Control"] = "no-store"
        return response

    def pilot_view(self, request, pk: int):
        """Pilot mode: the study's real timeline in the worker app, simulated by jsPsych
        (`?mode=visual` or `data-only`), storing nothing. Without a mode, the choice of modes."""
        study = get_or_404(study_selectors.study_get, user=request.user, pk=pk)
        mode = request.GET.get("mode", "")
        kind = request.GET.get("kind") or None
        context = {
            "study": study,
            "modes": PILOT_MODES,
            "kinds": trial_kinds(study.kind),
            "mode": mode,
            "kind": kind,
            "study_url": reverse("admin:studies_study_change", args=[study.pk]),
        }
        if mode and mode not in PILOT_MODES:
            context["problem"] = (
                f"Unknown pilot mode {mode!r}: use one of {', '.join(PILOT_MODES)}."
            )
            return TemplateResponse(request, "crowd/pilot.html", context, status=400)
        if mode:
            try:
                session = selectors.pilot_session(study, kind=kind)
            except DomainError as exc:
                context["problem"] = exc.message
                return TemplateResponse(
                    request, "crowd/pilot.html", context, status=http_status(exc)
                )
            context["config"] = {"pilot": {"mode": mode, "session": session}}
        response = TemplateResponse(request, "crowd/pilot.html", context)
        response["Referrer-Policy"] = "no-referrer"
        return response


MONITOR_REFRESH_SECONDS = 15

# jsPsych's simulation modes, with what the pilot page calls them.
PILOT_MODES = {
    "visual": "Watch it (visual: every page shown, answers clicked at random)",
    "data-only": "Data only (the whole timeline at once, nothing drawn)",
}


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    fields = ["status", "answered", "total", "lease_expires_at", "completed_at", "completion_code"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyMixin, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = ["pseudonym", "study", "recruiter", "status", "reasons", "answers", "created_at"]
    list_filter = ["status", "recruiter", ("study", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["external_id", "pseudonym"]
    readonly_fields = [
        "study",
        "recruiter",
        "external_id",
        "pseudonym",
        "status",
        "qc_reasons",
        "qc_stats",
        "excluded_manually",
        "reinstated_manually",
        "answers_table",
    ]
    fields = readonly_fields
    inlines = [AssignmentInline]
    actions = ["exclude_participants", "reinstate_participants"]

    def scoped_queryset(self, request):
        return Participant.objects.filter(
            study__in=study_selectors.study_list(user=request.user).values("pk")
        ).select_related("study")

    @admin.display(description="QC reasons")
    def reasons(self, obj):
        return "; ".join(obj.qc_reasons) or "-"

    @admin.display(description="answers")
    def answers(self, obj):
        return obj.responses.count()

    @admin.display(description="answers")
    def answers_table(self, obj):
        rows = selectors.participant_answers_table(obj)
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r["position"],
                    r["kind"],
                    r["sentinel"],
                    r["expected"] or "-",
                    r["choice"],
                    r["side"],
                    r["rt_ms"],
                    r["repeat"],
                )
                for r in rows
            ),
        )
        return format_html(
            "<table><tr><th>pos</th><th>kind</th><th>sentinel</th><th>expected</th><th>choice</th><th>side</th>"
            "<th>rt ms</th><th>repeat</th></tr>{}</table>",
            body,
        )

    @admin.action(description="Exclude (their judgments stop counting; trials return to the pool)")
    def exclude_participants(self, request, queryset):
        for participant in queryset:
            services.participant_set_excluded(participant=participant, excluded=True)
        self.message_user(request, f"Excluded {queryset.count()} participant(s).", messages.SUCCESS)

    @admin.action(description="Reinstate (their judgments count again)")
    def reinstate_participants(self, request, queryset):
        for participant in queryset:
            services.participant_set_excluded(participant=participant, excluded=False)
        self.message_user(
            request, f"Reinstated {queryset.count()} participant(s).", messages.SUCCESS
        )


@admin.register(TrialLoad)
class TrialLoadAdmin(ReadOnlyMixin, ResearcherScopedAdmin, admin.ModelAdmin):
    """Per-trial collection counts (what allocation reads)."""

    list_display = [
        "trial",
        "study",
        "valid_count",
        "leased_count",
        "judgments_needed",
        "shown_straight",
        "shown_swapped",
    ]
    list_filter = [("trial__study", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["trial", "trial__study"]

    def scoped_queryset(self, request):
        return TrialLoad.objects.filter(
            trial__study__in=study_selectors.study_list(user=request.user).values("pk")
        )

    @admin.display(description="study")
    def study(self, obj):
        return obj.trial.study

    @admin.display(description="needed")
    def judgments_needed(self, obj):
        return obj.trial.judgments_needed
