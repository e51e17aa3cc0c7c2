"""ESC/POS bytes back to lines of text: for tests, and for the counter app's receipt preview.

What the screen shows is decoded from the very bytes sent to the printer. Kanji mode
(``FS &`` / ``FS .``) with Shift_JIS (cp932) is understood, ``ESC R 8`` makes 0x5C a ¥, and
``ESC t 1`` makes 0xA1-0xDF half-width katakana. Non-text output becomes a bracketed line:
``[qr DATA]``, ``[barcode DATA]``, ``[image WxH]``, ``[cut]``, ``[drawer PIN ONms OFFms]``.
Formatting (double size, bold, alignment) leaves the text as it is; the layout pads with spaces,
so lines read like the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Bytes of ``ESC x`` commands that take a fixed number of parameter bytes.
_ESC_ARGS = {
    b"!": 1, b"$": 2, b"%": 1, b"-": 1, b"2": 0, b"3": 1, b"=": 1, b"?": 1, b"@": 0, b"D": -1,
    b"E": 1, b"G": 1, b"J": 1, b"K": 1, b"L": 0, b"M": 1, b"R": 1, b"S": 0, b"T": 1, b"U": 1,
    b"V": 1, b"W": 8, b"\\": 2, b"a": 1, b"d": 1, b"e": 1, b"i": 0, b"m": 0, b"p": 3, b"r": 1,
    b"t": 1, b"{": 1, b" ": 1, b"c": 2, b"u": 1, b"v": 0,
}  # fmt: skip
_FS_ARGS = {b"!": 1, b"&": 0, b".": 0, b"-": 1, b"C": 1, b"S": 2, b"W": 1, b"p": 2}
_GS_ARGS = {
    b"!": 1, b"B": 1, b"H": 1, b"I": 1, b"L": 2, b"P": 2, b"W": 2, b"a": 1, b"b": 1, b"f": 1,
    b"h": 1, b"r": 1, b"w": 1, b"x": 1, b"$": 2, b"\\": 2, b"^": 3, b":": 0, b"T": 1,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PrintedLine:
    """One decoded line and how it is printed (for a preview that shows double size and bold)."""

    text: str
    double: bool = False
    bold: bool = False


@dataclass
class _State:
    lines: list[PrintedLine] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    kanji: bool = False
    japan: bool = False
    katakana: bool = False
    double: bool = False
    bold: bool = False
    qr: str = ""
    line_double: bool = False
    line_bold: bool = False

    def reset(self) -> None:
        self.kanji = self.japan = self.katakana = self.double = self.bold = False

    def put(self, text: str) -> None:
        self.text.append(text)
        self.line_double |= self.double
        self.line_bold |= self.bold

    def newline(self) -> None:
        self.lines.append(PrintedLine("".join(self.text), self.line_double, self.line_bold))
        self.text = []
        self.line_double = self.line_bold = False

    def flush(self) -> None:
        if self.text:
            self.newline()

    def mark(self, what: str) -> None:
        self.flush()
        self.lines.append(PrintedLine(f"[{what}]"))


def _le(data: bytes, at: int, size: int = 2) -> int:
    return int.from_bytes(data[at : at + size], "little")


def _esc(data: bytes, i: int, s: _State) -> int:
    """Handle ``ESC x`` at ``data[i]`` (the ESC); return the index after the command."""
    cmd = data[i + 1 : i + 2]
    arg = data[i + 2] if i + 2 < len(data) else 0
    if cmd == b"@":
        s.reset()
    elif cmd == b"E":
        s.bold = bool(arg & 1)
    elif cmd == b"!":  # print mode: bit 3 emphasised, bits 4-5 double height and width
        s.bold, s.double = bool(arg & 0x08), bool(arg & 0x30)
    elif cmd == b"R":
        s.japan = arg == 8
    elif cmd == b"t":
        s.katakana = arg == 1
    elif cmd in (b"d", b"J", b"i", b"m"):
        s.flush()
    elif cmd == b"*":  # bit image: ESC * m nL nH d1..dk (k = n, or 3n for 24-dot modes)
        m, n = arg, _le(data, i + 3)
        s.mark(f"image {n}x{24 if m in (32, 33) else 8}")
        return i + 5 + n * (3 if m in (32, 33) else 1)
    elif cmd == b"p":  # drawer kick: ESC p m t1 t2 (pin 2 or 5, on and off time in 2 ms units)
        pulse = data[i + 2 : i + 5]
        if len(pulse) == 3:
            s.mark(f"drawer {pulse[0] & 1} {pulse[1] * 2}ms {pulse[2] * 2}ms")
        return i + 5
    elif cmd == b"D":  # tab stops, NUL-terminated
        end = data.find(b"\x00", i + 2)
        return len(data) if end < 0 else end + 1
    elif cmd == b"(":  # ESC ( x pL pH data
        return i + 5 + _le(data, i + 3)
    if cmd == b"i" or (cmd == b"m"):
        s.mark("cut")
    return i + 2 + _ESC_ARGS.get(cmd, 0)


def _gs(data: bytes, i: int, s: _State) -> int:
    cmd = data[i + 1 : i + 2]
    if cmd == b"!":  # character size: any enlargement counts as double
        s.double = bool(data[i + 2] & 0x77) if i + 2 < len(data) else False
    if cmd == b"V":  # cut: GS V m, or GS V m n for m >= 65
        m = data[i + 2] if i + 2 < len(data) else 0
        s.mark("cut")
        return i + (4 if m >= 65 else 3)
    if cmd == b"(":  # GS ( x pL pH data
        kind, size, body = data[i + 2 : i + 3], _le(data, i + 3), i + 5
        payload = data[body : body + size]
        if kind == b"k" and payload[:1] == b"1":
            if payload[1:2] == b"P":  # store QR data
                s.qr = payload[3:].decode("utf-8", errors="replace")  # python-escpos sends UTF-8
            elif payload[1:2] == b"Q":  # print stored QR
                s.mark(f"qr {s.qr}")
        elif kind == b"L" and payload[1:2] in (b"2", b"\x32"):
            s.mark("image")
        return body + size
    if cmd == b"8" and data[i + 2 : i + 3] == b"L":  # GS 8 L p1..p4 data (large graphics)
        return i + 7 + _le(data, i + 3, 4)
    if cmd == b"v" and data[i + 2 : i + 3] == b"0":  # GS v 0 m xL xH yL yH d1..dk
        x_bytes, height = _le(data, i + 4), _le(data, i + 6)
        s.mark(f"image {x_bytes * 8}x{height}")
        return i + 8 + x_bytes * height
    if cmd == b"k":  # barcode: GS k m d1..dk NUL (m <= 6) or GS k m n d1..dn
        m = data[i + 2] if i + 2 < len(data) else 0
        if m <= 6:
            end = data.find(b"\x00", i + 3)
            end = len(data) if end < 0 else end
            code, after = data[i + 3 : end], end + 1
        else:
            n = data[i + 3] if i + 3 < len(data) else 0
            code, after = data[i + 4 : i + 4 + n], i + 4 + n
        text = code.decode("latin-1")
        if m == 73 and text[:1] == "{":  # CODE128 code-set prefix ({A {B {C)
            text = text[2:]
        s.mark(f"barcode {text}")
        return after
    return i + 2 + _GS_ARGS.get(cmd, 0)


def _fs(data: bytes, i: int, s: _State) -> int:
    cmd = data[i + 1 : i + 2]
    if cmd == b"&":
        s.kanji = True
    elif cmd == b".":
        s.kanji = False
    elif cmd == b"p":
        s.mark("image nv")
    elif cmd == b"2":  # define a user kanji: FS 2 c1 c2 d1..d72
        return i + 4 + 72
    return i + 2 + _FS_ARGS.get(cmd, 0)


def decode_lines(data: bytes) -> list[PrintedLine]:
    """The lines of ``data`` with their size and weight (see :func:`decode` for the text)."""
    s = _State()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            i = _esc(data, i, s)
        elif b == 0x1D:
            i = _gs(data, i, s)
        elif b == 0x1C:
            i = _fs(data, i, s)
        elif b == 0x10:  # DLE EOT n / DLE ENQ n (real-time status), DLE DC4 fn m t (pulse)
            i += 5 if data[i + 1 : i + 2] == b"\x14" else 3
        elif b == 0x0A:
            s.newline()
            i += 1
        elif b == 0x0C:
            s.flush()
            i += 1
        elif b == 0x09:
            s.put(" ")
            i += 1
        elif b < 0x20 or b == 0x7F:
            i += 1
        elif b < 0x80:
            s.put("¥" if b == 0x5C and s.japan else chr(b))
            i += 1
        elif s.kanji and (0x81 <= b <= 0x9F or 0xE0 <= b <= 0xFC) and i + 1 < n:
            try:
                s.put(data[i : i + 2].decode("cp932"))
            except UnicodeDecodeError:
                s.put("?")
            i += 2
        elif 0xA1 <= b <= 0xDF and s.katakana:
            s.put(bytes([b]).decode("cp932"))
            i += 1
        else:
            s.put("?")
            i += 1
    s.flush()
    return s.lines


def decode(data: bytes) -> list[str]:
    """Lines of text (and ``[qr …]``, ``[barcode …]``, ``[image WxH]``, ``[cut]``) in ``data``.

    Never raises on bad input: unknown commands are skipped, undecodable bytes become ``?``.
    """
    return [line.text for line in decode_lines(data)]
