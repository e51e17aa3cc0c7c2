"""Tickets from receipts, ticket redemption, event awards, partner conversions, offline batches."""

from __future__ import annotations

import datetime as dt

from ulid import ULID

from points.tickets import TicketSigner
from server import db, ledger
from server.issuing import split_into_tickets
from tests.server.conftest import Clock, Demo
from tests.server.helpers import SHOP, TENRI, issue, sale

COUNTER = "tenri-counter-1"


async def issued_tickets(api, amounts: list[int], **options) -> list[dict]:
    answer = await api(COUNTER).post("/v1/tickets/issue", json=issue(amounts, **options))
    assert answer.status_code == 200, answer.text
    return answer.json()["tickets"]


def test_points_are_split_into_few_tickets() -> None:
    assert split_into_tickets(5000, 100) == [1000] * 5
    assert split_into_tickets(1700, 100) == [1000, 500, 100, 100]
    assert sum(split_into_tickets(12_300, 100)) == 12_300


async def test_receipts_give_tickets_by_the_tenri_rule_once(api, demo: Demo) -> None:
    body = issue([999, 1099, 12_345, 80_000])
    answer = await api(COUNTER).post("/v1/tickets/issue", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["points"] == 0 + 100 + 1200 + 5000
    assert sum(t["value"] for t in result["tickets"]) == 6300
    again = await api(COUNTER).post("/v1/tickets/issue", json=body)
    assert again.content == answer.content
    reused = issue([1099], receipt_base=1)  # the same receipt (merchant, number, date) as before
    refused = await api(COUNTER).post("/v1/tickets/issue", json=reused)
    assert (refused.status_code, refused.json()["code"]) == (409, "receipt_already_used")
    assert ledger.check(db.connect(demo.db_path)) == []


async def test_a_ticket_is_redeemed_once_and_gives_no_change(api, demo: Demo) -> None:
    ticket = (await issued_tickets(api, [10_000]))[0]
    assert ticket["value"] == 1000
    # Before it is used, a shop may have its text (a typed serial, the QR code torn off).
    before = (await api(SHOP).get(f"/v1/tickets/{ticket['serial']}")).json()
    assert (before["state"], before["text"]) == ("issued", ticket["text"])
    first = await api(SHOP).post("/v1/sales", json=sale(total=800, tickets=[ticket["text"]], cash=0))
    assert first.status_code == 200, first.text
    assert first.json()["tickets"] == [
        {"serial": ticket["serial"], "program_id": TENRI, "value": 1000, "applied": 800}
    ]
    assert first.json()["change"] == 0
    # Lower-case and padded, as a keyboard-wedge scanner might type it: still the same ticket.
    second = await api(SHOP).post(
        "/v1/sales", json=sale(total=800, tickets=[f" {ticket['text'].lower()} "], cash=0)
    )
    assert (second.status_code, second.json()["code"]) == (409, "ticket_already_redeemed")
    status = (await api(SHOP).get(f"/v1/tickets/{ticket['serial']}")).json()
    assert (status["state"], status["redeemed_by"], status["text"]) == ("redeemed", "yamato-bakery", None)
    assert (await api(COUNTER).get(f"/v1/tickets/{ticket['serial']}")).json()["text"] == ticket["text"]
    conn = db.connect(demo.db_path)
    merchant = ledger.find_account(conn, "merchant", "yamato-bakery", TENRI)
    assert merchant is not None and ledger.balance(conn, merchant) == 1000
    assert ledger.check(conn) == []


async def test_ticket_serials_are_random_not_counted_up(api, demo: Demo) -> None:
    serials = [t["serial"] for t in await issued_tickets(api, [50_000] * 4)]
    assert len(set(serials)) == len(serials) >= 4
    # Counted up, a shop could type its neighbours' serials; random, the next one is unguessable.
    assert sorted(b - a for a, b in zip(sorted(serials), sorted(serials)[1:], strict=False)) != [1] * (
        len(serials) - 1
    )


async def test_voiding_a_sale_puts_its_ticket_back(api, demo: Demo) -> None:
    ticket = (await issued_tickets(api, [5000]))[0]
    body = sale(total=500, tickets=[ticket["text"]], cash=0)
    assert (await api(SHOP).post("/v1/sales", json=body)).status_code == 200
    assert (await api(SHOP).post(f"/v1/sales/{body['sale_id']}/void", json={})).status_code == 200
    assert (await api(SHOP).get(f"/v1/tickets/{ticket['serial']}")).json()["state"] == "issued"
    assert (
        await api(SHOP).post("/v1/sales", json=sale(total=500, tickets=[ticket["text"]], cash=0))
    ).status_code == 200
    assert ledger.check(db.connect(demo.db_path)) == []


async def test_forged_and_expired_tickets_are_refused(api, demo: Demo, clock: Clock) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = TicketSigner(Ed25519PrivateKey.generate()).issue(999, TENRI, 1000, dt.date(2099, 1, 1))
    answer = await api(SHOP).post("/v1/sales", json=sale(total=1000, tickets=[forged], cash=0))
    assert answer.json()["code"] == "ticket_unknown_key"
    garbled = await api(SHOP).post("/v1/sales", json=sale(total=1000, tickets=["MKT1NOTATICKET"], cash=0))
    assert garbled.json()["code"] == "ticket_garbled"
    ticket = (await issued_tickets(api, [5000]))[0]
    clock.advance(days=400)
    late = await api(SHOP).post("/v1/sales", json=sale(total=1000, tickets=[ticket["text"]], cash=0))
    assert late.json()["code"] == "ticket_expired"
    assert (await api(SHOP).get(f"/v1/tickets/{ticket['serial']}")).json()["state"] == "expired"
    conn = db.connect(demo.db_path)
    with db.atomic(conn):
        report = ledger.expire(conn, ledger.business_date(clock.now), clock.now)
    assert report.tickets == 1
    assert ledger.check(conn) == []


async def test_an_event_awards_a_card_once(api, demo: Demo) -> None:
    body = {
        "award_id": str(ULID()),
        "card_key": demo.card(),
        "program_id": "toshima-points",
        "event_id": "toshima-cleanup-2026-11",
        "kind": "volunteer",
    }
    first = await api("toshima-award-1").post("/v1/awards", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["award"]["points"] == 200
    assert first.json()["balance"]["points"] == 1400
    assert (await api("toshima-award-1").post("/v1/awards", json=body)).content == first.content
    twice = await api("toshima-award-1").post("/v1/awards", json={**body, "award_id": str(ULID())})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_awarded")
    elsewhere = {**body, "award_id": str(ULID()), "event_id": "another-event"}
    assert (await api("toshima-award-1").post("/v1/awards", json=elsewhere)).status_code == 403
    assert (await api("toshima").post("/v1/awards", json=elsewhere)).status_code == 200


async def test_partner_conversions_are_one_way_and_idempotent(api, demo: Demo) -> None:
    body = {
        "conversion_id": "skyair-2026-0001",
        "card_key": demo.card(),
        "program_id": "oguni-kitasato",
        "points": 700,
    }
    first = await api("skyair").post("/v1/conversions", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["balance"]["points"] == 3700
    assert (await api("skyair").post("/v1/conversions", json=body)).content == first.content
    changed = await api("skyair").post("/v1/conversions", json={**body, "points": 800})
    assert changed.json()["code"] == "idempotency_mismatch"
    city_funded = await api("skyair").post("/v1/conversions", json={**body, "program_id": TENRI})
    assert city_funded.status_code == 403
    conn = db.connect(demo.db_path)
    funding = ledger.find_account(conn, "funding", "partner:skyair", "oguni-kitasato")
    assert funding is not None and ledger.balance(conn, funding) < 0
    assert ledger.check(conn) == []


async def test_an_offline_batch_is_applied_in_order_and_refusals_are_kept(api, demo: Demo) -> None:
    card = demo.card()
    within = sale(card, total=500, points={"toshima-points": 500}, offline=True)
    beyond = sale(card, total=900, points={"toshima-points": 600}, offline=True)
    plain = sale(total=300, offline=True)
    answer = await api(SHOP).post("/v1/sales/batch", json={"sales": [within, beyond, plain]})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [i["sale_id"] for i in items] == [within["sale_id"], beyond["sale_id"], plain["sale_id"]]
    assert items[0]["result"]["status"] == "accepted"
    assert items[1]["error"]["code"] == "offline_limit_exceeded"
    assert items[2]["result"]["status"] == "accepted"
    again = (await api(SHOP).post("/v1/sales/batch", json={"sales": [within, beyond]})).json()["items"]
    assert again[0]["result"] == items[0]["result"] and again[1]["error"]["code"] == "offline_limit_exceeded"
    conn = db.connect(demo.db_path)
    refused = conn.execute(
        "SELECT sale_id, merchant_id, program_id, amount, error_code FROM refused_sales"
    ).fetchall()
    assert [tuple(r) for r in refused] == [
        (beyond["sale_id"], "yamato-bakery", "toshima-points", 600, "offline_limit_exceeded")
    ]
    assert conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 2
