"""A real settlement server for the counter's tests: ``create_app`` on a SQLite file, uvicorn in a thread.

The counter's tests talk to the server the shops use, not to a stand-in: the demo data of
``mykey-server demo-data`` (:func:`server.demo.build`) with the simulated reader's cards added,
served by uvicorn on 127.0.0.1 behind the fault proxy (:mod:`tests.support.faultproxy`), which is
the only fake: an outage or a lost answer. In a test module::

    from tests.support.counter_server import ALICE, real_server  # noqa: F401 (the fixture)

    def test_it(real_server):
        client = real_server.client()              # pos.sync.ServerClient, shop terminal, via the proxy
        real_server.outage()                       # nothing listens: the counter goes offline
        real_server.lose_answers()                 # the server does the work, the answer is lost
        real_server.balance(ALICE, "tenri-megumi") # asked of the server
        real_server.sales()                        # sale id → status, from its database
        real_server.issue_tickets(5000)            # signed ticket texts from the ticket counter

The demo database is built once per session (per build time) and copied for each test.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from unittest import mock

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from ulid import ULID

from points.tax import TaxRate
from points.wire import (
    PointTender,
    RateAmount,
    ReceiptForTickets,
    SaleRequest,
    TicketIssueRequest,
    TicketTender,
)
from pos.card.apdu import uid_card_key
from pos.card.simulated import DEMO_UIDS, demo_credentials
from pos.sync import ServerClient
from server import admin, db, demo, ledger
from server.app import create_app
from tests.support.faultproxy import FaultPlan, FaultProxy

#: The simulated reader's cards: ALICE is the demo resident 佐藤 (same UID), BOB a card added
#: with the demo balances, CAROL the demo My Number Card (PIN 1234), its CA trusted.
ALICE = uid_card_key(bytes.fromhex(DEMO_UIDS[0]))
BOB = uid_card_key(bytes.fromhex(DEMO_UIDS[1]))
CAROL = demo_credentials().card_key
#: The shop terminal the counter tests run as, its merchant, the terminals of the other modes.
SHOP = "yamato-bakery-t1"
MERCHANT = "yamato-bakery"
ELSEWHERE = "sakura-books-t1"
TERMINALS = {"shop": SHOP, "award": "toshima-award-1", "issue": "tenri-counter-1", "enroll": "tenri-enroll-1"}


class Clock:
    """The server's clock (aware UTC), settable and movable."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)

    def advance(self, **delta: float) -> None:
        """Move the clock forward by ``timedelta(**delta)`` (it stops running if it ran)."""
        self.now = self() + dt.timedelta(**delta)


def build_template(directory: pathlib.Path, at: dt.datetime | None = None) -> pathlib.Path:
    """The demo data with the simulated cards, as of ``at`` (the grants' dates), in ``directory``."""
    ca = demo_credentials().ca_certificate.public_bytes(serialization.Encoding.PEM)
    if at is None:
        demo.build(directory, [BOB, CAROL], [ca])
    else:
        with mock.patch.object(ledger, "utc_now", lambda: at):
            demo.build(directory, [BOB, CAROL], [ca])
    return directory


