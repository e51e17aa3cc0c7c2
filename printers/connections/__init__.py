"""Printer connections from an address: ``open_printer("tcp://192.168.1.50:9100")``.

Addresses (in settings and on the command line)::

    tcp://host[:9100][?timeout=5&status=0.5]
    usb://04b8:0202[?interface=0&timeout=5]
    serial:///dev/ttyUSB0[?baudrate=115200&timeout=5]
    file:///path/to/receipts.bin
    none

``timeout`` bounds a whole job in seconds; ``status`` is how long to wait for a ``DLE EOT``
status answer (0: never ask).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from printers.connections.base import DEFAULT_TIMEOUT, Deadline, Printer
from printers.connections.file import FilePrinter
from printers.connections.network import NetworkPrinter
from printers.connections.none import NullPrinter
from printers.connections.serial import SerialPrinter
from printers.connections.usb import UsbPrinter
from printers.errors import PrinterAddressError

_USB_IDS = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")


def _number(query: dict[str, list[str]], name: str, default: float, url: str) -> float:
    if name not in query:
        return default
    try:
        value = float(query[name][-1])
    except ValueError:
        raise PrinterAddressError(f"{url}: {name} must be a number") from None
    if not 0 <= value <= 600:
        raise PrinterAddressError(f"{url}: {name} out of range")
    return value


def open_printer(url: str, *, timeout: float | None = None) -> Printer:
    """The printer at ``url`` (nothing is opened until the first :meth:`Printer.send`).

    Args:
        url: a printer address (see the module docstring).
        timeout: seconds a job may take; overrides the address's ``timeout``.

    Raises:
        PrinterAddressError: the address is not understood (the message shows an example).
    """
    text = url.strip()
    if text.lower() in ("", "none", "none:", "none://"):
        return NullPrinter(timeout=timeout or DEFAULT_TIMEOUT)
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    seconds = timeout if timeout is not None else _number(query, "timeout", DEFAULT_TIMEOUT, text)
    if seconds <= 0:
        raise PrinterAddressError(f"{text}: timeout must be positive")
    scheme = parts.scheme.lower()
    try:
        if scheme == "tcp":
            if not parts.hostname:
                raise PrinterAddressError(f"{text}: no host")
            status_wait = _number(query, "status", 0.5, text)
            return NetworkPrinter(
                parts.hostname, parts.port or 9100, timeout=seconds, status_wait=status_wait
            )
        if scheme == "usb":
            ids = _USB_IDS.match(parts.netloc or parts.path.strip("/"))
            if not ids:
                raise PrinterAddressError(f"{text}: expected usb://VVVV:PPPP (hex vendor and product id)")
            interface = int(_number(query, "interface", 0, text))
            status_wait = _number(query, "status", 0.3, text)
            return UsbPrinter(
                int(ids[1], 16),
                int(ids[2], 16),
                interface=interface,
                timeout=seconds,
                status_wait=status_wait,
            )
        if scheme == "serial":
            port = unquote(parts.netloc + parts.path)
            if not port:
                raise PrinterAddressError(f"{text}: no serial port")
            baud = query.get("baudrate", ["9600"])[-1]
            if not baud.isdigit() or not 50 <= int(baud) <= 4_000_000:
                raise PrinterAddressError(f"{text}: baudrate must be a number such as 115200")
            baudrate = int(baud)
            status_wait = _number(query, "status", 0.3, text)
            return SerialPrinter(port, baudrate=baudrate, timeout=seconds, status_wait=status_wait)
        if scheme == "file":
            path = unquote(parts.path)
            if not path:
                raise PrinterAddressError(f"{text}: no file path")
            return FilePrinter(path, timeout=seconds)
    except ValueError as exc:  # a bad port number or baud rate
        if isinstance(exc, PrinterAddressError):
            raise
        raise PrinterAddressError(f"{text}: {exc}") from None
    raise PrinterAddressError(f"{text}: unknown printer kind {parts.scheme!r}")


__all__ = [
    "Deadline",
    "FilePrinter",
    "NetworkPrinter",
    "NullPrinter",
    "Printer",
    "SerialPrinter",
    "UsbPrinter",
    "open_printer",
]
