"""Property test against the app's own OpenAPI schema (schemathesis + hypothesis, in-process): requests that
fit the schema and requests that break it, to every route, never produce a 500, and the responses match the
documented status codes, content types and schemas.

(schemathesis' pytest plugin does not run under pytest 9 yet, so each operation's strategy is driven by
hypothesis directly.)
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from lmforge.inference.predictor import Predictor
from lmforge.serving.app import create_app
from lmforge.serving.settings import ServeConfig


@pytest.fixture
def api_schema(served_model):
    # Per test: schemathesis' pytest plugin ends every ASGI lifespan at the end of each test.
    app = create_app(served_model, ServeConfig(max_texts=16, max_chars=500), predictor=Predictor.load(served_model))
    with asgi.get_client(app) as client:  # starts the lifespan (kept for the run); wait until the model is in
        for _ in range(400):
            if client.get("/ready").status_code == 200:
                break
            time.sleep(0.025)
    # 413 is how this server (like TEI) refuses more texts than its limit: a correct rejection of invalid data.
    config = SchemathesisConfig.from_str('[checks.negative_data_rejection]\nexpected-statuses = '
                                         '["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", '
                                         '"428", "429"]\n')
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_the_schema_allows_or_forbids_makes_a_500(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/classify", "/predict", "/health", "/ready", "/v1/model"}
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not operation.body:
            continue  # nothing to break in a GET without parameters

        # A TEI request without truncate=true may be refused (413) for having more tokens than the model reads:
        # a limit in tokens, which no JSON schema can state. Every other check applies to it.
        excluded = [positive_data_acceptance] if operation.path in ("/predict", "/", "/rerank") else []

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call_and_validate(excluded_checks=excluded)
            assert response.status_code < 500, response.text
            statuses.setdefault(operation.path, set()).add(response.status_code)

        run()
    if mode == GenerationMode.POSITIVE:
        assert 200 in statuses["/v1/classify"] and 200 in statuses["/predict"]
    else:
        assert statuses["/v1/classify"] and all(400 <= s < 500 for s in statuses["/v1/classify"])
