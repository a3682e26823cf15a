"""Researcher UI for study design, in the Django admin.

Researchers (staff, not superusers) see and change only the image sets and studies they own or
collaborate on. Every write (add/change forms, inlines, deletes, actions) goes through the
same `studies.services` call the API makes, so both produce the same rows and the same messages;
a domain error is shown as an error message and nothing of the request is saved (see
`common.admin_mixins.ServiceAdmin`). Inline forms are validated by the services' `*_check`
functions, so their errors appear on the form. A study's status changes only through the
transition actions and the study page's stepper buttons (`studies.admin_pages`), which call
`services.study_transition`. Distortions are chosen on the picker page (`admin_pages`), images
added with the image set page's uploader; both call the same services as the API.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from common.admin_mixins import (
    ResearcherScopedAdmin,
    ServiceAdmin,
    get_or_404,
    service_errors_to_form,
)
from common.exceptions import DomainError
from common.markdown import render_markdown

from . import admin_pages, generation, selectors, services
from .models import ImageSet, ReferenceImage, Study, Trial, TrialQuota

QUOTA_FIELDS = ["kind", "split", "category", "count"]
THUMBNAIL_GRID_MAX = 200  # thumbnails on an image set's page (the rest: its images list)


def _admin_path(modeladmin, route: str, view, name: str):
    """A page of `modeladmin` at `route`, named admin:<app>_<model>_<name>; `view` is
    `view(modeladmin, request, **kwargs)` (the upload limit of the admin applies to it)."""

    def bound(request, **kwargs):
        return view(modeladmin, request, **kwargs)

    wrapped = modeladmin.admin_site.admin_view(bound)
    wrapped.model_admin = modeladmin
    opts = modeladmin.model._meta
    return path(route, wrapped, name=f"{opts.app_label}_{opts.model_name}_{name}")


def _researchers():
    return get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")


def _thumb(image: ReferenceImage, size: int = 64) -> str:
    return format_html(
        '<img src="/api/images/{}/thumbnail/" style="max-width:{}px;max-height:{}px" alt="">',
        image.pk,
        size,
        size,
    )


class ImageSetForm(forms.ModelForm):
    class Meta:
        model = ImageSet
        fields = ["name", "description", "min_side", "collaborators"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collaborators"].queryset = _researchers()


def _changed(form, fields) -> dict:
    """The form's values for `fields`; collaborators only when the user changed them (only the
    owner may, so an untouched list must not count as a change)."""
    data = {f: form.cleaned_data[f] for f in fields if f in form.cleaned_data}
    if "collaborators" in form.cleaned_data and "collaborators" in form.changed_data:
        data["collaborators"] = list(form.cleaned_data["collaborators"])
    return data


def _adopt(obj, created) -> None:
    """Make the admin's unsaved form instance stand for the row a service created."""
    obj.pk = created.pk
    for name in ("owner", "slug", "status"):
        if hasattr(created, name):
            setattr(obj, name, getattr(created, name))
    obj._state.adding = False


def _record_formset(formset, new=(), changed=(), deleted=()) -> None:
    # What `formset.save()` would have recorded; the admin's change message reads it.
    formset.new_objects, formset.changed_objects = list(new), list(changed)
    formset.deleted_objects = list(deleted)


