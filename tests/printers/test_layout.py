"""Every document, with any names and amounts, at any width: nothing overflows, nothing is lost."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points.money import MAX_AMOUNT, format_yen
from points.tax import Line
from printers import (
    BalanceAfter,
    BalanceSlip,
    EndOfDayReport,
    ExpiringLot,
    ProgramDay,
    SettlementStatement,
    StatementLine,
    Tally,
    TicketSlip,
    VoidReceipt,
    decode,
    render,
)
from printers import text as tx
from printers.layout import MIN_WIDTH, Text, layout
from printers.samples import MEGURU, SAMPLE_TIME, SHOP, sample_receipt, sample_signer
from tests.printers.test_render import expected_lines, receipt, receipts

amounts = st.integers(0, MAX_AMOUNT)
programs = st.text(min_size=1, max_size=64).map(lambda name: MEGURU.model_copy(update={"name_ja": name}))
merchants = st.builds(
    lambda name, address, phone: SHOP.model_copy(update={"name": name, "address": address, "phone": phone}),
    st.text(min_size=1, max_size=80),
    st.text(max_size=120),
    st.text(max_size=20),
)
tallies = st.builds(Tally, st.integers(0, 10**7), amounts)
days = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31))
balances = st.builds(
    BalanceAfter, programs, amounts, st.lists(st.builds(ExpiringLot, amounts, days), max_size=2).map(tuple)
)

voids = st.builds(VoidReceipt, receipts(), st.just(SAMPLE_TIME), st.text(max_size=200), st.booleans())
balance_slips = st.builds(
    BalanceSlip,
    merchants,
    st.text(max_size=20),
    st.just(SAMPLE_TIME),
    st.lists(balances, max_size=3).map(tuple),
    account_number=st.one_of(
        st.none(), st.text(alphabet="23456789ABCDEFGHJKMNPQRSTUVWXYZ", min_size=8, max_size=8)
    ),
)
end_of_days = st.builds(
    EndOfDayReport,
    merchant=merchants,
    terminal_id=st.text(max_size=20),
    business_date=days,
    printed_at=st.just(SAMPLE_TIME),
    sales=tallies,
    voids=tallies,
    cash=tallies,
    change=amounts,
    programs=st.lists(st.builds(ProgramDay, programs, tallies, tallies, tallies), max_size=3).map(tuple),
    offline=st.integers(0, 10**6),
    unsynced=st.integers(0, 10**6),
)
statements = st.builds(
    SettlementStatement,
    merchant=merchants,
    period=st.text(max_size=20),
    period_start=days,
    period_end=days,
    issued_at=st.just(SAMPLE_TIME),
    lines=st.lists(
        st.builds(StatementLine, programs, tallies, tallies, tallies, amounts, tallies), max_size=3
    ).map(tuple),
    payer=st.text(max_size=40),
    status=st.text(max_size=20),
)
SIGNER = sample_signer(bytes(32))
ticket_slips = st.builds(
    lambda merchant, program, value, expiry, serial: TicketSlip(
        merchant, program, SIGNER.issue(serial, program.id, value, expiry), SAMPLE_TIME, "T01"
    ),
    merchants,
    programs,
    st.integers(1, MAX_AMOUNT),
    days,
    st.integers(0, 10**12 - 1),
)
documents = st.one_of(voids, balance_slips, end_of_days, statements, ticket_slips)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, width=st.integers(MIN_WIDTH, 64))
def test_any_document_at_any_width_fits_and_decodes_to_its_layout(document: object, width: int) -> None:
    for block in layout(document, width):
        if isinstance(block, Text):
            assert tx.width(block.text) <= (width // 2 if block.double else width), block
    decoded = decode(render(document, width=width))
    assert decoded == expected_lines(document, width)
    if isinstance(document, SettlementStatement):
        assert decoded[-2].endswith(format_yen(document.payable))
    if isinstance(document, EndOfDayReport):
        assert any(line.endswith(format_yen(document.sales.amount)) for line in decoded)
    if isinstance(document, TicketSlip):
        assert any(line.strip() == document.ticket.human_serial for line in decoded)


def test_the_largest_total_is_printed_whole_even_where_double_size_cannot_hold_it() -> None:
    biggest = receipt((Line("土地", MAX_AMOUNT),))
    void = VoidReceipt(biggest, SAMPLE_TIME)
    for document in (biggest, void):
        decoded = decode(render(document, width=MIN_WIDTH))
        assert any(line.endswith("¥100,000,000") for line in decoded)


def test_paper_narrower_than_the_amounts_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        render(sample_receipt(), width=MIN_WIDTH - 1)


def test_raster_mode_is_limited_to_the_print_head() -> None:
    with pytest.raises(ValueError, match="at most 48"):
        render(sample_receipt(), width=64, raster=True)


def test_documents_refuse_amounts_that_are_not_whole_non_negative_numbers() -> None:
    from printers import PointsAwarded, TicketUsed

    bad = [
        lambda: Tally(1, -5),
        lambda: Tally(1, 1.5),  # type: ignore[arg-type]
        lambda: PointsAwarded(MEGURU, -1),
        lambda: TicketUsed(MEGURU, serial=10**12, value=500),
        lambda: ExpiringLot(-1, dt.date.today()),
    ]
    for make in bad:
        with pytest.raises(ValueError):
            make()
    assert Tally(10, 10**12).amount == 10**12  # a month of a busy shop
