"""A real TCP printer on 127.0.0.1: jobs captured, and every fault a typed error in two languages."""

from __future__ import annotations

import time

import pytest

from pos.i18n import explain
from printers import (
    PrinterCoverOpen,
    PrinterDisconnected,
    PrinterError,
    PrinterFault,
    PrinterPaperOut,
    PrinterRefused,
    PrinterTimeout,
    decode,
    open_printer,
    print_document,
    render,
)
from printers.samples import sample_receipt, sample_ticket
from tests.support.tcp_printer import TcpPrinter


def test_a_receipt_sent_over_tcp_arrives_byte_for_byte(tcp_printer: TcpPrinter) -> None:
    data = render(sample_receipt())
    open_printer(tcp_printer.url).send(data)
    [job] = tcp_printer.wait_for_jobs(1)
    assert job.complete and job.data == data
    assert job.lines == decode(data)


def test_each_job_is_its_own_connection(tcp_printer: TcpPrinter) -> None:
    printer = open_printer(tcp_printer.url)
    print_document(printer, sample_receipt())
    print_document(printer, sample_ticket(), width=32)
    receipt, ticket = tcp_printer.wait_for_jobs(2)
    assert "合計" in "".join(receipt.lines)
    assert any(line.startswith("[qr MKT1") for line in ticket.lines)


def test_a_check_reaches_the_printer_and_prints_nothing(tcp_printer: TcpPrinter) -> None:
    printer = open_printer(tcp_printer.url)
    printer.check()
    tcp_printer.paper_out = True
    with pytest.raises(PrinterPaperOut):
        printer.check()
    assert [job.data for job in tcp_printer.wait_for_jobs(2)] == [b"", b""]


def test_a_refused_connection(tcp_printer: TcpPrinter) -> None:
    tcp_printer.refuse()
    with pytest.raises(PrinterRefused):
        open_printer(tcp_printer.url).send(b"x")


def test_a_stalled_printer_does_not_block_longer_than_the_timeout(tcp_printer: TcpPrinter) -> None:
    tcp_printer.stall = True
    start = time.monotonic()
    with pytest.raises(PrinterTimeout):
        open_printer(f"{tcp_printer.url}?timeout=0.5").send(render(sample_receipt()))
    # Generous bound: the point is that it returns at all, near its deadline, not forever.
    assert time.monotonic() - start < 5


def test_a_stall_in_the_middle_of_a_big_job_hits_the_deadline(tcp_printer: TcpPrinter) -> None:
    tcp_printer.stall = True
    with pytest.raises(PrinterTimeout):
        open_printer(f"{tcp_printer.url}?timeout=0.5&status=0").send(b"\x00" * 20_000_000)


def test_a_connection_cut_mid_job(tcp_printer: TcpPrinter) -> None:
    tcp_printer.close_after = 100
    with pytest.raises(PrinterDisconnected):
        open_printer(tcp_printer.url).send(render(sample_receipt()))
    [job] = tcp_printer.wait_for_jobs(1)
    assert job.dropped and len(job.raw) == 100


def test_paper_out_stops_the_job_before_anything_is_printed(tcp_printer: TcpPrinter) -> None:
    tcp_printer.paper_out = True
    with pytest.raises(PrinterPaperOut) as caught:
        open_printer(tcp_printer.url).send(render(sample_receipt()))
    assert "用紙切れ" in explain(caught.value, "ja") and "out of paper" in explain(caught.value, "en")
    tcp_printer.close()
    assert tcp_printer.jobs[0].data == b""


def test_paper_running_out_during_the_job_is_reported(tcp_printer: TcpPrinter) -> None:
    tcp_printer.runs_out_after = 500
    with pytest.raises(PrinterPaperOut):
        open_printer(tcp_printer.url).send(render(sample_receipt()))


def test_status_requests_inside_image_data_do_not_confuse_the_confirmation(tcp_printer: TcpPrinter) -> None:
    data = b"\x1b@\x1dv0\x00\x01\x00\x03\x00\x10\x04\x02ok\n"  # a 8x3 image whose bytes are DLE EOT 2
    open_printer(tcp_printer.url).send(data)
    [job] = tcp_printer.wait_for_jobs(1)
    assert job.data == data and job.lines == ["[image 8x3]", "ok"]


def test_an_open_cover_is_reported(tcp_printer: TcpPrinter) -> None:
    tcp_printer.cover_open = True
    with pytest.raises(PrinterCoverOpen):
        open_printer(tcp_printer.url).send(b"x")


def test_a_jammed_printer_is_reported(tcp_printer: TcpPrinter) -> None:
    tcp_printer.fault = True
    with pytest.raises(PrinterFault):
        open_printer(tcp_printer.url).send(b"x")


def test_a_printer_that_never_answers_status_still_prints(tcp_printer: TcpPrinter) -> None:
    tcp_printer.answers_status = False
    printer = open_printer(f"{tcp_printer.url}?status=0.2")
    printer.send(b"\x1b@one\n")
    printer.send(b"\x1b@two\n")  # not asked again
    first, second = tcp_printer.wait_for_jobs(2)
    assert first.lines == ["one"] and second.raw == b"\x1b@two\n"


def test_a_failed_job_prints_again_from_the_stored_document(tcp_printer: TcpPrinter) -> None:
    stored = sample_receipt()
    printer = open_printer(tcp_printer.url)
    tcp_printer.paper_out = True
    with pytest.raises(PrinterError):
        print_document(printer, stored)
    tcp_printer.paper_out = False  # the shopkeeper loads a new roll
    report = print_document(printer, stored)
    jobs = tcp_printer.wait_for_jobs(2)
    assert jobs[1].data == render(stored) and report.bytes_sent == len(jobs[1].data)


def test_a_switched_off_printer_comes_back(tcp_printer: TcpPrinter) -> None:
    printer = open_printer(tcp_printer.url)
    tcp_printer.refuse()
    with pytest.raises(PrinterRefused):
        printer.send(b"x\n")
    tcp_printer.accept()
    printer.send(b"y\n")
    assert [job.lines for job in tcp_printer.wait_for_jobs(1)] == [["y"]]


def test_many_terminals_printing_at_once_each_get_their_own_job(tcp_printer: TcpPrinter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    printer = open_printer(tcp_printer.url)
    jobs = [f"\x1b@receipt {n}\n".encode() for n in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(printer.send, jobs))
    done = tcp_printer.wait_for_jobs(20)
    assert sorted(job.data for job in done) == sorted(jobs)
    assert len(tcp_printer.clear()) == 20 and tcp_printer.jobs == []
