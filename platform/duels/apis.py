"""REST API of duel studies: list, create, detail and results. Thin: parse, call one selector or
service, shape the output. A duel study is named by its study's id; its lifecycle (generate, go
live, close) is the study's (`/api/studies/<id>/transition/`)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fields import ScopedObjectField, model_field
from studies import selectors as study_selectors
from studies.models import Study

from . import selectors, services
from .models import DuelMethod, DuelStudy


class DuelStudyOutput(serializers.ModelSerializer):
    id = serializers.IntegerField(source="study_id")
    name = serializers.CharField(source="study.name")
    slug = serializers.CharField(source="study.slug")
    status = serializers.CharField(source="study.status")
    image_set = serializers.IntegerField(source="study.image_set_id")
    generation_total = serializers.IntegerField(source="study.generation_total")
    generation_done = serializers.IntegerField(source="study.generation_done")
    generation_error = serializers.CharField(source="study.error")
    owner = serializers.CharField(source="study.owner.username")
    distortions = serializers.SerializerMethodField()
    pairs = serializers.SerializerMethodField()

    class Meta:
        model = DuelStudy
        fields = [
            "id",
            "name",
            "slug",
            "status",
            "image_set",
            "metrics",
            "method",
            "levels",
            "pairs_per_level",
            "tolerance",
            "severity_steps",
            "patches_per_image",
            "synthesis_steps",
            "distortions",
            "pairs",
            "generation_total",
            "generation_done",
            "generation_error",
            "owner",
            "created_at",
        ]

    def get_distortions(self, obj) -> list[dict]:
        return [
            {"name": s.name, "severity_min": s.severity_min, "severity_max": s.severity_max}
            for s in obj.study.distortion_specs.all().order_by("id")
        ]

    def get_pairs(self, obj) -> int:
        return obj.pairs.filter(trial__isnull=False).count()


class _Distortion(serializers.Serializer):
    class Meta:
        ref_name = "DuelDistortionInput"

    name = serializers.CharField(max_length=80)
    severity_min = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.0)
    severity_max = serializers.FloatField(min_value=0.0, max_value=1.0, default=1.0)


def _duel_field(name: str) -> serializers.Field:
    return model_field(DuelStudy, name, required=False)


def _study_field(name: str) -> serializers.Field:
    return model_field(Study, name, required=False)


class DuelStudyListApi(APIView):
    @extend_schema(responses=DuelStudyOutput(many=True), operation_id="duels_list")
    def get(self, request):
        duels = selectors.duel_study_list(user=request.user).order_by("-created_at")
        return Response(DuelStudyOutput(duels, many=True).data)


class DuelStudyCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DuelStudyCreateInput"

        name = model_field(Study, "name")
        # Another researcher's image set is "not found" too: ids must not leak.
        image_set = ScopedObjectField(study_selectors.image_set_get)
        metrics = serializers.ListField(child=serializers.CharField(max_length=120), max_length=20)
        distortions = _Distortion(many=True)
        method = serializers.ChoiceField(choices=DuelMethod.choices, default=DuelMethod.SELECTION)
        levels = _duel_field("levels")
        pairs_per_level = _duel_field("pairs_per_level")
        tolerance = _duel_field("tolerance")
        severity_steps = _duel_field("severity_steps")
        patches_per_image = _duel_field("patches_per_image")
        synthesis_steps = _duel_field("synthesis_steps")
        seed = _study_field("seed")
        patch_size = _study_field("patch_size")
        display_scale = _study_field("display_scale")
        judgments_val = _study_field("judgments_val")
        assignment_size = _study_field("assignment_size")
        sentinel_rate = _study_field("sentinel_rate")
        instructions = _study_field("instructions")

    @extend_schema(
        request=InputSerializer, responses={201: DuelStudyOutput}, operation_id="duels_create"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        duel = services.duel_study_create(owner=request.user, **data.validated_data)
        return Response(DuelStudyOutput(duel).data, status=status.HTTP_201_CREATED)


class DuelStudyDetailApi(APIView):
    @extend_schema(responses=DuelStudyOutput, operation_id="duels_retrieve")
    def get(self, request, pk: int):
        return Response(DuelStudyOutput(selectors.duel_study_get(user=request.user, pk=pk)).data)


class DuelResultsApi(APIView):
    """Who people side with: per ordered duel, per pair of metrics, gMAD aggressiveness and
    resistance, a Bradley–Terry ranking, and every pair's votes (the results page offers the
    same as CSV and JSON downloads)."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="duels_results")
    def get(self, request, pk: int):
        duel = selectors.duel_study_get(user=request.user, pk=pk)
        return Response(selectors.duel_results(duel=duel))
