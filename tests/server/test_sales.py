"""Sales over the API (in-process): tenders, awards, idempotency, refusals that leave no trace, voids."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from typing import Any

import pytest
from ulid import ULID

from points.wire import Merchant, SaleRequest, TerminalMode
from server import admin, db, ledger, residents, sales
from server import demo as demo_data
from server.errors import ApiError
from server.store import Store
from tests.server.conftest import Clock, Demo
from tests.server.helpers import OTHER_SHOP, SHOP, TENRI, sale


def stored_sales(demo: Demo) -> int:
    return db.connect(demo.db_path).execute("SELECT COUNT(*) FROM sales").fetchone()[0]


def ledger_problems(demo: Demo) -> list[str]:
    return ledger.check(db.connect(demo.db_path))


async def balance(api, demo: Demo, card: str, program: str = TENRI) -> int:
    answer = await api(SHOP).post("/v1/cards/lookup", json={"card_key": card})
    return {b["program_id"]: b["points"] for b in answer.json()["balances"]}.get(program, 0)


async def test_a_sale_redeems_points_awards_and_gives_change(api, demo: Demo) -> None:
    card = demo.card()
    answer = await api(SHOP).post(
        "/v1/sales", json=sale(card, total=4000, points={TENRI: 500}, cash=4000, awards=[TENRI])
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "accepted"
    assert result["change"] == 500
    # 10 % of what was paid beyond points (3,500), in 100-point units
    assert result["awards"][0]["points"] == 300
    assert result["balances"] == [{"program_id": TENRI, "points": 4800, "expiring": []}]
    assert await balance(api, demo, card) == 4800
    assert ledger_problems(demo) == []


async def test_the_same_sale_twice_is_applied_once_with_the_same_answer(api, demo: Demo) -> None:
    body = sale(demo.card(), total=1000, points={TENRI: 1000})
    first = await api(SHOP).post("/v1/sales", json=body)
    again = await api(SHOP).post("/v1/sales", json=body)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert await balance(api, demo, demo.card()) == 4000
    assert stored_sales(demo) == 1


async def test_the_same_id_with_another_body_is_a_conflict(api, demo: Demo) -> None:
    body = sale(demo.card(), total=1000, points={TENRI: 1000})
    assert (await api(SHOP).post("/v1/sales", json=body)).status_code == 200
    changed = {**body, "points": [{"program_id": TENRI, "points": 900}], "cash": 100}
    answer = await api(SHOP).post("/v1/sales", json=changed)
    assert answer.status_code == 409
    assert answer.json()["code"] == "idempotency_mismatch"
    # Another terminal reusing the id is a different body too.
    assert (await api(OTHER_SHOP).post("/v1/sales", json=body)).json()["code"] == "idempotency_mismatch"


async def test_refused_sales_leave_no_trace(api, demo: Demo) -> None:
    card = demo.card()
    cases = [
        (sale(card, total=9000, points={TENRI: 2999}, awards=[TENRI], cash=0), "underpaid"),
        (sale(card, total=100, points={TENRI: 200}), "points_exceed_total"),
        (sale(card, total=6000, points={TENRI: 5001}), "pin_required"),
        (sale(card, total=5000, points={"no-such": 10}), "unknown_program"),
        (sale(card, total=5000, points={"tenri-silver": 10}), "not_eligible"),
        (sale(card, total=5000, awards=["oguni-kitasato"]), "no_award_rule"),
        (sale(card, total=5000, awards=[TENRI, TENRI]), "invalid_request"),
    ]
    for body, code in cases:
        answer = await api(SHOP).post("/v1/sales", json=body)
        assert answer.json()["code"] == code, (code, answer.text)
        assert 400 <= answer.status_code < 500
    assert stored_sales(demo) == 0
    assert await balance(api, demo, card) == 5000
    assert ledger_problems(demo) == []


async def test_a_resident_cannot_spend_more_than_they_hold(api, demo: Demo) -> None:
    card = demo.card()
    for _ in range(2):
        assert (
            await api(SHOP).post("/v1/sales", json=sale(card, total=2500, points={TENRI: 2500}))
        ).status_code == 200
    answer = await api(SHOP).post("/v1/sales", json=sale(card, total=100, points={TENRI: 1}))
    assert (answer.status_code, answer.json()["code"]) == (409, "insufficient_points")
    assert await balance(api, demo, card) == 0


async def test_a_program_the_merchant_does_not_take_is_refused(api, demo: Demo) -> None:
    conn = db.connect(demo.db_path)
    with db.atomic(conn):
        admin.add_merchant(conn, Merchant(id="outsider", name="よその店"))
        admin.add_terminal(conn, "outsider-t1", TerminalMode.SHOP, merchant_id="outsider")
        demo.tokens["outsider-t1"] = admin.add_principal(
            conn, "outsider-t1", "terminal", terminal_id="outsider-t1"
        )
    answer = await api("outsider-t1").post(
        "/v1/sales", json=sale(demo.card(), total=500, points={TENRI: 500})
    )
    assert answer.json()["code"] == "program_not_accepted"
    config = (await api("outsider-t1").get("/v1/terminal/config")).json()
    assert TENRI not in [p["id"] for p in config["programs"]]


async def test_eligibility_set_by_the_city_opens_a_program(api, demo: Demo) -> None:
    card = demo.card("sato")
    body = sale(card, total=1000, points={"tenri-silver": 1})
    assert (await api(SHOP).post("/v1/sales", json=body)).json()["code"] == "not_eligible"
    tags = {"tags": [{"tag": "age65", "valid_until": "2099-03-31"}]}
    answer = await api("tenri-enroll-1").put(f"/v1/cards/{card}/eligibility", json=tags)
    assert answer.status_code == 200, answer.text
    assert answer.json()["eligibility"] == [{"tag": "age65", "valid_until": "2099-03-31"}]
    # Tanaka holds silver points; Sato, now eligible, holds none yet: the refusal is now about points.
    assert (await api(SHOP).post("/v1/sales", json=body)).json()["code"] == "insufficient_points"
    tanaka = sale(demo.card("tanaka"), total=1000, points={"tenri-silver": 1000})
    assert (await api(SHOP).post("/v1/sales", json=tanaka)).status_code == 200


async def test_a_void_on_the_same_day_reverses_everything(api, demo: Demo) -> None:
    card = demo.card()
    body = sale(card, total=5000, points={TENRI: 1000}, awards=[TENRI])
    assert (await api(SHOP).post("/v1/sales", json=body)).json()["awards"][0]["points"] == 400
    assert await balance(api, demo, card) == 4400
    voided = await api(SHOP).post(f"/v1/sales/{body['sale_id']}/void", json={"reason": "打ち間違い"})
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"
    assert await balance(api, demo, card) == 5000
    again = await api(SHOP).post(f"/v1/sales/{body['sale_id']}/void", json={"reason": "打ち間違い"})
    assert again.content == voided.content
    # A retry of the original sale now tells the terminal it was voided, and applies nothing.
    retry = await api(SHOP).post("/v1/sales", json=body)
    assert retry.json()["status"] == "voided"
    assert await balance(api, demo, card) == 5000
    conn = db.connect(demo.db_path)
    kinds = [
        row[0] for row in conn.execute("SELECT kind FROM transfers WHERE sale_id = ?", (body["sale_id"],))
    ]
    assert sorted(kinds) == ["award", "redeem_points", "void", "void"]
    assert ledger.check(conn) == []


async def test_a_void_is_refused_the_next_day_and_for_another_merchant(api, demo: Demo, clock: Clock) -> None:
    body = sale(demo.card(), total=1000, points={TENRI: 100})
    await api(SHOP).post("/v1/sales", json=body)
    other = await api(OTHER_SHOP).post(f"/v1/sales/{body['sale_id']}/void", json={})
    assert (other.status_code, other.json()["code"]) == (404, "sale_not_found")
    clock.advance(days=1)
    late = await api(SHOP).post(f"/v1/sales/{body['sale_id']}/void", json={})
    assert (late.status_code, late.json()["code"]) == (409, "void_not_same_day")


async def test_a_void_is_refused_when_the_award_was_spent(api, demo: Demo) -> None:
    card = demo.card()
    earning = sale(card, total=50_000, awards=[TENRI])
    assert (await api(SHOP).post("/v1/sales", json=earning)).json()["awards"][0]["points"] == 5000
    # Above the no-PIN limit (3,000) a PIN proof is needed; spend it in two sales instead.
    for part in (3000, 3000, 3000, 1000):
        body = sale(card, total=part, points={TENRI: part})
        assert (await api(SHOP).post("/v1/sales", json=body)).status_code == 200
    answer = await api(SHOP).post(f"/v1/sales/{earning['sale_id']}/void", json={})
    assert (answer.status_code, answer.json()["code"]) == (409, "award_spent")
    assert ledger_problems(demo) == []


async def test_get_sale_returns_the_stored_answer_to_its_owners_only(api, demo: Demo) -> None:
    body = sale(demo.card(), total=1000, points={TENRI: 100})
    posted = await api(SHOP).post("/v1/sales", json=body)
    for principal in (SHOP, "yamato-bakery", "tenri-cci", "admin"):
        answer = await api(principal).get(f"/v1/sales/{body['sale_id']}")
        assert answer.content == posted.content, principal
    for principal in (OTHER_SHOP, "sakura-books"):
        assert (await api(principal).get(f"/v1/sales/{body['sale_id']}")).status_code == 404


async def test_lookup_lists_lots_expiring_within_30_days(api, demo: Demo, clock: Clock) -> None:
    conn = db.connect(demo.db_path)
    card = demo.card()
    program = {p.id: p for p in demo_data.programs()}[TENRI]
    with db.atomic(conn):
        admin.grant(conn, card, program, 700, now=clock.now - dt.timedelta(days=160))
    lookup = (await api(SHOP).post("/v1/cards/lookup", json={"card_key": card})).json()
    tenri = next(b for b in lookup["balances"] if b["program_id"] == TENRI)
    assert tenri["points"] == 5700
    assert [lot["points"] for lot in tenri["expiring"]] == [700]


def test_sqlite_refuses_a_negative_resident_balance_even_without_the_app(demo: Demo) -> None:
    conn = db.connect(demo.db_path)
    resident = conn.execute("SELECT id FROM accounts WHERE kind = 'resident' LIMIT 1").fetchone()[0]
    try:
        conn.execute("UPDATE accounts SET balance = -1 WHERE id = ?", (resident,))
    except sqlite3.IntegrityError:
        return
    raise AssertionError("a negative resident balance was stored")


async def test_other_tenders_are_recorded_and_never_reach_the_ledger(api, demo: Demo) -> None:
    body = sale(
        total=2000, cash=700, external=[{"kind": "credit", "amount": 800}, {"kind": "qr", "amount": 500}]
    )
    answer = await api(SHOP).post("/v1/sales", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["change"] == 0
    conn = db.connect(demo.db_path)
    rows = conn.execute("SELECT kind, amount FROM sale_external_tenders ORDER BY line_no").fetchall()
    assert [tuple(r) for r in rows] == [("credit", 800), ("qr", 500)]
    assert ledger_problems(demo) == []
    again = await api(SHOP).post("/v1/sales", json=body)
    assert again.content == answer.content  # idempotent: recorded once
    assert conn.execute("SELECT COUNT(*) FROM sale_external_tenders").fetchone()[0] == 2
    too_much = sale(total=1000, cash=0, external=[{"kind": "ic", "amount": 1200}])
    refused = await api(SHOP).post("/v1/sales", json=too_much)
    assert refused.status_code == 400 and refused.json()["code"] == "external_exceeds_due"


async def test_a_sale_without_other_tenders_hashes_as_before_they_existed(api, demo: Demo) -> None:
    from points.wire import ExternalKind, ExternalTender, SaleRequest
    from server.sales import request_hash

    body = sale(total=1000)
    request = SaleRequest.model_validate(body)
    assert "external" not in request.model_dump_json(exclude={"external"})
    assert request_hash("t", request) == request_hash("t", request.model_copy(update={"external": []}))
    with_card = request.model_copy(update={"external": [ExternalTender(kind=ExternalKind.QR, amount=1)]})
    assert request_hash("t", request) != request_hash("t", with_card)


def _fresh_card(name: str) -> str:
    return "uid:" + hashlib.sha256(f"test-{name}-{ULID()}".encode()).hexdigest()


def _give(conn: Any, card_key: str, program_id: str, points: int, days_left: int) -> None:
    """A lot of ``points`` for the card that lasts ``days_left`` more days (as a grant makes one)."""
    program = {p.id: p for p in demo_data.programs()}[program_id]
    now = ledger.utc_now()
    number = residents.open_account(conn, card_key, now)
    ledger.earn(
        conn,
        kind="grant",
        program_id=program_id,
        debit=ledger.account(conn, "funding", ledger.funding_owner(program.funding.kind, program.funding.id),
                             program_id),
        resident=ledger.account(conn, "resident", number, program_id),
        amount=points,
        expires_on=ledger.business_date(now) + dt.timedelta(days=days_left),
        now=now,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lots", "spent"),
    [
        ([(100, 3), (50, 3), (200, 10)], 120),  # every lot in the first read
        ([(100, 3), (50, 3), (200, 10), (300, 20), (100, 40), (500, 200), (1000, 400)], 400),  # more
        ([(100, 5), (40, 40), (60, 60), (90, 90), (200, 200)], 150),  # across two lots, days to 200
        ([(10, 40), (10, 40), (10, 40), (10, 40), (1000, 50)], 70),  # past the first page of lots
    ],
)
async def test_a_sale_answers_with_the_balance_a_lookup_reads_after_it(
    api, demo: Demo, lots: list[tuple[int, int]], spent: int
) -> None:
    # The balance on the receipt (points, and the lots expiring within 30 days) is the card's own.
    card = _fresh_card("lots")
    conn = db.connect(demo.db_path)
    with db.atomic(conn):
        for points, days_left in lots:
            _give(conn, card, TENRI, points, days_left)
    body = sale(card, total=3000, points={TENRI: spent}, awards=[TENRI])
    answer = await api(SHOP).post("/v1/sales", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["awards"][0]["points"] > 0
    looked_up = (await api(SHOP).post("/v1/cards/lookup", json={"card_key": card})).json()["balances"]
    assert answer.json()["balances"] == [b for b in looked_up if b["program_id"] == TENRI]
    held = sum(points for points, _ in lots)
    assert answer.json()["balances"][0]["points"] == held - spent + answer.json()["awards"][0]["points"]
    assert ledger_problems(demo) == []


def test_an_offline_sale_refused_on_sync_keeps_its_refusal_when_it_comes_again(demo: Demo) -> None:
    # Refused for too few points when it was synced, the sale is not accepted when it comes again
    # after the card got points: the id stays claimed, and its stored refusal is the answer.
    card = _fresh_card("offline")
    store = Store(demo.db_path)
    conn = db.connect(demo.db_path)
    try:
        with db.atomic(conn):
            admin.grant(conn, card, {p.id: p for p in demo_data.programs()}["toshima-points"], 100)
        principal = store.principal(demo.tokens[SHOP])
        assert principal is not None
        request = SaleRequest.model_validate(
            sale(card, total=300, points={"toshima-points": 300}, offline=True)
        )
        prepared = sales.prepare(store, principal, request, sales.request_hash(principal.id, request))
        with db.atomic(conn):
            first = sales.apply(conn, prepared)
        assert isinstance(first, ApiError) and first.code == "insufficient_points"
        with db.atomic(conn):
            admin.grant(conn, card, {p.id: p for p in demo_data.programs()}["toshima-points"], 500)
        with db.atomic(conn):
            again = sales.apply(conn, prepared)
        assert isinstance(again, ApiError) and again.code == "insufficient_points"
        assert stored_sales(demo) == 0
        kind = conn.execute("SELECT kind FROM operations WHERE id = ?", (request.sale_id,)).fetchone()
        assert kind is not None and kind[0] == "sale"
    finally:
        conn.close()
        store.close()
