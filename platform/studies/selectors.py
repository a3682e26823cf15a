"""Reads for study design, with the access rule applied.

A researcher sees what they own or collaborate on; superusers see everything. Getting an object
the user may not see raises Http404 (not 403), so ids of other researchers' work do not leak.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import ImageSet, ReferenceImage, Stimulus, Study


def _member_q(user) -> Q:
    return Q(owner=user) | Q(collaborators=user)


def image_set_list(*, user) -> QuerySet[ImageSet]:
    qs = ImageSet.objects.all()
    if not user.is_superuser:
        qs = qs.filter(pk__in=ImageSet.objects.filter(_member_q(user)).values("pk"))
    return qs.select_related("owner").prefetch_related("collaborators")


def image_set_get(*, user, pk) -> ImageSet:
    return get_object_or_404(image_set_list(user=user), pk=pk)


def reference_image_list(*, user, image_set: ImageSet | None = None) -> QuerySet[ReferenceImage]:
    qs = ReferenceImage.objects.filter(image_set__in=image_set_list(user=user).values("pk"))
    if image_set is not None:
        qs = qs.filter(image_set=image_set)
    return qs.select_related("image_set")


def reference_image_get(*, user, pk) -> ReferenceImage:
    return get_object_or_404(reference_image_list(user=user), pk=pk)


def study_list(*, user) -> QuerySet[Study]:
    qs = Study.objects.all()
    if not user.is_superuser:
        qs = qs.filter(pk__in=Study.objects.filter(_member_q(user)).values("pk"))
    return qs.select_related("owner", "image_set").prefetch_related("collaborators")


def study_get(*, user, pk) -> Study:
    return get_object_or_404(study_list(user=user), pk=pk)


def user_can_access_image_set(*, user, image_set: ImageSet) -> bool:
    return image_set_list(user=user).filter(pk=image_set.pk).exists()


def user_can_access_study(*, user, study: Study) -> bool:
    return study_list(user=user).filter(pk=study.pk).exists()


def stimulus_get(*, user, pk) -> Stimulus:
    return get_object_or_404(
        Stimulus.objects.filter(study__in=study_list(user=user).values("pk")), pk=pk
    )
