"""Resident accounts: the account number, blocks of lost cards, merges and links at the city desk.

UID cards need no signature, so these run on both databases through the ``api`` fixture; the
My Number Card cases (signatures, expired and revoked certificates) are in ``test_renewal.py``.
"""

from __future__ import annotations

import datetime as dt

from ulid import ULID

from server import audit, db, ledger, residents
from server.demo import card_key_of_uid
from tests.server.conftest import Demo
from tests.server.helpers import SHOP, TENRI, sale

DESK = "tenri-enroll-1"
NEW_CARD = card_key_of_uid("04ffeeddccbbaa")


async def number_of(api, demo: Demo, name: str = "sato") -> str:
    answer = await api(SHOP).post("/v1/cards/lookup", json={"card_key": demo.card(name)})
    assert answer.status_code == 200, answer.text
    number: str = answer.json()["account_number"]
    return number


def test_an_account_number_has_a_check_character_that_catches_typing_mistakes() -> None:
    number = residents.new_number()
    assert residents.normal_number(number) == number
    assert residents.normal_number(f" {number[:4].lower()}-{number[4:]} ") == number
    for place in range(8):
        for other in residents.ALPHABET:
            if other != number[place]:
                assert residents.normal_number(number[:place] + other + number[place + 1 :]) is None
    for place in range(7):
        if number[place] != number[place + 1]:
            swapped = number[:place] + number[place + 1] + number[place] + number[place + 2 :]
            assert residents.normal_number(swapped) is None
    assert not set("01OIL") & set(residents.ALPHABET)


async def test_a_card_lookup_shows_its_account_number(api, demo: Demo) -> None:
    number = await number_of(api, demo)
    assert residents.normal_number(number) == number
    assert number != await number_of(api, demo, "suzuki")
    unknown = await api(SHOP).post("/v1/cards/lookup", json={"card_key": NEW_CARD})
    assert unknown.json()["account_number"] is None and unknown.json()["balances"] == []


async def test_a_blocked_card_is_refused_at_once_and_again_usable_when_unblocked(api, demo: Demo) -> None:
    number = await number_of(api, demo)
    card = demo.card()
    blocked = await api(DESK).post(
        "/v1/desk/block", json={"account_number": residents.shown(number), "reason": "紛失届 (lost)"}
    )
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["cards"][0]["block_code"] == "card_blocked"
    for answer in (
        await api(SHOP).post("/v1/cards/lookup", json={"card_key": card}),
        await api(SHOP).post("/v1/sales", json=sale(card, total=1000, points={TENRI: 500})),
        await api("toshima-award-1").post(
            "/v1/awards",
            json={
                "award_id": str(ULID()),
                "card_key": card,
                "program_id": "toshima-points",
                "event_id": "toshima-cleanup-2026-11",
                "kind": "volunteer",
            },
        ),
    ):
        assert (answer.status_code, answer.json()["code"]) == (409, "card_blocked"), answer.text
    config = (await api(SHOP).get("/v1/terminal/config")).json()
    assert config["blocked_keys"] == [card] and config["block_list_version"]
    unblocked = await api(DESK).post("/v1/desk/unblock", json={"account_number": number, "reason": "found"})
    assert unblocked.status_code == 200, unblocked.text
    assert (
        await api(SHOP).post("/v1/sales", json=sale(card, total=1000, points={TENRI: 500}))
    ).status_code == 200
    assert (await api(SHOP).get("/v1/terminal/config")).json()["blocked_keys"] == []
    actions = [(line["actor"], line["action"]) for line in audit.lines(db.connect(demo.db_path), "account:")]
    assert actions == [(DESK, "card_block"), (DESK, "card_unblock")]


async def test_an_offline_sale_before_the_block_is_accepted_and_one_after_refused(
    api, demo: Demo, clock
) -> None:
    number, card = await number_of(api, demo), demo.card()
    before = clock.now - dt.timedelta(minutes=5)
    await api(DESK).post("/v1/desk/block", json={"account_number": number, "reason": "lost"})
    late = sale(card, total=1000, awards=[TENRI], offline=True, terminal_time=clock.now.isoformat())
    early = sale(card, total=1000, awards=[TENRI], offline=True, terminal_time=before.isoformat())
    answer = await api(SHOP).post("/v1/sales/batch", json={"sales": [early, late]})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert items[0]["result"]["status"] == "accepted"
    assert items[1]["error"]["code"] == "card_blocked"
    assert (
        answer.json()["block_list_version"]
        == (await api(SHOP).get("/v1/terminal/config")).json()["block_list_version"]
    )
    conn = db.connect(demo.db_path)
    assert residents.problems(conn) == [] and ledger.check(conn) == []


