"""Bank accounts merchants, chambers and cities are paid from and to (Zengin fields).

A bank account is the four Zengin (全銀協) fields plus its holder: bank code (4 digits), branch
code (3), account type (預金種目), account number (up to 7 digits) and the holder's name as
registered (the Zengin writer turns it into the half-width katakana banks accept). The account
type is its Zengin code everywhere, in the database too: 1 普通 (ordinary), 2 当座 (current),
4 貯蓄 (savings), 9 その他 (other).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class AccountType(IntEnum):
    """預金種目: a bank account's type, by its Zengin code."""

    ORDINARY = 1
    CURRENT = 2
    SAVINGS = 4
    OTHER = 9

    @property
    def label(self) -> str:
        """The type as a Japanese bank statement writes it (普通, 当座, 貯蓄, その他)."""
        return _LABELS[self]

    @classmethod
    def parse(cls, value: AccountType | int | str) -> AccountType:
        """An account type from its code (``1``, ``"1"``) or its English name (``"ordinary"``).

        Raises:
            ValueError: neither a Zengin code nor a name of one.
        """
        if isinstance(value, str) and not value.isdigit():
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ValueError(f"unknown account type {value!r}") from None
        return cls(int(value))


_LABELS = {
    AccountType.ORDINARY: "普通",
    AccountType.CURRENT: "当座",
    AccountType.SAVINGS: "貯蓄",
    AccountType.OTHER: "その他",
}


@dataclass(frozen=True, slots=True)
class BankAccount:
    """Where money is paid to or from: bank, branch, type (Zengin code), number, holder name.

    The fields are checked where they are used (the Zengin writer refuses an unknown bank, branch
    or type with the owner's name), so a file read back with a bad field can still be shown.
    """

    bank_code: str
    branch_code: str
    account_type: AccountType
    number: str
    holder: str
