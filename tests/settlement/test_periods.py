"""Closing periods: late, voided and disputed sales; double close; reopen; fee share; multi-city split."""

from __future__ import annotations

import datetime as dt

import pytest

from server.settlement import claims, payouts, periods, store
from server.settlement.claims import Scope
from server.settlement.errors import SettlementError
from tests.settlement.conftest import DEC, NOV, Books

ADMIN = Scope("admin")
NOVEMBER = periods.parse_period("2026-11")
DECEMBER = periods.parse_period("2026-12")
AFTER_NOV = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)


def claim_of(books: Books, period: str, merchant: str, program: str) -> dict[str, object]:
    return claims.get_claim(books.conn, ADMIN, f"{period}:{merchant}:{program}")


def test_period_names_and_their_japan_time_bounds() -> None:
    assert NOVEMBER.starts_at == "2026-10-31T15:00:00+00:00"
    assert NOVEMBER.ends_at == "2026-11-30T15:00:00+00:00"
    assert periods.parse_period("2026-12b").ends_on == dt.date(2027, 1, 1)
    assert periods.parse_period("2026-11a").ends_on == dt.date(2026, 11, 16)
    assert periods.parse_period("2026-W48").starts_on == dt.date(2026, 11, 23)
    for bad in ("2026-13", "2026-11c", "26-11", "2026-W54", ""):
        with pytest.raises(SettlementError):
            periods.parse_period(bad)


def test_close_freezes_one_claim_per_merchant_and_program(books: Books) -> None:
    books.redeem("shop-a", "tenri", 1000, NOV)
    books.redeem("shop-a", "tenri", 500, NOV, ticket=True)
    books.redeem("shop-a", "miyako", 300, NOV)
    books.redeem("shop-b", "tenri", 200, NOV)
    books.redeem("shop-c", "miyako", 999, NOV)  # another chamber: not in this close
    result = periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    assert (result.claims, result.transfers, result.gross) == (3, 4, 2000)
    first = claim_of(books, "2026-11", "shop-a", "tenri")
    assert (first["redeemed_points"], first["redeemed_tickets"], first["net"]) == (1000, 500, 1500)
    assert first["state"] == "submitted" and first["city_id"] == "tenri"
    # Multi-city: shop-a's Miyakonojo points are a separate claim for the other city, fee kept.
    other = claim_of(books, "2026-11", "shop-a", "miyako")
    assert (other["city_id"], other["gross"], other["fee"], other["net"]) == ("miyako", 300, 10, 290)
    assert other["fee_remainder"] == "0.500"


def test_the_cutoff_is_the_period_end_and_sales_after_it_wait_for_the_next_period(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    books.redeem("shop-a", "tenri", 7, dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC))  # Dec 1 00:00 JST
    periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    assert claim_of(books, "2026-11", "shop-a", "tenri")["gross"] == 100
    periods.close(books.conn, "tenri-cci", DECEMBER, "clerk", now=dt.datetime(2027, 1, 2, tzinfo=dt.UTC))
    assert claim_of(books, "2026-12", "shop-a", "tenri")["gross"] == 7


def test_a_late_offline_sale_lands_in_the_next_period_never_the_closed_one(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    closed = periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    # Synced after the close (accepted by the server on Dec 3), though made in November.
    books.redeem("shop-a", "tenri", 40, DEC)
    again = periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=DEC)
    assert again.already_closed and again.gross == closed.gross == 100
    periods.close(books.conn, "tenri-cci", DECEMBER, "clerk", now=dt.datetime(2027, 1, 2, tzinfo=dt.UTC))
    assert claim_of(books, "2026-12", "shop-a", "tenri")["gross"] == 40
    assert claim_of(books, "2026-11", "shop-a", "tenri")["gross"] == 100


def test_a_period_closed_early_leaves_later_sales_of_the_same_month_to_the_next_close(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=NOV + dt.timedelta(hours=1))
    books.redeem("shop-a", "tenri", 5, NOV + dt.timedelta(hours=2))
    periods.close(books.conn, "tenri-cci", DECEMBER, "clerk", now=dt.datetime(2027, 1, 2, tzinfo=dt.UTC))
    assert claim_of(books, "2026-11", "shop-a", "tenri")["gross"] == 100
    assert claim_of(books, "2026-12", "shop-a", "tenri")["gross"] == 5


