"""The floor for order placement (bench.capacity): a Django view that does one INSERT and nothing else.

Mounted by bench.capacity_settings as ROOT_URLCONF: the real URLs plus
POST /bench/floor. Same settings, middleware, gunicorn set-up and database as
the real API; it parses the JSON body and stores it as one row of a
benchmark-only table (bench.capacity.FLOOR_TABLE_SQL creates it; no migration does). What
placement costs above this is ours; this much is Django's plus PostgreSQL's.
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from kiosk_project.urls import handler400, handler403, handler404, handler500
from kiosk_project.urls import urlpatterns as real_urlpatterns


@csrf_exempt
def floor(request: HttpRequest) -> HttpResponse:
    document = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (body) VALUES (%s) RETURNING id", [json.dumps(document)])
        row = cursor.fetchone()
    return JsonResponse({"id": row[0] if row else None}, status=201)


urlpatterns = [*real_urlpatterns, path("bench/floor", floor, name="bench-floor")]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
