"""What the shopkeeper types (or a scanner types for them), read and bounded where it is typed.

Every amount is checked here against the bounds the wire accepts (:data:`points.money.MAX_AMOUNT`),
so a long number gives a message on the counter instead of a failed request later. A scanned
ticket (its QR text, ``MKT1…``) is recognised in any field: a keyboard-wedge scanner types into
whatever has focus.
"""

from __future__ import annotations

import unicodedata

from points.money import MAX_AMOUNT
from points.tickets import TEXT_PREFIX
from pos.checkout import TenderRefused


def normal(text: str) -> str:
    """Full-width digits and letters made half-width, spaces trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def looks_like_ticket(text: str) -> bool:
    """True when the text is a scanned ticket's QR text (whether or not it verifies)."""
    return normal(text).upper().startswith(TEXT_PREFIX)


def read_yen(text: str, *, limit: int = MAX_AMOUNT) -> int:
    """A typed amount of yen (``"1,000"``, ``"１０００"``, ``"¥500"``; empty is 0).

    Raises:
        TenderRefused: not a whole number of yen, or more than ``limit``.
    """
    digits = normal(text).replace(",", "").removeprefix("¥").removesuffix("円")
    if not digits:
        return 0
    if not (digits.isascii() and digits.isdigit()):
        raise TenderRefused("bad_amount", "Enter a whole number of yen.")
    if len(digits) > 12 or int(digits) > limit:
        raise TenderRefused("amount_too_large", "At most {limit:,} yen.", limit=limit)
    return int(digits)


def read_points(text: str, *, limit: int = MAX_AMOUNT) -> int:
    """A typed number of points (empty is 0).

    Raises:
        TenderRefused: not a whole number, or more than ``limit``.
    """
    digits = normal(text).replace(",", "").removesuffix("pt")
    if not digits:
        return 0
    if not (digits.isascii() and digits.isdigit()):
        raise TenderRefused("bad_amount", "Enter a whole number of points.")
    if len(digits) > 12 or int(digits) > limit:
        raise TenderRefused("points_too_large", "At most {limit:,} pt.", limit=limit)
    return int(digits)
