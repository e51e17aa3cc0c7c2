"""JAN codes (JANコード, EAN-13 and EAN-8) as a scanner reads them off a product.

A JAN code's last digit is a check digit over the others (weights 1 and 3 from the left for
EAN-13, 3 and 1 for EAN-8, modulo 10): a digit misread or two digits swapped by hand almost
always fails it, so the counter refuses such a code rather than ringing up the wrong product.
"""

from __future__ import annotations

import unicodedata

#: The lengths of JAN codes: 13 (standard) and 8 (short, 短縮).
LENGTHS = (8, 13)


class JanError(ValueError):
    """Text that is not a JAN code: wrong length, not digits, or a failed check digit."""


def check_digit(body: str) -> int:
    """The check digit for the first 12 (EAN-13) or 7 (EAN-8) digits of a code.

    Weights alternate 3, 1, 3, … from the rightmost digit of ``body``; the check digit brings the
    weighted sum up to a multiple of 10.

    Raises:
        JanError: ``body`` is not 7 or 12 ASCII digits.
    """
    if len(body) not in (7, 12) or not body.isascii() or not body.isdigit():
        raise JanError(f"not the body of a JAN code: {body!r}")
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return -total % 10


def normalize(text: str) -> str:
    """Digits of a typed or scanned code: full-width digits made half-width, spaces and dashes dropped."""
    return unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace("-", "")


def looks_like_jan(text: str) -> bool:
    """True when ``text`` has the shape of a JAN code (8 or 13 digits), checked or not.

    A price is at most 9 digits (¥100,000,000), so 13 digits are never an amount; 8 digits can
    be either, and :func:`pos` decides by the product list.
    """
    code = normalize(text)
    return len(code) in LENGTHS and code.isascii() and code.isdigit()


def parse(text: str) -> str:
    """The JAN code in ``text``, its check digit verified.

    Raises:
        JanError: not 8 or 13 digits, or the check digit is wrong.
    """
    code = normalize(text)
    if not looks_like_jan(code):
        raise JanError(f"a JAN code has 8 or 13 digits: {text!r}")
    if check_digit(code[:-1]) != int(code[-1]):
        raise JanError(f"wrong check digit: {text!r}")
    return code


def make(body: str) -> str:
    """A full code from its first 12 (or 7) digits, with the check digit appended (tests, samples)."""
    return body + str(check_digit(body))
