"""REST API for image sets, reference images and studies: one class per operation.

Views only parse input, call one selector or service, and shape output. Objects the caller may
not access are 404 (see `studies.selectors`).
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import ApplicationError
from common.fields import UsernameListField
from common.pagination import Pagination

from . import selectors, services
from .models import ImageSet, ReferenceImage, Study


def _paginated(request, view, queryset, serializer_class):
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


# ---------------------------------------------------------------------------------------------
# Image sets
# ---------------------------------------------------------------------------------------------


class ImageSetOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    collaborators = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    image_count = serializers.IntegerField(source="images.count", read_only=True)

    class Meta:
        model = ImageSet
        fields = [
            "id",
            "name",
            "description",
            "min_side",
            "owner",
            "collaborators",
            "image_count",
            "created_at",
            "updated_at",
        ]


class ImageSetListApi(APIView):
    @extend_schema(responses=ImageSetOutput(many=True), operation_id="image_sets_list")
    def get(self, request):
        return _paginated(
            request,
            self,
            selectors.image_set_list(user=request.user).order_by("-created_at"),
            ImageSetOutput,
        )


class ImageSetCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ImageSetCreateInput"

        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        min_side = serializers.IntegerField(required=False, default=64, min_value=8, max_value=4096)
        collaborators = UsernameListField(required=False, default=list)

    @extend_schema(
        request=InputSerializer, responses={201: ImageSetOutput}, operation_id="image_sets_create"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        image_set = services.image_set_create(owner=request.user, **data.validated_data)
        return Response(ImageSetOutput(image_set).data, status=status.HTTP_201_CREATED)


class ImageSetDetailApi(APIView):
    @extend_schema(responses=ImageSetOutput, operation_id="image_sets_retrieve")
    def get(self, request, pk: int):
        return Response(ImageSetOutput(selectors.image_set_get(user=request.user, pk=pk)).data)


class ImageSetUpdateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ImageSetUpdateInput"

        name = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        min_side = serializers.IntegerField(required=False, min_value=8, max_value=4096)
        collaborators = UsernameListField(required=False)

    @extend_schema(
        request=InputSerializer, responses=ImageSetOutput, operation_id="image_sets_update"
    )
    def patch(self, request, pk: int):
        image_set = selectors.image_set_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if (
            "collaborators" in data.validated_data
            and image_set.owner_id != request.user.pk
            and not request.user.is_superuser
        ):
            raise ApplicationError(
                "Only the owner can change collaborators.", code="owner_only", status_code=403
            )
        image_set = services.image_set_update(image_set=image_set, data=data.validated_data)
        return Response(ImageSetOutput(image_set).data)


class ImageSetDeleteApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="image_sets_delete")
    def delete(self, request, pk: int):
        image_set = selectors.image_set_get(user=request.user, pk=pk)
        if image_set.owner_id != request.user.pk and not request.user.is_superuser:
            raise ApplicationError(
                "Only the owner can delete an image set.", code="owner_only", status_code=403
            )
        services.image_set_delete(image_set=image_set)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------------------------
# Reference images
# ---------------------------------------------------------------------------------------------


class ReferenceImageOutput(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = ReferenceImage
        fields = [
            "id",
            "image_set",
            "sha256",
            "original_name",
            "original_mode",
            "original_format",
            "conversion",
            "width",
            "height",
            "source",
            "licence",
            "file_url",
            "thumbnail_url",
            "created_at",
        ]

    def get_file_url(self, obj) -> str:
        return f"/api/images/{obj.pk}/file/"

    def get_thumbnail_url(self, obj) -> str:
        return f"/api/images/{obj.pk}/thumbnail/"


class ReferenceImageListApi(APIView):
    @extend_schema(responses=ReferenceImageOutput(many=True), operation_id="image_sets_images_list")
    def get(self, request, pk: int):
        image_set = selectors.image_set_get(user=request.user, pk=pk)
        return _paginated(
            request,
            self,
            selectors.reference_image_list(user=request.user, image_set=image_set),
            ReferenceImageOutput,
        )


class ReferenceImageUploadApi(APIView):
    """Upload one image or a zip of images (multipart field `file`)."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReferenceImageUploadInput"

        file = serializers.FileField(allow_empty_file=True)
        source = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
        licence = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=200
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReferenceImageUploadOutput"

        created = ReferenceImageOutput(many=True)
        duplicates = ReferenceImageOutput(many=True)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer},
        operation_id="image_sets_images_upload",
    )
    def post(self, request, pk: int):
        image_set = selectors.image_set_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        result = services.reference_images_upload(
            image_set=image_set,
            data=upload.read(),
            name=upload.name,
            source=data.validated_data["source"],
            licence=data.validated_data["licence"],
        )
        return Response(
            self.OutputSerializer(result).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ReferenceImageDetailApi(APIView):
    @extend_schema(responses=ReferenceImageOutput, operation_id="images_retrieve")
    def get(self, request, pk: int):
        return Response(
            ReferenceImageOutput(selectors.reference_image_get(user=request.user, pk=pk)).data
        )


class ReferenceImageDeleteApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="images_delete")
    def delete(self, request, pk: int):
        services.reference_image_delete(
            image=selectors.reference_image_get(user=request.user, pk=pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReferenceImageFileApi(APIView):
    """The stored PNG (or its thumbnail), for researchers who can see the image set."""

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, pk: int, variant: str = "file"):
        image = selectors.reference_image_get(user=request.user, pk=pk)
        fieldfile = image.thumbnail if variant == "thumbnail" and image.thumbnail else image.file
        response = FileResponse(fieldfile.open("rb"), content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class StimulusFileApi(APIView):
    """A generated stimulus PNG, for researchers of its study (admin thumbnails, audits)."""

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY}, operation_id="stimuli_file")
    def get(self, request, pk: int):
        stimulus = selectors.stimulus_get(user=request.user, pk=pk)
        response = FileResponse(stimulus.file.open("rb"), content_type="image/png")
        response["Cache-Control"] = "private, max-age=86400"
        return response


