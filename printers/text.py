"""Text as the printer prints it: what survives Shift_JIS (cp932), and how wide it is on paper.

In Kanji mode a character's cp932 bytes are its printed columns (full-width = 2 bytes = 2
half-width columns), so width is measured in bytes, not characters. :func:`printable` maps any
Unicode text to text the printer can print, column for column:

- ``¥`` stays ``¥`` (sent as byte 0x5C, which prints as ¥ under the Japan character set);
  a backslash becomes ``＼`` so that 0x5C always means ¥;
- characters cp932 holds under another code point come back as that one (``〜−¢£¬‖`` →
  ``～－￠￡￢∥``): the paper looks the same;
- zero-width joiners and variation selectors are dropped (the base character prints);
- anything else cp932 cannot hold (emoji, control characters, private use) becomes a visible
  substitute, ``〓`` for wide characters and ``?`` for narrow ones, and is reported.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import lru_cache

YEN = "¥"
#: Byte 0x5C prints as ¥ under ``ESC R 8`` (Japan); cp932 has no code for U+00A5.
YEN_BYTE = b"\x5c"
#: 〓 (geta mark), the traditional Japanese stand-in for a character the printer does not have.
WIDE_SUBSTITUTE = "〓"
NARROW_SUBSTITUTE = "?"
#: Zero-width spaces and joiners, word joiner, byte-order mark.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")


@lru_cache(maxsize=8192)
def _char(ch: str) -> tuple[str, bool]:
    """The printable form of one character and whether it was substituted."""
    if ch == YEN:
        return ch, False
    if ch == "\\":
        return "＼", False
    if ch == "\t":
        return " ", False
    if ch in _INVISIBLE or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
        return "", False  # joiners and variation selectors: the base glyph prints, nothing is lost
    category = unicodedata.category(ch)
    if category[0] == "C" or category in ("Zl", "Zp"):
        return NARROW_SUBSTITUTE, True
    try:
        back = ch.encode("cp932").decode("cp932")
    except UnicodeEncodeError:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        return (WIDE_SUBSTITUTE if wide else NARROW_SUBSTITUTE), True
    return back, False


def printable_with_report(text: str) -> tuple[str, list[str]]:
    """``text`` as the printer will print it, and the characters that had to be substituted."""
    out: list[str] = []
    lost: list[str] = []
    # Compose only text with combining marks (か + ゛ → が): NFC would also turn characters cp932
    # holds, such as the angstrom sign, into ones it does not.
    if any(unicodedata.combining(ch) for ch in text):
        text = unicodedata.normalize("NFC", text)
    for ch in text:
        mapped, substituted = _char(ch)
        out.append(mapped)
        if substituted:
            lost.append(ch)
    return "".join(out), lost


def printable(text: str) -> str:
    """``text`` as the printer will print it (see the module docstring)."""
    return printable_with_report(text)[0]


@lru_cache(maxsize=8192)
def char_width(ch: str) -> int:
    """Printed columns of one printable character (its cp932 byte count; ¥ is one byte)."""
    if ch == YEN:
        return 1
    return len(ch.encode("cp932", errors="replace"))


def width(text: str) -> int:
    """Printed columns of ``text`` after :func:`printable`."""
    return sum(char_width(ch) for ch in printable(text))


def encode(text: str) -> bytes:
    """cp932 bytes of printable text (call :func:`printable` first); ¥ becomes 0x5C."""
    return printable(text).replace(YEN, "\\").encode("cp932")


# Cutting and aligning by columns -------------------------------------------------------


def cut(text: str, columns: int) -> str:
    """The longest prefix of printable ``text`` that fits ``columns``: never half a glyph."""
    out: list[str] = []
    used = 0
    for ch in printable(text):
        w = char_width(ch)
        if used + w > columns:
            break
        out.append(ch)
        used += w
    return "".join(out)


def wrap(text: str, columns: int) -> list[str]:
    """Break printable ``text`` into lines of at most ``columns``, on character boundaries."""
    rest = printable(text)
    lines: list[str] = []
    while rest:
        head = cut(rest, columns)
        if not head:  # a wide character on a one-column line: cannot happen at paper widths
            head = rest[0] if columns >= char_width(rest[0]) else ""
            if not head:
                break
        lines.append(head)
        rest = rest[len(head) :]
    return lines or [""]


def center(text: str, columns: int) -> str:
    """``text`` cut to ``columns`` and centred with leading spaces (no trailing spaces)."""
    body = cut(text, columns)
    return " " * ((columns - width(body)) // 2) + body


def right(text: str, columns: int) -> str:
    """``text`` cut to ``columns`` and right-aligned."""
    body = cut(text, columns)
    return " " * (columns - width(body)) + body


def columns_line(left: str, right_text: str, columns: int, *, wrap_left: bool = False) -> list[str]:
    """``left`` then ``right_text`` right-aligned on one line; cut or split when they do not fit.

    The right part (an amount) is never cut while it fits the paper. A left part (a name) too
    long for the room beside it is cut on a character boundary, or wrapped when ``wrap_left``;
    when less than half the paper is left for it, the amount goes on a line of its own.
    """
    left_p, right_p = printable(left), printable(right_text)
    lw, rw = width(left_p), width(right_p)
    if lw + 1 + rw <= columns:
        return [left_p + " " * (columns - lw - rw) + right_p]
    room = columns - rw - 1
    if room >= columns // 2 and not wrap_left:
        head = cut(left_p, room)
        return [head + " " * (columns - width(head) - rw) + right_p]
    lines = wrap(left_p, columns) if wrap_left else [cut(left_p, columns)]
    lines.append(right(right_p, columns))
    return lines


def chars(text: str) -> Iterator[str]:
    """The characters of printable ``text`` (for drawing cell by cell)."""
    yield from printable(text)
