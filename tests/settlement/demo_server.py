"""The demo server in process for settlement tests: demo data, payers, a movable clock, sales."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from ulid import ULID

from server import db, demo
from server.app import create_app
from server.settlement import api, payouts
from server.settlement.zengin import BankAccount

NOV = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
DEC = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)


@dataclass
class Demo:
    """The demo server in process, its tokens and cards, and a clock the test moves."""

    app: FastAPI
    tokens: dict[str, str]
    cards: dict[str, dict[str, Any]]
    clock: list[dt.datetime]
    path: pathlib.Path

    def client(self, who: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://settle.test", headers=headers)


def with_settlement(app: FastAPI) -> FastAPI:
    """The app with settlement's router (already there once ``create_app`` includes it)."""
    if not any(getattr(route, "path", "") == "/v1/claims" for route in app.routes):
        app.include_router(api.router)
    return app


def register_payers(path: pathlib.Path) -> None:
    conn = db.connect(path)
    for owner, code in (("city:tenri", "1234567890"), ("chamber:tenri-cci", "2345678901")):
        account = BankAccount("0162", "180", 1, "1111111", "ﾃﾝﾘ")
        payouts.set_payer(conn, payouts.Payer(owner, code, "ﾃﾝﾘ", account))
    conn.close()


def make_demo(tmp: pathlib.Path) -> Demo:
    demo.build(tmp, [], [])
    register_payers(tmp / "mykey.db")
    clock = [NOV]
    app = with_settlement(create_app(tmp / "mykey.db", clock=lambda: clock[0]))
    tokens = json.loads((tmp / "tokens.json").read_text())
    cards = json.loads((tmp / "cards.json").read_text())
    return Demo(app, tokens, cards, clock, tmp / "mykey.db")


async def sell(d: Demo, shop: str, resident: str, points: int, total: int = 3000) -> dict[str, Any]:
    body = {
        "sale_id": str(ULID()),
        "terminal_time": d.clock[0].isoformat(),
        "receipt_no": 1,
        "card_key": d.cards[resident]["card_key"],
        "totals": [{"rate": 10, "amount": total}],
        "points": [{"program_id": "tenri-megumi", "points": points}],
        "cash": total - points,
    }
    async with d.client(f"{shop}-t1") as client:
        answer = await client.post("/v1/sales", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
