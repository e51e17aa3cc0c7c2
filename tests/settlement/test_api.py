"""Settlement endpoints through the real app (in process): the month end, and who may do what.

Sales are made through ``POST /v1/sales`` as a shop terminal would; the server's clock is moved
so that November's sales, a late December sale and the close happen when the test says.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from ulid import ULID

from points.programs import ExchangeAward, FundingSource, Program
from server import admin, db
from server.settlement import periods, zengin
from tests.settlement.conftest import Books
from tests.settlement.demo_server import DEC, NOV, Demo, make_demo, sell


@pytest.fixture
def month(tmp_path: pathlib.Path) -> Iterator[Demo]:
    d = make_demo(tmp_path)
    yield d
    d.app.state.store.close()


async def test_a_month_end_from_sales_to_the_zengin_file(month: Demo) -> None:
    await sell(month, "yamato-bakery", "sato", 1000)
    await sell(month, "yamato-bakery", "suzuki", 700)
    voided = await sell(month, "sakura-books", "sato", 300)
    async with month.client("sakura-books-t1") as client:
        answer = await client.post(f"/v1/sales/{voided['sale_id']}/void", json={"reason": "mistake"})
        assert answer.status_code == 200, answer.text
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        closed = (await chamber.post("/v1/periods/2026-11/close")).json()
        assert (closed["claims"], closed["gross"], closed["already_closed"]) == (2, 1700, False)
        again = (await chamber.post("/v1/periods/2026-11/close")).json()
        assert again["already_closed"] and again["gross"] == 1700
    # A late offline sale synced after the close waits for December.
    await sell(month, "yamato-bakery", "takahashi", 400)
    async with month.client("tenri-cci") as chamber:
        listed = (await chamber.get("/v1/claims", params={"period": "2026-11"})).json()
        assert {c["merchant_id"]: c["net"] for c in listed} == {"yamato-bakery": 1700, "sakura-books": 0}
        books = next(c for c in listed if c["merchant_id"] == "sakura-books")
        assert books["voided"] == 300
        lines = (await chamber.get(f"/v1/claims/{listed[1]['id']}/lines")).json()
        assert len(lines) == 2 and all(line["sale_id"] for line in lines)
        returned = await chamber.post(f"/v1/claims/{books['id']}/return", json={"reason": "レシート確認中"})
        assert returned.json()["state"] == "returned"
        bakery = next(c for c in listed if c["merchant_id"] == "yamato-bakery")
        assert (await chamber.post(f"/v1/claims/{bakery['id']}/approve")).json()["state"] == "approved"
    async with month.client("sakura-books") as merchant:
        mine = (await merchant.get("/v1/claims")).json()
        assert [c["return_reason"] for c in mine] == ["レシート確認中"]
    async with month.client("tenri") as city:
        refused = await city.post(f"/v1/claims/{books['id']}/approve")
        assert refused.status_code == 409 and refused.json()["code"] == "claim_state"
        assert (await city.post(f"/v1/claims/{bakery['id']}/approve")).json()["state"] == "payment_approved"
        plan = (await city.get("/v1/payouts/2026-11")).json()
        # Tenri's tickets are paid via the chamber: the city's file pays the chamber.
        assert plan["payments"] == [
            {"payee_kind": "chamber", "payee_id": "tenri-cci", "amount": 1700, "claims": 1, "why": None}
        ]
        answer = await city.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-10"})
        assert answer.status_code == 200, answer.text
        city_file = zengin.read(answer.content, 2026)
        assert city_file.total == 1700 and city_file.transfers[0].account.number == "7654321"
        recon = (await city.get("/v1/reconciliation/2026-11")).json()
        assert recon["balanced"] and recon["claims_gross"] == recon["receivables_moved"] == 1700
    async with month.client("tenri-cci") as chamber:
        answer = await chamber.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-11"})
        chamber_file = zengin.read(answer.content, 2026)
        assert [(t.account.number, t.amount) for t in chamber_file.transfers] == [("1234567", 1700)]
        summary = await chamber.get("/v1/summaries/2026-11")
        assert summary.content.startswith("\ufeff".encode()) and "合計".encode() in summary.content
    async with month.client("yamato-bakery") as merchant:
        doc = (await merchant.get("/v1/statements/yamato-bakery/2026-11")).json()
        assert doc["totals"]["net"] == 1700 and doc["claims"][0]["state"] == "payment_approved"
        csv = await merchant.get("/v1/statements/yamato-bakery/2026-11", params={"format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith(b"\xef\xbb\xbf")
    month.clock[0] = dt.datetime(2027, 1, 3, tzinfo=dt.UTC)
    async with month.client("tenri-cci") as chamber:
        december = (await chamber.post("/v1/periods/2026-12/close")).json()
        assert december["gross"] == 400


async def test_reopen_is_for_admins_and_needs_a_reason(month: Demo) -> None:
    await sell(month, "yamato-bakery", "sato", 100)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
        forbidden = await chamber.post(
            "/v1/periods/2026-11/reopen", json={"chamber_id": "tenri-cci", "reason": "x"}
        )
        assert forbidden.status_code == 403
    async with month.client("admin") as admin:
        empty = await admin.post("/v1/periods/2026-11/reopen", json={"chamber_id": "tenri-cci", "reason": ""})
        assert empty.status_code == 422
        done = await admin.post(
            "/v1/periods/2026-11/reopen", json={"chamber_id": "tenri-cci", "reason": "口座誤り"}
        )
        assert done.json()["withdrawn_claims"] == 1
        log = (await admin.get("/v1/log")).json()
        assert [line["detail"].get("reason") for line in log if line["action"] == "reopen"] == ["口座誤り"]


# The role matrix ----------------------------------------------------------------------

CLAIM = "2026-11:yamato-bakery:tenri-megumi"
OTHER_CLAIM = "2026-11:sakura-books:tenri-megumi"
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/periods/2026-11/close", None),
    ("POST", "/v1/periods/2026-11/reopen", {"chamber_id": "tenri-cci", "reason": "test"}),
    ("GET", "/v1/periods", None),
    ("GET", "/v1/claims", None),
    ("GET", f"/v1/claims/{CLAIM}", None),
    ("GET", f"/v1/claims/{CLAIM}/lines", None),
    ("POST", f"/v1/claims/{CLAIM}/approve", None),
    ("POST", f"/v1/claims/{CLAIM}/return", {"reason": "test"}),
    ("GET", "/v1/payouts/2026-11", None),
    ("GET", "/v1/payouts/2026-11/zengin", None),
    ("GET", "/v1/reconciliation/2026-11", None),
    ("GET", "/v1/statements/yamato-bakery/2026-11", None),
    ("GET", "/v1/summaries/2026-11", None),
    ("GET", "/v1/partners/2026-11", None),
    ("GET", "/v1/log", None),
    ("GET", "/v1/ranking/tenri-megumi", None),
    # Tenri's ticket program has no exchange rule: a city may ask, and is told so (ranking_invalid).
    ("POST", "/v1/ranking/tenri-megumi/2026", {"threshold": 5000, "top_k": 10}),
]
#: principal → the endpoints (by index in ENDPOINTS) it may use; every other one is refused.
ALLOWED = {
    "yamato-bakery-t1": {11},  # a shop terminal prints its own merchant's statement
    "sakura-books-t1": set(),  # but not another shop's
    "yamato-bakery": {3, 4, 5, 11},
    "sakura-books": {3},  # sees its own (empty) list; the bakery's claim and statement do not exist for it
    "tenri-cci": {0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14},
    "tenri": {2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16},
    # Toshima's lists come back empty; the Tenri claim and program are not its own.
    "toshima": {2, 3, 8, 9, 10, 11, 12, 13, 14},
    "skyair": {13},
    "admin": {0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16},
    None: set(),
}


@pytest.fixture(scope="module")
def closed_month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    d = make_demo(tmp_path_factory.mktemp("matrix"))
    conn = db.connect(d.path)
    # A closed November with one claim per shop, made directly (the month-end test covers the path).
    books = Books(conn)
    books.redeem("yamato-bakery", "tenri-megumi", 500, NOV)
    books.redeem("sakura-books", "tenri-megumi", 500, NOV)
    periods.close(conn, "tenri-cci", periods.parse_period("2026-11"), "setup", now=DEC)
    conn.close()
    d.clock[0] = DEC
    yield d
    d.app.state.store.close()


@pytest.fixture
async def caller(closed_month: Demo) -> AsyncIterator[Demo]:
    yield closed_month


@pytest.mark.parametrize("who", list(ALLOWED))
async def test_role_matrix(caller: Demo, who: str | None) -> None:
    outcomes = []
    async with caller.client(who) as client:
        for index, (method, path, body) in enumerate(ENDPOINTS):
            if method == "POST" and index in ALLOWED[who] and index in (1, 6, 7):
                continue  # state-changing calls that succeed are covered above; here only refusals
            answer = await client.request(method, path, json=body)
            if index in ALLOWED[who]:
                ok = answer.status_code < 400 or answer.json()["code"] in (
                    "no_payer",
                    "no_chamber",
                    "ranking_invalid",
                    "payout_not_approved",  # nothing approved for payment yet: no empty file
                )
            else:
                ok = answer.status_code in (401, 403, 404) and answer.json()["code"] in (
                    "unauthorized",
                    "forbidden",
                    "claim_not_found",
                    "unknown_merchant",
                    "unknown_program",
                )
            outcomes.append((method, path, answer.status_code, answer.text[:120], ok))
    assert [o for o in outcomes if not o[-1]] == []


async def test_an_offline_sale_refused_on_sync_is_a_disputed_line_never_paid(month: Demo) -> None:
    await sell(month, "yamato-bakery", "sato", 600)
    offline = {
        "sale_id": str(ULID()),
        "terminal_time": month.clock[0].isoformat(),
        "receipt_no": 9,
        "card_key": month.cards["suzuki"]["card_key"],
        "totals": [{"rate": 8, "amount": 1000}],
        "points": [{"program_id": "tenri-megumi", "points": 400}],
        "cash": 600,
        "offline": True,
    }
    async with month.client("yamato-bakery-t1") as terminal:
        batch = (await terminal.post("/v1/sales/batch", json={"sales": [offline]})).json()
    assert batch["items"][0]["error"]["code"] == "offline_limit_exceeded"
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        closed = (await chamber.post("/v1/periods/2026-11/close")).json()
        assert (closed["disputes"], closed["gross"]) == (1, 600)
    async with month.client("yamato-bakery") as merchant:
        doc = (await merchant.get("/v1/statements/yamato-bakery/2026-11")).json()
    money = {key: doc["totals"][key] for key in ("gross", "fee", "net", "disputed", "voided")}
    assert money == {"gross": 600, "fee": 0, "net": 600, "disputed": 400, "voided": 0}
    assert (doc["totals"]["redeemed_points_count"], doc["totals"]["disputed_count"]) == (1, 1)
    (line,) = doc["disputed"]
    assert (line["sale_id"], line["amount"], line["error_code"]) == (
        offline["sale_id"],
        400,
        "offline_limit_exceeded",
    )


async def test_a_city_runs_the_ranking_round_once_and_gets_voucher_slips(tmp_path: pathlib.Path) -> None:
    d = make_demo(tmp_path)
    walk = Program(
        id="tenri-walk",
        name_ja="天理健康ウォーク",
        name_en="Tenri health walk",
        city="tenri",
        funding=FundingSource(kind="city", id="tenri"),
        award_rule=ExchangeAward(threshold=5000, voucher_value=500, voucher_count=10),
    )
    conn = db.connect(d.path)
    with db.atomic(conn):
        admin.put_program(conn, walk)
        for resident, points in (("sato", 9000), ("suzuki", 5000), ("takahashi", 4999)):
            admin.grant(conn, str(d.cards[resident]["card_key"]), walk, points, now=NOV)
    conn.close()
    try:
        body = {"threshold": 5000, "top_k": 200}
        async with d.client("toshima") as other_city:
            refused = await other_city.post("/v1/ranking/tenri-walk/2026", json=body)
            assert refused.status_code == 404  # not Toshima's program
        async with d.client("tenri") as city:
            preview = (await city.get("/v1/ranking/tenri-walk", params={"threshold": 5000})).json()
            assert [line["balance"] for line in preview] == [9000, 5000]
            first = (await city.post("/v1/ranking/tenri-walk/2026", json=body)).json()
            assert (first["holders"], first["points"], first["repeated"]) == (2, 10000, False)
            assert len(first["awarded"][0]["tickets"]) == 10
            again = (await city.post("/v1/ranking/tenri-walk/2026", json=body)).json()
            assert again["repeated"] and again["points"] == 10000
            after = (await city.get("/v1/ranking/tenri-walk", params={"threshold": 1})).json()
            assert [line["balance"] for line in after] == [4999, 4000]
        serial = first["awarded"][0]["tickets"][0]["serial"]
        async with d.client("yamato-bakery-t1") as terminal:
            ticket = (await terminal.get(f"/v1/tickets/{serial}")).json()
        assert (ticket["state"], ticket["value"]) == ("issued", 500)
    finally:
        d.app.state.store.close()
