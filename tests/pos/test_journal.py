"""The journal: every sale on disk before the server hears of it, in order, with its tickets."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
from ulid import ULID

from points import calendar
from points.tax import Line, TaxRate
from points.wire import ErrorBody, RateAmount, SaleRequest, SaleResult, SaleStatus
from pos import journal as journal_module
from pos.checkout import TenderRefused
from pos.counter import Counter
from pos.journal import EntryState, Journal, JournalError, TicketAlreadyUsed
from pos.printing import ReceiptPrinter

CARD = "uid:" + "ab" * 32


def make_sale(receipt_no: int = 1, cash: int = 1100, **extra: object) -> SaleRequest:
    return SaleRequest(
        sale_id=str(ULID()),
        terminal_time=dt.datetime.now(dt.UTC),
        receipt_no=receipt_no,
        totals=[RateAmount(rate=TaxRate.STANDARD, amount=1100)],
        cash=cash,
        **extra,  # type: ignore[arg-type]
    )


def answer_for(sale: SaleRequest) -> SaleResult:
    return SaleResult(
        sale_id=sale.sale_id,
        status=SaleStatus.ACCEPTED,
        accepted_at=dt.datetime.now(dt.UTC),
        total=sale.total,
        cash=sale.cash,
    )


@pytest.fixture
def journal(tmp_path: pathlib.Path) -> Journal:
    return Journal(tmp_path / "journal.db")


LINES = [Line("お弁当", 550, 2, TaxRate.REDUCED)]


def test_a_sale_is_pending_with_its_lines_before_the_server_answers(journal: Journal) -> None:
    sale = make_sale()
    entry = journal.begin_sale(sale, LINES)
    assert entry.state is EntryState.PENDING
    assert entry.lines == LINES
    assert entry.sale_request == sale
    assert [e.id for e in journal.pending()] == [sale.sale_id]


def test_the_answer_moves_it_to_accepted_and_survives_reopening(tmp_path: pathlib.Path) -> None:
    journal = Journal(tmp_path / "j.db")
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    journal.accept(sale.sale_id, answer_for(sale))
    journal.close()
    again = Journal(tmp_path / "j.db").get(sale.sale_id)
    assert again.state is EntryState.ACCEPTED
    assert again.sale_result == answer_for(sale).model_copy(
        update={"accepted_at": again.sale_result.accepted_at}
    )
    assert again.printed_at is None


def test_the_same_sale_id_is_never_written_twice(journal: Journal) -> None:
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    with pytest.raises(JournalError):
        journal.begin_sale(sale, LINES)


def test_states_only_move_forward(journal: Journal) -> None:
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    journal.accept(sale.sale_id, answer_for(sale))
    with pytest.raises(JournalError):
        journal.refuse(sale.sale_id, ErrorBody(code="x", message="y"))
    with pytest.raises(JournalError):
        journal.synced(sale.sale_id, answer_for(sale))


def test_an_answer_recorded_twice_keeps_the_first(journal: Journal) -> None:
    # The background sync and the counter both sent the same in-flight sale (same id, same answer).
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    first = journal.accept(sale.sale_id, answer_for(sale))
    again = journal.accept(sale.sale_id, answer_for(sale))
    assert again.state is EntryState.ACCEPTED and again.answer == first.answer


def test_a_ticket_is_taken_once_and_released_when_the_counter_sale_is_refused(journal: Journal) -> None:
    first = make_sale()
    journal.begin_sale(first, LINES, [1234])
    assert journal.ticket_used(1234)
    with pytest.raises(TicketAlreadyUsed):
        journal.begin_sale(make_sale(receipt_no=2), LINES, [1234])
    journal.refuse(first.sale_id, ErrorBody(code="insufficient_balance", message="no"))
    assert not journal.ticket_used(1234)
    journal.begin_sale(make_sale(receipt_no=3), LINES, [1234])


def test_a_failed_write_leaves_neither_the_sale_nor_its_tickets(journal: Journal) -> None:
    journal.begin_sale(make_sale(), LINES, [7])
    second = make_sale(receipt_no=2)
    with pytest.raises(TicketAlreadyUsed):
        journal.begin_sale(second, LINES, [8, 7])
    assert not journal.ticket_used(8)
    with pytest.raises(JournalError):
        journal.get(second.sale_id)


def test_offline_queue_keeps_journal_order_and_sync_refusals_are_listed(journal: Journal) -> None:
    sales = [make_sale(receipt_no=n) for n in range(1, 6)]
    for sale in sales:
        journal.begin_sale(sale, LINES, offline=True)
    assert [e.id for e in journal.offline_queue()] == [s.sale_id for s in sales]
    refusal = ErrorBody(code="offline_limit", message="over the offline limit")
    journal.settle_batch([(sales[0].sale_id, answer_for(sales[0])), (sales[1].sale_id, refusal)])
    assert journal.get(sales[0].sale_id).state is EntryState.SYNCED
    assert [e.id for e in journal.refused_on_sync()] == [sales[1].sale_id]
    assert [e.id for e in journal.offline_queue(limit=2)] == [s.sale_id for s in sales[2:4]]


def test_a_pending_sale_the_server_never_saw_can_be_queued_offline(journal: Journal) -> None:
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    body = sale.model_copy(update={"offline": True}).model_dump(mode="json")
    entry = journal.go_offline(sale.sale_id, body)
    assert entry.state is EntryState.OFFLINE and entry.offline and entry.sale_request.offline


def test_unprinted_lists_standing_sales_until_printed(journal: Journal) -> None:
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    assert journal.unprinted() == []  # pending: nothing to print yet
    journal.accept(sale.sale_id, answer_for(sale))
    assert [e.id for e in journal.unprinted()] == [sale.sale_id]
    journal.mark_printed(sale.sale_id)
    journal.mark_printed(sale.sale_id)
    assert journal.unprinted() == []
    assert journal.get(sale.sale_id).print_count == 2


def test_receipt_numbers_count_up_across_reopening(tmp_path: pathlib.Path) -> None:
    journal = Journal(tmp_path / "j.db")
    assert [journal.next_receipt_no() for _ in range(3)] == [1, 2, 3]
    journal.close()
    assert Journal(tmp_path / "j.db").next_receipt_no() == 4


def test_of_day_and_voids(journal: Journal) -> None:
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    journal.accept(sale.sale_id, answer_for(sale))
    today = calendar.today()  # the business date, Japan time
    (entry,) = journal.of_day(today)
    assert entry.counts and entry.total == 1100
    assert not journal.mark_voided(sale.sale_id).counts


# A terminal whose clock is set to UTC --------------------------------------------------

#: 08:30 on 2 December in Japan is still 1 December on a terminal whose zone is UTC.
MORNING_IN_JAPAN = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)


@pytest.fixture
def utc_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's local zone is UTC and the clock reads 08:30 Japan time."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(journal_module, "_now", lambda: MORNING_IN_JAPAN)
    monkeypatch.setattr(calendar, "today", lambda: calendar.business_date(MORNING_IN_JAPAN))
    yield
    monkeypatch.undo()
    time.tzset()


class VoidReached(Exception):
    """The counter passed its own same-day check and asked the server."""


class VoidRecorder:
    """A server client that only notes that a void was asked for."""

    online = True

    def void(self, sale_id: str, reason: str) -> object:
        raise VoidReached(sale_id)


@pytest.mark.usefixtures("utc_terminal")
def test_a_morning_sale_on_a_utc_terminal_is_of_the_japan_date(journal: Journal) -> None:
    assert MORNING_IN_JAPAN.astimezone().date() == dt.date(2026, 12, 1)  # what the old code used
    sale = make_sale()
    entry = journal.begin_sale(sale, LINES)
    assert entry.day == dt.date(2026, 12, 2) == calendar.business_date(MORNING_IN_JAPAN)
    assert [e.id for e in journal.of_day(dt.date(2026, 12, 2))] == [sale.sale_id]


@pytest.mark.usefixtures("utc_terminal")
def test_the_counter_voids_and_totals_a_morning_sale_as_today_s(journal: Journal) -> None:
    counter = Counter(journal, VoidRecorder(), ReceiptPrinter())  # type: ignore[arg-type]
    counter.config = object()  # type: ignore[assignment]  # void needs a config, never reads it here
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    entry = journal.accept(sale.sale_id, answer_for(sale))
    assert [e.id for e in counter.today()] == [sale.sale_id]
    assert counter.day_totals()["total"] == 1100
    with pytest.raises(VoidReached):  # not ``void_not_today``: the server's day is the same day
        counter.void(entry)


def test_the_counter_refuses_to_void_a_sale_of_another_japan_date(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "_now", lambda: MORNING_IN_JAPAN - dt.timedelta(hours=9))
    counter = Counter(journal, VoidRecorder(), ReceiptPrinter())  # type: ignore[arg-type]
    counter.config = object()  # type: ignore[assignment]
    sale = make_sale()
    journal.begin_sale(sale, LINES)
    entry = journal.accept(sale.sale_id, answer_for(sale))
    monkeypatch.setattr(calendar, "today", lambda: calendar.business_date(MORNING_IN_JAPAN))
    with pytest.raises(TenderRefused) as refused:  # 23:30 JST on 1 December: yesterday in Japan
        counter.void(entry)
    assert refused.value.code == "void_not_today"
