"""Cross-cutting API endpoints."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import health

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
