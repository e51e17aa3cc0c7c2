"""A hypothesis state machine over sales, voids, event awards, conversions and expiry, through the API.

After every step: the ledger sums to zero and every balance is reproducible from the transfers
(``ledger.check``, what ``mykey-server check`` runs), no resident is below zero, and each card's
balance is what the model of accepted operations says.
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from ulid import ULID

from server import db, ledger
from server.app import create_app
from tests.server.conftest import Clock, Demo, build_demo
from tests.server.helpers import TENRI, resident_account, sale
from tests.support.pgdb import Cluster

CARDS = ("sato", "suzuki")
PROGRAMS = (TENRI, "toshima-points", "oguni-kitasato")
START = {TENRI: 5000, "toshima-points": 1200, "oguni-kitasato": 3000}


#: Demo data for one run of the machine in a directory, and what undoes it afterwards.
MakeDemo = Callable[[pathlib.Path], tuple[Demo, Callable[[], None]]]


def sqlite_demo(directory: pathlib.Path) -> tuple[Demo, Callable[[], None]]:
    return build_demo(directory), lambda: None


class LedgerMachine(RuleBasedStateMachine):
    #: Where each run's demo data lives (a SQLite file here; a PostgreSQL copy in the test below).
    make_demo: MakeDemo = staticmethod(sqlite_demo)

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.demo, self.drop_demo = self.make_demo(pathlib.Path(self.tmp.name) / "demo")
        self.clock = Clock()
        self.app = create_app(self.demo.db_path, clock=self.clock)
        self.loop = asyncio.new_event_loop()
        self.model = {(name, p): START[p] for name in CARDS for p in PROGRAMS}
        self.sales: list[dict[str, Any]] = []
        self.awarded: set[tuple[str, str]] = set()
        self.day = 0

    def call(self, principal: str, method: str, path: str, body: Any = None) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(self.app),
                base_url="http://server",
                headers={"Authorization": f"Bearer {self.demo.tokens[principal]}"},
            ) as client:
                return await client.request(method, path, json=body)

        return self.loop.run_until_complete(go())

    def teardown(self) -> None:
        self.app.state.store.close()
        self.loop.close()
        self.drop_demo()
        self.tmp.cleanup()

    @rule(
        card=st.sampled_from(CARDS),
        program=st.sampled_from(PROGRAMS),
        points=st.integers(0, 30).map(lambda n: n * 100),
        award=st.booleans(),
    )
    def make_sale(self, card: str, program: str, points: int, award: bool) -> None:
        total = 3000
        body = sale(
            self.demo.card(card),
            total=total,
            points={program: points} if points else {},
            awards=[TENRI] if award else [],
        )
        answer = self.call("yamato-bakery-t1", "POST", "/v1/sales", body)
        if points > self.model[(card, program)]:
            assert (answer.status_code, answer.json()["code"]) == (409, "insufficient_points"), answer.text
            return
        assert answer.status_code == 200, answer.text
        result = answer.json()
        self.model[(card, program)] -= points
        for line in result["awards"]:
            self.model[(card, line["program_id"])] += line["points"]
        self.sales.append({"id": body["sale_id"], "card": card, "result": result, "day": self.day})

    @precondition(lambda self: bool(self.sales))
    @rule(pick=st.integers(0, 10**6))
    def void_sale(self, pick: int) -> None:
        chosen = self.sales.pop(pick % len(self.sales))
        answer = self.call("yamato-bakery-t1", "POST", f"/v1/sales/{chosen['id']}/void", {"reason": "test"})
        if chosen["day"] != self.day:
            assert answer.json()["code"] == "void_not_same_day", answer.text
            return
        if answer.status_code == 409:
            assert answer.json()["code"] == "award_spent", answer.text
            return
        assert answer.status_code == 200, answer.text
        for tender in chosen["result"]["points"]:
            self.model[(chosen["card"], tender["program_id"])] += tender["points"]
        for line in chosen["result"]["awards"]:
            self.model[(chosen["card"], line["program_id"])] -= line["points"]

    @rule(card=st.sampled_from(CARDS), event=st.sampled_from(["cleanup", "walk"]), kind=st.sampled_from(
        ["volunteer", "event", "walk_rally"]))  # fmt: skip
    def event_award(self, card: str, event: str, kind: str) -> None:
        body = {"award_id": str(ULID()), "card_key": self.demo.card(card), "program_id": "toshima-points",
                "event_id": event, "kind": kind}  # fmt: skip
        answer = self.call("toshima", "POST", "/v1/awards", body)
        if (card, event) in self.awarded:
            assert answer.json()["code"] == "already_awarded", answer.text
            return
        assert answer.status_code == 200, answer.text
        self.awarded.add((card, event))
        self.model[(card, "toshima-points")] += answer.json()["award"]["points"]

    @rule(card=st.sampled_from(CARDS), points=st.integers(1, 5000))
    def conversion(self, card: str, points: int) -> None:
        key = self.demo.card(card)
        body = {
            "conversion_id": str(ULID()),
            "card_key": key,
            "program_id": "oguni-kitasato",
            "points": points,
        }
        answer = self.call("skyair", "POST", "/v1/conversions", body)
        assert answer.status_code == 200, answer.text
        self.model[(card, "oguni-kitasato")] += points

    @rule()
    def a_year_passes_and_points_expire(self) -> None:
        # Every lot made so far lasts at most 365 days: after 400 all of them have expired.
        self.clock.advance(days=400)
        self.day += 1
        conn = db.connect(self.demo.db_path)
        with db.atomic(conn):
            ledger.expire(conn, ledger.business_date(self.clock.now), self.clock.now)
        conn.close()
        self.model = dict.fromkeys(self.model, 0)

    @invariant()
    def ledger_is_consistent_and_matches_the_model(self) -> None:
        conn = db.connect(self.demo.db_path)
        try:
            assert ledger.check(conn) == []
            for (card, program), expected in self.model.items():
                account = resident_account(conn, self.demo.card(card), program)
                actual = 0 if account is None else ledger.balance(conn, account)
                assert actual == expected >= 0, (card, program)
        finally:
            conn.close()


def test_the_ledger_machine_on_each_database(database: str, request: pytest.FixtureRequest) -> None:
    machine: type[LedgerMachine] = LedgerMachine
    examples = 25
    if database == "postgresql":
        template: Demo = request.getfixturevalue("pg_demo_template")
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        request.getfixturevalue("pg_kek")

        def pg_demo(directory: pathlib.Path) -> tuple[Demo, Callable[[], None]]:
            url = cluster.create(template=cluster.name_of(str(template.db_path)))
            directory.mkdir(parents=True)
            return Demo(directory, url, template.tokens, template.cards), lambda: cluster.drop(url)

        machine = type("LedgerMachineOnPostgres", (LedgerMachine,), {"make_demo": staticmethod(pg_demo)})
        examples = 10  # each run is a database of its own; the SQLite runs cover the breadth
    run_state_machine_as_test(
        machine, settings=settings(max_examples=examples, stateful_step_count=20, deadline=None)
    )