@admin.register(ImageSet)
class ImageSetAdmin(ServiceAdmin, ResearcherScopedAdmin, admin.ModelAdmin):
    form = ImageSetForm
    fields = ["name", "description", "min_side", "collaborators", "thumbnails"]
    list_display = ["name", "owner", "image_count", "created_at"]
    # The upload field's body limit, enforced while it streams in (`common.uploads`).
    upload_limit_setting = "PERCEPTLAB_MAX_ZIP_BYTES"

    @staticmethod
    def upload_max_bytes() -> int:
        return max(settings.PERCEPTLAB_MAX_IMAGE_BYTES, settings.PERCEPTLAB_MAX_ZIP_BYTES)

    search_fields = ["name"]
    filter_horizontal = ["collaborators"]
    readonly_fields = ["thumbnails"]
    change_form_template = "admin/studies/imageset/change_form.html"

    def scoped_queryset(self, request):
        return selectors.image_set_list(user=request.user)

    @admin.display(description="images")
    def image_count(self, obj):
        return obj.images.count()

    def save_model(self, request, obj, form, change):
        data = _changed(form, services.IMAGE_SET_FIELDS)
        if change:
            image_set = ImageSet.objects.get(pk=obj.pk)  # `obj` already holds the new values
            services.image_set_update(image_set=image_set, data=data, by=request.user)
        else:
            _adopt(obj, services.image_set_create(owner=request.user, **data))

    def save_related(self, request, form, formsets, change):
        pass  # collaborators were saved by the service (only the owner may change them)

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the set's page, where its images are uploaded.
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self):
        return [
            _admin_path(self, "<int:pk>/upload/", admin_pages.image_set_upload, "upload"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["upload_url"] = reverse("admin:studies_imageset_upload", args=[obj.pk])
            context["images_url"] = (
                reverse("admin:studies_referenceimage_changelist")
                + f"?image_set__id__exact={obj.pk}"
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="images")
    def thumbnails(self, obj):
        if obj is None or obj.pk is None:
            return "Save the set first; then upload images or a zip here."
        images = list(obj.images.order_by("pk")[:THUMBNAIL_GRID_MAX])
        if not images:
            return "No images yet: upload some below."
        total = obj.images.count()
        more = (
            format_html(
                '<p>Showing {} of {} images: <a href="{}">all images</a>.</p>',
                len(images),
                total,
                reverse("admin:studies_referenceimage_changelist")
                + f"?image_set__id__exact={obj.pk}",
            )
            if total > len(images)
            else ""
        )
        tiles = format_html_join(
            "",
            '<a class="pl-thumb" href="{}" title="{} ({}×{})"><img src="/api/images/{}/thumbnail/" '
            'alt="{}" loading="lazy"></a>',
            (
                (
                    reverse("admin:studies_referenceimage_change", args=[i.pk]),
                    i.original_name,
                    i.width,
                    i.height,
                    i.pk,
                    i.original_name,
                )
                for i in images
            ),
        )
        return format_html('<div class="pl-thumbs">{}</div>{}', tiles, more)

    def delete_model(self, request, obj):
        services.image_set_delete(image_set=obj, by=request.user)


@admin.register(ReferenceImage)
class ReferenceImageAdmin(ServiceAdmin, ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = [
        "preview",
        "original_name",
        "image_set",
        "width",
        "height",
        "original_mode",
        "conversion",
    ]
    list_filter = [("image_set", admin.RelatedOnlyFieldListFilter)]
    fields = [
        "large_preview",
        "image_set",
        "original_name",
        "width",
        "height",
        "original_mode",
        "original_format",
        "conversion",
        "sha256",
        "source",
        "licence",
    ]
    readonly_fields = [
        "large_preview",
        "image_set",
        "original_name",
        "width",
        "height",
        "original_mode",
        "original_format",
        "conversion",
        "sha256",
    ]

    def scoped_queryset(self, request):
        return selectors.reference_image_list(user=request.user)

    def has_add_permission(self, request) -> bool:
        return False  # images are added by uploading to an image set

    @admin.display(description="image")
    def preview(self, obj):
        return _thumb(obj)

    @admin.display(description="image")
    def large_preview(self, obj):
        return format_html(
            '<img src="/api/images/{}/file/" style="max-width:512px" alt="">', obj.pk
        )

    def save_model(self, request, obj, form, change):
        image = ReferenceImage.objects.get(pk=obj.pk)  # `obj` already holds the new values
        services.reference_image_update(
            image=image, data=_changed(form, services.REFERENCE_IMAGE_FIELDS)
        )

    def delete_model(self, request, obj):
        services.reference_image_delete(image=obj)


class StudyForm(forms.ModelForm):
    completion_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text=Study._meta.get_field("completion_url").help_text,
    )

    class Meta:
        model = Study
        fields = [
            "name",
            "slug",
            *services.STUDY_FROZEN_FIELDS,
            *[f for f in services.STUDY_SETTING_FIELDS if f != "name"],
            "collaborators",
        ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "collaborators" in self.fields:
            self.fields["collaborators"].queryset = _researchers()
        if "image_set" in self.fields and user is not None:
            # The sets the user can see, and the study's own (a collaborator on the study need
            # not be one on its image set).
            visible = selectors.image_set_list(user=user).values("pk")
            self.fields["image_set"].queryset = ImageSet.objects.filter(
                Q(pk__in=visible) | Q(pk=self.instance.image_set_id)
            )


class _StudyRowForm(forms.ModelForm):
    """An inline row of a study; `study` is the (possibly not yet saved) study being edited."""

    def __init__(self, *args, study: Study | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study


class TrialQuotaForm(_StudyRowForm):
    # The scoring categories come from the registry (no free text).
    category = forms.ChoiceField(
        choices=lambda: [(c, c) for c in generation.registry_categories()],
        initial="traditional",
        label="Scoring category",
        help_text="Scoring category of the trials (the distortions chosen for it are drawn)",
    )

    class Meta:
        model = TrialQuota
        fields = QUOTA_FIELDS

    def clean(self):
        data = super().clean()
        if self.errors or data.get("DELETE"):
            return data
        service_errors_to_form(
            self,
            services.trial_quota_check,
            study=self.study,
            **{f: data[f] for f in QUOTA_FIELDS},
        )
        return data


class FrozenAfterDraftInline(admin.TabularInline):
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        base = super().get_formset(request, obj, **kwargs)

        class StudyRowFormSet(base):
            def get_form_kwargs(self, index):
                return {**super().get_form_kwargs(index), "study": self.instance}

        return StudyRowFormSet

    def _editable(self, request, obj) -> bool:
        return obj is None or obj.status == Study.Status.DRAFT

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return True


class TrialQuotaInline(FrozenAfterDraftInline):
    model = TrialQuota
    form = TrialQuotaForm
    fields = QUOTA_FIELDS
    extra = 1


def _save_quotas(study: Study, formset) -> None:
    new, changed, deleted = [], [], []
    for form in formset.forms:
        quota = form.instance
        if form in formset.deleted_forms:
            if quota.pk:
                services.trial_quota_remove(quota=TrialQuota.objects.get(pk=quota.pk))
                deleted.append(quota)
            continue
        if not form.has_changed():
            continue
        values = {f: form.cleaned_data[f] for f in QUOTA_FIELDS}
        if quota.pk:
            current = TrialQuota.objects.get(pk=quota.pk)
            if any(getattr(current, f) != values[f] for f in ("kind", "split", "category")):
                services.trial_quota_remove(quota=current)  # moved to another kind/split/category
            changed.append((services.trial_quota_set(study=study, **values), form.changed_data))
        else:
            new.append(services.trial_quota_set(study=study, **values))
    _record_formset(formset, new, changed, deleted)


def _transition_action(target: str, label: str):
    def action(modeladmin, request, queryset):
        moved = 0
        for study in queryset:
            try:
                services.study_transition(
                    study=study, to=target, by=request.user, note="admin action"
                )
                moved += 1
            except DomainError as exc:
                modeladmin.message_user(request, f"{study}: {exc.message}", messages.ERROR)
        if moved:
            modeladmin.message_user(
                request, f"{moved} study(ies) moved to {target}.", messages.SUCCESS
            )

    action.__name__ = f"transition_to_{target}"
    return admin.action(description=label)(action)


@admin.register(Study)
class StudyAdmin(ServiceAdmin, ResearcherScopedAdmin, admin.ModelAdmin):
    form = StudyForm
    list_display = ["name", "kind", "status_badge", "image_set", "owner", "created_at", "links"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["collaborators"]
    inlines = [TrialQuotaInline]
    change_form_template = "admin/studies/study/change_form.html"
    actions = [
        _transition_action(Study.Status.GENERATING, "Generate stimuli (draft → generating)"),
        "retry_generation",
        _transition_action(Study.Status.LIVE, "Go live (ready/closed → live)"),
        _transition_action(Study.Status.CLOSED, "Close collection (live → closed)"),
        _transition_action(Study.Status.DRAFT, "Back to draft (generating/ready → draft)"),
    ]
    DESIGN_FIELDS = services.STUDY_FROZEN_FIELDS

    def scoped_queryset(self, request):
        return selectors.study_list(user=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)

        class ScopedForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)

        return ScopedForm

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="studies_study_preview",
            ),
            _admin_path(
                self, "<int:pk>/distortions/", admin_pages.distortion_picker, "distortions"
            ),
            _admin_path(self, "<int:pk>/steps/", admin_pages.steps_json, "steps"),
            _admin_path(self, "<int:pk>/step/<slug:key>/", admin_pages.step_action, "step"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            context.update(admin_pages.stepper_context(study=obj, user=request.user))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the new study's page: its stepper says what comes next.
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="distortions")
    def distortions(self, obj):
        if obj is None or obj.pk is None:
            return "Save the study first; then choose its distortions."
        specs = list(obj.distortion_specs.all())
        url = reverse("admin:studies_study_distortions", args=[obj.pk])
        if not specs:
            return format_html('None chosen yet: <a href="{}">choose distortions</a>.', url)
        by_category: dict[str, list[str]] = {}
        for spec in specs:
            by_category.setdefault(spec.category, []).append(spec.name.replace("_", " "))
        summary = format_html_join(
            "; ",
            "<strong>{}</strong> ({}): {}",
            ((c, len(n), ", ".join(n)) for c, n in by_category.items()),
        )
        if obj.generator:  # e.g. a duel's candidate families: its own design page edits them
            return format_html("{} (set by the {} design)", summary, obj.generator)
        return format_html(
            '{} · <a href="{}">{}</a>',
            summary,
            url,
            "change" if obj.status == Study.Status.DRAFT else "view",
        )

    @admin.display(description="")
    def links(self, obj):
        return format_html(
            '<a href="{}">open</a> · <a href="{}">collection progress</a> · <a href="{}">datasets</a>',
            reverse("admin:studies_study_change", args=[obj.pk]),
            reverse("admin:crowd_studycollection_progress", args=[obj.pk]),
            reverse("admin:analysis_dataset_changelist") + f"?study__id__exact={obj.pk}",
        )

    def preview_view(self, request, pk: int):
        import base64

        from .generation import preview_trials

        study = get_or_404(selectors.study_get, user=request.user, pk=pk)
        error, trials, skipped = "", [], []
        if study.generator:
            error = (
                f"This study's trials are designed by the {study.generator} generator, not from "
                "distortions and trial counts: see them after generation (its page links them)."
            )
        else:
            try:
                trials, skipped = preview_trials(study=study)
            except DomainError as exc:
                error = exc.message
        rows = [
            {
                "kind": t.kind,
                "category": t.category,
                "labels": t.labels,
                "images": [base64.b64encode(png).decode() for png in t.pngs],
            }
            for t in trials
        ]
        context = {
            **self.admin_site.each_context(request),
            "study": study,
            "rows": rows,
            "skipped": skipped,
            "error": error,
            "title": f"Preview: {study.name}",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/studies/preview.html", context)

    @admin.action(description="Retry generation (failed or stalled; finished trials are kept)")
    def retry_generation(self, request, queryset):
        for study in queryset:
            try:
                services.study_generation_retry(study=study, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{study}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{study}: generation re-enqueued.", messages.SUCCESS)

    @admin.display(description="generation")
    def generation(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        preview = reverse("admin:studies_study_preview", args=[obj.pk])
        trials = reverse("admin:studies_trial_changelist") + f"?study__id__exact={obj.pk}"
        error = (
            format_html("<br><span style='color:#b00'>Failed: {}</span>", obj.error)
            if obj.error
            else ""
        )
        return format_html(
            '{} of {} trials <progress value="{}" max="{}"></progress> · <a href="{}">preview</a> · '
            '<a href="{}">trials</a>{}',
            obj.generation_done,
            obj.generation_total,
            obj.generation_done,
            max(obj.generation_total, 1),
            preview,
            trials,
            error,
        )

    @admin.display(description="pilot")
    def pilot(self, obj):
        """Links to pilot mode (crowd's page, by URL name: studies imports no crowd code)."""
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:crowd_studycollection_pilot", args=[obj.pk])
        return format_html(
            'Run the timeline without storing anything: <a href="{}?mode=visual">pilot '
            '(visual)</a> · <a href="{}?mode=data-only">pilot (data only)</a>',
            url,
            url,
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = [
            "status_badge",
            "generation",
            "pilot",
            "history",
            "instructions_preview",
            "owner",
            "distortions",
        ]
        if obj is not None:
            readonly.append("slug")
            if obj.status != Study.Status.DRAFT:
                readonly += self.DESIGN_FIELDS  # the design is frozen once generation starts
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else self.prepopulated_fields

    def get_fieldsets(self, request, obj=None):
        settings_ = [f for f in services.STUDY_SETTING_FIELDS if f not in ("name", "instructions")]
        return [
            (
                None,
                {
                    "fields": [
                        "name",
                        "slug",
                        "owner",
                        "status_badge",
                        "generation",
                        "pilot",
                        "collaborators",
                    ]
                },
            ),
            (
                "Design (frozen once generation starts)",
                {"fields": [*services.STUDY_FROZEN_FIELDS, "distortions"]},
            ),
            (
                "Presentation, recruitment and quality control",
                {"fields": settings_, "classes": ["collapse"]},
            ),
            ("Instructions", {"fields": ["instructions", "instructions_preview"]}),
            ("Status history", {"fields": ["history"], "classes": ["collapse"]}),
        ]

    @admin.display(description="status")
    def status_badge(self, obj):
        if obj is None or obj.pk is None:
            return "draft"
        allowed = ", ".join(obj.allowed_transitions()) or "none"
        return format_html(
            "<strong>{}</strong> <span style='color:#666'>(next: {})</span>",
            obj.get_status_display(),
            allowed,
        )

    @admin.display(description="history")
    def history(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        rows = obj.status_changes.select_related("by")
        return (
            format_html_join(
                mark_safe("<br>"),
                "{} {} → {} by {} {}",
                (
                    (
                        c.at.strftime("%Y-%m-%d %H:%M"),
                        c.from_status,
                        c.to_status,
                        c.by.username if c.by else "system",
                        c.note,
                    )
                    for c in rows
                ),
            )
            or "-"
        )

    @admin.display(description="preview")
    def instructions_preview(self, obj):
        return mark_safe(render_markdown(obj.instructions)) if obj and obj.pk else "-"  # noqa: S308 - sanitised by nh3

    def save_model(self, request, obj, form, change):
        data = _changed(form, services.STUDY_DESIGN_FIELDS)
        if change:
            services.study_update(study=obj, data=data, by=request.user)
        else:
            study = services.study_create(
                owner=request.user, slug=form.cleaned_data.get("slug") or None, **data
            )
            _adopt(obj, study)

    def save_related(self, request, form, formsets, change):
        # Collaborators were saved by the service; inline rows go through theirs. Past draft
        # the inlines are view-only (their unposted rows look "changed"): nothing to save.
        study = form.instance
        draft = Study.objects.get(pk=study.pk).status == Study.Status.DRAFT
        for formset in formsets:
            if not draft:
                _record_formset(formset)
            elif formset.model is TrialQuota:
                _save_quotas(study, formset)
            else:  # pragma: no cover - every inline is listed above
                raise TypeError(f"no service saves {formset.model.__name__} rows")

    def delete_model(self, request, obj):
        services.study_delete(study=obj, by=request.user)


def _stimulus_img(stimulus, label: str = "", size: int = 48) -> str:
    if stimulus is None:
        return ""
    return format_html(
        '<img src="/api/stimuli/{}/file/" width="{}" height="{}" loading="lazy" '
        'style="image-rendering:pixelated;display:inline-block" title="{}" alt="{}">',
        stimulus.pk,
        size,
        size,
        label,
        label,
    )


@admin.register(Trial)
class TrialAdmin(ResearcherScopedAdmin, admin.ModelAdmin):
    list_display = [
        "index",
        "kind",
        "split",
        "category",
        "is_sentinel",
        "is_practice",
        "expected",
        "images",
        "distortions",
        "judgments_needed",
    ]
    list_filter = [
        ("study", admin.RelatedOnlyFieldListFilter),
        "kind",
        "split",
        "category",
        "is_sentinel",
        "is_practice",
    ]
    list_select_related = ["ref", "p0", "p1"]
    list_per_page = 50  # one compact row per trial (three 48-pixel thumbnails side by side)
    readonly_fields = [
        "study",
        "kind",
        "split",
        "category",
        "index",
        "images",
        "distortions",
        "is_sentinel",
        "is_practice",
        "expected",
        "judgments_needed",
        "provenance",
    ]
    fields = readonly_fields

    def scoped_queryset(self, request):
        return Trial.objects.filter(study__in=selectors.study_list(user=request.user).values("pk"))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="ref · p0 · p1")
    def images(self, obj):
        return format_html(
            '<span style="white-space:nowrap">{} {} {}</span>',
            _stimulus_img(obj.ref, "reference"),
            _stimulus_img(obj.p0, "p0"),
            _stimulus_img(obj.p1, "p1"),
        )

    @admin.display(description="p0 / p1")
    def distortions(self, obj):
        def names(stimulus):
            chain = (stimulus.provenance or {}).get("chain", []) if stimulus else []
            return " + ".join(step["name"] for step in chain) or "reference"

        return f"{names(obj.p0)} / {names(obj.p1)}"

    @admin.display(description="provenance")
    def provenance(self, obj):
        import json

        return format_html(
            "<pre>{}</pre>",
            json.dumps({"p0": obj.p0.provenance, "p1": obj.p1.provenance}, indent=1)[:6000],
        )
