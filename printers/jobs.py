"""Printing a document on a printer, and printing it again after a failure.

The counter app keeps the document (not the bytes) with the sale, so a job that failed (paper
out, printer off) is printed again from the stored document once the shopkeeper has fixed the
printer, and a later copy can be marked 再発行 with :func:`printers.documents.reprint`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from printers.connections.base import Printer
from printers.layout import PAPER_80MM
from printers.render import render_report


@dataclass(frozen=True, slots=True)
class PrintReport:
    """What a print job sent: bytes, seconds (render and send), characters substituted."""

    url: str
    bytes_sent: int
    seconds: float
    render_seconds: float
    substituted: tuple[str, ...] = ()


def print_document(
    printer: Printer, document: object, *, width: int = PAPER_80MM, raster: bool = False
) -> PrintReport:
    """Render ``document`` and send it to ``printer``.

    Blocks for at most the printer's timeout (plus rendering, a few milliseconds); run it in a
    worker thread from a UI.

    Raises:
        printers.errors.PrinterError: the job did not reach the printer; call again to retry.
    """
    start = time.perf_counter()
    rendered = render_report(document, width=width, raster=raster)
    rendered_at = time.perf_counter()
    printer.send(rendered.data)
    end = time.perf_counter()
    return PrintReport(
        url=printer.url,
        bytes_sent=len(rendered.data),
        seconds=end - start,
        render_seconds=rendered_at - start,
        substituted=rendered.substituted,
    )
