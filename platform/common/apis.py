"""Cross-cutting API endpoints."""

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import health, tokens
from .models import ApiToken

_CHECK = serializers.DictField(help_text='{"ok": bool, "ms": float, "error"?: str, ...}')
_HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded", "down"]),
        "degraded": serializers.ListField(child=serializers.CharField()),
        "database": _CHECK,
        "broker": _CHECK,
        "cache": _CHECK,
        "workers": _CHECK,
        "jobs": _CHECK,
    },
)


class HealthApi(APIView):
    """Readiness probe for load balancers and compose health checks, and a dependency report.

    503 (status "down") when the database is unreachable: this process cannot serve. 200 with
    status "degraded" when the broker, the cache or the workers are not there: answers are still
    collected and requested jobs wait in the outbox (docs/operations.md).
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    @extend_schema(responses={200: _HEALTH, 503: _HEALTH})
    def get(self, request):
        body, code = health.report()
        return Response(body, status=code)


# ---------------------------------------------------------------------------------------------
# API tokens: a researcher's own, never another's (`common.tokens`)
# ---------------------------------------------------------------------------------------------


class ApiTokenOutput(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        ref_name = "ApiTokenOutput"
        fields = [
            "id",
            "name",
            "prefix",
            "active",
            "created_at",
            "rotated_at",
            "last_used_at",
            "revoked_at",
        ]


class ApiTokenKeyOutput(ApiTokenOutput):
    key = serializers.CharField(
        read_only=True, help_text="The key: shown in this answer only, never again"
    )

    class Meta(ApiTokenOutput.Meta):
        ref_name = "ApiTokenKeyOutput"
        fields = [*ApiTokenOutput.Meta.fields, "key"]


def _with_key(token, key: str) -> dict:
    token.key = key
    return ApiTokenKeyOutput(token).data


_KEY_EXAMPLE = OpenApiExample(
    "A new key",
    value={
        "id": 3,
        "name": "laptop",
        "prefix": "pl_Xq3vT9a",
        "active": True,
        "created_at": "2026-12-07T00:10:00Z",
        "rotated_at": None,
        "last_used_at": None,
        "revoked_at": None,
        "key": "pl_Xq3vT9a…(43 characters in all)",
    },
    response_only=True,
)


class ApiTokenListCreateApi(APIView):
    """Your API tokens (GET), or a new one (POST): its key is in the answer, and only there."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ApiTokenInput"

        name = serializers.CharField(max_length=100, help_text="What the token is for")

    @extend_schema(responses=ApiTokenOutput(many=True), operation_id="tokens_list")
    def get(self, request):
        return Response(ApiTokenOutput(tokens.api_token_list(user=request.user), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: ApiTokenKeyOutput},
        operation_id="tokens_create",
        examples=[
            OpenApiExample("Name it", value={"name": "laptop"}, request_only=True),
            _KEY_EXAMPLE,
        ],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = tokens.api_token_create(user=request.user, name=data.validated_data["name"])
        return Response(_with_key(token, key), status=status.HTTP_201_CREATED)


class ApiTokenRotateApi(APIView):
    """A new key for the token (shown once in the answer); the old key stops working at once."""

    @extend_schema(
        request=None,
        responses=ApiTokenKeyOutput,
        operation_id="tokens_rotate",
        examples=[_KEY_EXAMPLE],
    )
    def post(self, request, pk: int):
        token, key = tokens.api_token_rotate(token=tokens.api_token_get(user=request.user, pk=pk))
        return Response(_with_key(token, key))


class ApiTokenRevokeApi(APIView):
    """Stop the token working (it stays listed, revoked)."""

    @extend_schema(request=None, responses=ApiTokenOutput, operation_id="tokens_revoke")
    def post(self, request, pk: int):
        token = tokens.api_token_revoke(token=tokens.api_token_get(user=request.user, pk=pk))
        return Response(ApiTokenOutput(token).data)
