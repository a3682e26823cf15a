"""The study admin's own pages: the stepper (its buttons and its live JSON), the distortion
picker, and the image set's multi-file upload.

Every write calls a `studies.services` function (or, for steps contributed by crowd and
analysis, that app's service through `studies.workflow`), the one the API calls, so a refusal
reads the same in both. Studies' own steps (design, generate, collect) are contributed here.
"""

from __future__ import annotations

import base64
import math

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from common.admin_mixins import get_or_404
from common.exceptions import ApplicationError, DomainError

from . import generation, selectors, services, workflow
from .models import DistortionSpec, Study

# ---------------------------------------------------------------------------------------------
# Presets of the distortion picker
# ---------------------------------------------------------------------------------------------

PAPER_TRADITIONAL = [
    "lightness_shift",
    "color_shift",
    "contrast",
    "saturation",
    "uniform_white_noise",
    "gaussian_white_noise",
    "pink_noise",
    "blue_noise",
    "gaussian_colored_noise",
    "checkerboard",
    "gaussian_blur",
    "bilateral_filter",
    "shift",
    "affine_warp",
    "homography",
    "linear_warping",
    "cubic_warping",
    "ghosting",
    "chromatic_aberration",
    "jpeg",
]
PRESETS: dict[str, tuple[str, object]] = {
    "paper-traditional": ("The paper's 20 traditional", PAPER_TRADITIONAL),
    "cnn": ("CNN autoencoders", "cnn"),  # a category of the registry
    "real": ("Real algorithms", "real"),  # the registry's real-algorithm family
}


def preset_names(key: str, catalog: list[dict]) -> list[str]:
    _label, members = PRESETS[key]
    if isinstance(members, list):
        return members
    return [e["name"] for e in catalog if e["family"] == members or e["category"] == members]


# ---------------------------------------------------------------------------------------------
# Studies' own steps
# ---------------------------------------------------------------------------------------------

S = Study.Status


def _design_step(*, step, study, user):
    if study.generator:
        # Another app designs the regular trials (e.g. a duel): it adds its own lines and links
        # to this step; the distortion picker and the preview are the standard generation's.
        step.detail.append(f"Trials designed by the {study.generator} generator")
    else:
        specs = study.distortion_specs.count()
        trials = sum(study.quotas.values_list("count", flat=True))
        step.detail.append(
            f"{specs} distortion(s) chosen, {trials} trial(s) planned"
            + (f", image set “{study.image_set}”" if study.image_set else ", no image set yet")
        )
        step.links.append(
            ("Choose distortions", reverse("admin:studies_study_distortions", args=[study.pk]))
        )
        step.links.append(("Preview", reverse("admin:studies_study_preview", args=[study.pk])))
    if study.status == S.DRAFT:
        problem = services.study_generation_problem(study=study)
        if problem:
            # The same check the Generate button's service makes, said before it is pressed.
            step.detail.append(f"Before generating: {problem}")
        else:
            step.actions.append(("generate", "Generate"))
    else:
        step.state = workflow.DONE


def _generate_step(*, step, study, user):
    if study.status in (S.READY, S.LIVE, S.CLOSED):
        step.state = workflow.DONE
        step.detail.append(f"{study.generation_done} trial(s) generated")
        trials = reverse("admin:studies_trial_changelist") + f"?study__id__exact={study.pk}"
        step.links.append(("Trials", trials))
    elif study.status == S.GENERATING:
        step.detail.append("Generating stimuli on the worker…")
        step.progress.append(
            workflow.Progress(
                "generation",
                "Trials generated",
                study.generation_done,
                study.generation_total,
            )
        )
        step.actions.append(("retry_generation", "Retry generation"))
    elif study.status == S.FAILED:
        step.detail.append(f"Generation failed: {study.error}")
        step.actions += [("retry_generation", "Retry generation"), ("to_draft", "Back to draft")]
    if study.status == S.READY:
        step.actions.append(("to_draft", "Back to draft"))


