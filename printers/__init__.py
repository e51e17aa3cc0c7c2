"""Receipts and printers: documents, their layout in display columns, ESC/POS in Kanji mode,
printer connections and a decoder for the on-screen preview.

``printers`` imports ``points`` only (never ``pos``, ``server`` or ``textual``)::

    from printers import SaleReceipt, render, decode, open_printer

    data = render(receipt, width=48)          # bytes for the printer
    preview = decode(data)                    # the same receipt as lines of text
    open_printer("tcp://192.168.1.50:9100").send(data)
"""

from __future__ import annotations

from printers.connections import Printer, open_printer
from printers.decode import PrintedLine, decode, decode_lines
from printers.documents import (
    BalanceAfter,
    BalanceSlip,
    Document,
    EndOfDayReport,
    ExpiringLot,
    PointsAwarded,
    PointsUsed,
    ProgramDay,
    SaleReceipt,
    SettlementStatement,
    StatementLine,
    Tally,
    TicketSlip,
    TicketUsed,
    VoidReceipt,
    reprint,
)
from printers.errors import (
    FontMissing,
    PrinterAddressError,
    PrinterBusy,
    PrinterCoverOpen,
    PrinterDisconnected,
    PrinterError,
    PrinterFault,
    PrinterNotFound,
    PrinterPaperOut,
    PrinterPermission,
    PrinterRefused,
    PrinterTimeout,
    PrinterUnsupported,
)
from printers.jobs import PrintReport, print_document
from printers.layout import PAPER_58MM, PAPER_80MM
from printers.render import Rendered, render, render_report

__all__ = [
    "PAPER_58MM",
    "PAPER_80MM",
    "BalanceAfter",
    "BalanceSlip",
    "Document",
    "EndOfDayReport",
    "ExpiringLot",
    "FontMissing",
    "PointsAwarded",
    "PointsUsed",
    "PrintReport",
    "PrintedLine",
    "Printer",
    "PrinterAddressError",
    "PrinterBusy",
    "PrinterCoverOpen",
    "PrinterDisconnected",
    "PrinterError",
    "PrinterFault",
    "PrinterNotFound",
    "PrinterPaperOut",
    "PrinterPermission",
    "PrinterRefused",
    "PrinterTimeout",
    "PrinterUnsupported",
    "ProgramDay",
    "Rendered",
    "SaleReceipt",
    "SettlementStatement",
    "StatementLine",
    "Tally",
    "TicketSlip",
    "TicketUsed",
    "VoidReceipt",
    "decode",
    "decode_lines",
    "open_printer",
    "print_document",
    "render",
    "render_report",
    "reprint",
]
