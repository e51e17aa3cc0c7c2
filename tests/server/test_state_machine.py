"""A hypothesis state machine over sales, voids, event awards, conversions and expiry, through the API.

After every step: the ledger sums to zero and every balance is reproducible from the transfers
(``ledger.check``, what ``mykey-server check`` runs), no resident is below zero, and each card's
balance is what the model of accepted operations says.
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
from typing import Any

import httpx
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from ulid import ULID

from server import db, ledger
from server.app import create_app
from tests.server.conftest import Clock, build_demo
from tests.server.helpers import TENRI, resident_account, sale

CARDS = ("sato", "suzuki")
PROGRAMS = (TENRI, "toshima-points", "oguni-kitasato")
START = {TENRI: 5000, "toshima-points": 1200, "oguni-kitasato": 3000}


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.demo = build_demo(pathlib.Path(self.tmp.name) / "demo")
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


LedgerMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestLedgerMachine = LedgerMachine.TestCase
