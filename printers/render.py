"""Documents to ESC/POS bytes, through python-escpos's raw channel with the Japanese set-up.

python-escpos 3.1's ``text()`` sends kanji as GB18030 and kana as ``?`` without a word, so text
goes through ``_raw()`` in Kanji mode: ``ESC @``, ``ESC t 1`` (half-width katakana), ``ESC R 8``
(Japan: 0x5C prints ¥), ``FS C 1`` (Shift_JIS), ``FS &`` (Kanji on), then cp932 bytes, which are
exactly the printed columns. Double size is ``GS !`` (it enlarges Kanji too, ``ESC !`` does not).
QR codes use the printer's own ``GS ( k``. In raster mode (printers without Kanji ROM) the text is
drawn with Pillow and a Japanese font and sent as an image (see :mod:`printers.raster`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from printers import text as tx
from printers.layout import PAPER_80MM, Block, Cut, Qr, Text, layout_report

log = logging.getLogger(__name__)

ESC, FS, GS, LF = b"\x1b", b"\x1c", b"\x1d", b"\n"
#: ESC @, ESC t 1, ESC R 8, FS C 1, FS &: reset, katakana table, Japan set, Shift_JIS, Kanji on.
JAPANESE_SETUP = ESC + b"@" + ESC + b"t\x01" + ESC + b"R\x08" + FS + b"C\x01" + FS + b"&"
DOUBLE_ON, DOUBLE_OFF = GS + b"!\x11", GS + b"!\x00"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
CENTER, LEFT = ESC + b"a\x01", ESC + b"a\x00"
#: The printer profile for python-escpos: 80 mm, 576 dots, native QR (an Epson TM-T20II).
PROFILE = "TM-T20II"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered job: the bytes to send and the characters that were printed as a substitute."""

    data: bytes
    substituted: tuple[str, ...] = field(default=())


def _qr_size(width: int) -> int:
    # Module size in dots: a ticket's QR (version 7-8, about 49 modules) stays within 58 mm paper.
    return 6 if width >= PAPER_80MM else 5


def _kanji(blocks: list[Block], width: int) -> bytes:
    # python-escpos on the first render, not on import: it is a fifth of the counter's start.
    from printers._escpos import QR_ECLEVEL_M, Dummy

    printer = Dummy(profile=PROFILE)
    printer._raw(JAPANESE_SETUP)
    for block in blocks:
        if isinstance(block, Text):
            body = tx.encode(block.text.rstrip(" "))
            if block.double:
                body = DOUBLE_ON + body + DOUBLE_OFF
            if block.bold:
                body = BOLD_ON + body + BOLD_OFF
            printer._raw(body + LF)
        elif isinstance(block, Qr):
            printer._raw(CENTER)
            printer.qr(block.data, ec=QR_ECLEVEL_M, size=_qr_size(width), native=True)
            printer._raw(LEFT)
        elif isinstance(block, Cut):
            printer.cut(mode="PART")
    return bytes(printer.output)


def render_report(document: object, *, width: int = PAPER_80MM, raster: bool = False) -> Rendered:
    """Render ``document`` and report characters the printer cannot print (printed as 〓 or ?).

    Args:
        document: one of :mod:`printers.documents`.
        width: paper width in half-width columns (48 for 80 mm, 32 for 58 mm).
        raster: draw the text as an image for printers without Kanji ROM.

    Raises:
        TypeError: not a document.
        ValueError: a width the layout (or, in raster mode, the print head) cannot take.
        printers.errors.FontMissing: raster mode and no Japanese font on this machine.
    """
    blocks, lost = layout_report(document, width)
    if raster:
        from printers.raster import render_raster  # Pillow and the font only when asked for

        data = render_raster(blocks, width)
    else:
        data = _kanji(blocks, width)
    distinct = tuple(dict.fromkeys(lost))  # a name printed on three lines is reported once
    if distinct:
        log.warning("printed %d character(s) as a substitute: %r", len(distinct), "".join(distinct))
    return Rendered(data, distinct)


def render(document: object, *, width: int = PAPER_80MM, raster: bool = False) -> bytes:
    """ESC/POS bytes of ``document`` (see :func:`render_report` for arguments and errors)."""
    return render_report(document, width=width, raster=raster).data
