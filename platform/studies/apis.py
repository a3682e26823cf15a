"""REST API for image sets, reference images and studies: one class per operation.

Views only parse input, call one selector or service, and shape output. Objects the caller may
not access are 404 (see `studies.selectors`); who may do what to an object they see (only the
owner changes collaborators or deletes) is the services' rule. Input bounds come from the model
fields (`common.fields.model_field`).
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fields import ScopedObjectField, UsernameListField, model_field
from common.pagination import Pagination

from . import selectors, services
from .choices import Split, TrialKind
from .models import DistortionSpec, ImageSet, ReferenceImage, Study, StudyStatusChange, TrialQuota


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

        name = model_field(ImageSet, "name")
        description = model_field(ImageSet, "description")
        min_side = model_field(ImageSet, "min_side")
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

        name = model_field(ImageSet, "name", required=False)
        description = model_field(ImageSet, "description")
        min_side = model_field(ImageSet, "min_side")
        collaborators = UsernameListField(required=False)

    @extend_schema(
        request=InputSerializer, responses=ImageSetOutput, operation_id="image_sets_update"
    )
    def patch(self, request, pk: int):
        image_set = selectors.image_set_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        image_set = services.image_set_update(
            image_set=image_set, data=data.validated_data, by=request.user
        )
        return Response(ImageSetOutput(image_set).data)


class ImageSetDeleteApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="image_sets_delete")
    def delete(self, request, pk: int):
        image_set = selectors.image_set_get(user=request.user, pk=pk)
        services.image_set_delete(image_set=image_set, by=request.user)
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
    """Upload one image or a zip of images (multipart field `file`). The body is refused (413)
    as soon as it passes the larger of the image and zip limits (`common.uploads`)."""

    parser_classes = [MultiPartParser, FormParser]
    upload_limit_setting = "PERCEPTLAB_MAX_ZIP_BYTES"

    @staticmethod
    def upload_max_bytes() -> int:
        return max(settings.PERCEPTLAB_MAX_IMAGE_BYTES, settings.PERCEPTLAB_MAX_ZIP_BYTES)

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReferenceImageUploadInput"

        file = serializers.FileField(allow_empty_file=True)
        source = model_field(ReferenceImage, "source", default="")
        licence = model_field(ReferenceImage, "licence", default="")

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
            file=upload,
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


class ReferenceImageUpdateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReferenceImageUpdateInput"

        source = model_field(ReferenceImage, "source")
        licence = model_field(ReferenceImage, "licence")

    @extend_schema(
        request=InputSerializer, responses=ReferenceImageOutput, operation_id="images_update"
    )
    def patch(self, request, pk: int):
        image = selectors.reference_image_get(user=request.user, pk=pk)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        image = services.reference_image_update(image=image, data=data.validated_data)
        return Response(ReferenceImageOutput(image).data)


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
            "estimated_minutes",
            "payment",
            "contact",
            "desktop_only",
            "qc_min_sentinel_accuracy",
            "qc_rt_floor_ms",
            "qc_max_fast_share",
            "qc_max_side_bias",
            "generation_total",
            "generation_done",
            "generation_error",
            "error",
            "owner",
            "collaborators",
            "created_at",
            "updated_at",
        ]


def _design_field(name: str) -> serializers.Field:
    return model_field(Study, name, required=False)


class _StudyDesignInput(serializers.Serializer):
    """Design fields, bounded as the model's fields are (the service's full_clean re-checks)."""

    kind = _design_field("kind")
    # Another researcher's image set is "not found" too: ids must not leak.
    image_set = ScopedObjectField(selectors.image_set_get, required=False, allow_null=True)
    seed = _design_field("seed")
    patch_size = _design_field("patch_size")
    display_scale = _design_field("display_scale")
    judgments_train = _design_field("judgments_train")
    judgments_val = _design_field("judgments_val")
    judgments_jnd = _design_field("judgments_jnd")
    assignment_size = _design_field("assignment_size")
    sentinel_rate = _design_field("sentinel_rate")
    jnd_first_ms = _design_field("jnd_first_ms")
    jnd_gap_ms = _design_field("jnd_gap_ms")
    jnd_second_ms = _design_field("jnd_second_ms")
    instructions = _design_field("instructions")
    jnd_identical_share = _design_field("jnd_identical_share")
    break_every = _design_field("break_every")
    max_assignments_per_participant = _design_field("max_assignments_per_participant")
    lease_minutes = _design_field("lease_minutes")
    completion_url = _design_field("completion_url")
    completion_code = _design_field("completion_code")
    completion_code_failed = _design_field("completion_code_failed")
    estimated_minutes = _design_field("estimated_minutes")
    payment = _design_field("payment")
    contact = _design_field("contact")
    desktop_only = _design_field("desktop_only")
    qc_min_sentinel_accuracy = _design_field("qc_min_sentinel_accuracy")
    qc_rt_floor_ms = _design_field("qc_rt_floor_ms")
    qc_max_fast_share = _design_field("qc_max_fast_share")
    qc_max_side_bias = _design_field("qc_max_side_bias")
    collaborators = UsernameListField(required=False)


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

        name = model_field(Study, "name")
        # Uniqueness is the service's check (one message for a taken slug).
        slug = model_field(Study, "slug", required=False, validators=[])

    @extend_schema(
        request=InputSerializer, responses={201: StudyOutput}, operation_id="studies_create"
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        study = services.study_create(owner=request.user, **serializer.validated_data)
        return Response(StudyOutput(study).data, status=status.HTTP_201_CREATED)


class StudyDetailApi(APIView):
    @extend_schema(responses=StudyOutput, operation_id="studies_retrieve")
    def get(self, request, pk: int):
        return Response(StudyOutput(selectors.study_get(user=request.user, pk=pk)).data)


class StudyUpdateApi(APIView):
    class InputSerializer(_StudyDesignInput):
        class Meta:
            ref_name = "StudyUpdateInput"

        name = model_field(Study, "name", required=False)

    @extend_schema(request=InputSerializer, responses=StudyOutput, operation_id="studies_update")
    def patch(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        serializer = self.InputSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        study = services.study_update(study=study, data=serializer.validated_data, by=request.user)
        return Response(StudyOutput(study).data)


class StudyDeleteApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="studies_delete")
    def delete(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        services.study_delete(study=study, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StudyTransitionApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StudyTransitionInput"

        # Any string: the service names the statuses when it is not one (a clear 400).
        status = serializers.CharField(max_length=Study._meta.get_field("status").max_length)
        note = model_field(StudyStatusChange, "note", default="")

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


class StudyGenerationRetryApi(APIView):
    """Run a failed (or stalled) generation again; trials already made are kept."""

    @extend_schema(request=None, responses=StudyOutput, operation_id="studies_generation_retry")
    def post(self, request, pk: int):
        study = selectors.study_get(user=request.user, pk=pk)
        return Response(
            StudyOutput(services.study_generation_retry(study=study, by=request.user)).data
        )


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
        return Response(self.OutputSerializer(selectors.distortion_registry(), many=True).data)


class DistortionSpecOutput(serializers.ModelSerializer):
    class Meta:
        model = DistortionSpec
        fields = ["id", "name", "family", "category", "severity_min", "severity_max", "weight"]


class TrialQuotaOutput(serializers.ModelSerializer):
    class Meta:
        model = TrialQuota
        fields = ["id", "kind", "split", "category", "count"]


class StudyDistortionsApi(APIView):
    """List (GET) or add (POST) a study's distortion choices; drafts only for POST."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DistortionSpecInput"

        # Range checks (severities in [0, 1], min ≤ max) are the service's, with one message.
        name = model_field(DistortionSpec, "name")
        category = model_field(DistortionSpec, "category", default="traditional")
        severity_min = serializers.FloatField(default=0.0)
        severity_max = serializers.FloatField(default=1.0)
        weight = model_field(DistortionSpec, "weight", default=1.0)

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

        # Values only (the enums'), as the schema's enums for "kind"/"split" are named by value.
        kind = serializers.ChoiceField(choices=TrialKind.values)
        split = serializers.ChoiceField(choices=Split.values, default=Split.VAL)
        category = model_field(TrialQuota, "category", default="traditional")
        # The lower bound is the service's ("Zero trials requested …").
        count = serializers.IntegerField(
            max_value=TrialQuota._meta.get_field("count").validators[-1].limit_value
        )

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


class DistortionSpecUpdateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DistortionSpecUpdateInput"

        name = model_field(DistortionSpec, "name", required=False)
        category = model_field(DistortionSpec, "category", required=False)
        severity_min = serializers.FloatField(required=False)
        severity_max = serializers.FloatField(required=False)
        weight = model_field(DistortionSpec, "weight", required=False)

    @extend_schema(
        request=InputSerializer,
        responses=DistortionSpecOutput,
        operation_id="studies_distortions_update",
    )
    def patch(self, request, pk: int, spec_pk: int):
        spec = selectors.distortion_spec_get(user=request.user, study_pk=pk, pk=spec_pk)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        spec = services.distortion_spec_update(spec=spec, data=data.validated_data)
        return Response(DistortionSpecOutput(spec).data)


class DistortionSpecRemoveApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="studies_distortions_remove")
    def delete(self, request, pk: int, spec_pk: int):
        spec = selectors.distortion_spec_get(user=request.user, study_pk=pk, pk=spec_pk)
        services.distortion_spec_remove(spec=spec)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrialQuotaRemoveApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="studies_quotas_remove")
    def delete(self, request, pk: int, quota_pk: int):
        quota = selectors.trial_quota_get(user=request.user, study_pk=pk, pk=quota_pk)
        services.trial_quota_remove(quota=quota)
        return Response(status=status.HTTP_204_NO_CONTENT)
