"""``mykey-pos print-test`` against the real TCP test printer."""

from __future__ import annotations

import io
import pathlib

import pytest

from pos.cli import main as mykey_pos
from pos.print_test import main
from printers.samples import ITEMS
from tests.support.tcp_printer import TcpPrinter


def test_print_test_sends_a_receipt_and_a_ticket_and_says_what_it_sent(tcp_printer: TcpPrinter) -> None:
    out = io.StringIO()
    assert main(["--printer", tcp_printer.url, "--lang", "en"], out=out) == 0
    receipt, ticket = tcp_printer.wait_for_jobs(2)
    text = "\n".join(receipt.lines)
    assert "天理本通り商店" in text and "天理めぐみめぐるポイント" in text and "ポイント券" in text
    assert len(ITEMS) == 10 and {item.rate for item in ITEMS} == {8, 10}
    for item in ITEMS:
        assert any(line.lstrip("※ ").startswith(item.name) for line in receipt.lines), item.name
    assert "付与" in text
    assert any(line.startswith("[qr MKT1") for line in ticket.lines)
    said = out.getvalue()
    assert f"sent {len(receipt.data):,} bytes to {tcp_printer.url}" in said and " ms" in said


def test_print_test_on_58mm_paper_in_raster_mode(tcp_printer: TcpPrinter) -> None:
    assert main(["--printer", tcp_printer.url, "--width", "32", "--raster"], out=io.StringIO()) == 0
    receipt, _ticket = tcp_printer.wait_for_jobs(2)
    assert receipt.lines[0].startswith("[image 384x")


def test_print_test_says_what_went_wrong_in_japanese(tcp_printer: TcpPrinter) -> None:
    tcp_printer.paper_out = True
    out = io.StringIO()
    assert main(["--printer", tcp_printer.url, "--lang", "ja"], out=out) == 1
    assert "用紙切れ" in out.getvalue()


def test_print_test_uses_the_configured_printer(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "receipts.bin"
    (tmp_path / "mykey-pos").mkdir()
    (tmp_path / "mykey-pos" / "config.toml").write_text(f'printer = "{target.as_uri()}"\nlanguage = "en"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert mykey_pos(["print-test"]) == 0
    assert target.stat().st_size > 0
    assert "sent" in capsys.readouterr().out


def test_print_test_explains_an_address_it_does_not_understand() -> None:
    out = io.StringIO()
    assert main(["--printer", "lpt1", "--lang", "en"], out=out) == 1
    assert "tcp://" in out.getvalue()
