"""Real-time status (``DLE EOT``): whether the printer has paper and its cover is closed.

A printer that answers gets asked before each job, so a receipt is not sent into an empty
printer; one that does not answer (many cheap printers, any file) is simply not asked again.
"""

from __future__ import annotations

from printers.errors import PrinterCoverOpen, PrinterFault, PrinterPaperOut

#: ``DLE EOT 2`` (offline cause) and ``DLE EOT 4`` (roll paper sensor), one answer byte each.
REQUEST = b"\x10\x04\x02\x10\x04\x04"
ANSWER_SIZE = 2


def is_status_byte(byte: int) -> bool:
    """Status answers have bit 1 and bit 4 set and bits 0 and 7 clear."""
    return byte & 0x93 == 0x12


def check(answer: bytes) -> None:
    """Raise when the answer to :data:`REQUEST` says the printer cannot print.

    Raises:
        PrinterPaperOut: the roll is empty (offline cause bit 5, or paper sensor bits 5-6).
        PrinterCoverOpen: the cover is open (offline cause bit 2).
        PrinterFault: the printer is in an error state (offline cause bit 6).
    """
    if len(answer) >= 1 and is_status_byte(answer[0]):
        if answer[0] & 0x20:
            raise PrinterPaperOut("offline: paper end")
        if answer[0] & 0x04:
            raise PrinterCoverOpen("offline: cover open")
        if answer[0] & 0x40:
            raise PrinterFault("offline: error")
    if len(answer) >= 2 and is_status_byte(answer[1]) and answer[1] & 0x60 == 0x60:
        raise PrinterPaperOut("roll paper sensor: paper end")


def answer_for(*, paper_out: bool = False, cover_open: bool = False, fault: bool = False) -> bytes:
    """The two status bytes a printer in that state sends back (for test printers)."""
    offline = 0x12 | (0x20 if paper_out else 0) | (0x04 if cover_open else 0) | (0x40 if fault else 0)
    paper = 0x12 | (0x60 if paper_out else 0)
    return bytes([offline, paper])
