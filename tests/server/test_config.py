"""Terminal configuration: each terminal's mode, shop or city desk, programs, event, and the ticket key."""

from __future__ import annotations

import datetime as dt

from points import tickets
from server import db
from tests.server.conftest import Demo
from tests.server.helpers import SHOP, issue, sale


async def test_a_shop_terminal_gets_its_merchant_and_the_programs_it_takes(api) -> None:
    config = (await api(SHOP).get("/v1/terminal/config")).json()
    assert config["mode"] == "shop"
    assert config["merchant"]["invoice_number"] == "T1234567890123"
    programs = {p["id"]: p for p in config["programs"]}
    assert set(programs) == {"tenri-megumi", "tenri-silver", "toshima-points", "oguni-kitasato"}
    assert programs["tenri-megumi"]["no_pin_limit"] == 3000
    assert programs["toshima-points"]["offline_limit"] == 500
    assert config["event"] is None


async def test_city_terminals_get_their_mode_city_and_event(api) -> None:
    award = (await api("toshima-award-1").get("/v1/terminal/config")).json()
    assert (award["mode"], award["merchant"]["id"]) == ("award", "toshima")
    assert award["event"]["event_id"] == "toshima-cleanup-2026-11"
    assert [p["id"] for p in award["programs"]] == ["toshima-points"]
    counter = (await api("tenri-counter-1").get("/v1/terminal/config")).json()
    assert (counter["mode"], counter["event"]) == ("issue", None)
    assert (await api("tenri-enroll-1").get("/v1/terminal/config")).json()["mode"] == "enroll"


async def test_a_terminal_verifies_tickets_offline_with_the_published_key(api, demo: Demo) -> None:
    config = (await api(SHOP).get("/v1/terminal/config")).json()
    keys = {key_id: tickets.public_key_from_text(text) for key_id, text in config["ticket_keys"].items()}
    issued = (await api("tenri-counter-1").post("/v1/tickets/issue", json=issue([5000]))).json()["tickets"][0]
    ticket = tickets.verify(issued["text"], keys, dt.date.today())
    assert (ticket.serial, ticket.value, ticket.program_id) == (issued["serial"], 500, "tenri-megumi")


async def test_an_offline_ticket_already_redeemed_is_a_disputed_line(api, demo: Demo) -> None:
    text = (await api("tenri-counter-1").post("/v1/tickets/issue", json=issue([10_000]))).json()["tickets"][
        0
    ]["text"]
    assert (
        await api(SHOP).post("/v1/sales", json=sale(total=1000, tickets=[text], cash=0))
    ).status_code == 200
    late = sale(total=1200, tickets=[text], cash=200, offline=True)
    items = (await api("sakura-books-t1").post("/v1/sales/batch", json={"sales": [late]})).json()["items"]
    assert items[0]["error"]["code"] == "ticket_already_redeemed"
    row = (
        db.connect(demo.db_path)
        .execute(
            "SELECT merchant_id, program_id, amount, error_code FROM refused_sales WHERE sale_id = ?",
            (late["sale_id"],),
        )
        .fetchone()
    )
    assert tuple(row) == ("sakura-books", "tenri-megumi", 1000, "ticket_already_redeemed")
