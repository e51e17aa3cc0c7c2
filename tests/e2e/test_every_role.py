"""schemathesis over every endpoint with every role's token: bad input is a 4xx JSON error, never a 5xx.

The server's own schemathesis test uses a terminal token; clerks, cities, partners and the
admin reach endpoints a terminal never does (settlement, eligibility, conversions).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from tests.server.test_schemathesis import api_schema, server  # one live server per module
from tests.support.server import RunningServer

#: One principal of each role in the demo data.
ROLES = {
    "terminal": "yamato-bakery-t1",
    "merchant": "yamato-bakery",
    "chamber": "tenri-cci",
    "city": "tenri",
    "partner": "skyair",
    "admin": "admin",
    "library": "library-omuta",
    "facility": "toshima-hiroba-ikebukuro",
    "online_shop": "miyakonojo-tokusen",
    "supplying merchant": "shinmoe-kama",
    "city of the site": "miyakonojo",
    "nobody": None,
}


__all__ = ["api_schema", "server"]

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_role_and_no_input_makes_a_server_error(case: schemathesis.Case, server: RunningServer) -> None:
    # Each generated request goes out once under every role (and once with no token).
    for role, name in ROLES.items():
        headers = {"Authorization": f"Bearer {server.tokens[name]}"} if name else {}
        response = case.call(base_url=server.url, headers=headers)
        assert response.status_code < 500, (role, case.method, case.path, response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) >= {"code", "message"}, body
        elif name is None:
            # Without a token only the health check answers.
            assert case.path == "/v1/health", (case.method, case.path, response.status_code)
