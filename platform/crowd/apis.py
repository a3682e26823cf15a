"""Worker-facing JSON API (see docs/worker-api.md). The assignment token in the URL is the only
credential; nothing here uses cookies, so these views need no CSRF token."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.throttling import DegradingRateThrottle

from . import selectors, services


class AnswerThrottle(DegradingRateThrottle):
    """Per assignment token (falls back to the client address)."""

    scope = "crowd_answer"

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": view.kwargs.get("token") or self.get_ident(request),
        }


class WorkerApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def assignment(self, token: str):
        return selectors.assignment_get(token=token)


class SessionApi(WorkerApi):
    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="worker_session")
    def get(self, request, token: str):
        return Response(selectors.session_payload(self.assignment(token)))


class AnswerApi(WorkerApi):
    throttle_classes = [AnswerThrottle]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WorkerAnswerInput"

        client_uuid = serializers.UUIDField()
        position = serializers.IntegerField(min_value=0)
        answer = serializers.ChoiceField(
            choices=[a for answers in services.ANSWERS.values() for a in answers]
        )
        rt_ms = serializers.IntegerField(min_value=0, max_value=services.MAX_RT_MS)
        display = serializers.DictField(required=False, default=dict)
        timing = serializers.DictField(required=False, default=dict)

        def validate(self, attrs):
            for name in ("display", "timing"):
                if len(str(attrs[name])) > 4000:
                    raise serializers.ValidationError({name: ["too large"]})
            return attrs

    @extend_schema(
        request=InputSerializer, responses=OpenApiTypes.OBJECT, operation_id="worker_answer"
    )
    def post(self, request, token: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.response_record(assignment_token=token, **data.validated_data)
        return Response(
            {
                "stored": True,
                "duplicate": result.duplicate,
                "progress": {"answered": result.answered, "total": result.total},
            },
            status=status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED,
        )


class CompleteApi(WorkerApi):
    throttle_classes = [AnswerThrottle]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, operation_id="worker_complete")
    def post(self, request, token: str):
        return Response(services.assignment_complete(assignment_token=token))


class ImageApi(WorkerApi):
    """A stimulus PNG behind an opaque, assignment-scoped URL."""

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, token: str, position: int, slot: str, practice: bool = False):
        stimulus = selectors.stimulus_for_slot(
            self.assignment(token), position=position, slot=slot, practice=practice
        )
        response = FileResponse(stimulus.file.open("rb"), content_type="image/png")
        response["Cache-Control"] = "private, max-age=86400"
        return response
