"""JAN codes: the check digit catches a misread digit and a swap of two digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points import jan

bodies = st.text(alphabet="0123456789", min_size=12, max_size=12)


def test_known_codes_pass_and_a_misread_fails() -> None:
    assert jan.parse("4901234567894") == "4901234567894"
    assert jan.parse("４９０１２３４５６７８９４") == "4901234567894"  # typed full-width
    assert jan.parse("49123456") == "49123456"  # EAN-8
    with pytest.raises(jan.JanError):
        jan.parse("4901234567895")
    with pytest.raises(jan.JanError):
        jan.parse("490123456789")  # 12 digits


@given(bodies, st.integers(0, 11), st.integers(1, 9))
def test_a_single_wrong_digit_always_fails(body: str, at: int, delta: int) -> None:
    code = jan.make(body)
    wrong = code[:at] + str((int(code[at]) + delta) % 10) + code[at + 1 :]
    with pytest.raises(jan.JanError):
        jan.parse(wrong)


@given(bodies)
def test_every_made_code_parses(body: str) -> None:
    assert jan.parse(jan.make(body)) == jan.make(body)