async def test_a_lost_card_is_replaced_by_the_account_number_and_the_points_are_there(
    api, demo: Demo
) -> None:
    number = await number_of(api, demo)
    await api(DESK).post("/v1/desk/block", json={"account_number": number, "reason": "lost"})
    linked = await api(DESK).post(
        "/v1/desk/link", json={"account_number": residents.shown(number), "new": {"card_key": NEW_CARD}}
    )
    assert linked.status_code == 200, linked.text
    states = {c["card_key"]: c for c in linked.json()["cards"]}
    assert states[demo.card()]["block_code"] == "card_blocked" and states[NEW_CARD]["blocked_at"] is None
    spent = await api(SHOP).post("/v1/sales", json=sale(NEW_CARD, total=1000, points={TENRI: 1000}))
    assert spent.status_code == 200, spent.text
    assert spent.json()["balances"][0]["points"] == 4000
    # The same card again is a retry; onto another account it is a merge, not a link.
    again = await api(DESK).post(
        "/v1/desk/link", json={"account_number": number, "new": {"card_key": NEW_CARD}}
    )
    assert again.status_code == 200
    other = await number_of(api, demo, "suzuki")
    elsewhere = await api(DESK).post(
        "/v1/desk/link", json={"account_number": other, "new": {"card_key": NEW_CARD}}
    )
    assert elsewhere.json()["code"] == "card_already_linked"
    mistyped = number[:7] + ("2" if number[7] != "2" else "3")
    wrong = await api(DESK).post(
        "/v1/desk/link", json={"account_number": mistyped, "new": {"card_key": NEW_CARD}}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (404, "account_not_found")
    assert [line["action"] for line in audit.lines(db.connect(demo.db_path), f"account:{number}")] == [
        "card_block",
        "card_link",
    ]


async def test_a_merge_moves_every_lot_with_its_expiry_and_keeps_both_cards_working(api, demo: Demo) -> None:
    kept, gone = await number_of(api, demo, "sato"), await number_of(api, demo, "suzuki")
    conn = db.connect(demo.db_path)
    lots_before = conn.execute(
        "SELECT a.program_id, l.remaining, l.expires_on FROM lots l JOIN accounts a ON a.id = l.account_id"
        " WHERE a.owner = ? AND l.remaining > 0 ORDER BY 1, 3",
        (gone,),
    ).fetchall()
    merged = await api(DESK).post(
        "/v1/desk/merge",
        json={"source": {"card_key": demo.card("suzuki")}, "target": {"card_key": demo.card("sato")}},
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["account_number"] == kept
    assert {b["program_id"]: b["points"] for b in merged.json()["balances"]}[TENRI] == 10000
    moved = conn.execute(
        "SELECT a.program_id, l.points, l.expires_on FROM lots l JOIN transfers t ON t.id = l.transfer_id"
        " JOIN accounts a ON a.id = l.account_id WHERE t.kind = 'move' AND a.owner = ? ORDER BY 1, 3",
        (kept,),
    ).fetchall()
    assert [tuple(r) for r in moved] == [tuple(r) for r in lots_before]
    looked = await api(SHOP).post("/v1/cards/lookup", json={"card_key": demo.card("suzuki")})
    assert looked.json()["account_number"] == kept
    gone_view = await api(DESK).get(f"/v1/desk/accounts/{gone}")
    assert gone_view.json()["code"] == "account_merged"
    assert ledger.check(conn) == [] and residents.problems(conn) == []
    assert [line["action"] for line in audit.lines(conn, f"account:{kept}")] == ["account_merge"]
    twice = await api(DESK).post(
        "/v1/desk/merge",
        json={"source": {"card_key": demo.card("suzuki")}, "target": {"card_key": demo.card("sato")}},
    )
    assert twice.json()["code"] == "invalid_request"


async def test_only_a_city_desk_may_block(api, demo: Demo) -> None:
    number = await number_of(api, demo)
    body = {"account_number": number, "reason": "lost"}
    assert (await api(SHOP).post("/v1/desk/block", json=body)).status_code == 403
    assert (await api("tenri").post("/v1/desk/block", json=body)).status_code == 200


async def test_check_finds_a_sale_after_its_cards_block(api, demo: Demo) -> None:
    number, card = await number_of(api, demo), demo.card()
    sold = await api(SHOP).post("/v1/sales", json=sale(card, total=1000, points={TENRI: 100}))
    assert sold.status_code == 200
    conn = db.connect(demo.db_path)
    assert residents.problems(conn) == []
    # A block dated before the sale (as if the sale had slipped past it): check names the sale.
    conn.execute(
        "UPDATE card_keys SET blocked_at = ?, block_code = 'card_blocked' WHERE card_key = ?",
        ("2000-01-01T00:00:00+00:00", card),
    )
    residents.note_block_changes(conn, [card], True, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    found = residents.problems(conn)
    assert len(found) == 1 and sold.json()["sale_id"] in found[0]
    conn.execute("INSERT INTO resident_accounts(number, created_at) VALUES ('22222222', 'x')")
    conn.execute("UPDATE card_keys SET account_number = '22222222' WHERE card_key = ?", (card,))
    conn.execute("UPDATE resident_accounts SET merged_into = ? WHERE number = '22222222'", (number,))
    assert any("was merged into" in p for p in residents.problems(conn))
