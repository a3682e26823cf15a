"""Worker-facing JSON API (see docs/worker-api.md). The assignment token in the URL is the only
credential; nothing here uses cookies, so these views need no CSRF token."""

from __future__ import annotations

import json
import uuid

from django.http import FileResponse, HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.json import strict_constant
from rest_framework.views import APIView

from common.exceptions import DomainError, error_body, http_status
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
        return Response(_answer_payload(result), status=_answer_status(result))

    def dispatch(self, request, *args, **kwargs):
        """An answer in the form the worker page sends it is handled here, without DRF's request
        wrapping, content negotiation and serializer (a third of the answer's time once its
        writes were one statement); anything else (another media type or Accept, a body that is
        not a valid answer, a refusal by the rate limit) goes through DRF, which gives the same
        answers and errors as before. Both give the same statuses, bodies and headers
        (tests/crowd/test_answer_paths.py)."""
        if request.method == "POST":
            response = self._post_direct(request, kwargs)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def _post_direct(self, request, kwargs) -> HttpResponse | None:
        length = request.META.get("CONTENT_LENGTH", "")
        if (
            request.content_type != "application/json"
            or request.content_params.get("charset", "utf-8").lower() != "utf-8"
            or request.META.get("HTTP_ACCEPT", "*/*") not in _JSON_ACCEPT
            or not (length.isdigit() and 0 < int(length) <= _DIRECT_MAX_BYTES)
        ):
            return None
        try:
            # As DRF's JSONParser reads it: UTF-8, no NaN or Infinity.
            data = json.loads(request.body.decode("utf-8"), parse_constant=strict_constant)
            fields = _answer_fields(data)
        except ValueError:  # not JSON, or not a valid answer: DRF names the problem
            return None
        if fields is None:
            return None
        self.kwargs = kwargs
        if not AnswerThrottle().allow_request(request, self):
            return None  # DRF's path counts it once more (it is over the limit) and says 429
        try:
            result = services.response_record(assignment_token=kwargs["token"], **fields)
        except DomainError as exc:
            return self._json(error_body(exc), http_status(exc))
        return self._json(_answer_payload(result), _answer_status(result))

    def _json(self, data: dict, status_code: int) -> HttpResponse:
        response = HttpResponse(
            _RENDERER.render(data), status=status_code, content_type="application/json"
        )
        response["Allow"] = ", ".join(self.allowed_methods)
        patch_vary_headers(response, ("Accept",))
        return response


# The direct path of answers (`AnswerApi.dispatch`): what it takes, and what it gives.
_JSON_ACCEPT = frozenset(("*/*", "application/json", ""))
_DIRECT_MAX_BYTES = 32 * 1024
_RENDERER = JSONRenderer()
_ANSWER_CHOICES = frozenset(a for answers in services.ANSWERS.values() for a in answers)


def _answer_fields(data) -> dict | None:
    """The answer's fields, exactly as `AnswerApi.InputSerializer` would validate them, when they
    are plainly valid (JSON types as the worker page sends them); None otherwise."""
    if not isinstance(data, dict):
        return None
    position, rt_ms, answer = data.get("position"), data.get("rt_ms"), data.get("answer")
    display, timing = data.get("display", {}), data.get("timing", {})
    client_uuid = data.get("client_uuid")
    if not (
        type(position) is int
        and position >= 0
        and type(rt_ms) is int
        and 0 <= rt_ms <= services.MAX_RT_MS
        and type(answer) is str
        and answer in _ANSWER_CHOICES
        and type(display) is dict
        and type(timing) is dict
        and type(client_uuid) is str
        and len(str(display)) <= 4000
        and len(str(timing)) <= 4000
    ):
        return None
    return {
        "client_uuid": uuid.UUID(hex=client_uuid),  # ValueError when it is not a UUID
        "position": position,
        "answer": answer,
        "rt_ms": rt_ms,
        "display": display,
        "timing": timing,
    }


def _answer_payload(result) -> dict:
    return {
        "stored": True,
        "duplicate": result.duplicate,
        "progress": {"answered": result.answered, "total": result.total},
    }


def _answer_status(result) -> int:
    return status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED


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