def _live_step(*, step, study, user):
    if study.status == S.READY:
        step.actions.append(("go_live", "Go live"))
    elif study.status == S.LIVE:
        step.detail.append("Collecting judgments")
        step.actions.append(("close", "Close"))
    elif study.status == S.CLOSED:
        step.state = workflow.DONE
        step.detail.append("Collection closed")
        step.actions.append(("go_live", "Go live again"))


def _transition(target: str, done: str):
    def run(*, study, user) -> str:
        services.study_transition(study=study, to=target, by=user, note="study page")
        return done

    return run


def _retry(*, study, user) -> str:
    services.study_generation_retry(study=study, by=user)
    return "Generation re-enqueued; finished trials are kept."


workflow.contribute("design", _design_step)
workflow.contribute("generate", _generate_step)
workflow.contribute("live", _live_step)
workflow.action("generate", _transition(S.GENERATING, "Generation started."))
workflow.action("retry_generation", _retry)
workflow.action("to_draft", _transition(S.DRAFT, "Back to draft: generated stimuli discarded."))
workflow.action("go_live", _transition(S.LIVE, "The study is live."))
workflow.action("close", _transition(S.CLOSED, "Collection closed."))


# ---------------------------------------------------------------------------------------------
# Views (bound to StudyAdmin / ImageSetAdmin in `studies.admin`)
# ---------------------------------------------------------------------------------------------


def stepper_context(*, study, user) -> dict:
    steps = workflow.steps(study=study, user=user)
    current = next((s for s in steps if s.state == workflow.CURRENT), None)
    return {
        "steps": steps,
        "next_action": current.actions[0][0] if current and current.actions else None,
        "running": workflow.running_jobs(steps),
        "steps_url": reverse("admin:studies_study_steps", args=[study.pk]),
    }


def _signature(steps) -> str:
    """What, when it changes, means the page must be drawn again (states, buttons, jobs)."""
    return "|".join(
        f"{s.key}:{s.state}:{','.join(a for a, _ in s.actions)}:"
        f"{','.join(p.key for p in s.progress if p.running)}"
        for s in steps
    )


def steps_json(modeladmin, request, pk: int):
    """The stepper's state for the page's poller: running jobs' progress and a signature."""
    study = get_or_404(selectors.study_get, user=request.user, pk=pk)
    steps = workflow.steps(study=study, user=request.user)
    return JsonResponse(
        {
            "status": study.status,
            "signature": _signature(steps),
            "jobs": [
                {"key": p.key, "label": p.label, "done": p.done, "total": p.total}
                for p in workflow.running_jobs(steps)
            ],
        }
    )


def step_action(modeladmin, request, pk: int, key: str):
    """A stepper button: run the action's service, report its message, back to the study."""
    study = get_or_404(selectors.study_get, user=request.user, pk=pk)
    back = reverse("admin:studies_study_change", args=[study.pk])
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    handler = workflow.handler(key)
    if handler is None:
        modeladmin.message_user(request, f"Unknown step action {key!r}.", messages.ERROR)
        return HttpResponseRedirect(back)
    try:
        done = handler(study=study, user=request.user)
    except DomainError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
    else:
        modeladmin.message_user(request, done, messages.SUCCESS)
    return HttpResponseRedirect(back)


