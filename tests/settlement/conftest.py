"""Fixtures: a server database on disk with two cities, two chambers, shops, programs and a ledger helper.

The helper posts transfers through :mod:`server.ledger` exactly as the server's sale path does
(resident → merchant receivable, tickets → merchant, voids reversing them), with the server time
chosen by the test, so periods and late sales can be set up precisely.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import sqlite3
from collections.abc import Iterator

import pytest

from points.programs import FundingSource, PayoutChain, Program
from server import db, ledger, schema
from server.settlement import payouts, store
from server.settlement.zengin import BankAccount
from tests.support.pgdb import Cluster, pg_cluster, pg_kek, pg_url

__all__ = ["pg_cluster", "pg_kek", "pg_url"]  # fixtures, shared with the tests of this folder

#: The databases every settlement test on ``books`` runs on.
DATABASES = ["sqlite", "postgresql"]

NOV = dt.datetime(2026, 11, 10, 3, 0, tzinfo=dt.UTC)
DEC = dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC)
T0 = "2026-01-01T00:00:00+00:00"

PROGRAMS = (
    # Tenri tickets: the city pays the chamber, which pays its shops.
    Program(
        id="tenri",
        name_ja="天理めぐみめぐる",
        name_en="Tenri Megumi",
        city="tenri",
        funding=FundingSource(kind="city", id="tenri"),
        payout=PayoutChain.VIA_CHAMBER,
    ),
    # Miyakonojo keeps 3.5 % as an operating fee and pays shops directly.
    Program(
        id="miyako",
        name_ja="都城ポイント",
        name_en="Miyakonojo points",
        city="miyako",
        funding=FundingSource(kind="city", id="miyako"),
        fee_share_permille=35,
    ),
    # Oguni's partner-funded points (conversions), paid directly.
    Program(
        id="oguni",
        name_ja="小国町北里柴三郎ポイント",
        name_en="Oguni points",
        city="miyako",
        funding=FundingSource(kind="partner", id="airline"),
    ),
)


class Books:
    """A server database with cities, chambers, merchants, programs, and a way to post sales."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._sale = 0

    def redeem(
        self, merchant: str, program: str, amount: int, at: dt.datetime, *, ticket: bool = False
    ) -> int:
        """A sale redeeming points (or a ticket) at ``merchant``, accepted by the server at ``at``."""
        self._sale += 1
        sale_id = f"SALE{self._sale:022d}"
        with db.atomic(self.conn):
            if ticket:
                debit = ledger.account(self.conn, "tickets", "outstanding", program)
                funding = ledger.account(self.conn, "funding", f"city:{program}", program)
                ledger.post(
                    self.conn, kind="issue_ticket", program_id=program, debit=funding, credit=debit,
                    amount=amount, now=at,
                )  # fmt: skip
            else:
                debit = ledger.account(self.conn, "resident", f"uid:{self._sale:064x}", program)
                funding = ledger.account(self.conn, "funding", f"city:{program}", program)
                ledger.post(
                    self.conn, kind="grant", program_id=program, debit=funding, credit=debit, amount=amount,
                    now=at,
                )  # fmt: skip
            credit = ledger.account(self.conn, "merchant", merchant, program)
            return ledger.post(
                self.conn,
                kind="redeem_ticket" if ticket else "redeem_points",
                program_id=program,
                debit=debit,
                credit=credit,
                amount=amount,
                now=at,
                sale_id=sale_id,
                merchant_id=merchant,
            )

    def void(self, transfer_id: int, at: dt.datetime) -> int:
        """Reverse a redemption (the server's same-day void)."""
        row = self.conn.execute(
            "SELECT id, kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id, amount,"
            " created_at, reverses_id, ticket_serial FROM transfers WHERE id = ?",
            (transfer_id,),
        ).fetchone()
        with db.atomic(self.conn):
            return ledger.post(
                self.conn, kind="void", program_id=row[4], debit=row[6], credit=row[5], amount=row[7], now=at,
                sale_id=row[2], merchant_id=row[3], reverses_id=row[0],
            )  # fmt: skip

    def refuse(self, merchant: str, program: str | None, amount: int, code: str, at: dt.datetime) -> None:
        """An offline sale the server refused on sync (a disputed line)."""
        self._sale += 1
        with db.atomic(self.conn):
            insert(
                self.conn, "refused_sales", sale_id=f"REFUSED{self._sale:019d}", line_no=0,
                merchant_id=merchant, terminal_id="t", program_id=program, amount=amount, error_code=code,
                message="refused",
                request_hash="h", terminal_time=ledger.iso(at), created_at=ledger.iso(at),
            )  # fmt: skip