# ---------------------------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------------------------


class StudyOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    collaborators = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    allowed_transitions = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Study
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "status",
            "allowed_transitions",
            "image_set",
            "seed",
            "patch_size",
            "display_scale",
            "judgments_train",
            "judgments_val",
            "judgments_jnd",
            "assignment_size",
            "sentinel_rate",
            "jnd_first_ms",
            "jnd_gap_ms",
            "jnd_second_ms",
            "instructions",
            "jnd_identical_share",
            "break_every",
            "max_assignments_per_participant",
            "lease_minutes",
            "completion_url",
            "completion_code",
            "completion_code_failed",
            "qc_min_sentinel_accuracy",
            "qc_rt_floor_ms",
            "qc_max_fast_share",
            "qc_max_side_bias",
            "generation_total",
            "generation_done",
            "generation_error",
            "owner",
            "collaborators",
            "created_at",
            "updated_at",
        ]


class _StudyDesignInput(serializers.Serializer):
    """Design fields; model validators (ranges) are re-checked by the service's full_clean."""

    kind = serializers.ChoiceField(choices=Study.Kind.choices, required=False)
    image_set = serializers.IntegerField(required=False, allow_null=True)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    patch_size = serializers.IntegerField(required=False, min_value=16, max_value=512)
    display_scale = serializers.IntegerField(required=False, min_value=1, max_value=8)
    judgments_train = serializers.IntegerField(required=False, min_value=1, max_value=50)
    judgments_val = serializers.IntegerField(required=False, min_value=1, max_value=50)
    judgments_jnd = serializers.IntegerField(required=False, min_value=1, max_value=50)
    assignment_size = serializers.IntegerField(required=False, min_value=1, max_value=2000)
    sentinel_rate = serializers.FloatField(required=False, min_value=0.0, max_value=0.5)
    jnd_first_ms = serializers.IntegerField(required=False, min_value=50, max_value=10000)
    jnd_gap_ms = serializers.IntegerField(required=False, min_value=0, max_value=10000)
    jnd_second_ms = serializers.IntegerField(required=False, min_value=50, max_value=10000)
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=50000)
    jnd_identical_share = serializers.FloatField(required=False, min_value=0.0, max_value=0.9)
    break_every = serializers.IntegerField(required=False, min_value=0, max_value=10000)
    max_assignments_per_participant = serializers.IntegerField(
        required=False, min_value=1, max_value=1000
    )
    lease_minutes = serializers.IntegerField(required=False, min_value=1, max_value=24 * 60)
    completion_url = serializers.URLField(required=False, allow_blank=True)
    completion_code = serializers.CharField(required=False, max_length=40)
    completion_code_failed = serializers.CharField(required=False, max_length=40)
    qc_min_sentinel_accuracy = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    qc_rt_floor_ms = serializers.IntegerField(required=False, min_value=0, max_value=60000)
    qc_max_fast_share = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    qc_max_side_bias = serializers.FloatField(required=False, min_value=0.5, max_value=1.0)
    collaborators = UsernameListField(required=False)

    def resolve_image_set(self, request, data: dict) -> dict:
        if data.get("image_set") is not None:
            # Another researcher's image set is "not found" too: ids must not leak.
            image_set = (
                selectors.image_set_list(user=request.user).filter(pk=data["image_set"]).first()
            )
            if image_set is None:
                raise serializers.ValidationError(
                    {"image_set": [f"Image set {data['image_set']} not found."]}
                )
            data["image_set"] = image_set
        return data


class StudyListApi(APIView):
    @extend_schema(responses=StudyOutput(many=True), operation_id="studies_list")
    def get(self, request):
        return _paginated(
            request,
            self,
            selectors.study_list(user=request.user).order_by("-created_at"),
            StudyOutput,
        )