def _number(raw: str, what: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ApplicationError(f"{what}: {raw!r} is not a number.") from None
    if not math.isfinite(value):
        raise ApplicationError(f"{what}: {raw!r} is not a finite number.")
    return value


def _picker_save(study: Study, post, catalog: list[dict]) -> tuple[int, int, int]:
    """Apply the picker's form through the spec services; (added, changed, removed)."""
    added = changed = removed = 0
    with transaction.atomic():
        for entry in catalog:
            name, category = entry["name"], entry["category"]
            spec = DistortionSpec.objects.filter(study=study, name=name, category=category).first()
            chosen = post.get(f"use-{name}") == "on"
            if not chosen:
                if spec is not None:
                    services.distortion_spec_remove(spec=spec)
                    removed += 1
                continue
            label = entry["label"]
            values = {
                "severity_min": _number(post.get(f"min-{name}", "0"), f"{label}, lowest severity"),
                "severity_max": _number(post.get(f"max-{name}", "1"), f"{label}, highest severity"),
                "weight": _number(post.get(f"weight-{name}", "1"), f"{label}, weight"),
            }
            if spec is None:
                services.distortion_spec_add(study=study, name=name, category=category, **values)
                added += 1
                continue
            data = {f: v for f, v in values.items() if getattr(spec, f) != v}
            if data:
                services.distortion_spec_update(spec=spec, data=data)
                changed += 1
    return added, changed, removed


def distortion_picker(modeladmin, request, pk: int):
    """The registry's distortions by family, with a sample of each drawn from the study's own
    image; ticking saves a choice through the spec services; presets only tick boxes."""
    study = get_or_404(selectors.study_get, user=request.user, pk=pk)
    catalog = generation.distortion_catalog()
    page = reverse("admin:studies_study_distortions", args=[study.pk])
    if request.method == "POST":
        try:
            added, changed, removed = _picker_save(study, request.POST, catalog)
        except DomainError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(page)
        if added or changed or removed:
            modeladmin.message_user(
                request,
                f"Distortions saved: {added} added, {changed} changed, {removed} removed.",
                messages.SUCCESS,
            )
        else:
            modeladmin.message_user(request, "Nothing changed.", messages.INFO)
        if "_continue" in request.POST:
            return HttpResponseRedirect(page)
        return HttpResponseRedirect(reverse("admin:studies_study_change", args=[study.pk]))

    specs = {(s.name, s.category): s for s in study.distortion_specs.all()}
    preset = request.GET.get("preset", "")
    ticked = set(preset_names(preset, catalog)) if preset in PRESETS else set()
    if preset and preset not in PRESETS:
        modeladmin.message_user(request, f"Unknown preset {preset!r}.", messages.ERROR)
    elif ticked:
        modeladmin.message_user(
            request,
            f"Preset “{PRESETS[preset][0]}” ticked {len(ticked)} distortion(s): review the "
            "severities and press Save (nothing is saved until then).",
            messages.INFO,
        )
    reference = generation.distortion_sample_png(study=study, name=None)
    families: dict[str, list[dict]] = {}
    for entry in catalog:
        spec = specs.pop((entry["name"], entry["category"]), None)
        sample = None
        if reference is not None and not entry["needs_model"]:
            sample = generation.distortion_sample_png(study=study, name=entry["name"])
        families.setdefault(entry["family"], []).append(
            {
                **entry,
                "chosen": spec is not None or entry["name"] in ticked,
                "saved": spec is not None,
                "severity_min": spec.severity_min if spec else 0.0,
                "severity_max": spec.severity_max if spec else 1.0,
                "weight": spec.weight if spec else 1.0,
                "sample": base64.b64encode(sample).decode() if sample else "",
            }
        )
    context = {
        **modeladmin.admin_site.each_context(request),
        "study": study,
        "editable": study.status == Study.Status.DRAFT,
        "families": families,
        "others": list(specs.values()),  # choices whose category is not the registry's
        "presets": [(key, label) for key, (label, _) in PRESETS.items()],
        "reference": base64.b64encode(reference).decode() if reference else "",
        "severity": generation.SAMPLE_SEVERITY,
        "title": f"Distortions: {study.name}",
        "opts": modeladmin.model._meta,
        "study_url": reverse("admin:studies_study_change", args=[study.pk]),
    }
    return TemplateResponse(request, "admin/studies/distortions.html", context)


def image_set_upload(modeladmin, request, pk: int):
    """One file of the image set page's uploader (each file is its own request, so each has
    its own progress and result): JSON {file, accepted, duplicates, error}."""
    image_set = get_or_404(selectors.image_set_get, user=request.user, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse(
            {"file": "", "error": "No file in the request (field 'file')."}, status=400
        )
    try:
        result = services.reference_images_upload(
            image_set=image_set,
            file=upload,
            name=upload.name,
            source=request.POST.get("source", ""),
            licence=request.POST.get("licence", ""),
        )
    except DomainError as exc:
        return JsonResponse({"file": upload.name, "error": exc.message}, status=400)
    return JsonResponse(
        {
            "file": upload.name,
            "accepted": [image.original_name or str(image) for image in result.created],
            "duplicates": [image.original_name or str(image) for image in result.duplicates],
            "error": "",
        }
    )
