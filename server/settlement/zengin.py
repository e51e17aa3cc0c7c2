"""The Zengin (全銀協) 総合振込 file: a writer, a reader, and the half-width kana the banks accept.

A file is one header record (1), one data record (2) per payee, a trailer (8) with the count and
the total, and an end record (9). Every record is 120 bytes of cp932 followed by CRLF; numeric (N)
fields are right-aligned and zero-filled, character (C) fields left-aligned and space-filled;
コード区分 is ``0`` (JIS). The field layout follows REFERENCE.md and was cross-checked against two
public implementations (Kyash/zengin-go ``types/fields.go`` and devture/zengin-generator
``ZenginGenerator.php``): they agree on every offset used here.

Bank and branch codes are checked against the ``zengin_code`` data, and the names written are
that data's kana, so a typo in a merchant's bank record is refused before the bank refuses the
file. Every file written is read back and its trailer's count and total compared with what was
meant to be paid.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import jaconv

from points.banking import AccountType, BankAccount

RECORD_SIZE = 120
NEWLINE = b"\r\n"
#: 種別コード: 21 is 総合振込 (general transfers); 11/12 are salary and bonus.
KIND_GENERAL = "21"
#: コード区分: 0 is JIS (the cp932 bytes written here), 1 would be EBCDIC.
CODE_JIS = "0"
#: 振込指定区分: 7 is 電信 (telegraphic), the usual choice for payments.
TRANSFER_TELEGRAPHIC = "7"
ACCOUNT_TYPES = {int(kind): kind.label for kind in AccountType}
MAX_TRANSFER = 9_999_999_999
MAX_TOTAL = 999_999_999_999

# Errors -------------------------------------------------------------------------------


class ZenginError(ValueError):
    """A transfer that cannot be written, or a file that does not read back; ``code`` is stable."""

    code = "zengin_invalid"


class UnencodableName(ZenginError):
    """A payee or requester name with characters the banks do not accept."""

    code = "zengin_name_unencodable"

    def __init__(self, owner: str, name: str, bad: str) -> None:
        self.owner, self.name, self.bad = owner, name, bad
        super().__init__(
            f"{owner}: 口座名義「{name}」に振込で使えない文字があります: {bad} / "
            f"{owner}: the account holder name {name!r} has characters banks do not accept: {bad}"
        )


class UnknownBank(ZenginError):
    """A bank or branch code that is not in the zengin-code data."""

    code = "zengin_unknown_bank"


class BadAccount(ZenginError):
    """An account number, account type or amount that does not fit its field."""

    code = "zengin_bad_account"


class FileDoesNotReadBack(ZenginError):
    """A file whose records, count or total do not match (a corrupt or truncated file)."""

    code = "zengin_corrupt"


# Kana ---------------------------------------------------------------------------------

_SMALL_TO_LARGE = str.maketrans("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ")
#: After conversion: half-width katakana (no small kana), voicing marks, long vowel, A-Z, 0-9,
#: space and the symbols the banks list. ``\\`` is 0x5C, which banks print as ¥.
_PERMITTED = re.compile(r"[\uFF66\uFF70-\uFF9F A-Z0-9().,\-/\\]*")
#: Characters banks conventionally take in place of ones they do not (・ as ., dashes as -).
_SUBSTITUTES = str.maketrans({"･": ".", "・": ".", "¥": "\\", "￥": "\\", "‐": "-", "−": "-", "―": "-"})


def to_bank_kana(text: str, owner: str) -> str:
    """Convert a name to the half-width set the banks accept (振込許容文字).

    Hiragana become katakana, full-width becomes half-width, lower case becomes upper case and
    small kana become large (ｯ → ﾂ); the long vowel mark and the permitted symbols are kept.

    Args:
        text: the name as the merchant registered it (katakana, hiragana, latin, digits).
        owner: who the name belongs to (a merchant id), named in the error.

    Raises:
        UnencodableName: a character outside the permitted set remains (kanji, emoji, ...).
    """
    if text.isascii() or _PERMITTED.fullmatch(text.translate(_SMALL_TO_LARGE)):
        # Already half-width (how merchants' holder names are stored): skip the full conversion.
        quick = text.translate(_SUBSTITUTES).upper().translate(_SMALL_TO_LARGE)
        if _PERMITTED.fullmatch(quick):
            return quick
    half = jaconv.z2h(jaconv.hira2kata(text), kana=True, ascii=True, digit=True)
    converted = half.translate(_SUBSTITUTES).upper().translate(_SMALL_TO_LARGE)
    if not _PERMITTED.fullmatch(converted):
        bad = "".join(dict.fromkeys(ch for ch in converted if not _PERMITTED.fullmatch(ch)))
        raise UnencodableName(owner, text, bad)
    return converted


# Banks --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _banks() -> dict[str, object]:
    # zengin_code loads every bank and branch (~0.4 s) on import: only when a file is needed.
    import zengin_code  # type: ignore[import-untyped]

    return dict(zengin_code.Bank.all)


@lru_cache(maxsize=4096)
def bank_names(bank_code: str, branch_code: str) -> tuple[str, str]:
    """The half-width kana names of a bank and one of its branches, as the banks spell them.

    Raises:
        UnknownBank: the bank code or the branch code is not in the zengin-code data.
    """
    bank = _banks().get(bank_code)
    if bank is None:
        raise UnknownBank(f"銀行コード {bank_code} はありません / unknown bank code {bank_code}")
    branch = bank.branches.get(branch_code)  # type: ignore[attr-defined]
    if branch is None:
        raise UnknownBank(
            f"銀行 {bank_code} に支店コード {branch_code} はありません / "
            f"bank {bank_code} has no branch {branch_code}"
        )
    bank_kana = to_bank_kana(bank.kana, f"bank {bank_code}")  # type: ignore[attr-defined]
    return bank_kana[:15], to_bank_kana(branch.kana, f"branch {bank_code}-{branch_code}")[:15]


# Records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transfer:
    """One payment: to ``account``, ``amount`` yen, for ``payee_id`` (a merchant or chamber id)."""

    payee_id: str
    account: BankAccount
    amount: int
    #: 顧客コード1 (N10): digits the payer uses to match the bank's results; blank when empty. The
    #: payee id is not put here: banks treat the field as numeric.
    customer_code: str = ""


@dataclass(frozen=True, slots=True)
class TransferFile:
    """A whole 総合振込 request: who pays (依頼人), from which account, on which day, to whom."""

    requester_code: str
    requester_name: str
    transfer_date: dt.date
    account: BankAccount
    transfers: tuple[Transfer, ...] = field(default=())

    @property
    def total(self) -> int:
        """The sum of all transfers in yen."""
        return sum(t.amount for t in self.transfers)


def _n(value: int | str, width: int, what: str) -> bytes:
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > width:
        raise BadAccount(f"{what} {value!r} は{width}桁の数字ではありません / {what} is not {width} digits")
    return text.zfill(width).encode("ascii")


def _c(text: str, width: int) -> bytes:
    raw = text.encode("cp932")[:width]
    return raw + b" " * (width - len(raw))


def _check_account(account: BankAccount, owner: str) -> tuple[str, str, str]:
    if account.account_type not in ACCOUNT_TYPES:
        raise BadAccount(f"{owner}: 預金種目 {account.account_type} / unknown account type")
    bank_kana, branch_kana = bank_names(account.bank_code, account.branch_code)
    return bank_kana, branch_kana, to_bank_kana(account.holder, owner)


def _header(request: TransferFile) -> bytes:
    bank_kana, branch_kana, name = _check_account(request.account, request.requester_code)
    date = request.transfer_date
    return b"".join(
        (
            b"1",
            KIND_GENERAL.encode(),
            CODE_JIS.encode(),
            _n(request.requester_code, 10, "依頼人コード"),
            _c(to_bank_kana(request.requester_name, request.requester_code) or name, 40),
            f"{date.month:02d}{date.day:02d}".encode(),
            _n(request.account.bank_code, 4, "銀行番号"),
            _c(bank_kana, 15),
            _n(request.account.branch_code, 3, "支店番号"),
            _c(branch_kana, 15),
            str(request.account.account_type).encode(),
            _n(request.account.number, 7, "口座番号"),
            b" " * 17,
        )
    )


def _data(transfer: Transfer) -> bytes:
    account = transfer.account
    bank_kana, branch_kana, holder = _check_account(account, transfer.payee_id)
    if not 0 < transfer.amount <= MAX_TRANSFER or isinstance(transfer.amount, bool):
        raise BadAccount(f"{transfer.payee_id}: 金額 {transfer.amount} / amount out of range")
    return b"".join(
        (
            b"2",
            _n(account.bank_code, 4, "銀行番号"),
            _c(bank_kana, 15),
            _n(account.branch_code, 3, "支店番号"),
            _c(branch_kana, 15),
            b"0000",
            str(account.account_type).encode(),
            _n(account.number, 7, "口座番号"),
            _c(holder, 30),
            _n(transfer.amount, 10, "金額"),
            b"0",
            _n(transfer.customer_code, 10, "顧客コード") if transfer.customer_code else b" " * 10,
            b" " * 10,
            TRANSFER_TELEGRAPHIC.encode(),
            b" ",
            b" " * 7,
        )
    )


def _trailer(count: int, total: int) -> bytes:
    if total > MAX_TOTAL or count > 999_999:
        raise BadAccount("ファイルの件数か合計が大きすぎます / too many transfers or too large a total")
    return b"8" + _n(count, 6, "件数") + _n(total, 12, "合計金額") + b" " * 101


def write(request: TransferFile) -> bytes:
    """Write a 総合振込 file and check it by reading it back.

    Returns:
        The file's bytes: 120-byte cp932 records, each followed by CRLF.

    Raises:
        UnencodableName: a holder name the banks would not accept (the merchant is named).
        UnknownBank: a bank or branch code not in the zengin-code data.
        BadAccount: a malformed account number or type, or an amount that does not fit.
        FileDoesNotReadBack: the written file's trailer disagrees with the transfers (a bug).
    """
    records = [_header(request)]
    records.extend(_data(t) for t in request.transfers)
    records.append(_trailer(len(request.transfers), request.total))
    records.append(b"9" + b" " * 119)
    for record in records:
        if len(record) != RECORD_SIZE:  # an invariant, kept even under python -O
            raise FileDoesNotReadBack(f"record of {len(record)} bytes")
    data = NEWLINE.join(records) + NEWLINE
    back = read(data, request.transfer_date.year)
    if len(back.transfers) != len(request.transfers) or back.total != request.total:
        raise FileDoesNotReadBack("件数または合計が一致しません / count or total does not match")
    return data


# Reading ------------------------------------------------------------------------------


def _records(data: bytes) -> list[bytes]:
    # Banks accept both CRLF-separated and back-to-back records; read either.
    if NEWLINE in data:
        lines = data.split(NEWLINE)
        if lines and lines[-1] == b"":
            lines.pop()
    else:
        lines = [data[i : i + RECORD_SIZE] for i in range(0, len(data), RECORD_SIZE)]
    for number, line in enumerate(lines, 1):
        if len(line) != RECORD_SIZE:
            raise FileDoesNotReadBack(f"record {number} has {len(line)} bytes, not {RECORD_SIZE}")
    return lines


def _text(raw: bytes) -> str:
    try:
        return raw.decode("cp932").rstrip(" ")
    except UnicodeDecodeError:
        raise FileDoesNotReadBack("not cp932 text") from None


def _int(raw: bytes, what: str) -> int:
    if not raw.isdigit():
        raise FileDoesNotReadBack(f"{what} is not numeric: {raw!r}")
    return int(raw)


def _digits(raw: bytes, what: str) -> str:
    if not raw.isdigit():
        raise FileDoesNotReadBack(f"{what} is not numeric: {raw!r}")
    return raw.decode("ascii")


def _account(raw: bytes, bank: slice, branch: slice, kind: int, number: slice, holder: str) -> BankAccount:
    return BankAccount(
        bank_code=_digits(raw[bank], "銀行番号"),
        branch_code=_digits(raw[branch], "支店番号"),
        account_type=_int(raw[kind : kind + 1], "預金種目"),
        number=_digits(raw[number], "口座番号"),
        holder=holder,
    )


def read(data: bytes, year: int = 2000) -> TransferFile:
    """Read a 総合振込 file and verify its structure, trailer count and total.

    The file holds the transfer day as MMDD only: ``year`` completes it (2000, a leap year, by
    default so that 0229 reads back).

    Raises:
        FileDoesNotReadBack: wrong record sizes or order, non-numeric N fields, or a trailer whose
            count or total differs from the data records.
    """
    lines = _records(data)
    kinds = bytes(line[0] for line in lines)
    if not re.fullmatch(rb"12*89", kinds):
        raise FileDoesNotReadBack("records are not header, data..., trailer, end")
    head = lines[0]
    if head[1:3] != KIND_GENERAL.encode() or head[3:4] != CODE_JIS.encode():
        raise FileDoesNotReadBack("not a JIS 総合振込 file")
    transfers = []
    for line in lines[1:-2]:
        holder = _text(line[50:80])
        transfers.append(
            Transfer(
                payee_id=_text(line[91:101]),
                account=_account(line, slice(1, 5), slice(20, 23), 42, slice(43, 50), holder),
                amount=_int(line[80:90], "金額"),
                customer_code=_text(line[91:101]),
            )
        )
    trailer = lines[-2]
    count, total = _int(trailer[1:7], "件数"), _int(trailer[7:19], "合計金額")
    if count != len(transfers) or total != sum(t.amount for t in transfers):
        raise FileDoesNotReadBack(
            f"trailer says {count} transfers for {total} yen, the records hold {len(transfers)} for "
            f"{sum(t.amount for t in transfers)} yen"
        )
    month, day = _int(head[54:56], "振込日"), _int(head[56:58], "振込日")
    return TransferFile(
        requester_code=_digits(head[4:14], "依頼人コード"),
        requester_name=_text(head[14:54]),
        transfer_date=_month_day(year, month, day),
        account=_account(head, slice(58, 62), slice(77, 80), 95, slice(96, 103), _text(head[14:54])),
        transfers=tuple(transfers),
    )


def _month_day(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise FileDoesNotReadBack(f"振込日 {month:02d}{day:02d} is not a date") from None


def transfers_for(payments: Iterable[tuple[str, BankAccount, int]]) -> tuple[Transfer, ...]:
    """Transfers from ``(payee id, account, amount)`` triples, payees of 0 yen left out."""
    return tuple(Transfer(payee_id=p, account=a, amount=amount) for p, a, amount in payments if amount > 0)


def check_payees(accounts: Sequence[tuple[str, BankAccount]]) -> list[ZenginError]:
    """Every problem a set of payee accounts would cause, without writing a file (for the console)."""
    problems: list[ZenginError] = []
    for owner, account in accounts:
        try:
            _check_account(account, owner)
            _n(account.number, 7, "口座番号")
        except ZenginError as error:
            problems.append(error)
    return problems
