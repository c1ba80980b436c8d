"""Property-based requests generated from the OpenAPI schema: never a server error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from service.api.app import create_app
from service.settings import Settings

ADMIN = "schema-admin"


@pytest.fixture(scope="module")
def api_app(full_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    db = tmp_path_factory.mktemp("schema") / "s.db"
    app = create_app(full_settings.model_copy(update={"database_url": f"sqlite:///{db}",
                                                      "admin_api_keys": [ADMIN]}))
    with TestClient(app):  # runs the lifespan so the runtime is up
        yield app


@pytest.fixture(scope="module")
def api_schema(api_app: object) -> object:
    return schemathesis.openapi.from_asgi("/openapi.json", api_app)


def test_no_server_errors(api_schema) -> None:  # type: ignore[no-untyped-def]
    """Every operation, ~15 generated requests each (admin key attached so auth passes)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    failures: list[tuple[str, str, int]] = []
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), "X-API-Key": ADMIN}
            response = case.call()
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code))

        check()
    assert not failures, failures[:10]
    assert len(statuses) >= 100 and {200, 401, 404, 422} & set(statuses)


def test_schema_lists_every_route(api_app: object) -> None:
    client = TestClient(api_app)  # type: ignore[arg-type]
    paths = client.get("/openapi.json").json()["paths"]
    for path in ["/v1/cases", "/v1/cases/{case_id}", "/v1/sessions", "/v1/sessions/{session_id}",
                 "/v1/sessions/{session_id}/transcript", "/v1/sessions/{session_id}/scorecard",
                 "/v1/sessions/{session_id}/export", "/v1/sessions/{session_id}/regrade",
                 "/v1/sessions/{session_id}/messages", "/healthz", "/readyz", "/metrics"]:
        assert path in paths, path
