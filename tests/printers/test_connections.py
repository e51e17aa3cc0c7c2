"""Printer addresses, and the file, serial (a real pty), USB (pyusb's errors) and none printers."""

from __future__ import annotations

import errno
import os
import pathlib
import select
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from pos.i18n import explain
from printers import (
    PrinterAddressError,
    PrinterBusy,
    PrinterDisconnected,
    PrinterError,
    PrinterNotFound,
    PrinterPaperOut,
    PrinterPermission,
    PrinterTimeout,
    decode,
    errors,
    open_printer,
    render,
)
from printers.connections import FilePrinter, NetworkPrinter, NullPrinter, SerialPrinter, UsbPrinter, status
from printers.connections import file as file_connection
from printers.samples import sample_receipt

# Addresses --------------------------------------------------------------------------------


def test_printer_addresses_as_urls() -> None:
    tcp = open_printer("tcp://192.0.2.10")
    assert isinstance(tcp, NetworkPrinter) and (tcp.host, tcp.port, tcp.timeout) == ("192.0.2.10", 9100, 5.0)
    assert open_printer("tcp://printer.local:9101?timeout=2").timeout == 2
    usb = open_printer("usb://04b8:0202")
    assert isinstance(usb, UsbPrinter) and (usb.vendor, usb.product) == (0x04B8, 0x0202)
    serial = open_printer("serial:///dev/ttyUSB0?baudrate=115200")
    assert isinstance(serial, SerialPrinter) and (serial.port, serial.baudrate) == ("/dev/ttyUSB0", 115200)
    path = open_printer("file:///tmp/receipts%20today.bin")
    assert isinstance(path, FilePrinter) and str(path.path) == "/tmp/receipts today.bin"
    assert isinstance(open_printer("none"), NullPrinter)
    assert isinstance(open_printer(""), NullPrinter)


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "tcp://", "tcp://h:99999", "tcp://h?timeout=soon", "tcp://h?timeout=0", "usb://zz:0202",
     "usb://04b8", "serial://", "serial:///dev/ttyS0?baudrate=fast", "file://", "192.168.1.5"],
)  # fmt: skip
def test_addresses_that_are_not_understood(url: str) -> None:
    with pytest.raises(PrinterAddressError) as caught:
        open_printer(url)
    assert "tcp://" in explain(caught.value, "ja") and "tcp://" in explain(caught.value, "en")


def test_every_printer_error_has_a_code_and_words_in_japanese_and_english() -> None:
    kinds = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, PrinterError)]
    assert len(kinds) >= 12
    codes = {kind.code for kind in kinds}
    assert len(codes) == len(kinds)
    for kind in kinds:
        error = kind("detail")
        japanese, english = explain(error, "ja"), explain(error, "en")
        assert japanese != english and not japanese.isascii() and english.isascii()


# File -------------------------------------------------------------------------------------


