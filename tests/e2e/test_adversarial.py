"""The server attacked through its public API as a hostile terminal, station or clerk would (issue 12).

One class per kind of attack: operation ids across kinds, the award station's kind, event ids
across cities, the ``Authorization`` header, revoked tokens, loose types, who sees a redeemed
ticket, tickets issued expired, the ticket-signing key at rest, and receipts at the ticket counter.
Every test runs the real app over ASGI on fresh demo data, and the ledger must check clean after it.
"""

from __future__ import annotations

import base64
import datetime as dt
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from ulid import ULID

from points.programs import EventAward, Expiry, FundingSource, Program
from server import admin, db, ledger
from server.store import Store
from tests.server.conftest import Clock, Demo
from tests.server.helpers import SHOP, TENRI, sale

Api = Callable[[str | None], httpx.AsyncClient]
COUNTER = "tenri-counter-1"
STATION = "toshima-award-1"
OTHER_SHOP = "sakura-books-t1"


@pytest.fixture(autouse=True)
def ledger_checks_after(demo: Demo) -> Iterator[None]:
    """Whatever a test attacked with, the ledger is consistent afterwards (``mykey-server check``)."""
    yield
    conn = db.connect(demo.db_path)
    try:
        assert ledger.check(conn) == []
    finally:
        conn.close()


def receipt(receipt_no: str, amount: int = 10_000, day: str = "2026-11-01", **extra: Any) -> dict[str, Any]:
    """A shop receipt brought to the ticket counter."""
    return {"merchant_id": "yamato-bakery", "receipt_no": receipt_no, "date": day, "amount": amount, **extra}


def issue_body(*receipts: dict[str, Any], issue_id: str | None = None) -> dict[str, Any]:
    """A ticket issue for ``receipts`` under Tenri's program."""
    return {"issue_id": issue_id or str(ULID()), "program_id": TENRI, "receipts": list(receipts)}


def award_body(card_key: str, kind: str = "volunteer", **extra: Any) -> dict[str, Any]:
    """An award at the demo's Toshima clean-up (a volunteer event)."""
    return {
        "award_id": str(ULID()),
        "card_key": card_key,
        "program_id": "toshima-points",
        "event_id": "toshima-cleanup-2026-11",
        "kind": kind,
        **extra,
    }


def today_of(clock: Clock) -> str:
    """The business date (Japan time) of the app's clock, as a receipt carries it."""
    return ledger.business_date(clock.now).isoformat()


def no_cached_programs(store: Store) -> None:
    """Make the app read the programs again now (a command-line change, seen without waiting)."""
    store._programs_read = 0.0


class TestOperationIdsAcrossKinds:
    """Finding 1: an id names one operation; a void takes back only its own sale's transfers."""

    async def test_a_sale_with_a_ticket_issue_id_is_refused_and_the_ticket_stays_good(self, api: Api) -> None:
        shared = str(ULID())
        issued = await api(COUNTER).post(
            "/v1/tickets/issue", json=issue_body(receipt("9001"), issue_id=shared)
        )
        assert issued.status_code == 200, issued.text
        ticket = issued.json()["tickets"][0]
        sold = await api(SHOP).post("/v1/sales", json=sale(total=300, sale_id=shared))
        assert (sold.status_code, sold.json()["code"]) == (409, "operation_id_taken")
        await api(SHOP).post(f"/v1/sales/{shared}/void", json={})
        used = await api(SHOP).post("/v1/sales", json=sale(total=1000, tickets=[ticket["text"]], cash=0))
        assert used.status_code == 200, used.text

    async def test_a_void_never_takes_back_an_award_of_the_same_id(self, api: Api, demo: Demo) -> None:
        body = award_body(demo.card())
        assert (await api(STATION).post("/v1/awards", json=body)).status_code == 200
        sold = await api(SHOP).post("/v1/sales", json=sale(total=300, sale_id=body["award_id"]))
        assert (sold.status_code, sold.json()["code"]) == (409, "operation_id_taken")
        await api(SHOP).post(f"/v1/sales/{body['award_id']}/void", json={})
        looked = await api("toshima").post("/v1/cards/lookup", json={"card_key": demo.card()})
        assert [b["points"] for b in looked.json()["balances"]] == [1200 + 200]

    async def test_an_issue_or_an_award_with_a_sale_id_is_refused(self, api: Api, demo: Demo) -> None:
        body = sale(total=300)
        assert (await api(SHOP).post("/v1/sales", json=body)).status_code == 200
        issued = await api(COUNTER).post(
            "/v1/tickets/issue", json=issue_body(receipt("9002"), issue_id=body["sale_id"])
        )
        assert (issued.status_code, issued.json()["code"]) == (409, "operation_id_taken")
        awarded = await api(STATION).post(
            "/v1/awards", json=award_body(demo.card(), award_id=body["sale_id"])
        )
        assert (awarded.status_code, awarded.json()["code"]) == (409, "operation_id_taken")

    async def test_check_finds_a_transfer_moved_to_another_operation(self, api: Api, demo: Demo) -> None:
        first, second = sale(demo.card(), total=500, points={TENRI: 200}), sale(total=100)
        for body in (first, second):
            assert (await api(SHOP).post("/v1/sales", json=body)).status_code == 200
        conn = db.connect(demo.db_path)
        with db.atomic(conn):  # balances stay right: only the transfer's operation is wrong
            conn.execute(
                "UPDATE transfers SET sale_id = ? WHERE sale_id = ?", (second["sale_id"], first["sale_id"])
            )
        assert any(second["sale_id"] in problem for problem in ledger.check(conn))
        with db.atomic(conn):
            conn.execute(
                "UPDATE transfers SET sale_id = ? WHERE kind = 'redeem_points' AND sale_id = ?",
                (first["sale_id"], second["sale_id"]),
            )
        conn.close()


