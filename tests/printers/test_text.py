"""Text as printed: widths in columns, cuts on character boundaries, cp932 round trips."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from printers import decode
from printers import text as tx
from printers.render import JAPANESE_SETUP

#: Normalised by cp932: the paper looks the same, the code point differs.
CP932_NORMALISED = str.maketrans("〜−¢£¬‖", "～－￠￡￢∥")


def kanji_mode(text: str) -> bytes:
    return JAPANESE_SETUP + tx.encode(text) + b"\n"


def test_full_width_characters_take_two_columns_and_half_width_katakana_one() -> None:
    assert tx.width("牛乳") == 4
    assert tx.width("ﾃｨｯｼｭ") == 5
    assert tx.width("¥1,000") == 6
    assert tx.width("A") == 1


def test_a_cut_never_leaves_half_a_glyph() -> None:
    assert tx.cut("牛乳パック", 5) == "牛乳"
    assert tx.cut("a牛乳", 4) == "a牛"
    assert tx.width(tx.cut("牛乳パック", 5)) == 4


def test_the_yen_sign_is_sent_as_0x5c_and_a_backslash_never_is() -> None:
    assert tx.encode("¥500") == b"\\500"
    assert tx.printable("C:\\") == "C:＼"
    assert decode(kanji_mode("¥500 C:\\")) == ["¥500 C:＼"]


def test_the_wave_dash_family_comes_back_in_its_cp932_form() -> None:
    assert decode(kanji_mode("〜−¢£¬‖")) == ["～－￠￡￢∥"]


def test_unprintable_characters_are_substituted_visibly_and_reported() -> None:
    printed, lost = tx.printable_with_report("りんご🍎\x1b@é")
    assert printed == "りんご〓?@?"
    assert lost == ["🍎", "\x1b", "é"]
    assert tx.width("🍎") == 2


def test_joiners_and_variation_selectors_are_dropped_without_a_trace() -> None:
    assert tx.printable_with_report("葛\U000e0100城\u200b市") == ("葛城市", [])
    assert tx.printable("👨\u200d👩") == "〓〓"


def test_combining_marks_are_composed_before_printing() -> None:
    assert tx.printable("か\u3099") == "が"


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60), columns=st.integers(min_value=1, max_value=80))
def test_any_text_cut_to_any_width_fits_and_is_a_prefix(text: str, columns: int) -> None:
    head = tx.cut(text, columns)
    assert tx.width(head) <= columns
    assert tx.printable(text).startswith(head)


@settings(max_examples=200, deadline=None)
@given(left=st.text(max_size=40), amount=st.integers(-(10**8), 10**8), columns=st.integers(24, 64))
def test_a_name_and_an_amount_never_overflow_and_the_amount_is_never_cut(
    left: str, amount: int, columns: int
) -> None:
    right = f"¥{amount:,}"
    lines = tx.columns_line(left, right, columns)
    assert all(tx.width(line) <= columns for line in lines)
    assert lines[-1].endswith(right)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_any_text_decodes_back_to_what_was_printed(text: str) -> None:
    printed = tx.printable(text)
    assert "\n" not in printed
    assert decode(kanji_mode(text)) == [printed]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(
        st.characters(codec="cp932", exclude_categories=("Cc", "Cs", "Co"), include_characters="〜−¢£¬‖")
        | st.just("¥"),
        max_size=60,
    )
)
def test_text_cp932_can_hold_decodes_back_to_what_was_meant(text: str) -> None:
    meant = text.replace("\\", "＼").translate(CP932_NORMALISED)
    assert decode(kanji_mode(text)) == [meant]