def test_a_file_printer_appends_each_job(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "receipts.bin"
    printer = open_printer(target.as_uri())
    printer.send(b"\x1b@one\n")
    printer.send(b"\x1b@two\n")
    assert decode(target.read_bytes()) == ["one", "two"]


def test_a_file_printer_writes_to_a_device_node() -> None:
    FilePrinter("/dev/null").send(render(sample_receipt()))


def test_a_file_printer_in_a_missing_folder(tmp_path: pathlib.Path) -> None:
    with pytest.raises(PrinterNotFound):
        FilePrinter(tmp_path / "no" / "such.bin").send(b"x")
    with pytest.raises(PrinterNotFound):
        FilePrinter(tmp_path).send(b"x")


def test_file_permission_and_busy_errors_say_what_to_do() -> None:
    denied = file_connection._translate(OSError(errno.EACCES, "Permission denied"), "file:///dev/usb/lp0")
    assert isinstance(denied, PrinterPermission)
    assert "lp" in explain(denied, "ja") and "usermod -aG lp" in explain(denied, "en")
    assert isinstance(file_connection._translate(OSError(errno.EBUSY, "busy"), "x"), PrinterBusy)


# Serial (a real pseudo-terminal) ----------------------------------------------------------


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def read_until(fd: int, size: int, wait: float = 3.0) -> bytes:
    data = b""
    while len(data) < size and select.select([fd], [], [], wait)[0]:
        data += os.read(fd, 65536)
    return data


def test_a_serial_printer_sends_the_job_through_the_port(pty: tuple[int, str]) -> None:
    master, port = pty
    data = render(sample_receipt())
    printer = open_printer(f"serial://{port}?baudrate=115200&status=0.1")
    received: list[bytes] = []
    expected = status.REQUEST + data
    reader = threading.Thread(target=lambda: received.append(read_until(master, len(expected))))
    reader.start()
    printer.send(data)
    reader.join()
    assert received[0] == expected
    assert decode(received[0]) == decode(data)


def test_a_serial_printer_reports_paper_out(pty: tuple[int, str]) -> None:
    master, port = pty

    def printer_side() -> None:
        if select.select([master], [], [], 2)[0] and os.read(master, 64).startswith(status.REQUEST):
            os.write(master, status.answer_for(paper_out=True))

    answering = threading.Thread(target=printer_side)
    answering.start()
    with pytest.raises(PrinterPaperOut):
        open_printer(f"serial://{port}").send(b"x")
    answering.join()


def test_a_serial_printer_that_stops_taking_data_hits_the_deadline(pty: tuple[int, str]) -> None:
    _master, port = pty  # nobody reads the other end: the terminal's buffer fills up
    with pytest.raises(PrinterTimeout):
        open_printer(f"serial://{port}?timeout=0.5&status=0").send(b"\x00" * 1_000_000)


def test_a_missing_serial_port() -> None:
    with pytest.raises(PrinterNotFound):
        open_printer("serial:///dev/ttyNOSUCH0").send(b"x")


# USB (pyusb's errors, translated; no USB printer on a test machine) ----------------------


class FakeUSBError(OSError):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(code, message)
        self.backend_error_code = code


class FakeUSBTimeout(FakeUSBError):
    pass


class Endpoint:
    def __init__(self, address: int, device: FakeDevice) -> None:
        self.bEndpointAddress, self.bmAttributes, self.device = address, 0x2, device

    def write(self, data: bytes, timeout: int) -> int:
        if self.device.fail is not None:
            raise self.device.fail
        self.device.written += bytes(data)
        return len(data)

    def read(self, size: int, timeout: int) -> bytes:
        if self.device.status is None:
            raise FakeUSBTimeout("timeout", -7)
        return self.device.status


class FakeDevice:
    def __init__(self) -> None:
        self.written = b""
        self.status: bytes | None = None
        self.fail: Exception | None = None
        self.detached = False

    def is_kernel_driver_active(self, interface: int) -> bool:
        return not self.detached

    def detach_kernel_driver(self, interface: int) -> None:
        if self.fail is not None:
            raise self.fail
        self.detached = True

    def set_configuration(self) -> None:
        pass

    def get_active_configuration(self) -> dict[tuple[int, int], list[Endpoint]]:
        return {(0, 0): [Endpoint(0x01, self), Endpoint(0x82, self)]}


def usb_printer(device: FakeDevice | None) -> UsbPrinter:
    backend = SimpleNamespace(
        find=lambda idVendor, idProduct: device,
        USBError=FakeUSBError,
        USBTimeoutError=FakeUSBTimeout,
        NoBackendError=RuntimeError,
        dispose_resources=lambda device: None,
    )
    return UsbPrinter(0x04B8, 0x0202, backend=backend, status_wait=0.1)


def test_a_usb_job_goes_to_the_bulk_out_endpoint_in_chunks() -> None:
    device = FakeDevice()
    data = render(sample_receipt(), raster=True)
    usb_printer(device).send(data)
    assert device.detached and device.written == status.REQUEST + data


def test_usb_paper_out_from_the_status_answer() -> None:
    device = FakeDevice()
    device.status = status.answer_for(paper_out=True)
    with pytest.raises(PrinterPaperOut):
        usb_printer(device).send(b"x")


def test_usb_errors_are_typed_and_permission_carries_the_udev_rule() -> None:
    with pytest.raises(PrinterNotFound):
        usb_printer(None).send(b"x")
    expectations = [
        (FakeUSBError("Access denied", errno.EACCES), PrinterPermission),
        (FakeUSBError("Resource busy", errno.EBUSY), PrinterBusy),
        (FakeUSBError("No such device", errno.ENODEV), PrinterDisconnected),
        (FakeUSBTimeout("Operation timed out", -7), PrinterTimeout),
    ]
    for failure, kind in expectations:
        device = FakeDevice()
        device.fail = failure
        with pytest.raises(kind) as caught:
            usb_printer(device).send(b"x")
        if kind is PrinterPermission:
            rule = 'ATTRS{idVendor}=="04b8", ATTRS{idProduct}=="0202"'
            assert rule in explain(caught.value, "ja") and rule in explain(caught.value, "en")
            assert "udevadm" in explain(caught.value, "en")


def test_the_real_usb_backend_loads_and_finds_no_such_printer() -> None:
    # pyusb comes with the project and libusb with pcscd's CCID driver: an absent printer is
    # "not found", not a crash.
    with pytest.raises(PrinterNotFound):
        open_printer("usb://ffff:fffe").send(b"x")
