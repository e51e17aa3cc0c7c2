"""The lending slip (貸出票) on paper: any titles fit any width, and the bytes decode to its layout."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from printers import LendingSlip, LentItem, decode, render
from printers import text as tx
from printers.layout import PAPER_58MM, PAPER_80MM, Text, layout

titles = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=80)
items = st.builds(
    LentItem,
    title=titles,
    barcode=st.text("0123456789", min_size=8, max_size=14),
    due_date=st.one_of(st.none(), st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31))),
    due_text=st.text("0123456789 ", max_size=18),
)


@given(st.lists(items, max_size=6).map(tuple), st.sampled_from([PAPER_80MM, 42, PAPER_58MM]))
def test_any_slip_fits_the_paper_and_decodes_to_its_layout(lent: tuple[LentItem, ...], width: int) -> None:
    slip = LendingSlip(
        "大牟田市立図書館", dt.datetime(2026, 12, 2, 9, 30), "******0001", lent, ("1190000009",)
    )
    blocks = layout(slip, width)
    for block in blocks:
        if isinstance(block, Text):
            assert tx.width(block.text) <= (width // 2 if block.double else width)
    printed = decode(render(slip, width=width))
    assert printed[-1] == "[cut]" and any("貸出票" in line for line in printed)
    assert f"{len(lent)}冊" in "\n".join(printed)


def test_a_slip_printed_again_says_so() -> None:
    from printers import reprint

    slip = LendingSlip("柳川市立図書館", dt.datetime(2026, 12, 2, 9, 30), "******0002", ())
    assert "【再発行】" in decode(render(reprint(slip)))[0]
