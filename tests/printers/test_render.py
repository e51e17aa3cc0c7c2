"""Rendering: Kanji-mode bytes that decode to the layout, for any names, amounts and widths."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points import tickets
from points.money import format_yen
from points.programs import TenderKind
from points.tax import Line, TaxRate, receipt_tax, totals_by_rate
from pos.i18n import explain
from printers import FontMissing, PointsUsed, SaleReceipt, TicketUsed, decode, render, render_report
from printers import text as tx
from printers.layout import Cut, Qr, Text, layout
from printers.raster import _qr_image
from printers.samples import KITASATO, MEGURU, SAMPLE_TIME, SHOP, sample_receipt, sample_signer, sample_ticket


def expected_lines(document: object, width: int) -> list[str]:
    lines = []
    for block in layout(document, width):
        if isinstance(block, Text):
            lines.append(block.text.rstrip(" "))
        elif isinstance(block, Qr):
            lines.append(f"[qr {block.data}]")
        elif isinstance(block, Cut):
            lines.append("[cut]")
    return lines


def receipt(lines: tuple[Line, ...], **changes: object) -> SaleReceipt:
    base = SaleReceipt(
        merchant=SHOP,
        terminal_id="T01",
        receipt_no=1,
        issued_at=SAMPLE_TIME,
        lines=lines,
        cash=sum(line.amount for line in lines),
    )
    return dataclasses.replace(base, **changes)


# Properties -----------------------------------------------------------------------------

names = st.text(max_size=40)
items = st.builds(
    Line,
    name=names,
    unit_price=st.integers(0, 200_000),
    quantity=st.integers(1, 99),
    rate=st.sampled_from(list(TaxRate)),
)


@st.composite
def receipts(draw: st.DrawFn) -> SaleReceipt:
    lines = tuple(draw(st.lists(items, min_size=1, max_size=5)))
    total = sum(line.amount for line in lines)
    program = draw(st.sampled_from([MEGURU, KITASATO]))
    program = program.model_copy(update={"name_ja": draw(st.text(min_size=1, max_size=64))})
    used = draw(st.integers(0, total))
    points = (PointsUsed(program, used),) if used else ()
    change = draw(st.integers(0, 10_000))
    cash = total - used + change
    shop_name = draw(st.text(min_size=1, max_size=80))
    merchant = SHOP.model_copy(update={"name": shop_name, "address": draw(names)})
    return receipt(lines, points=points, cash=cash, merchant=merchant)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=receipts(), width=st.integers(24, 64))
def test_any_receipt_at_any_width_never_overflows_and_decodes_to_its_layout(
    document: SaleReceipt, width: int
) -> None:
    blocks = layout(document, width)
    for block in blocks:
        if isinstance(block, Text):
            assert tx.width(block.text) <= (width // 2 if block.double else width), block
    decoded = decode(render(document, width=width))
    assert decoded == expected_lines(document, width)
    for item in document.lines:
        mark = "※" if item.rate is TaxRate.REDUCED else "  "
        name = (mark + tx.cut(item.name, width // 3)).rstrip(" ")  # trailing spaces are not sent
        assert any(line.startswith(name) for line in decoded)
        assert any(line.endswith(format_yen(item.amount)) for line in decoded)


# What the receipt says ------------------------------------------------------------------


def test_discount_points_lower_the_taxable_amounts_and_payment_points_do_not() -> None:
    lines = (Line("弁当", 1080, 1, TaxRate.REDUCED), Line("洗剤", 550, 1, TaxRate.STANDARD))
    totals = totals_by_rate(lines)
    discount = receipt(lines, points=(PointsUsed(KITASATO, 500),), cash=1130)
    payment = receipt(lines, points=(PointsUsed(MEGURU, 500),), cash=1130)
    assert KITASATO.tender_kind is TenderKind.DISCOUNT and MEGURU.tender_kind is TenderKind.PAYMENT
    assert discount.tax == receipt_tax(totals, 500)
    assert payment.tax == receipt_tax(totals, 0)
    assert discount.tax != payment.tax
    printed = decode(render(discount))
    for rate in discount.tax:
        assert any(line.endswith(format_yen(rate.amount)) and "対象" in line for line in printed)
        assert any(line.endswith(format_yen(rate.tax)) and "内消費税等" in line for line in printed)
    assert any(line.startswith("値引 小国町北里柴三郎ポイント") for line in printed)
    assert not any(line.startswith("値引") for line in decode(render(payment)))


def test_a_receipt_is_a_simplified_qualified_invoice() -> None:
    text = "\n".join(decode(render(sample_receipt())))
    for must in ("天理本通り商店", "登録番号 T1234567890123", "2026年11月27日(金) 14:05", "No.000123",
                 "※牛乳", "10%対象", "※ 8%対象", "内消費税等", "※印は軽減税率(8%)対象商品です"):  # fmt: skip
        assert must in text


def offline_note(document: SaleReceipt) -> bool:
    """True when the printed receipt says its points wait for the server (the note may wrap)."""
    return "オフライン取引:" in "".join(decode(render(document)))


def test_the_offline_note_is_printed_only_when_points_tickets_or_awards_wait_for_the_server() -> None:
    bread = (Line("食パン", 1100, 1, TaxRate.REDUCED),)
    ticket = TicketUsed(MEGURU, serial=123_456_789, value=500)
    assert not offline_note(receipt(bread, offline=True))  # plain cash: nothing to confirm
    assert offline_note(receipt(bread, offline=True, points=(PointsUsed(MEGURU, 500),), cash=600))
    assert offline_note(receipt(bread, offline=True, tickets=(ticket,), cash=600))
    assert offline_note(receipt(bread, offline=True, awards_pending=True))  # a card read: awards to come
    assert not offline_note(receipt(bread, points=(PointsUsed(MEGURU, 500),), cash=600))  # answered online


def test_tenders_that_do_not_cover_the_total_are_refused() -> None:
    with pytest.raises(ValueError, match="tenders"):
        receipt((Line("弁当", 1080),), cash=1000)


def test_item_names_cannot_smuggle_printer_commands() -> None:
    document = receipt((Line("\x1b@\x1dV\x00\x1c.茶", 100),))
    decoded = decode(render(document))
    assert decoded.count("[cut]") == 1
    assert any(line.startswith("  ?@?V??.茶") for line in decoded)


def test_characters_the_printer_lacks_are_printed_as_a_substitute_and_reported() -> None:
    rendered = render_report(receipt((Line("りんご🍎", 100),)))
    assert rendered.substituted == ("🍎",)
    assert any(line.startswith("  りんご〓") for line in decode(rendered.data))


def test_a_ticket_slips_qr_text_verifies_with_points() -> None:
    signer = sample_signer()
    slip = sample_ticket(signer)
    [qr] = [line for line in decode(render(slip, width=32)) if line.startswith("[qr ")]
    ticket = tickets.verify(qr[4:-1], {signer.key_id: signer.public_key}, today=dt.date(2027, 1, 1))
    assert ticket.value == 500 and ticket.program_id == MEGURU.id
    assert any(line.strip() == ticket.human_serial for line in decode(render(slip)))


def test_a_ticket_slip_refuses_text_that_is_not_a_ticket() -> None:
    slip = sample_ticket()
    with pytest.raises(tickets.TicketGarbled):
        dataclasses.replace(slip, text="MKT1NOTATICKET")


def test_kanji_mode_is_small_against_raster() -> None:
    kanji, raster = render(sample_receipt()), render(sample_receipt(), raster=True)
    assert len(kanji) <= 3000
    assert len(kanji) * 10 <= len(raster)


# Raster mode ------------------------------------------------------------------------------


def test_raster_mode_sends_images_and_no_text() -> None:
    data = render(sample_receipt(), raster=True)
    decoded = decode(data)
    assert decoded[-1] == "[cut]"
    assert all(line.startswith("[image 576x") for line in decoded[:-1])
    heights = sum(int(line[:-1].split("x")[1]) for line in decoded[:-1])
    blocks = layout(sample_receipt())
    text_height = sum(60 if b.double else 30 for b in blocks if isinstance(b, Text))
    qr_height = sum(_qr_image(b.data, 576).height for b in blocks if isinstance(b, Qr))
    assert qr_height > 0 and heights == text_height + qr_height
    assert "合計".encode("cp932") not in data


def test_raster_mode_draws_every_line_that_has_text() -> None:
    from printers.raster import _page

    blocks = [b for b in layout(sample_receipt(), 48) if not isinstance(b, Cut)]
    image = _page(blocks, 576)
    top = 0
    for block in blocks:
        height = _qr_image(block.data, 576).height if isinstance(block, Qr) else 0
        if isinstance(block, Text):
            height = 60 if block.double else 30
            band = image.crop((0, top, 576, top + height))
            has_ink = band.getextrema()[0] == 0
            assert has_ink == bool(block.text.strip()), block
        top += height


def test_raster_mode_on_58mm_paper_is_384_dots_wide() -> None:
    assert decode(render(sample_ticket(), width=32, raster=True))[0].startswith("[image 384x")


def test_raster_mode_without_a_japanese_font_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from printers import raster

    raster._font.cache_clear()
    monkeypatch.setenv("MYKEY_POS_FONT", "/nonexistent/font.ttf")
    try:
        with pytest.raises(FontMissing) as caught:
            render(sample_receipt(), raster=True)
    finally:
        raster._font.cache_clear()
    assert "fonts-ipafont-gothic" in explain(caught.value, "ja")
    assert "fonts-ipafont-gothic" in explain(caught.value, "en")


def test_the_font_is_found_on_this_machine() -> None:
    from printers.raster import find_font

    assert find_font().is_file()