@dataclass
class CounterServer:
    """The live server, its demo data and the fault proxy the counter reaches it through."""

    db_path: pathlib.Path
    tokens: dict[str, str]
    clock: Clock
    proxy: FaultProxy
    port: int
    _uvicorn: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _clients: list[ServerClient] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        """The server itself (tests' own calls); the counter goes through :attr:`proxy`."""
        return f"http://127.0.0.1:{self.port}"

    # The counter's side --------------------------------------------------------------

    def client(self, terminal: str = SHOP, timeout: float = 5.0) -> ServerClient:
        """The sync client of ``terminal`` (a name in the demo's tokens), through the fault proxy."""
        client = ServerClient(self.proxy.url, self.tokens[terminal], timeout=timeout)
        self._clients.append(client)
        return client

    def outage(self, on: bool = True) -> None:
        """The server is unreachable (nothing listens), or back."""
        self.proxy.refuse(on)

    def lose_answers(self, on: bool = True) -> None:
        """Every answer is lost after the server applied the request, or none is."""
        self.proxy.plan.drop_answer = 1.0 if on else 0.0

    # What the server holds -------------------------------------------------------------

    def _http(self, terminal: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[terminal]}"})

    def balances(self, card_key: str) -> dict[str, int]:
        """The card's points per program, as the server reports them."""
        with self._http(SHOP) as http:
            answer = http.post("/v1/cards/lookup", json={"card_key": card_key})
        answer.raise_for_status()
        return {b["program_id"]: b["points"] for b in answer.json()["balances"]}

    def balance(self, card_key: str, program_id: str) -> int:
        """The card's points of one program (0 when it has none)."""
        return self.balances(card_key).get(program_id, 0)

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Rows from the server's database (read only)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def tags(self, card_key: str) -> list[str]:
        """The eligibility tags of the card's resident account (none for a card never seen)."""
        rows = self.query(
            "SELECT e.tag FROM eligibility e JOIN card_keys k ON k.account_number = e.account_number"
            " WHERE k.card_key = ? ORDER BY e.tag",
            card_key,
        )
        return [str(tag) for (tag,) in rows]

    def sales(self) -> dict[str, str]:
        """Sale id → status (``accepted``, ``voided``) of every sale the server applied, in order."""
        return {
            str(sid): str(status)
            for sid, status in self.query("SELECT sale_id, status FROM sales ORDER BY rowid")
        }

    def redeemed(self) -> dict[int, str]:
        """Serial → sale id of every redeemed ticket."""
        rows = self.query("SELECT serial, redeemed_sale_id FROM tickets WHERE state = 'redeemed'")
        return {int(serial): str(sale) for serial, sale in rows}  # type: ignore[call-overload]

    # Doing things elsewhere in town -----------------------------------------------------

    def grant(self, card_key: str, program_id: str, points: int, expires_in_days: int) -> None:
        """Give a card a lot of points expiring in ``expires_in_days`` (an admin grant, back-dated)."""
        program = {p.id: p for p in demo.programs()}[program_id]
        assert program.expiry.days is not None
        granted = self.clock() - dt.timedelta(days=program.expiry.days - expires_in_days)
        conn = db.connect(self.db_path)
        try:
            with db.atomic(conn):
                admin.grant(conn, card_key, program, points, now=granted)
        finally:
            conn.close()

    def issue_tickets(self, amount: int, receipt_no: str | None = None) -> list[str]:
        """Tickets (signed texts) the city's ticket counter gives for a receipt of ``amount`` yen."""
        with closing(ServerClient(self.url, self.tokens[TERMINALS["issue"]])) as client:
            result = client.issue_tickets(
                TicketIssueRequest(
                    issue_id=str(ULID()),
                    program_id="tenri-megumi",
                    receipts=[
                        ReceiptForTickets(
                            merchant_id=MERCHANT,
                            receipt_no=receipt_no or str(ULID())[-12:],
                            date=ledger.business_date(self.clock()),
                            amount=amount,
                        )
                    ],
                )
            )
        return [ticket.text for ticket in result.tickets]

    def sell_elsewhere(
        self,
        total: int,
        *,
        card_key: str | None = None,
        points: int = 0,
        tickets: list[str] | None = None,
        terminal: str = ELSEWHERE,
    ) -> None:
        """A sale at another shop, or ``terminal`` (tenri-megumi points, tickets, the rest in cash)."""
        with closing(ServerClient(self.url, self.tokens[terminal])) as client:
            covered = points + sum(_ticket_value(text) for text in tickets or [])
            client.post_sale(
                SaleRequest(
                    sale_id=str(ULID()),
                    terminal_time=self.clock(),
                    receipt_no=1,
                    card_key=card_key,
                    totals=[RateAmount(rate=TaxRate.STANDARD, amount=total)],
                    points=[PointTender(program_id="tenri-megumi", points=points)] if points else [],
                    tickets=[TicketTender(text=text) for text in tickets or []],
                    cash=max(total - covered, 0),
                )
            )

    def leave(self, card_key: str, points: int, program_id: str = "tenri-megumi") -> None:
        """Spend a card's points elsewhere until ``points`` are left (sales within the no-PIN limit)."""
        assert program_id == "tenri-megumi"
        left = self.balance(card_key, program_id) - points
        while left > 0:
            chunk = min(left, 3000)
            self.sell_elsewhere(chunk, card_key=card_key, points=chunk)
            left -= chunk

    def close_period(self) -> str:
        """The chamber closes the month the server's clock is in (締め); returns the period id."""
        period = ledger.business_date(self.clock()).strftime("%Y-%m")
        with self._http("tenri-cci") as http:
            http.post(f"/v1/periods/{period}/close").raise_for_status()
        return period

    def stop(self) -> None:
        """Close the clients, stop uvicorn and the proxy."""
        for client in self._clients:
            client.close()
        self._uvicorn.should_exit = True
        self._thread.join(10)
        self.proxy.stop()


def _ticket_value(text: str) -> int:
    from points import tickets

    return tickets.decode(text).value


def start(directory: pathlib.Path, template: pathlib.Path, clock: Clock) -> CounterServer:
    """Copy the template's database into ``directory`` and serve it on 127.0.0.1 behind a fault proxy."""
    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "mykey.db"
    shutil.copyfile(template / "mykey.db", db_path)
    # The ticket-signing key is sealed with the key file beside the database: it travels with it.
    shutil.copyfile(template / "mykey.db.key", directory / "mykey.db.key")
    tokens = json.loads((template / "tokens.json").read_text())
    app = create_app(db_path, clock=clock)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    proxy = FaultProxy("127.0.0.1", port, FaultPlan()).start()
    return CounterServer(db_path, tokens, clock, proxy, port, server, thread)


# Fixtures ------------------------------------------------------------------------------

_templates: dict[dt.datetime | None, pathlib.Path] = {}


@pytest.fixture
def server_time() -> dt.datetime | None:
    """When the demo data was made and what the server's clock says (``None``: now, running)."""
    return None


@pytest.fixture
def real_server(
    tmp_path: pathlib.Path, tmp_path_factory: pytest.TempPathFactory, server_time: dt.datetime | None
) -> Iterator[CounterServer]:
    """The real server on a fresh copy of the demo data, reached through the fault proxy."""
    if server_time not in _templates:
        _templates[server_time] = build_template(tmp_path_factory.mktemp("demo"), server_time)
    with serving(tmp_path / "server", _templates[server_time], Clock(server_time)) as server:
        yield server


@contextmanager
def serving(directory: pathlib.Path, template: pathlib.Path, clock: Clock) -> Iterator[CounterServer]:
    """:func:`start`, and stop when the block ends."""
    server = start(directory, template, clock)
    try:
        yield server
    finally:
        server.stop()
