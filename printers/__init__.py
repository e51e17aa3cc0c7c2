"""Receipts and printers: documents, their layout in display columns, ESC/POS in Kanji mode,
printer connections and a decoder for the on-screen preview.

``printers`` imports ``points`` only (never ``pos``, ``server`` or ``textual``)::

    from printers import SaleReceipt, render, decode, open_printer

    data = render(receipt, width=48)          # bytes for the printer
    preview = decode(data)                    # the same receipt as lines of text
    open_printer("tcp://192.168.1.50:9100").send(data)
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from printers.connections import Printer, open_printer
    from printers.decode import PrintedLine, decode, decode_lines
    from printers.documents import (
        BalanceAfter,
        BalanceSlip,
        DayReport,
        Document,
        EndOfDayReport,
        ExpiringLot,
        LendingSlip,
        LentItem,
        PointsAwarded,
        PointsUsed,
        ProgramDay,
        ReturnReceipt,
        SaleReceipt,
        SettlementStatement,
        StatementLine,
        Tally,
        TenderLine,
        TicketSlip,
        TicketUsed,
        VoidReceipt,
        reprint,
    )
    from printers.drawer import drawer_pulse
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

# Names load on first use (PEP 562): the counter app checks a printer address through
# ``printers.connections`` at start-up, which must not pull in the documents, layout and
# python-escpos (a tenth of its start). Where a submodule and a function share a name
# (``render``, ``decode``), the package attribute stays the function, as it always was.
_WHERE: dict[str, str] = {
    "Printer": "printers.connections",
    "open_printer": "printers.connections",
    "PrintedLine": "printers.decode",
    "decode": "printers.decode",
    "decode_lines": "printers.decode",
    "BalanceAfter": "printers.documents",
    "BalanceSlip": "printers.documents",
    "DayReport": "printers.documents",
    "TenderLine": "printers.documents",
    "drawer_pulse": "printers.drawer",
    "Document": "printers.documents",
    "EndOfDayReport": "printers.documents",
    "ExpiringLot": "printers.documents",
    "LendingSlip": "printers.documents",
    "LentItem": "printers.documents",
    "PointsAwarded": "printers.documents",
    "PointsUsed": "printers.documents",
    "ProgramDay": "printers.documents",
    "ReturnReceipt": "printers.documents",
    "SaleReceipt": "printers.documents",
    "SettlementStatement": "printers.documents",
    "StatementLine": "printers.documents",
    "Tally": "printers.documents",
    "TicketSlip": "printers.documents",
    "TicketUsed": "printers.documents",
    "VoidReceipt": "printers.documents",
    "reprint": "printers.documents",
    "FontMissing": "printers.errors",
    "PrinterAddressError": "printers.errors",
    "PrinterBusy": "printers.errors",
    "PrinterCoverOpen": "printers.errors",
    "PrinterDisconnected": "printers.errors",
    "PrinterError": "printers.errors",
    "PrinterFault": "printers.errors",
    "PrinterNotFound": "printers.errors",
    "PrinterPaperOut": "printers.errors",
    "PrinterPermission": "printers.errors",
    "PrinterRefused": "printers.errors",
    "PrinterTimeout": "printers.errors",
    "PrinterUnsupported": "printers.errors",
    "PrintReport": "printers.jobs",
    "print_document": "printers.jobs",
    "PAPER_58MM": "printers.layout",
    "PAPER_80MM": "printers.layout",
    "Rendered": "printers.render",
    "render": "printers.render",
    "render_report": "printers.render",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'printers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _WHERE and isinstance(value, types.ModuleType) and f"printers.{name}" == _WHERE[name]:
            value = getattr(value, name)  # importing printers.render binds render, the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "PAPER_58MM",
    "PAPER_80MM",
    "BalanceAfter",
    "BalanceSlip",
    "DayReport",
    "Document",
    "EndOfDayReport",
    "ExpiringLot",
    "FontMissing",
    "LendingSlip",
    "LentItem",
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
    "ReturnReceipt",
    "SaleReceipt",
    "SettlementStatement",
    "StatementLine",
    "Tally",
    "TenderLine",
    "TicketSlip",
    "TicketUsed",
    "VoidReceipt",
    "decode",
    "decode_lines",
    "drawer_pulse",
    "open_printer",
    "print_document",
    "render",
    "render_report",
    "reprint",
]