class TestAwardStations:
    """Finding 5: a station set up for one event and kind awards that kind only."""

    async def test_a_volunteer_station_cannot_award_a_walk_rally(self, api: Api, demo: Demo) -> None:
        answer = await api(STATION).post("/v1/awards", json=award_body(demo.card(), kind="walk_rally"))
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
        right = await api(STATION).post("/v1/awards", json=award_body(demo.card(), kind="volunteer"))
        assert right.json()["award"]["points"] == 200


class TestEventIdsAcrossCities:
    """Finding 6: awards are once per (program, event, card): another city's event of that id is its own."""

    async def test_two_cities_award_the_same_event_id_to_one_card(
        self, api: Api, app: FastAPI, demo: Demo
    ) -> None:
        oguni = Program(
            id="oguni-events",
            name_ja="小国町イベントポイント",
            name_en="Oguni Event Points",
            city="oguni",
            funding=FundingSource(kind="city", id="oguni"),
            award_rule=EventAward(table={"event": 100}),
        )
        conn = db.connect(demo.db_path)
        with db.atomic(conn):
            admin.put_program(conn, oguni)
        conn.close()
        no_cached_programs(app.state.store)
        event = {"card_key": demo.card(), "event_id": "summer-festival-2026", "kind": "event"}
        toshima = await api("toshima").post(
            "/v1/awards", json={"award_id": str(ULID()), "program_id": "toshima-points", **event}
        )
        assert toshima.status_code == 200, toshima.text
        theirs = await api("oguni").post(
            "/v1/awards", json={"award_id": str(ULID()), "program_id": "oguni-events", **event}
        )
        assert theirs.status_code == 200, theirs.text
        again = await api("oguni").post(
            "/v1/awards", json={"award_id": str(ULID()), "program_id": "oguni-events", **event}
        )
        assert (again.status_code, again.json()["code"]) == (409, "already_awarded")


class TestAuthorizationHeader:
    """Finding 7: exactly ``Bearer`` (any case, RFC 7235), one space, the token, nothing else."""

    @pytest.mark.parametrize(
        "shape",
        ["Bearer {} ", " Bearer {}", "Bearer  {}", "Bearer\t{}", "Bearer {}\t", "Bearer{}", "Basic {}", "{}"],
    )
    async def test_a_header_of_another_shape_is_refused(self, api: Api, demo: Demo, shape: str) -> None:
        client = api(None)
        header = shape.format(demo.tokens[SHOP])
        answer = await client.get("/v1/terminal/config", headers={"Authorization": header})
        assert (answer.status_code, answer.json()["code"]) == (401, "unauthorized"), repr(header)

    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
    async def test_the_scheme_is_case_insensitive_as_rfc_7235_says(
        self, api: Api, demo: Demo, scheme: str
    ) -> None:
        answer = await api(None).get(
            "/v1/terminal/config", headers={"Authorization": f"{scheme} {demo.tokens[SHOP]}"}
        )
        assert answer.status_code == 200, answer.text


