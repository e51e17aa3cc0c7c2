"""PostgreSQL only: several server processes writing at once, and the schema version kept in a table.

Two stores on one database stand in for two server processes (each has its own writer connection
and its own group commits). Sales on the same card at the same merchant race; the ledger must stay
balanced, the card never below zero, and every sale applied once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

import httpx
import pytest

from server import db, ledger, schema
from server.app import create_app
from tests.server.conftest import Demo
from tests.server.helpers import SHOP, resident_account, sale

# PostgreSQL only: several processes writing at once.
pytestmark = pytest.mark.parametrize("database", ["postgresql"])


@pytest.fixture
def pg_demo(demo: Demo) -> Demo:
    return demo


async def test_two_servers_selling_on_one_card_never_overdraw_it(pg_demo: Demo) -> None:
    apps = [create_app(pg_demo.db_path) for _ in range(2)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://server",
            headers={"Authorization": f"Bearer {pg_demo.tokens[SHOP]}"},
        )
        for app in apps
    ]
    card = pg_demo.card("sato")
    # 5,000 points: 40 sales of 200 points can take at most 25; the rest are refused, none twice.
    bodies = [sale(card, total=200, points={"tenri-megumi": 200}, cash=0) for _ in range(40)]
    try:
        answers = await asyncio.gather(
            *(clients[index % 2].post("/v1/sales", json=body) for index, body in enumerate(bodies)),
            # each sale sent twice, to the other server: idempotent by its id
            *(clients[(index + 1) % 2].post("/v1/sales", json=body) for index, body in enumerate(bodies)),
        )
    finally:
        for client in clients:
            await client.aclose()
        for app in apps:
            app.state.store.close()
    accepted = {
        body["sale_id"] for body, answer in zip(bodies * 2, answers, strict=True) if answer.status_code == 200
    }
    codes = {answer.status_code for answer in answers}
    assert codes <= {200, 409, 422}, [a.text for a in answers if a.status_code not in (200, 409, 422)][:3]
    conn = db.connect(pg_demo.db_path)
    assert ledger.check(conn) == []
    stored = conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0]
    assert stored == len(accepted) <= 25
    resident = resident_account(conn, card, "tenri-megumi")
    assert resident is not None and ledger.balance(conn, resident) == 5000 - 200 * len(accepted) >= 0


def test_a_database_newer_than_the_code_is_refused(pg_demo: Demo) -> None:
    conn = db.connect(pg_demo.db_path)
    assert db.schema_version(conn) == schema.SCHEMA_VERSION
    conn.execute("UPDATE schema_version SET version = ?", (schema.SCHEMA_VERSION + 1,))
    with pytest.raises(db.SchemaTooNew):
        schema.upgrade(conn)
    with pytest.raises(db.SchemaTooNew):
        create_app(pg_demo.db_path)


def test_two_servers_opening_one_account_at_once_share_it(pg_demo: Demo) -> None:
    # A card's first sale in a program, reaching two server processes at the same moment: the second
    # waits for the first's commit and uses its account (it used to fail: a 500 and a dropped connection).
    first, second = db.connect(pg_demo.db_path), db.connect(pg_demo.db_path)
    key = ("resident", "uid:" + "ab" * 32, "tenri-megumi")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with db.atomic(first):
            opened = ledger.account(first, *key)

            def open_in_second() -> int:
                with db.atomic(second):
                    return ledger.account(second, *key)

            waiting = pool.submit(open_in_second)
            with pytest.raises(concurrent.futures.TimeoutError):
                waiting.result(timeout=0.3)  # blocked on the first's uncommitted row
        assert waiting.result(timeout=10) == opened
    assert second.execute("SELECT COUNT(*) FROM accounts WHERE owner = ?", (key[1],)).fetchone()[0] == 1
