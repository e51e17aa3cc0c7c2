"""A simulated month of random traffic: claims reconcile to the ledger to the yen, nothing counted twice.

Random redemptions, tickets, voids (some after the close), refused offline sales and late
syncs across November and December, the two chambers closing at different moments; then every
redemption is in exactly one claim, the claims' gross equals what moved through merchants'
receivables, and each period's reconciliation balances.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server import db
from server.settlement import claims, payouts, periods
from server.settlement.claims import Scope
from tests.settlement.conftest import Books, seed

START = dt.datetime(2026, 10, 31, 15, 0, tzinfo=dt.UTC)  # Nov 1, 00:00 JST
SHOPS = ("shop-a", "shop-b", "shop-c")
PROGRAMS = ("tenri", "miyako", "oguni")
CHAMBERS = ("tenri-cci", "miyako-cci")
Event = tuple[int, int, int, int, int]
events = st.lists(
    st.tuples(
        st.integers(0, 60 * 24 * 45),  # minute after the start: November and half of December
        st.integers(0, 2),  # shop
        st.integers(0, 2),  # program
        st.integers(1, 20_000),  # amount
        st.integers(0, 9),  # what: 0-5 points, 6-7 ticket, 8 void the previous of this shop, 9 refused
    ),
    min_size=1,
    max_size=60,
)


def run_month(books: Books, traffic: list[Event], close_minutes: tuple[int, int]) -> None:
    timeline: list[tuple[int, str, object]] = [(minute, "sale", event) for minute, *event in traffic]
    for chamber, minute in zip(CHAMBERS, close_minutes, strict=True):
        timeline.append((minute, "close-nov", chamber))
    timeline.append((60 * 24 * 70, "close-dec", None))
    last: dict[str, list[int]] = {}
    for minute, what, data in sorted(timeline, key=lambda item: (item[0], item[1])):
        at = START + dt.timedelta(minutes=minute)
        if what == "close-nov":
            periods.close(books.conn, str(data), periods.parse_period("2026-11"), "clerk", now=at)
        elif what == "close-dec":
            for chamber in CHAMBERS:
                periods.close(books.conn, chamber, periods.parse_period("2026-11"), "clerk", now=at)
                periods.close(books.conn, chamber, periods.parse_period("2026-12"), "clerk", now=at)
        else:
            shop_i, program_i, amount, kind = data  # type: ignore[misc]
            shop, program = SHOPS[shop_i], PROGRAMS[program_i]
            if kind <= 7:
                last.setdefault(shop, []).append(books.redeem(shop, program, amount, at, ticket=kind >= 6))
            elif kind == 8 and last.get(shop):
                books.void(last[shop].pop(), at)
            elif kind == 9:
                books.refuse(shop, program, amount, "ticket_already_redeemed", at)


@settings(max_examples=25, deadline=None)
@given(traffic=events, close_minutes=st.tuples(st.integers(0, 60 * 24 * 40), st.integers(0, 60 * 24 * 40)))
def test_a_random_month_reconciles_to_the_yen(
    tmp_path_factory: pytest.TempPathFactory, traffic: list[Event], close_minutes: tuple[int, int]
) -> None:
    path = tmp_path_factory.mktemp("month") / "mykey.db"
    conn = db.connect(path)
    seed(conn)
    books = Books(conn)
    run_month(books, traffic, close_minutes)
    counted = conn.execute("SELECT COUNT(*), COUNT(DISTINCT transfer_id) FROM claim_transfers").fetchone()
    redemptions = conn.execute(
        "SELECT COUNT(*) FROM transfers WHERE kind IN ('redeem_points', 'redeem_ticket')"
        " OR (kind = 'void' AND reverses_id IN (SELECT id FROM transfers WHERE kind LIKE 'redeem_%'))"
    ).fetchone()[0]
    assert counted[0] == counted[1] == redemptions  # every one counted, none twice
    all_gross = sum(c["gross"] for c in claims.list_claims(conn, Scope("admin")))
    receivables = conn.execute(
        "SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind = 'merchant'"
    ).fetchone()[0]
    assert all_gross == receivables
    disputed = sum(c["disputed"] for c in claims.list_claims(conn, Scope("admin")))
    refused = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM refused_sales").fetchone()[0]
    assert disputed == refused
    for period in ("2026-11", "2026-12"):
        summary = payouts.reconcile(conn, Scope("admin"), period)
        assert summary["balanced"], summary
        for claim in claims.list_claims(conn, Scope("admin"), period_id=period):
            assert claim["net"] + claim["fee"] == claim["gross"]
    conn.close()