class TestRevokedTokens:
    """Finding 7: a token revoked (from the command line, another process) stops working at once."""

    async def test_a_revoked_token_is_refused_on_the_next_request(self, api: Api, demo: Demo) -> None:
        assert (await api(SHOP).get("/v1/terminal/config")).status_code == 200
        conn = db.connect(demo.db_path)  # the CLI's own connection, as `mykey-server token revoke` has
        with db.atomic(conn):
            assert admin.revoke_tokens(conn, SHOP) == 1
        conn.close()
        answer = await api(SHOP).get("/v1/terminal/config")
        assert (answer.status_code, answer.json()["code"]) == (401, "unauthorized")
        other = await api(OTHER_SHOP).get("/v1/terminal/config")
        assert other.status_code == 200


class TestStrictTypes:
    """Finding 7: a number is a JSON number and a flag a JSON boolean, nothing that looks like one."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("receipt_no", "1"),
            ("receipt_no", True),
            ("receipt_no", 1.0),
            ("offline", "false"),
            ("offline", 0),
            ("terminal_time", 1_795_000_000),
            ("totals", [{"rate": "10", "amount": 100}]),
        ],
    )
    async def test_a_sale_with_a_look_alike_value_is_refused(
        self, api: Api, field: str, value: object
    ) -> None:
        answer = await api(SHOP).post("/v1/sales", json=sale(total=100, **{field: value}))
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request"), answer.text

    async def test_an_offline_batch_with_a_look_alike_value_is_refused(self, api: Api) -> None:
        answer = await api(SHOP).post("/v1/sales/batch", json={"sales": [sale(total=100, receipt_no="7")]})
        assert answer.status_code == 422


class TestTicketVisibility:
    """Finding 7: who redeemed a ticket is told to its city and to the shop that took it, no one else."""

    async def test_only_the_city_and_the_redeeming_shop_see_the_redeemer(self, api: Api) -> None:
        issued = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(receipt("9101")))
        ticket = issued.json()["tickets"][0]
        used = await api(SHOP).post("/v1/sales", json=sale(total=1000, tickets=[ticket["text"]], cash=0))
        assert used.status_code == 200, used.text
        path = f"/v1/tickets/{ticket['serial']}"
        for who in (SHOP, "yamato-bakery", "tenri", COUNTER, "admin"):
            seen = (await api(who).get(path)).json()
            assert (seen["state"], seen["redeemed_by"]) == ("redeemed", "yamato-bakery"), who
            assert seen["redeemed_at"] is not None, who
        for who in (OTHER_SHOP, "sakura-books"):
            seen = (await api(who).get(path)).json()
            assert seen["state"] == "redeemed", who
            assert (seen["redeemed_by"], seen["redeemed_at"]) == (None, None), who
        assert (await api("toshima").get(path)).status_code == 404


class TestTicketsIssuedExpired:
    """Finding 7: the counter never prints a ticket that is already past its last day."""

    async def test_a_program_whose_fixed_expiry_has_passed_issues_no_tickets(
        self, api: Api, app: FastAPI, demo: Demo, clock: Clock
    ) -> None:
        conn = db.connect(demo.db_path)
        program = Program.model_validate_json(
            conn.execute("SELECT definition FROM programs WHERE id = ?", (TENRI,)).fetchone()[0]
        )
        yesterday = ledger.business_date(clock.now) - dt.timedelta(days=1)
        with db.atomic(conn):
            admin.put_program(conn, program.model_copy(update={"expiry": Expiry(fixed_date=yesterday)}))
        conn.close()
        no_cached_programs(app.state.store)
        answer = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(receipt("9201")))
        assert (answer.status_code, answer.json()["code"]) == (409, "tickets_would_be_expired"), answer.text


class TestSigningKeyAtRest:
    """Finding 7: the database alone does not hold the ticket-signing key in the clear."""

    async def test_the_database_does_not_hold_the_signing_key(self, app: FastAPI, demo: Demo) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        raw = app.state.store.signer._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        conn = db.connect(demo.db_path)
        stored = conn.execute("SELECT value FROM meta WHERE key = 'ticket_signing_key'").fetchone()[0]
        conn.close()
        assert base64.b64encode(raw).decode() not in stored
        if isinstance(demo.db_path, pathlib.Path):  # a SQLite file: not anywhere in its bytes either
            assert raw not in demo.db_path.read_bytes()

    def test_a_database_without_its_key_does_not_open(
        self, demo: Demo, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from server.store import Store

        monkeypatch.setenv("MYKEY_KEY", base64.urlsafe_b64encode(b"\x01" * 32).decode())
        with pytest.raises(RuntimeError, match="ticket-signing key"):
            Store(demo.db_path)


class TestTicketCounterReceipts:
    """Finding 8: a receipt earns tickets once, however its number is written, and as the server knows it."""

    async def test_receipt_numbers_written_with_leading_zeros_are_one_receipt(self, api: Api) -> None:
        first = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(receipt("1")))
        assert first.status_code == 200, first.text
        for spelling in ("01", "0000001", "１", " 1"):
            again = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(receipt(spelling)))
            assert (again.status_code, again.json()["code"]) == (409, "receipt_already_used"), spelling

    async def _sale(self, api: Api, total: int = 3000, receipt_no: int = 4242) -> dict[str, Any]:
        body = sale(total=total, receipt_no=receipt_no)
        answer = await api(SHOP).post("/v1/sales", json=body)
        assert answer.status_code == 200, answer.text
        return body

    async def test_a_receipt_of_a_voided_sale_earns_nothing(self, api: Api, clock: Clock) -> None:
        body = await self._sale(api)
        assert (await api(SHOP).post(f"/v1/sales/{body['sale_id']}/void", json={})).status_code == 200
        by_number = receipt("4242", amount=3000, day=today_of(clock))
        answer = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(by_number))
        assert (answer.status_code, answer.json()["code"]) == (409, "receipt_sale_voided"), answer.text
        by_qr = receipt("4242", amount=3000, day=today_of(clock), sale_id=body["sale_id"])
        answer = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(by_qr))
        assert (answer.status_code, answer.json()["code"]) == (409, "receipt_sale_voided"), answer.text

    async def test_a_receipt_is_checked_against_the_sale_the_server_holds(
        self, api: Api, clock: Clock
    ) -> None:
        body = await self._sale(api)
        inflated = receipt("4242", amount=30_000, day=today_of(clock), sale_id=body["sale_id"])
        answer = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(inflated))
        assert (answer.status_code, answer.json()["code"]) == (409, "receipt_mismatch"), answer.text
        by_number = receipt("4242", amount=30_000, day=today_of(clock))
        answer = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(by_number))
        assert (answer.status_code, answer.json()["code"]) == (409, "receipt_mismatch"), answer.text
        unknown = receipt("4242", amount=3000, day=today_of(clock), sale_id=str(ULID()))
        answer = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(unknown))
        assert (answer.status_code, answer.json()["code"]) == (404, "receipt_sale_unknown"), answer.text
        good = receipt("4242", amount=3000, day=today_of(clock), sale_id=body["sale_id"])
        answer = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(good))
        assert answer.status_code == 200, answer.text
        twice = await api(COUNTER).post("/v1/tickets/issue", json=issue_body({**good, "receipt_no": "04242"}))
        assert (twice.status_code, twice.json()["code"]) == (409, "receipt_already_used")

    async def test_voiding_a_sale_cancels_the_tickets_its_receipt_earned(
        self, api: Api, clock: Clock
    ) -> None:
        body = await self._sale(api, total=12_000)
        good = receipt("4242", amount=12_000, day=today_of(clock), sale_id=body["sale_id"])
        issued = await api(COUNTER).post("/v1/tickets/issue", json=issue_body(good))
        assert issued.status_code == 200, issued.text
        tickets = issued.json()["tickets"]
        assert sum(t["value"] for t in tickets) == 1200 and len(tickets) >= 2
        used = await api(OTHER_SHOP).post(
            "/v1/sales", json=sale(total=1000, tickets=[tickets[0]["text"]], cash=0)
        )
        assert used.status_code == 200, used.text
        assert (await api(SHOP).post(f"/v1/sales/{body['sale_id']}/void", json={})).status_code == 200
        states = [(await api("tenri").get(f"/v1/tickets/{t['serial']}")).json()["state"] for t in tickets]
        assert states == ["redeemed"] + ["cancelled"] * (len(tickets) - 1)
        refused = await api(OTHER_SHOP).post(
            "/v1/sales", json=sale(total=100, tickets=[tickets[1]["text"]], cash=0)
        )
        assert (refused.status_code, refused.json()["code"]) == (409, "ticket_cancelled")