class StudyCreateApi(APIView):
    class InputSerializer(_StudyDesignInput):
        class Meta:
            ref_name = "StudyCreateInput"

        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=80, required=False)

    @extend_schema(
        request=InputSerializer, responses={201: StudyOutput}, operation_id="studies_create"
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.resolve_image_set(request, dict(serializer.validated_data))
        study = services.study_create(owner=request.user, **data)
        return Response(StudyOutput(study).data, status=status.HTTP_201_CREATED)


class StudyDetailApi(APIView):
    @extend_schema(responses=StudyOutput, operation_id="studies_retrieve")
    def get(self, request, pk: int):
        return Response(StudyOutput(selectors.study_get(user=request.user, pk=pk)).data)


class StudyUpdateApi(APIView):
    class InputSerializer(_StudyDesignInput):
        class Meta:
            ref_name = "StudyUpdateInput"

        name = serializers.CharField(max_length=200, required=False)

    @extend_schema(request=InputSerializer, responses=StudyOutput, operation_id="studies_update")
    def patch(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.resolve_image_set(request, dict(serializer.validated_data))
        if (
            "collaborators" in data
            and study.owner_id != request.user.pk
            and not request.user.is_superuser
        ):
            raise ApplicationError(
                "Only the owner can change collaborators.", code="owner_only", status_code=403
            )
        return Response(StudyOutput(services.study_update(study=study, data=data)).data)


class StudyDeleteApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="studies_delete")
    def delete(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        if study.owner_id != request.user.pk and not request.user.is_superuser:
            raise ApplicationError(
                "Only the owner can delete a study.", code="owner_only", status_code=403
            )
        services.study_delete(study=study)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StudyTransitionApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StudyTransitionInput"

        status = serializers.CharField(max_length=16)
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    @extend_schema(
        request=InputSerializer, responses=StudyOutput, operation_id="studies_transition"
    )
    def post(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        study = services.study_transition(
            study=study,
            to=data.validated_data["status"],
            by=request.user,
            note=data.validated_data["note"],
        )
        return Response(StudyOutput(study).data)


# ---------------------------------------------------------------------------------------------
# Distortion registry, distortion choices and trial counts
# ---------------------------------------------------------------------------------------------


class DistortionRegistryApi(APIView):
    """Every distortion the stimulus library offers (name, family, description)."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DistortionInfoOutput"

        name = serializers.CharField()
        family = serializers.CharField()
        description = serializers.CharField()
        needs_model = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer(many=True), operation_id="distortions_list")
    def get(self, request):
        import experiments

        rows = [
            {
                "name": d.name,
                "family": d.family,
                "description": getattr(d, "description", "") or "",
                "needs_model": bool(d.model_kind),
            }
            for d in experiments.list_distortions()
        ]
        return Response(self.OutputSerializer(rows, many=True).data)


class DistortionSpecOutput(serializers.ModelSerializer):
    class Meta:
        from .models import DistortionSpec

        model = DistortionSpec
        fields = ["id", "name", "family", "category", "severity_min", "severity_max", "weight"]


class TrialQuotaOutput(serializers.ModelSerializer):
    class Meta:
        from .models import TrialQuota

        model = TrialQuota
        fields = ["id", "kind", "split", "category", "count"]


class StudyDistortionsApi(APIView):
    """List (GET) or add (POST) a study's distortion choices; drafts only for POST."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DistortionSpecInput"

        name = serializers.CharField(max_length=80)
        category = serializers.SlugField(max_length=40, default="traditional")
        severity_min = serializers.FloatField(default=0.0)
        severity_max = serializers.FloatField(default=1.0)
        weight = serializers.FloatField(default=1.0, min_value=0.0)

    @extend_schema(
        responses=DistortionSpecOutput(many=True), operation_id="studies_distortions_list"
    )
    def get(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        return Response(DistortionSpecOutput(study.distortion_specs.all(), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: DistortionSpecOutput},
        operation_id="studies_distortions_add",
    )
    def post(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        spec = services.distortion_spec_add(study=study, **data.validated_data)
        return Response(DistortionSpecOutput(spec).data, status=status.HTTP_201_CREATED)


class StudyQuotasApi(APIView):
    """List (GET) or set (POST) how many trials a study generates per kind, split and category."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrialQuotaInput"

        kind = serializers.ChoiceField(choices=["2afc", "jnd"])
        split = serializers.ChoiceField(choices=["train", "val"], default="val")
        category = serializers.SlugField(max_length=40, default="traditional")
        count = serializers.IntegerField(max_value=1_000_000)

    @extend_schema(responses=TrialQuotaOutput(many=True), operation_id="studies_quotas_list")
    def get(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        return Response(TrialQuotaOutput(study.quotas.all(), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={200: TrialQuotaOutput},
        operation_id="studies_quotas_set",
    )
    def post(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            TrialQuotaOutput(services.trial_quota_set(study=study, **data.validated_data)).data
        )