def test_voids_are_deducted_and_a_void_after_the_close_reduces_the_next_period(books: Books) -> None:
    kept = books.redeem("shop-a", "tenri", 1000, NOV)
    voided = books.redeem("shop-a", "tenri", 300, NOV)
    books.void(voided, NOV + dt.timedelta(minutes=5))
    periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    november = claim_of(books, "2026-11", "shop-a", "tenri")
    assert (november["redeemed_points"], november["voided"], november["net"]) == (1300, 300, 1000)
    # A void posted after November closed (clock skew, an admin correction) is taken off December.
    books.void(kept, DEC)
    books.redeem("shop-a", "tenri", 1500, DEC)
    periods.close(books.conn, "tenri-cci", DECEMBER, "clerk", now=dt.datetime(2027, 1, 2, tzinfo=dt.UTC))
    december = claim_of(books, "2026-12", "shop-a", "tenri")
    assert (december["voided"], december["gross"]) == (1000, 500)


def test_disputed_lines_are_listed_apart_and_never_paid(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    books.refuse("shop-a", "tenri", 500, "ticket_already_redeemed", NOV)
    books.refuse("shop-a", None, 800, "insufficient_points", NOV)
    books.refuse("shop-b", "tenri", 200, "offline_limit_exceeded", NOV)
    result = periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    assert result.disputes == 3
    claim = claim_of(books, "2026-11", "shop-a", "tenri")
    assert (claim["disputed"], claim["gross"], claim["net"]) == (500, 100, 100)
    only_dispute = claim_of(books, "2026-11", "shop-b", "tenri")
    assert (only_dispute["disputed"], only_dispute["net"]) == (200, 0)
    lines = claims.disputed_lines(books.conn, "2026-11", merchant_id="shop-a")
    assert sorted(line["error_code"] for line in lines) == ["insufficient_points", "ticket_already_redeemed"]


def test_closing_twice_is_a_no_op(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    first = periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    second = periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    assert not first.already_closed and second.already_closed
    assert (second.claims, second.gross) == (first.claims, first.gross)
    assert books.conn.execute("SELECT COUNT(*) FROM claim_transfers").fetchone()[0] == 1


def test_reopen_needs_a_reason_is_logged_and_frees_the_transfers(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    with pytest.raises(SettlementError) as caught:
        periods.reopen(books.conn, "tenri-cci", NOVEMBER, "admin", "  ")
    assert caught.value.code == "reason_required"
    periods.reopen(books.conn, "tenri-cci", NOVEMBER, "admin", "shop-a's bank account was wrong")
    assert claims.list_claims(books.conn, ADMIN, period_id="2026-11") == []
    (line,) = [x for x in store.log_lines(books.conn) if x["action"] == "reopen"]
    assert line["detail"]["reason"] == "shop-a's bank account was wrong" and line["actor"] == "admin"
    reclosed = periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    assert reclosed.gross == 100 and not reclosed.already_closed


def test_reopen_is_refused_once_the_city_approved_payment(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    claim_id = "2026-11:shop-a:tenri"
    claims.approve(books.conn, Scope("chamber", chamber_id="tenri-cci"), claim_id, "chamber")
    claims.approve(books.conn, Scope("city", city_id="tenri"), claim_id, "city")
    with pytest.raises(SettlementError) as caught:
        periods.reopen(books.conn, "tenri-cci", NOVEMBER, "admin", "too late")
    assert caught.value.code == "period_paid"
    with pytest.raises(SettlementError):
        periods.reopen(books.conn, "tenri-cci", DECEMBER, "admin", "never closed")


def test_reconciliation_holds_and_every_transfer_is_counted_once(books: Books) -> None:
    books.redeem("shop-a", "tenri", 1000, NOV)
    books.void(books.redeem("shop-a", "miyako", 333, NOV), NOV)
    books.redeem("shop-a", "miyako", 1001, NOV)
    books.redeem("shop-b", "tenri", 50, NOV, ticket=True)
    periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=AFTER_NOV)
    summary = payouts.reconcile(books.conn, ADMIN, "2026-11")
    assert summary["balanced"] and summary["uncounted"] == 0
    assert summary["claims_gross"] == summary["receivables_moved"] == 2051
    assert summary["claims_net"] + summary["fees"] == 2051