def insert(conn: sqlite3.Connection, table: str, **values: object) -> None:
    """Insert one row into one of the server's tables."""
    names = ", ".join(values)
    conn.execute(
        f"INSERT INTO {table}({names}) VALUES ({', '.join('?' * len(values))})", tuple(values.values())
    )


def seed(conn: sqlite3.Connection) -> None:
    """Cities, chambers with bank accounts, merchants (two chambers), the programs, payers."""
    schema.create(conn)
    store.ensure(conn)
    bank = {"bank_code": "0001", "branch_code": "001", "account_type": 1}
    with db.atomic(conn):
        for city in ("tenri", "miyako"):
            insert(conn, "cities", id=city, name=city, created_at=T0)
        for chamber, city in (("tenri-cci", "tenri"), ("miyako-cci", "miyako")):
            insert(
                conn, "chambers", id=chamber, name=chamber, city_id=city, **bank, account_number="1000001",
                account_holder_kana="ｼﾖｳｺｳｶｲ", created_at=T0,
            )  # fmt: skip
        shops = (
            ("shop-a", "tenri-cci", "ヤマダ　ショウテン"),
            ("shop-b", "tenri-cci", "カ）キッサ"),
            ("shop-c", "miyako-cci", "ミヤコ　ヤキ"),
        )
        for index, (shop, chamber, holder) in enumerate(shops):
            insert(
                conn, "merchants", id=shop, name=shop, chamber_id=chamber, **bank,
                account_number=f"{2000001 + index}", account_holder_kana=holder, created_at=T0,
            )  # fmt: skip
        insert(conn, "partners", id="airline", name="Airline", created_at=T0)
        for program in PROGRAMS:
            insert(
                conn, "programs", id=program.id, city_id=program.city, funding_kind=program.funding.kind,
                funding_id=program.funding.id, tender_kind=program.tender_kind.value,
                payout=program.payout.value,
                fee_share_permille=program.fee_share_permille, definition=program.model_dump_json(),
                created_at=T0, updated_at=T0,
            )  # fmt: skip
    payers = (("city:tenri", "1111111111"), ("city:miyako", "2222222222"), ("chamber:tenri-cci", "3"))
    for owner, code in payers:
        payouts.set_payer(
            conn,
            payouts.Payer(owner, code, "ﾃﾝﾘｼ", BankAccount("0001", "001", 1, "9999999", "ﾃﾝﾘｼ")),
        )


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    """The database the test runs on: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture(scope="session")
def pg_schema_template(pg_cluster: Cluster) -> str:
    """A PostgreSQL database with the server's schema and nothing else, made once."""
    url = pg_cluster.create()
    conn = db.connect(url)
    schema.upgrade(conn)
    conn.close()
    return url


@pytest.fixture
def books_url(
    database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> Iterator[str | pathlib.Path]:
    """Where the test's server database is: a SQLite file, or a fresh PostgreSQL database."""
    if database == "sqlite":
        yield tmp_path / "mykey.db"
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    request.getfixturevalue("pg_kek")
    url = cluster.create(template=cluster.name_of(request.getfixturevalue("pg_schema_template")))
    yield url
    cluster.drop(url)


@pytest.fixture
def books(books_url: str | pathlib.Path) -> Iterator[Books]:
    """A fresh server database (on both databases, in turn), seeded, with the ledger helper."""
    conn = db.connect(books_url)
    seed(conn)
    yield Books(conn)
    conn.close()
