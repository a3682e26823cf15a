"""Reads for study design, with the access rule applied.

A researcher sees what they own or collaborate on; superusers see everything. List selectors
return only what the user may see; `*_get` selectors raise `NotFoundError` for an object the
user may not see exactly as for a missing one, so ids of other researchers' work do not leak.
`user_can_access_image_set` / `user_can_access_study` are the access checks, used by the get
selectors and by services that receive an object named in a request.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from common.exceptions import NotFoundError

from .models import DistortionSpec, ImageSet, ReferenceImage, Stimulus, Study, TrialQuota


def _member_q(user) -> Q:
    return Q(owner=user) | Q(collaborators=user)


def image_set_list(*, user) -> QuerySet[ImageSet]:
    qs = ImageSet.objects.all()
    if not user.is_superuser:
        qs = qs.filter(pk__in=ImageSet.objects.filter(_member_q(user)).values("pk"))
    return qs.select_related("owner").prefetch_related("collaborators")


def user_can_access_image_set(*, user, image_set: ImageSet) -> bool:
    return image_set_list(user=user).filter(pk=image_set.pk).exists()


def image_set_get(*, user, pk) -> ImageSet:
    image_set = ImageSet.objects.filter(pk=pk).first()
    if image_set is None or not user_can_access_image_set(user=user, image_set=image_set):
        raise NotFoundError(f"Image set {pk} not found.")
    return image_set


def reference_image_list(*, user, image_set: ImageSet | None = None) -> QuerySet[ReferenceImage]:
    qs = ReferenceImage.objects.filter(image_set__in=image_set_list(user=user).values("pk"))
    if image_set is not None:
        qs = qs.filter(image_set=image_set)
    return qs.select_related("image_set")


def reference_image_get(*, user, pk) -> ReferenceImage:
    image = ReferenceImage.objects.select_related("image_set").filter(pk=pk).first()
    if image is None or not user_can_access_image_set(user=user, image_set=image.image_set):
        raise NotFoundError(f"Image {pk} not found.")
    return image


def study_list(*, user) -> QuerySet[Study]:
    qs = Study.objects.all()
    if not user.is_superuser:
        qs = qs.filter(pk__in=Study.objects.filter(_member_q(user)).values("pk"))
    return qs.select_related("owner", "image_set").prefetch_related("collaborators")


def user_can_access_study(*, user, study: Study) -> bool:
    return study_list(user=user).filter(pk=study.pk).exists()


def study_get(*, user, pk) -> Study:
    study = Study.objects.select_related("owner", "image_set").filter(pk=pk).first()
    if study is None or not user_can_access_study(user=user, study=study):
        raise NotFoundError(f"Study {pk} not found.")
    return study


def distortion_spec_get(*, user, study_pk, pk) -> DistortionSpec:
    """Distortion choice `pk` of study `study_pk`.

    The study is compared in Python: Django guards out-of-range integers on primary keys (no
    match) but not on foreign keys, where an id beyond 64 bits would be a database error."""
    spec = DistortionSpec.objects.select_related("study").filter(pk=pk).first()
    if (
        spec is None
        or spec.study_id != study_pk
        or not user_can_access_study(user=user, study=spec.study)
    ):
        raise NotFoundError(f"Distortion choice {pk} not found.")
    return spec


def trial_quota_get(*, user, study_pk, pk) -> TrialQuota:
    """Trial count `pk` of study `study_pk` (compared as in `distortion_spec_get`)."""
    quota = TrialQuota.objects.select_related("study").filter(pk=pk).first()
    if (
        quota is None
        or quota.study_id != study_pk
        or not user_can_access_study(user=user, study=quota.study)
    ):
        raise NotFoundError(f"Trial count {pk} not found.")
    return quota


def stimulus_get(*, user, pk) -> Stimulus:
    stimulus = Stimulus.objects.select_related("study").filter(pk=pk).first()
    if stimulus is None or not user_can_access_study(user=user, study=stimulus.study):
        raise NotFoundError(f"Stimulus {pk} not found.")
    return stimulus


def distortion_registry() -> list[dict]:
    """Every distortion the stimulus library offers (name, family, description, needs_model)."""
    import experiments  # numpy-only library; imported lazily to keep start-up light

    return [
        {
            "name": d.name,
            "family": d.family,
            "description": getattr(d, "description", "") or "",
            "needs_model": bool(d.model_kind),
        }
        for d in experiments.list_distortions()
    ]
