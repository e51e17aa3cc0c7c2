"""What one receipt adds to the X and Z reports: the drawer's cash is the receipt's cash less its change."""

from __future__ import annotations

from points import dayreport
from points.tax import Line, TaxRate
from pos.receipts import _sale_figures
from printers import SaleReceipt, TicketUsed
from printers.samples import MEGURU, SAMPLE_TIME, SHOP


def test_the_change_a_ticket_gives_comes_out_of_the_drawer() -> None:
    # ¥800 of bread paid with a ¥1,000 ticket of a program whose tickets give change: the resident
    # gets ¥200 from the drawer, and no cash went in. The Z used to count no cash at all for such a
    # sale, so the drawer came out ¥200 short of what it said to expect.
    gives_change = MEGURU.model_copy(update={"change_allowed": True})
    bread = (Line("食パン", 800, 1, TaxRate.REDUCED),)
    ticket = TicketUsed(gives_change, serial=123_456_789, value=1000)
    receipt = SaleReceipt(SHOP, "T01", 1, SAMPLE_TIME, bread, tickets=(ticket,))
    assert (receipt.cash, receipt.change) == (0, 200)
    day = dayreport.summarise([_sale_figures(receipt, voided=False)])
    assert day.cash_in == -200
    assert dayreport.expected_cash(10_000, day) == 9_800
    # The tenders add up to the sale: the ticket's 1,000 less the 200 handed back.
    assert sum(tally.amount for tally in day.tenders.values()) == 800
