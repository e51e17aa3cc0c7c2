"""Returns (返品) over the API: part of a sale given back, several times up to its total, never beyond."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ulid import ULID

from points.calendar import period_of
from server import db, ledger
from server.settlement import claims, periods
from server.settlement.claims import Scope
from tests.server.conftest import Clock, Demo
from tests.server.helpers import OTHER_SHOP, SHOP, TENRI, sale


def returning(
    amounts: dict[int, int],
    *,
    points: dict[str, int] | None = None,
    cash: int | None = None,
    card_key: str | None = None,
    return_id: str | None = None,
) -> dict[str, Any]:
    """A return body: refunds the rest in cash unless ``cash`` is given."""
    points = points or {}
    body: dict[str, Any] = {
        "return_id": return_id or str(ULID()),
        "terminal_time": dt.datetime.now(dt.UTC).isoformat(),
        "receipt_no": 7,
        "amounts": [{"rate": rate, "amount": amount} for rate, amount in amounts.items()],
        "points": [{"program_id": p, "points": n} for p, n in points.items()],
        "cash": sum(amounts.values()) - sum(points.values()) if cash is None else cash,
    }
    if card_key is not None:
        body["card_key"] = card_key
    return body


async def balance(api, card: str, program: str = TENRI) -> int:
    answer = await api(SHOP).post("/v1/cards/lookup", json={"card_key": card})
    return {b["program_id"]: b["points"] for b in answer.json()["balances"]}.get(program, 0)


def problems(demo: Demo) -> list[str]:
    return ledger.check(db.connect(demo.db_path))


async def two_rate_sale(api, card: str) -> str:
    """A 5,000 yen sale (3,000 at 10 %, 2,000 at 8 %) paying 1,000 points and awarding 400."""
    body = sale(
        card,
        total=5000,
        points={TENRI: 1000},
        awards=[TENRI],
        totals=[{"rate": 10, "amount": 3000}, {"rate": 8, "amount": 2000}],
    )
    answer = await api(SHOP).post("/v1/sales", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["awards"][0]["points"] == 400
    return str(body["sale_id"])


async def test_a_sale_is_returned_in_parts_up_to_its_total_and_never_beyond(api, demo: Demo) -> None:
    card = demo.card()
    sale_id = await two_rate_sale(api, card)
    assert await balance(api, card) == 4400
    url = f"/v1/sales/{sale_id}/returns"
    first = await api(SHOP).post(url, json=returning({8: 1000}, points={TENRI: 500}, card_key=card))
    assert first.status_code == 200, first.text
    result = first.json()
    # 1,000 of 5,000 yen returned: a fifth of the 400 points awarded goes back.
    assert result["awards_taken_back"] == [{"program_id": TENRI, "points": 80, "expires_on": None}]
    assert (result["sale_returned"], result["sale_total"], result["cash"]) == (1000, 5000, 500)
    assert result["balances"][0]["points"] == 4400 + 500 - 80
    second = await api(SHOP).post(url, json=returning({10: 3000}, points={TENRI: 500}, card_key=card))
    assert second.status_code == 200, second.text
    # 4,000 of 5,000 returned in all: 320 taken back in all, so 240 by this one.
    assert second.json()["awards_taken_back"][0]["points"] == 240
    assert await balance(api, card) == 4820 + 500 - 240
    refusals = [
        (returning({8: 1001}), "return_exceeds_sale"),  # 1,000 yen at 8 % are left
        (returning({10: 1}), "return_exceeds_sale"),  # nothing at 10 % is left
        (returning({8: 500}, points={TENRI: 1}, card_key=card), "refund_points_exceed_sale"),
        (returning({8: 500}, cash=400), "refund_mismatch"),
        (returning({8: 0}), "return_empty"),
    ]
    for body, code in refusals:
        answer = await api(SHOP).post(url, json=body)
        assert (answer.json()["code"], 400 <= answer.status_code < 500) == (code, True), answer.text
    last = await api(SHOP).post(url, json=returning({8: 1000}))
    assert last.status_code == 200, last.text
    # The whole sale is back: every awarded point with it, whatever the order of the parts.
    assert last.json()["awards_taken_back"][0]["points"] == 80
    assert last.json()["sale_returned"] == 5000
    assert await balance(api, card) == 5000
    beyond = await api(SHOP).post(url, json=returning({8: 1}))
    assert (beyond.status_code, beyond.json()["code"]) == (409, "return_exceeds_sale")
    # A sale with returns is never voided: its returns already gave part of it back.
    void = await api(SHOP).post(f"/v1/sales/{sale_id}/void", json={})
    assert (void.status_code, void.json()["code"]) == (409, "sale_has_returns")
    assert problems(demo) == []
    conn = db.connect(demo.db_path)
    kinds = conn.execute(
        "SELECT t.kind, SUM(t.amount) FROM transfers t JOIN sale_returns r ON r.return_id = t.sale_id"
        " WHERE r.sale_id = ? AND t.op_kind = 'return' GROUP BY t.kind ORDER BY t.kind",
        (sale_id,),
    ).fetchall()
    assert [tuple(k) for k in kinds] == [("return_award", 400), ("return_points", 1000)]


async def test_the_same_return_id_gets_the_same_answer_and_another_body_is_a_conflict(
    api, demo: Demo
) -> None:
    card = demo.card()
    sale_id = await two_rate_sale(api, card)
    body = returning({10: 1000}, points={TENRI: 300}, card_key=card)
    url = f"/v1/sales/{sale_id}/returns"
    first = await api(SHOP).post(url, json=body)
    again = await api(SHOP).post(url, json=body)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert await balance(api, card) == 4400 + 300 - 80  # applied once
    changed = {**body, "cash": 800, "points": [{"program_id": TENRI, "points": 200}]}
    answer = await api(SHOP).post(url, json=changed)
    assert (answer.status_code, answer.json()["code"]) == (409, "idempotency_mismatch")
    other_sale = await two_rate_sale(api, card)
    elsewhere = await api(SHOP).post(f"/v1/sales/{other_sale}/returns", json=body)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "idempotency_mismatch")
    # A return id is an operation id: a sale id cannot be reused for it, nor it for a sale.
    taken = await api(SHOP).post(url, json=returning({10: 100}, return_id=other_sale))
    assert (taken.status_code, taken.json()["code"]) == (409, "operation_id_taken")
    conn = db.connect(demo.db_path)
    assert conn.execute("SELECT COUNT(*) FROM sale_returns").fetchone()[0] == 1
    assert problems(demo) == []


async def test_voided_unknown_others_and_a_wrong_card_are_refused(api, demo: Demo) -> None:
    card = demo.card()
    voided = await two_rate_sale(api, card)
    assert (await api(SHOP).post(f"/v1/sales/{voided}/void", json={})).status_code == 200
    answer = await api(SHOP).post(f"/v1/sales/{voided}/returns", json=returning({10: 100}))
    assert (answer.status_code, answer.json()["code"]) == (409, "return_of_voided_sale")
    sale_id = await two_rate_sale(api, card)
    other = await api(OTHER_SHOP).post(f"/v1/sales/{sale_id}/returns", json=returning({10: 100}))
    assert (other.status_code, other.json()["code"]) == (404, "sale_not_found")
    unknown = await api(SHOP).post(f"/v1/sales/{ULID()}/returns", json=returning({10: 100}))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "sale_not_found")
    wrong = returning({10: 100}, points={TENRI: 100}, card_key=demo.card("tanaka"))
    answer = await api(SHOP).post(f"/v1/sales/{sale_id}/returns", json=wrong)
    assert (answer.status_code, answer.json()["code"]) == (409, "return_card_mismatch")
    no_card = {**returning({10: 100}, points={TENRI: 100})}
    answer = await api(SHOP).post(f"/v1/sales/{sale_id}/returns", json=no_card)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request")
    assert db.connect(demo.db_path).execute("SELECT COUNT(*) FROM sale_returns").fetchone()[0] == 0
    assert problems(demo) == []


async def test_a_sale_of_an_earlier_day_is_returned_and_its_claim_shrinks_in_the_period_of_the_return(
    api, demo: Demo, clock: Clock
) -> None:
    card = demo.card()
    sale_id = await two_rate_sale(api, card)
    sold_at = clock.now
    sold_in = period_of(sold_at)
    conn = db.connect(demo.db_path)
    periods.close(conn, "tenri-cci", sold_in, "clerk", now=sold_at + dt.timedelta(minutes=1))
    admin = Scope("admin")
    sold_claim = claims.get_claim(conn, admin, f"{sold_in.id}:yamato-bakery:{TENRI}")
    assert (sold_claim["redeemed_points"], sold_claim["gross"]) == (1000, 1000)
    clock.advance(days=40)  # the next month: that claim is closed
    answer = await api(SHOP).post(
        f"/v1/sales/{sale_id}/returns", json=returning({10: 3000}, points={TENRI: 600}, card_key=card)
    )
    assert answer.status_code == 200, answer.text
    returned_in = period_of(clock.now)
    assert returned_in.id != sold_in.id
    periods.close(conn, "tenri-cci", returned_in, "clerk", now=clock.now + dt.timedelta(minutes=1))
    claim = claims.get_claim(conn, admin, f"{returned_in.id}:yamato-bakery:{TENRI}")
    # The merchant's receivable shrinks by the points given back, in the period of the return.
    assert (claim["voided"], claim["gross"]) == (600, -600)
    assert claims.get_claim(conn, admin, f"{sold_in.id}:yamato-bakery:{TENRI}")["gross"] == 1000
    (line,) = claims.claim_lines(conn, admin, f"{returned_in.id}:yamato-bakery:{TENRI}")
    assert (line["kind"], line["sale_id"], line["amount"], line["receipt_no"]) == (
        "return_points",
        sale_id,
        600,
        1,
    )
    assert ledger.check(conn) == []


async def test_a_return_is_refused_when_the_awarded_points_to_take_back_were_spent(api, demo: Demo) -> None:
    card = demo.card()
    earning = sale(card, total=50_000, awards=[TENRI])
    assert (await api(SHOP).post("/v1/sales", json=earning)).json()["awards"][0]["points"] == 5000
    for part in (3000, 3000, 3000, 1000):
        spent = sale(card, total=part, points={TENRI: part})
        assert (await api(SHOP).post("/v1/sales", json=spent)).status_code == 200
    answer = await api(SHOP).post(f"/v1/sales/{earning['sale_id']}/returns", json=returning({10: 50_000}))
    assert (answer.status_code, answer.json()["code"]) == (409, "return_award_spent")
    assert await balance(api, card) == 0
    assert problems(demo) == []
