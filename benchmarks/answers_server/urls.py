"""The platform's URLs plus the benchmark's yardstick: the practical limit of an acknowledged write
in this stack (one row inserted in a transaction, committed, answered as JSON)."""

import json

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.urls import urlpatterns as platform_urls

TABLE = "bench_durable_write"


@csrf_exempt
@require_POST
def durable_write(request):
    payload = json.loads(request.body or b"{}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (payload) VALUES (%s) RETURNING id", [json.dumps(payload)]
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"stored": True, "id": row_id}, status=201)


urlpatterns = [path("bench/write/", durable_write), *platform_urls]
