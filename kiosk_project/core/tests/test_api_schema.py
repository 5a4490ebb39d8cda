"""The published OpenAPI schema against the running API: schemathesis generates requests for every operation
from the live /api/schema/ (a bounded number per operation, with a kiosk key) and checks each answer:
no server error, a status code the schema declares, and a body that matches the declared schema.

Also: the schema itself validates without a warning (the same check `make lint` runs), and the docs pages
load their Swagger UI and Redoc from our own static files, not a CDN.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 15  # bounded: the suite's time, not a fuzzing campaign


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_docs_are_served_from_our_own_static_files(client):
    for path in ("/api/docs/", "/api/redoc/"):
        page = client.get(path).content.decode()
        assert "cdn.jsdelivr" not in page and "unpkg" not in page, path
        assert "/static/drf_spectacular_sidecar/" in page, path


def test_the_kiosk_scheme_is_declared(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["Kiosk"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["Kiosk"]["description"]}
    status = schema["paths"]["/api/v1/orders/{order_id}/status"]["get"]
    assert status["security"] == [{"Kiosk": []}]
    assert set(status["responses"]) >= {"200", "304", "401", "404", "429", "503"}


def test_every_operation_answers_as_its_schema_says(live_server, menu, kiosk, place_order, phonepe, settings):
    # Hundreds of requests in seconds from one kiosk: the limits would answer most of them 429 (declared,
    # but then the bodies behind them go unchecked).
    settings.KIOSK_AUTH_FAILURES_PER_MINUTE = settings.ORDER_RATE_LIMIT_PER_MINUTE = 100_000
    settings.QUOTE_RATE_LIMIT_PER_MINUTE = settings.PAYMENT_INITIATE_RATE_LIMIT_PER_MINUTE = 100_000
    raw = requests.get(live_server.url + "/api/schema/?format=json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Kiosk {kiosk[1]}"}
    session = requests.Session()
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    # Real ids for the path parameters, so the reads answer 200 and their bodies are checked too (random
    # UUIDs only ever meet 404). Each operation runs once with them and once with generated ids.
    order = place_order()
    paid = requests.post(live_server.url + "/api/v1/payment/initiate", headers=headers, timeout=30,
                         json={"order_id": order["order_id"], "amount": order["total_amount_include_tax"]}).json()
    real = {"order_id": order["order_id"], "payment_id": paid["payment_id"]}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    for operation, path_parameters in [
        (op, ids) for op in operations
        for ids in ([None, {k: v for k, v in real.items() if "{" + k + "}" in op.path}]
                    if "{" in op.path else [None])
    ]:
        @given(case=operation.as_strategy(path_parameters=path_parameters))
        @examples(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            # The kiosk key replaces whatever schemathesis generated for the Kiosk scheme (the webhooks ignore it).
            response = case.call(base_url=live_server.url, session=session, headers=headers, timeout=30)
            case.validate_response(response, checks=checks)

        conforms()
