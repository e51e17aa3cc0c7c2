"""The decoder reads what python-escpos and our renderer send, and never fails on garbage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from printers import PrintedLine, decode
from printers._escpos import Dummy
from printers.render import JAPANESE_SETUP


def printer() -> Dummy:
    return Dummy(profile="TM-T20II")


def test_plain_ascii_text_and_line_feeds() -> None:
    assert decode(b"\x1b@hello\nworld\n\n") == ["hello", "world", ""]


def test_kanji_mode_shift_jis_and_half_width_katakana() -> None:
    data = JAPANESE_SETUP + "合計 ｶﾞｽ代 ¥".replace("¥", "\\").encode("cp932") + b"\n"
    assert decode(data) == ["合計 ｶﾞｽ代 ¥"]


def test_without_kanji_mode_or_japan_set_bytes_are_not_read_as_kanji() -> None:
    assert decode(b"\x1b@\\\n") == ["\\"]
    assert decode(b"\x1b@" + "合".encode("cp932") + b"\n") == ["??"]
    assert decode(JAPANESE_SETUP + b"\x1c." + "合".encode("cp932") + b"\n") == ["??"]


def test_double_size_and_bold_leave_the_text_alone() -> None:
    data = JAPANESE_SETUP + b"\x1d!\x11" + "合計".encode("cp932") + b"\x1d!\x00\x1bE\x01x\x1bE\x00\n"
    assert decode(data) == ["合計x"]


def test_native_qr_code_from_python_escpos() -> None:
    p = printer()
    p.qr("MKT1ABCDEF", native=True, size=6)
    assert decode(p.output) == ["[qr MKT1ABCDEF]"]


def test_hardware_code128_barcode_loses_its_code_set_prefix() -> None:
    p = printer()
    p.barcode("{B012345", "CODE128", function_type="B")
    assert "[barcode 012345]" in decode(p.output)


def test_raster_column_and_graphics_images() -> None:
    image = Image.new("1", (64, 16), 0)
    for impl, expected in (("bitImageRaster", "[image 64x16]"), ("bitImageColumn", "[image 64x24]")):
        p = printer()
        p.image(image, impl=impl, center=False)
        assert expected in decode(p.output), impl
    p = printer()
    p.image(image, impl="graphics", center=False)
    assert "[image]" in decode(p.output)


def test_cuts_and_feeds() -> None:
    p = printer()
    p._raw(b"a")
    p.cut()
    p._raw(b"b")
    p.cut(mode="PART")
    assert decode(p.output) == ["a", "[cut]", "b", "[cut]"]


def test_status_requests_are_skipped_and_drawer_kicks_named() -> None:
    assert decode(b"\x10\x04\x02\x10\x04\x04x\x1bp\x00\x19\xfay\n") == ["x", "[drawer 0 50ms 500ms]", "y"]


def test_the_drawer_pulse_is_esc_p_on_pin_2() -> None:
    from printers import drawer_pulse

    assert drawer_pulse().startswith(b"\x1bp\x00")
    assert decode(drawer_pulse(5)) == ["[drawer 1 100ms 100ms]"]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_bytes_decode_without_raising(data: bytes) -> None:
    assert isinstance(decode(data), list)


def test_qr_data_is_read_as_the_utf8_python_escpos_sends() -> None:
    p = printer()
    p.qr("天理 MKT1", native=True)
    assert decode(p.output) == ["[qr 天理 MKT1]"]


def test_the_preview_knows_which_lines_are_double_size_and_bold() -> None:
    from printers import decode_lines, render
    from printers.samples import sample_receipt

    lines = decode_lines(render(sample_receipt()))
    doubles = [line.text.split()[0] for line in lines if line.double]
    assert doubles == ["天理本通り商店", "合計"]
    assert decode_lines(b"\x1bE\x01bold\x1bE\x00\nplain\n\x1b!\x38both\n") == [
        PrintedLine("bold", bold=True),
        PrintedLine("plain"),
        PrintedLine("both", double=True, bold=True),
    ]
