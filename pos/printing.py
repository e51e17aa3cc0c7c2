"""Printing from the counter: render a document, send the bytes, and decode those very bytes for the preview.

The preview on screen is :func:`printers.decode` of the bytes handed to the printer, so what the
shopkeeper sees is what was sent. A printer fault does not undo a sale: the outcome carries the
error for the screen, and the journal keeps the receipt unprinted so it can be printed again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from printers.errors import PrinterError

# ``printers`` (and python-escpos under it) is imported on the first print, not at start-up:
# it is a fifth of the app's start time and the home screen needs none of it.


@dataclass
class PrintOutcome:
    """What one print job did: the bytes, their decoded preview lines, and any printer error."""

    data: bytes
    preview: list[str]
    error: PrinterError | None = None
    sent: bool = False
    extra: dict[str, object] = field(default_factory=dict)


class ReceiptPrinter:
    """The configured printer (``none`` keeps receipts on screen only).

    Args:
        url: the printer URL (``tcp://host:9100``, ``file:///path``, ``usb://…``, ``none``).
        width: columns (48 on 80 mm paper, 32 on 58 mm).
        raster: print text as an image instead of Kanji mode.
    """

    def __init__(self, url: str = "none", width: int = 48, raster: bool = False) -> None:
        self.url = url
        self.width = width
        self.raster = raster
        self.last_error: PrinterError | None = None
        #: Training mode (練習モード): every document is printed with the 練習 mark.
        self.training = False

    def print(self, document: object) -> PrintOutcome:
        """Render ``document``, send it, and return the outcome (never raises a printer error)."""
        import dataclasses

        from printers import render

        if self.training and dataclasses.is_dataclass(document) and hasattr(document, "training"):
            document = dataclasses.replace(document, training=True)  # type: ignore[type-var]

        return self._deliver(render(document, width=self.width, raster=self.raster))

    def open_drawer(self) -> PrintOutcome:
        """Kick the cash drawer on the printer's connector (``ESC p``); never raises a printer error."""
        from printers import drawer_pulse

        return self._deliver(drawer_pulse())

    def _deliver(self, data: bytes) -> PrintOutcome:
        """Send rendered bytes (not to ``none``) and keep the outcome and the last error."""
        from printers import decode
        from printers.errors import PrinterError

        outcome = PrintOutcome(data=data, preview=decode(data))
        if self.url == "none":
            return outcome
        try:
            self.send(data)
        except PrinterError as exc:
            outcome.error = exc
        else:
            outcome.sent = True
        self.last_error = outcome.error
        return outcome

    def send(self, data: bytes) -> None:
        """Send raw bytes to the printer.

        Raises:
            PrinterError: the printer cannot be reached or reports a fault.
        """
        from printers import open_printer

        open_printer(self.url).send(data)


def on_screen(lines: list[str]) -> str:
    """Preview lines as a terminal shows them, with the right-hand column where the paper has it.

    The printer prints ※ and × (East Asian "ambiguous" width) two columns wide in Kanji mode; a
    terminal shows them in one, which pulled a line's amount one column left of the others. Each
    such line gets its columns back in the gap before its last word (or at its end).
    """
    import re

    from rich.cells import cell_len

    from printers.text import width

    shown = []
    for line in lines:
        missing = width(line) - cell_len(line)
        if missing > 0:
            gap = re.search(r"  +(?=\S+$)", line)
            at = gap.start() if gap else len(line)
            line = line[:at] + " " * missing + line[at:]
        shown.append(line)
    return "\n".join(shown)
