"""Every refusal is JSON with a stable code; bad input is a 4xx, never a 500; logs hold no secrets."""

from __future__ import annotations

import logging

import pytest

from tests.server.conftest import Demo
from tests.server.helpers import SHOP, TENRI, sale


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/nowhere", None, 404, "not_found"),
        ("DELETE", "/v1/sales", None, 405, "method_not_allowed"),
        ("GET", "/v1/tickets/1000000000000", None, 422, "invalid_request"),
        ("GET", "/v1/tickets/-1", None, 422, "invalid_request"),
        ("GET", "/v1/tickets/99999", None, 404, "not_found"),
        ("GET", "/v1/sales/not-a-ulid", None, 422, "invalid_request"),
        ("GET", "/v1/sales/01J0000000000000000000000Z", None, 404, "sale_not_found"),
        ("POST", "/v1/cards/lookup", {"card_key": "uid:xyz"}, 422, "invalid_request"),
        ("POST", "/v1/cards/lookup", {"card_key": "uid:" + "0" * 64, "extra": 1}, 422, "invalid_request"),
    ],
)
async def test_refusals_are_json_with_a_code(api, method, path, body, status, code) -> None:
    answer = await api(SHOP).request(method, path, json=body)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert " / " in answer.json()["message"]  # Japanese / English


@pytest.mark.parametrize(
    "change",
    [
        {"cash": 1.5},
        {"cash": True},
        {"cash": "100"},
        {"cash": -1},
        {"cash": 10**12},
        {"totals": []},
        {"totals": [{"rate": 5, "amount": 100}]},
        {"unknown": "field"},
        {"sale_id": "0" * 25},
        {"points": [{"program_id": TENRI, "points": 0}]},
    ],
)
async def test_bad_amounts_and_fields_are_refused(api, demo: Demo, change) -> None:
    answer = await api(SHOP).post("/v1/sales", json={**sale(demo.card(), total=100), **change})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request")


async def test_a_body_that_is_not_json_is_refused(api) -> None:
    answer = await api(SHOP).post(
        "/v1/sales", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request")


async def test_missing_and_unknown_tokens_are_unauthorized(api) -> None:
    assert (await api(None).get("/v1/terminal/config")).json()["code"] == "unauthorized"
    bad = await api(None).get("/v1/terminal/config", headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()["code"]) == (401, "unauthorized")


async def test_each_request_logs_one_line_without_a_whole_card_key(api, demo: Demo, caplog) -> None:
    card = demo.card()
    caplog.set_level(logging.INFO, logger="mykey.server.access")
    body = sale(card, total=1000, points={TENRI: 100})
    await api(SHOP).post("/v1/sales", json=body)
    await api("tenri").put(f"/v1/cards/{card}/eligibility", json={"tags": []})
    lines = [r.getMessage() for r in caplog.records if r.name == "mykey.server.access"]
    assert len(lines) == 2
    assert f'"sale_id": "{body["sale_id"]}"' in lines[0] and f'"principal": "{SHOP}"' in lines[0]
    assert '"status": 200' in lines[0]
    assert all(card[5:] not in line for line in lines)
    assert card[:12] + "…" in lines[1]  # a short prefix is kept, to tell cards apart
