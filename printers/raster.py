"""Raster mode: receipts drawn with Pillow and a Japanese font, for printers without Kanji ROM.

Each half-width column is 12 dots and each line 30 dots (a 24-dot font with the printer's usual
spacing), so 48 columns fill the 576 dots of 80 mm paper and the layout is the same as in Kanji
mode, character cell by character cell. QR codes are drawn too (with segno), since a printer
without Kanji ROM may also lack native QR. About twenty times the bytes of Kanji mode.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from functools import lru_cache

import segno
from PIL import Image, ImageDraw, ImageFont

from printers import text as tx
from printers._escpos import Dummy
from printers.errors import FontMissing
from printers.layout import Block, Cut, Qr, Text

CELL = 12
LINE = 30
FONT_SIZE = 24
#: The widest head we draw for: 576 dots (80 mm at 203 dpi).
MAX_DOTS = 576
#: Where Debian and friends put a Japanese font (fonts-ipafont-gothic first: monospaced).
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)


def find_font() -> pathlib.Path:
    """The Japanese font file raster mode draws with.

    ``$MYKEY_POS_FONT`` first, then the usual Debian paths, then fontconfig's best match for
    Japanese.

    Raises:
        FontMissing: no Japanese font was found (the message says what to install).
    """
    configured = os.environ.get("MYKEY_POS_FONT")
    if configured:
        path = pathlib.Path(configured)
        if path.is_file():
            return path
        raise FontMissing(f"MYKEY_POS_FONT={configured} is not a file")
    for candidate in FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return pathlib.Path(candidate)
    fc_match = shutil.which("fc-match")
    if fc_match:
        found = subprocess.run(
            [fc_match, "-f", "%{file}", ":lang=ja"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found and os.path.isfile(found) and _has_kanji(found):
            return pathlib.Path(found)
    raise FontMissing("no Japanese font found")


def _has_kanji(path: str) -> bool:
    try:
        font = ImageFont.truetype(path, FONT_SIZE)
    except OSError:
        return False
    # A font without the glyph draws nothing or the same .notdef box for every character.
    return font.getmask("漢").getbbox() is not None and font.getmask("漢") != font.getmask("字")


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(find_font()), size)


def _draw_text(image: Image.Image, top: int, block: Text) -> int:
    scale = 2 if block.double else 1
    font = _font(FONT_SIZE * scale)
    draw = ImageDraw.Draw(image)
    x = 0
    for ch in tx.chars(block.text):
        cell = tx.char_width(ch) * CELL * scale
        if ch != " ":
            for dx in (0, 1) if block.bold else (0,):
                if font.getlength(ch) > cell:
                    # A glyph wider than its cell (IPA Gothic draws ¥ full-width): squeeze it in.
                    image.paste(0, (x + dx, top), _squeezed(ch, font, cell, LINE * scale, 21 * scale))
                else:
                    # Anchor at the cell's left baseline, so every glyph sits in its own columns.
                    draw.text((x + dx, top + 21 * scale), ch, font=font, fill=0, anchor="ls")
        x += cell
    return LINE * scale


def _squeezed(ch: str, font: ImageFont.FreeTypeFont, cell: int, height: int, baseline: int) -> Image.Image:
    """A mask of ``ch`` drawn at full size and squeezed to ``cell`` dots wide."""
    wide = int(font.getlength(ch))
    glyph = Image.new("L", (wide, height), 0)
    ImageDraw.Draw(glyph).text((0, baseline), ch, font=font, fill=255, anchor="ls")
    return glyph.resize((cell, height)).point(lambda v: 255 if v >= 128 else 0).convert("1")


def _qr_image(data: str, width_dots: int) -> Image.Image:
    code = segno.make(data, error="m", micro=False)
    modules = int(code.symbol_size(scale=1, border=2)[0])
    scale = max(1, min(6, width_dots // modules))
    matrix = Image.new("1", (modules * scale, modules * scale), 1)
    draw = ImageDraw.Draw(matrix)
    for y, row in enumerate(code.matrix_iter(scale=1, border=2)):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle((x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1), fill=0)
    return matrix


def _page(blocks: list[Block], width_dots: int) -> Image.Image:
    heights: list[int] = []
    qr_images: dict[int, Image.Image] = {}
    for index, block in enumerate(blocks):
        if isinstance(block, Text):
            heights.append(LINE * (2 if block.double else 1))
        elif isinstance(block, Qr):
            qr_images[index] = _qr_image(block.data, width_dots)
            heights.append(qr_images[index].height)
    image = Image.new("1", (width_dots, max(1, sum(heights))), 1)
    top = 0
    for index, block in enumerate(blocks):
        if isinstance(block, Text):
            top += _draw_text(image, top, block)
        elif isinstance(block, Qr):
            qr = qr_images[index]
            image.paste(qr, ((width_dots - qr.width) // 2, top))
            top += qr.height
    return image


def render_raster(blocks: list[Block], width: int) -> bytes:
    """ESC/POS bytes with every line drawn as an image (``GS v 0``) and the same cuts.

    Raises:
        ValueError: the paper is wider than the print head (more than 48 columns).
        FontMissing: no Japanese font.
    """
    width_dots = width * CELL
    if width_dots > MAX_DOTS:
        raise ValueError(f"raster mode draws at most {MAX_DOTS // CELL} columns, got {width}")
    printer = Dummy(profile="TM-T20II")
    printer._raw(b"\x1b@")
    pending: list[Block] = []
    for block in blocks:
        if isinstance(block, Cut):
            if pending:
                printer.image(_page(pending, width_dots), impl="bitImageRaster", center=False)
            pending = []
            printer.cut(mode="PART")
        else:
            pending.append(block)
    if pending:
        printer.image(_page(pending, width_dots), impl="bitImageRaster", center=False)
    return bytes(printer.output)
