"""Every endpoint × every principal: only its owners get through; everyone else 401/403/404."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from ulid import ULID

from tests.server.conftest import Demo
from tests.server.helpers import SHOP, TENRI, issue, sale

PRINCIPALS = [
    "yamato-bakery-t1", "sakura-books-t1", "toshima-award-1", "tenri-counter-1", "tenri-enroll-1",
    "yamato-bakery", "sakura-books", "tenri-cci", "tenri", "toshima", "oguni", "skyair", "admin", None,
]  # fmt: skip
SHOPS: set[str | None] = {"yamato-bakery-t1", "sakura-books-t1"}
TERMINALS: set[str | None] = {
    "yamato-bakery-t1",
    "sakura-books-t1",
    "toshima-award-1",
    "tenri-counter-1",
    "tenri-enroll-1",
}


def fresh_card() -> str:
    return "uid:" + hashlib.sha256(os.urandom(7)).hexdigest()


@dataclass
class Fixtures:
    """Things owned by yamato-bakery and the city of Tenri, made before each matrix row."""

    sale_id: str
    ticket_serial: int


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Fixtures], str]
    body: Callable[[Demo], Any] | None
    allowed: set[str | None]


ENDPOINTS = [
    Endpoint("health", "GET", lambda f: "/v1/health", None, set(PRINCIPALS)),
    Endpoint("config", "GET", lambda f: "/v1/terminal/config", None, set(TERMINALS)),
    Endpoint(
        "lookup", "POST", lambda f: "/v1/cards/lookup", lambda d: {"card_key": d.card()},
        TERMINALS | {"tenri", "toshima", "oguni", "admin"},
    ),
    Endpoint(
        "eligibility", "PUT", lambda f: f"/v1/cards/{fresh_card()}/eligibility",
        lambda d: {"tags": [{"tag": "age65", "valid_until": "2030-01-01"}]},
        {"tenri", "toshima", "oguni", "tenri-enroll-1"},
    ),
    Endpoint("challenge", "POST", lambda f: "/v1/challenges", None, {"yamato-bakery-t1", "sakura-books-t1"}),
    Endpoint("sale", "POST", lambda f: "/v1/sales", lambda d: sale(total=100), SHOPS),
    Endpoint(
        "batch", "POST", lambda f: "/v1/sales/batch", lambda d: {"sales": [sale(total=100, offline=True)]},
        {"yamato-bakery-t1", "sakura-books-t1"},
    ),
    Endpoint(
        "get sale", "GET", lambda f: f"/v1/sales/{f.sale_id}", None,
        {"yamato-bakery-t1", "yamato-bakery", "tenri-cci", "admin"},
    ),
    Endpoint("void", "POST", lambda f: f"/v1/sales/{f.sale_id}/void", lambda d: {}, {"yamato-bakery-t1"}),
    Endpoint(
        "issue", "POST", lambda f: "/v1/tickets/issue",
        lambda d: issue([2000], receipt_base=int.from_bytes(os.urandom(4))),
        {"tenri", "tenri-counter-1"},
    ),
    Endpoint(
        "ticket", "GET", lambda f: f"/v1/tickets/{f.ticket_serial}", None,
        TERMINALS | {"yamato-bakery", "sakura-books", "tenri", "admin"},
    ),
    Endpoint(
        "award", "POST", lambda f: "/v1/awards",
        lambda d: {"award_id": str(ULID()), "card_key": fresh_card(), "program_id": "toshima-points",
                   "event_id": "toshima-cleanup-2026-11", "kind": "volunteer"},
        {"toshima-award-1", "toshima"},
    ),
    Endpoint(
        "conversion", "POST", lambda f: "/v1/conversions",
        lambda d: {"conversion_id": str(ULID()), "card_key": fresh_card(), "program_id": "oguni-kitasato",
                   "points": 10},
        {"skyair"},
    ),
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_only_owners_get_through(endpoint: Endpoint, api, demo: Demo) -> None:
    failures = []
    for principal in PRINCIPALS:
        posted = await api(SHOP).post("/v1/sales", json=sale(demo.card(), total=500, points={TENRI: 100}))
        issued = await api("tenri-counter-1").post(
            "/v1/tickets/issue", json=issue([1000], receipt_base=int.from_bytes(os.urandom(4)))
        )
        fixtures = Fixtures(posted.json()["sale_id"], issued.json()["tickets"][0]["serial"])
        client: httpx.AsyncClient = api(principal)
        body = endpoint.body(demo) if endpoint.body else None
        answer = await client.request(endpoint.method, endpoint.path(fixtures), json=body)
        if principal in endpoint.allowed:
            ok = answer.status_code == 200
        else:
            ok = answer.status_code in (401, 403, 404) and "code" in answer.json()
            if principal is None:
                ok = ok and answer.status_code == 401
        if not ok:
            failures.append((principal, answer.status_code, answer.text[:120]))
    assert failures == []
