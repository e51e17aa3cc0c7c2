"""The public API other parts build on: render, decode, open_printer, the document classes."""

from __future__ import annotations

import printers
from printers.samples import sample_receipt, sample_ticket


def test_a_sale_receipt_renders_in_kanji_mode_and_decodes_back_to_its_lines() -> None:
    data = printers.render(sample_receipt(), width=48)
    assert data.startswith(b"\x1b@\x1bt\x01\x1bR\x08\x1cC\x01\x1c&")
    lines = printers.decode(data)
    assert "天理本通り商店" in lines[0]
    assert lines[-1] == "[cut]"


def test_a_ticket_slip_carries_its_signed_text_as_a_native_qr_code() -> None:
    slip = sample_ticket()
    assert f"[qr {slip.text}]" in printers.decode(printers.render(slip))


def test_the_none_printer_keeps_the_last_job_for_the_preview() -> None:
    printer = printers.open_printer("none")
    printer.send(b"\x1b@abc\n")
    assert printers.decode(printer.last_job or b"") == ["abc"]
