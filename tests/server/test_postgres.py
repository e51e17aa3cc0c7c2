"""PostgreSQL only: several server processes writing at once, and the schema version kept in a table.

Two stores on one database stand in for two server processes (each has its own writer connection
and its own group commits). Sales on the same card at the same merchant race; the ledger must stay
balanced, the card never below zero, and every sale applied once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import pathlib
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from ulid import ULID

from points.wire import SaleRequest, TicketIssueRequest
from server import admin, db, desk, issuing, ledger, pg, residents, sales, schema
from server.app import create_app
from server.auth import Principal
from server.store import Store, ThreadedWriter
from tests.server.conftest import Demo
from tests.server.helpers import OTHER_SHOP, SHOP, TENRI, resident_account, sale
from tests.support.server import RunningServer, running_server

T = TypeVar("T")
COUNTER = "tenri-counter-1"

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


def test_a_revocation_reaches_a_server_whose_reading_session_was_lost_meanwhile(pg_demo: Demo) -> None:
    # The servers hear of a revocation by NOTIFY; one made while a server's reader had no session is
    # never delivered to it, so a new session forgets every cached token.
    store = Store(pg_demo.db_path)
    admin_conn = db.connect(pg_demo.db_path)
    try:
        token = pg_demo.tokens[SHOP]
        assert store.principal(token) is not None  # cached from now on
        reader_pid = store.reader.raw.info.backend_pid
        admin_conn.execute("SELECT pg_terminate_backend(?, 5000)", (reader_pid,))  # waits for its end
        with db.atomic(admin_conn):
            assert admin.revoke_tokens(admin_conn, SHOP) == 1
        assert store.principal(token) is None
        assert store.principal(pg_demo.tokens["tenri-counter-1"]) is not None
    finally:
        admin_conn.close()
        store.close()


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


def test_a_sale_is_never_committed_after_its_card_is_blocked_on_another_server_process(
    database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> None:
    # Two server processes on one database: sales of one card pour into the first while a clerk
    # blocks the card through the second. Each sale reads the card's key under its row lock, which
    # the block's UPDATE takes too, so once the block is committed no sale of that card commits
    # (they used to: a sale that had read the key before the block was waiting on the resident's
    # account lock, and went on to commit after it).
    if database != "postgresql":
        pytest.skip("PostgreSQL only: several processes writing at once")
    url = request.getfixturevalue("pg_cluster").create()
    request.getfixturevalue("pg_kek")  # the server processes inherit MYKEY_KEY
    with running_server(tmp_path / "a", db_url=url) as first:
        second = RunningServer(
            tmp_path / "b", tmp_path / "b" / "unused.db", first.tokens, first.cards, db_url=url
        )
        second.directory.mkdir()
        second.start()
        try:
            card = str(first.cards["sato"]["card_key"])
            conn = db.connect(url)
            number = residents.key_state(conn, card).account_number  # type: ignore[union-attr]

            def accepted() -> int:
                return int(
                    conn.execute("SELECT COUNT(*) FROM sales WHERE card_key = ?", (card,)).fetchone()[0]
                )

            async def run() -> tuple[list[httpx.Response], int]:
                headers = {"Authorization": f"Bearer {first.tokens[SHOP]}"}
                desk = {"Authorization": f"Bearer {first.tokens['tenri-enroll-1']}"}
                limits = httpx.Limits(max_connections=40)
                async with (
                    httpx.AsyncClient(base_url=first.url, headers=headers, limits=limits, timeout=60) as shop,
                    httpx.AsyncClient(base_url=second.url, headers=desk, timeout=60) as clerk,
                ):
                    bodies = [sale(card, total=100, points={"tenri-megumi": 10}, cash=90) for _ in range(80)]
                    sales = [asyncio.create_task(shop.post("/v1/sales", json=body)) for body in bodies]
                    while accepted() < 5:
                        await asyncio.sleep(0.005)
                    blocked = await clerk.post(
                        "/v1/desk/block", json={"account_number": number, "reason": "lost"}
                    )
                    assert blocked.status_code == 200, blocked.text
                    at_block = accepted()  # every sale committed before the block's commit, and no other
                    return list(await asyncio.gather(*sales)), at_block

            answers, at_block = asyncio.run(run())
            codes = [answer.status_code for answer in answers]
            refused = [answer.json()["code"] for answer in answers if answer.status_code != 200]
            assert set(refused) == {"card_blocked"}, refused[:3]
            assert 5 <= codes.count(200) < len(answers)  # the block came in the middle of the sales
            assert accepted() == at_block == codes.count(200)
            checked = subprocess.run(
                [sys.executable, "-m", "server.cli", "check", "--db", url], capture_output=True, text=True
            )
            assert checked.returncode == 0, checked.stdout + checked.stderr
        finally:
            second.stop()


def test_balances_added_at_commit_follow_savepoints_and_reads(pg_demo: Demo) -> None:
    # A merchant's and a funder's balance change waits for COMMIT; a savepoint rolled back takes its
    # own changes with it and keeps the earlier ones, also when a read wrote them out in between.
    conn = db.connect(pg_demo.db_path)
    now = ledger.utc_now()
    with db.atomic(conn):
        funding = ledger.account(conn, "funding", "city:tenri", "tenri-megumi")
        shop = ledger.account(conn, "merchant", "yamato-bakery", "tenri-megumi")
        before = ledger.balance(conn, shop)

        def move(amount: int) -> None:
            ledger.post(conn, kind="grant", program_id="tenri-megumi", debit=funding, credit=shop,
                        amount=amount, now=now)  # fmt: skip

        move(1)
        assert conn.deferred  # type: ignore[union-attr]
        with db.savepoint(conn, "kept"):
            move(10)
        with pytest.raises(RuntimeError), db.savepoint(conn, "undone"):
            move(100)
            assert ledger.balance(conn, shop) == before + 111  # a read writes the changes out first
            move(1000)
            raise RuntimeError("rolled back")
        move(10_000)
    assert ledger.balance(conn, shop) == before + 10_011
    assert ledger.check(conn) == []


def test_two_sessions_committing_changes_to_the_same_shops_and_funder_both_commit(pg_demo: Demo) -> None:
    # Each session's transfers hold key-share locks on the shop and funder rows (their foreign keys);
    # the changes written at COMMIT take those rows for an update that does not wait for such locks,
    # so the two commits follow each other instead of each waiting for the other (a deadlock).
    conns = [db.connect(pg_demo.db_path) for _ in range(2)]
    now = ledger.utc_now()

    def accounts(conn: Any) -> list[int]:
        return [ledger.account(conn, "funding", "city:tenri", TENRI)] + [
            ledger.account(conn, "merchant", shop, TENRI) for shop in ("yamato-bakery", "sakura-books")
        ]

    with db.atomic(conns[0]):
        before = [ledger.balance(conns[0], a) for a in accounts(conns[0])]
    try:
        for conn in conns:
            conn.execute("BEGIN")
            funding, *shops = accounts(conn)
            for shop in shops:
                ledger.post(
                    conn, kind="grant", program_id=TENRI, debit=funding, credit=shop, amount=10, now=now
                )
            assert len(conn.deferred) == 3  # type: ignore[attr-defined]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(conn.execute, "COMMIT") for conn in conns]:
                future.result(timeout=10)
    finally:
        for conn in conns:
            conn.close()
    conn = db.connect(pg_demo.db_path)
    after = [ledger.balance(conn, a) for a in accounts(conn)]
    assert after == [before[0] - 40, before[1] + 20, before[2] + 20]
    assert ledger.check(conn) == []


@pytest.mark.parametrize("pipelined", [False, True], ids=["held", "pipelined"])
@pytest.mark.parametrize("next_table", ["cities", "chambers"], ids=["same-table", "other-table"])
def test_a_write_sent_ahead_that_fails_is_never_taken_for_the_next_statement_s_nor_committed(
    pg_demo: Demo, pipelined: bool, next_table: str
) -> None:
    # Held for the next write (the default) or sent ahead in pipeline mode (MYKEY_PG_PIPELINE=1); the
    # next write on its table (run after it) or on another (one statement with it when held).
    conn = db.connect(pg_demo.db_path)
    conn.pipelined = pipelined
    conn.execute("BEGIN")
    db.send(conn, "INSERT INTO cities(id, name, created_at) VALUES ('tenri', 'again', 'x')")  # a taken key
    with pytest.raises(pg.StatementFailed):  # not sqlite3.IntegrityError: the UPDATE below broke nothing
        conn.execute(f"UPDATE {next_table} SET name = name WHERE id = 'tsu'")
    with pytest.raises(pg.TransactionRolledBack):
        conn.execute("COMMIT")  # PostgreSQL answers a failed transaction's COMMIT with ROLLBACK
    assert not conn.in_transaction
    conn.execute("BEGIN")
    db.send(conn, "UPDATE cities SET name = 'Tenri' WHERE id = 'tenri'")
    with db.savepoint(conn, "kept"):
        db.send(conn, "UPDATE cities SET name = '天理' WHERE id = 'tenri'")
    conn.execute("COMMIT")
    assert conn.execute("SELECT name FROM cities WHERE id = 'tenri'").fetchone()[0] == "天理"


def test_held_writes_go_out_with_the_next_write_as_one_statement_and_a_read_sees_them(pg_demo: Demo) -> None:
    conn = db.connect(pg_demo.db_path)
    assert conn.fuses and not conn.pipelined  # the defaults (server.pg.FUSE, server.pg.PIPELINE)
    conn.execute("BEGIN")
    sent = conn.round_trips
    db.send(conn, "UPDATE cities SET name = 'held' WHERE id = 'tenri'")
    db.send(conn, "INSERT INTO meta(key, value) VALUES ('held-test', '1')")
    assert conn.round_trips == sent  # nothing has gone out yet
    chambers = conn.execute("UPDATE chambers SET name = name WHERE id <> ''").rowcount
    assert conn.round_trips == sent + 1  # the two held writes went with it, as one statement
    assert chambers == conn.execute("SELECT count(*) FROM chambers").fetchone()[0] > 0  # its own count
    assert conn.execute("SELECT name FROM cities WHERE id = 'tenri'").fetchone()[0] == "held"
    # A write on the table of a held one is not joined to it (one row changed twice in one statement
    # is undefined): the held one runs first, and the later one wins, as on SQLite.
    db.send(conn, "UPDATE cities SET name = 'first' WHERE id = 'tenri'")
    db.send(conn, "UPDATE cities SET name = 'second' WHERE id = 'tenri'")
    assert conn.execute("SELECT name FROM cities WHERE id = 'tenri'").fetchone()[0] == "second"
    # What is held when a savepoint is rolled back to is undone with it; what came before it stays.
    db.send(conn, "UPDATE cities SET name = 'kept' WHERE id = 'tenri'")
    conn.execute("SAVEPOINT step")
    db.send(conn, "UPDATE cities SET name = 'undone' WHERE id = 'tenri'")
    conn.execute("ROLLBACK TO step")
    conn.execute("RELEASE step")
    conn.execute("COMMIT")
    assert conn.execute("SELECT name FROM cities WHERE id = 'tenri'").fetchone()[0] == "kept"
    assert conn.execute("SELECT value FROM meta WHERE key = 'held-test'").fetchone()[0] == "1"


def test_a_write_held_writes_are_joined_to_fails_as_its_own_when_it_breaks_a_rule(pg_demo: Demo) -> None:
    # The caller's except clause (a receipt already used, an event already awarded) must still see
    # its own statement's violation, and not take a held write's for it (the test above).
    conn = db.connect(pg_demo.db_path)
    conn.execute("BEGIN")
    db.send(conn, "UPDATE chambers SET name = name WHERE id <> ''")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO cities(id, name, created_at) VALUES ('tenri', 'again', 'x')")
    conn.execute("ROLLBACK")


def test_a_void_racing_a_sale_that_spends_its_award_is_refused(pg_demo: Demo) -> None:
    # A sale awarded 100 points (a lot of its own, the first to expire); a second sale of the card
    # spends them on another writer session while the first is voided. The void must see the lot
    # drawn and refuse (award_spent). It used to read the lot before it held any lock on the account
    # (each writer thread is a session of its own now), find it whole, and take the 100 points off
    # the balance a second time: the lots then held 100 more than the balance (the soak's failure).
    first, second = db.connect(pg_demo.db_path), db.connect(pg_demo.db_path)
    now = ledger.utc_now()
    today = ledger.business_date(now)
    number = residents.key_state(first, pg_demo.card("sato")).account_number  # type: ignore[union-attr]
    kind, funder = first.execute(
        "SELECT funding_kind, funding_id FROM programs WHERE id = ?", (TENRI,)
    ).fetchone()
    with db.atomic(first):
        resident = ledger.account(first, "resident", number, TENRI)
        funding = ledger.account(first, "funding", ledger.funding_owner(kind, funder), TENRI)
        ledger.register_operation(first, "sale", "award-sale", "yamato-bakery", now)
        award = ledger.earn(
            first,
            kind="award",
            program_id=TENRI,
            debit=funding,
            resident=resident,
            amount=100,
            expires_on=today,
            now=now,
            sale_id="award-sale",
            merchant_id="yamato-bakery",
            op_kind="sale",
        )
    (original,) = [t for t in ledger.transfers_of(first, "award-sale") if t.id == award]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with db.atomic(second):
            ledger.register_operation(second, "sale", "spending-sale", "yamato-bakery", now)
            ledger.spend(
                second,
                kind="redeem_points",
                program_id=TENRI,
                resident=ledger.account(second, "resident", number, TENRI),
                credit=ledger.account(second, "merchant", "yamato-bakery", TENRI),
                amount=100,
                now=now,
                sale_id="spending-sale",
                merchant_id="yamato-bakery",
            )

            def void() -> int:
                with db.atomic(first):
                    return ledger.reverse(first, original, now)

            voiding = _waiting(pool, void)  # waits for the spending sale's commit
        with pytest.raises(ledger.AwardSpent):
            voiding.result(timeout=10)
    assert ledger.check(first) == []


def test_a_merge_racing_a_sale_of_the_merged_card_moves_the_lots_as_they_are(pg_demo: Demo) -> None:
    # The desk merges sato's account into suzuki's while a sale of sato's card, on another writer
    # session, spends 100 of its points and awards 200. The merge must move the lots as that sale
    # left them. It used to read them before it held the accounts' locks: the drawn lot was moved
    # whole (5,000, not 4,900) and sato's account kept a 200-point lot with a balance of 100.
    first, second = db.connect(pg_demo.db_path), db.connect(pg_demo.db_path)
    now = ledger.utc_now()
    gone, kept = (
        residents.key_state(first, pg_demo.card(name)).account_number  # type: ignore[union-attr]
        for name in ("sato", "suzuki")
    )
    kind, funder = first.execute(
        "SELECT funding_kind, funding_id FROM programs WHERE id = ?", (TENRI,)
    ).fetchone()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with db.atomic(second):
            ledger.register_operation(second, "sale", "racing-sale", "yamato-bakery", now)
            resident = ledger.account(second, "resident", gone, TENRI)
            ledger.spend(
                second,
                kind="redeem_points",
                program_id=TENRI,
                resident=resident,
                credit=ledger.account(second, "merchant", "yamato-bakery", TENRI),
                amount=100,
                now=now,
                sale_id="racing-sale",
                merchant_id="yamato-bakery",
            )
            ledger.earn(
                second,
                kind="award",
                program_id=TENRI,
                debit=ledger.account(second, "funding", ledger.funding_owner(kind, funder), TENRI),
                resident=resident,
                amount=200,
                expires_on=ledger.business_date(now) + dt.timedelta(days=365),
                now=now,
                sale_id="racing-sale",
                merchant_id="yamato-bakery",
                op_kind="sale",
            )

            def merge() -> dict[str, int]:
                with db.atomic(first):
                    return desk._move_lots(first, gone, kept, now)

            merging = _waiting(pool, merge)  # waits for the sale's commit
        assert merging.result(timeout=10)[TENRI] == 5000 - 100 + 200
    assert ledger.check(first) == []


# Races between two server processes (two writer sessions): the one that comes second waits for the
# first one's commit, then decides on what that commit left, never on what it read before it.


@pytest.fixture
def pg_store(pg_demo: Demo) -> Iterator[Store]:
    store = Store(pg_demo.db_path)
    yield store
    store.close()


def _waiting(
    pool: concurrent.futures.ThreadPoolExecutor, job: Callable[[], T]
) -> concurrent.futures.Future[T]:
    """``job`` started on another session, checked to be waiting (for the caller's commit)."""
    started = pool.submit(job)
    with pytest.raises(concurrent.futures.TimeoutError):
        started.result(timeout=0.5)
    return started


def _voiding(conn: Any, principal: Principal, sale_id: str) -> Callable[[], str]:
    """A void of the sale in a transaction of its own on ``conn`` (the job for :func:`_waiting`)."""

    def void() -> str:
        with db.atomic(conn):
            return sales.void(conn, principal, sale_id, "", ledger.utc_now())

    return void


def _sell(store: Store, conn: Any, token: str, body: dict[str, Any]) -> str:
    """A sale through the server's own path, applied on ``conn`` inside the caller's transaction."""
    principal = store.principal(token)
    assert principal is not None
    request = SaleRequest.model_validate(body)
    prepared = sales.prepare(store, principal, request, sales.request_hash(principal.id, request))
    answer = sales.apply(conn, prepared)
    assert isinstance(answer, str), answer
    return answer


def _issue_for(store: Store, conn: Any, token: str, sale_body: dict[str, Any]) -> list[int]:
    """The ticket counter's tickets for a mykey-pos sale's receipt (its QR code), on ``conn``."""
    principal = store.principal(token)
    assert principal is not None
    day = ledger.business_date(store.clock()).isoformat()
    receipt = {"merchant_id": "yamato-bakery", "receipt_no": str(sale_body["receipt_no"]), "date": day,
               "amount": sale_body["totals"][0]["amount"], "sale_id": sale_body["sale_id"]}  # fmt: skip
    request = TicketIssueRequest.model_validate(
        {"issue_id": str(ULID()), "program_id": TENRI, "receipts": [receipt]}
    )
    answer = issuing.issue_tickets(
        conn, principal, request, store.programs()[TENRI], store.signer,
        sales.request_hash(principal.id, request), store.clock(),
    )  # fmt: skip
    return [ticket["serial"] for ticket in json.loads(answer)["tickets"]]


def _ticket_states(conn: Any, serials: list[int]) -> list[str]:
    return [conn.execute("SELECT state FROM tickets WHERE serial = ?", (s,)).fetchone()[0] for s in serials]


def test_two_voids_of_one_sale_on_two_server_processes_give_its_points_back_once(
    pg_demo: Demo, pg_store: Store
) -> None:
    first, second = db.connect(pg_demo.db_path), db.connect(pg_demo.db_path)
    card, token = pg_demo.card("sato"), pg_demo.tokens[SHOP]
    body = sale(card, total=1000, points={TENRI: 300})
    with db.atomic(first):
        _sell(pg_store, first, token, body)
    principal, now = pg_store.principal(token), ledger.utc_now()
    assert principal is not None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with db.atomic(second):
            answer = sales.void(second, principal, body["sale_id"], "clerk A", now)

            again = _waiting(pool, _voiding(first, principal, body["sale_id"]))
        assert again.result(timeout=10) == answer  # the voided answer, not a second void
    resident = resident_account(first, card, TENRI)
    assert resident is not None and ledger.balance(first, resident) == 5000
    assert ledger.check(first) == []


def test_a_void_racing_a_sale_that_redeems_a_ticket_of_its_receipt_leaves_that_ticket_redeemed(
    pg_demo: Demo, pg_store: Store
) -> None:
    # The bakery's 12,000 yen sale earned tickets at the ticket counter; another shop takes one of
    # them while the bakery voids the sale. The void must cancel only those still issued. It used to
    # read the tickets before the other shop's commit and cancel the one just redeemed as well: its
    # value left the tickets outstanding twice (redeemed and cancelled).
    first, second = db.connect(pg_demo.db_path), db.connect(pg_demo.db_path)
    body = sale(total=12_000)
    with db.atomic(first):
        _sell(pg_store, first, pg_demo.tokens[SHOP], body)
        serials = _issue_for(pg_store, first, pg_demo.tokens[COUNTER], body)
    assert len(serials) >= 2
    text = first.execute("SELECT text FROM tickets WHERE serial = ?", (serials[0],)).fetchone()[0]
    principal = pg_store.principal(pg_demo.tokens[SHOP])
    assert principal is not None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with db.atomic(second):
            _sell(pg_store, second, pg_demo.tokens[OTHER_SHOP], sale(total=1000, tickets=[text], cash=0))

            voiding = _waiting(pool, _voiding(first, principal, body["sale_id"]))
        voiding.result(timeout=10)
    assert _ticket_states(first, serials) == ["redeemed"] + ["cancelled"] * (len(serials) - 1)
    assert ledger.check(first) == []


def test_tickets_issued_for_a_receipt_while_its_sale_is_voided_are_cancelled_with_it(
    pg_demo: Demo, pg_store: Store
) -> None:
    # The ticket counter takes a bakery receipt at the moment the bakery voids that sale. Either the
    # counter sees the sale voided, or the void sees the tickets and cancels them. It used to read
    # the sale standing, and the void, seeing no tickets yet, left them issued on a voided sale.
    first, second = db.connect(pg_demo.db_path), db.connect(pg_demo.db_path)
    body = sale(total=12_000)
    with db.atomic(first):
        _sell(pg_store, first, pg_demo.tokens[SHOP], body)
    principal = pg_store.principal(pg_demo.tokens[SHOP])
    assert principal is not None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with db.atomic(second):
            serials = _issue_for(pg_store, second, pg_demo.tokens[COUNTER], body)

            voiding = _waiting(pool, _voiding(first, principal, body["sale_id"]))
        voiding.result(timeout=10)
    assert serials and _ticket_states(first, serials) == ["cancelled"] * len(serials)
    assert ledger.check(first) == []


def test_an_expiry_run_at_midnight_waits_for_a_sale_drawing_the_expiring_lot(pg_demo: Demo) -> None:
    # A lot's last day is today; a sale just before midnight spends 100 of its 300 points while the
    # expiry run of the new day starts. The run must expire the 200 left. It used to read the lot
    # whole before the sale's commit and take 300 off the balance: the lots then held 100 less than
    # the balance said.
    first, second = db.connect(pg_demo.db_path), db.connect(pg_demo.db_path)
    now = ledger.utc_now()
    today = ledger.business_date(now)
    card = pg_demo.card("sato")
    number = residents.key_state(first, card).account_number  # type: ignore[union-attr]
    kind, funder = first.execute(
        "SELECT funding_kind, funding_id FROM programs WHERE id = ?", (TENRI,)
    ).fetchone()
    with db.atomic(first):
        resident = ledger.account(first, "resident", number, TENRI)
        funding = ledger.account(first, "funding", ledger.funding_owner(kind, funder), TENRI)
        ledger.register_operation(first, "sale", "expiring-award", "yamato-bakery", now)
        ledger.earn(first, kind="award", program_id=TENRI, debit=funding, resident=resident, amount=300,
                    expires_on=today, now=now, sale_id="expiring-award", merchant_id="yamato-bakery",
                    op_kind="sale")  # fmt: skip
    (lot,) = first.execute(
        "SELECT id FROM lots WHERE account_id = ? AND expires_on = ?", (resident, today.isoformat())
    ).fetchall()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with db.atomic(second):
            ledger.register_operation(second, "sale", "late-sale", "yamato-bakery", now)
            ledger.spend(second, kind="redeem_points", program_id=TENRI, resident=resident,
                         credit=ledger.account(second, "merchant", "yamato-bakery", TENRI), amount=100,
                         now=now, sale_id="late-sale", merchant_id="yamato-bakery")  # fmt: skip

            def expire() -> ledger.ExpiryReport:
                with db.atomic(first):
                    return ledger.expire(first, today + dt.timedelta(days=1), now)

            expiring = _waiting(pool, expire)
        expiring.result(timeout=10)
    expired = first.execute(
        "SELECT d.points FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id"
        " WHERE d.lot_id = ? AND t.kind = 'expiry'",
        (lot[0],),
    ).fetchall()
    assert [row[0] for row in expired] == [200]
    assert ledger.check(first) == []


async def test_a_job_waiting_for_a_lock_never_holds_up_the_other_jobs_of_its_group(pg_demo: Demo) -> None:
    # Two groups can each hold a row another of their jobs waits for (PostgreSQL finds that deadlock
    # only after a second). A job in a group gives up its wait, the rest of the group commits, and the
    # job is run again alone, on a session of its own, waiting as long as the row stays locked.
    conn = db.connect(pg_demo.db_path)
    first, second = (row[0] for row in conn.execute("SELECT id FROM accounts ORDER BY id LIMIT 2").fetchall())
    conn.close()
    other = db.connect(pg_demo.db_path)
    other.execute("BEGIN")
    other.execute("SELECT id FROM accounts WHERE id = ? FOR UPDATE", (second,))  # another process
    writer = ThreadedWriter(pg_demo.db_path, threads=1)
    started, busy = threading.Event(), threading.Event()

    def lock(account: int) -> Callable[[Any], int]:
        return lambda c: int(
            c.execute("SELECT id FROM accounts WHERE id = ? FOR UPDATE", (account,)).fetchone()[0]
        )

    try:
        # The one session is kept busy until the next two are queued: they make one group.
        blocker = writer.submit(lambda c: (started.set(), busy.wait(10)))
        assert await asyncio.to_thread(started.wait, 10)
        free, waiting = writer.submit(lock(first)), writer.submit(lock(second))
        busy.set()
        await asyncio.wait_for(blocker, 10)
        assert await asyncio.wait_for(free, 10) == first  # committed while the other row is still locked
        assert not waiting.done()
        # The job waiting alone has a session of its own: the next groups do not queue behind it.
        assert await asyncio.wait_for(writer.submit(lock(first)), 10) == first
        assert not waiting.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(waiting, 10) == second
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
        writer.close()
