"""schemathesis against the live server's ``/openapi.json`` with a valid terminal token: no 5xx, ever."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.support.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    directory: pathlib.Path = tmp_path_factory.mktemp("schemathesis")
    with running_server(directory / "srv") as srv:
        yield srv


@pytest.fixture(scope="module")
def api_schema(server: RunningServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case: schemathesis.Case, server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.tokens['yamato-bakery-t1']}"}
    response = case.call(base_url=server.url, headers=headers)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) >= {"code", "message"}, body
