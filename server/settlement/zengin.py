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

Every name field goes through :func:`server.settlement.kana.fit_name` with the paying bank's
character set. The writer never shortens or alters a payee's or requester's name: a name that
would not fit as it is, or holds a character the bank refuses, is refused (:class:`NameRefused`)
and :func:`check` lists every such name with the form proposed, for the pre-check. The caller
writes an accepted proposal by passing it as the name. Account type 9 (その他) is refused too:
some banks' software rejects it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from points.banking import AccountType, BankAccount
from server.errors import Words
from server.settlement import kana

RECORD_SIZE = 120
NEWLINE = b"\r\n"
#: 種別コード: 21 is 総合振込 (general transfers); 11/12 are salary and bonus.
KIND_GENERAL = "21"
#: コード区分: 0 is JIS (the cp932 bytes written here), 1 would be EBCDIC.
CODE_JIS = "0"
#: 振込指定区分: 7 is 電信 (telegraphic), the usual choice for payments.
TRANSFER_TELEGRAPHIC = "7"
#: The account types written. 9 (その他) exists in the layout but some banks' software refuses it.
ACCOUNT_TYPES = {int(kind): kind.label for kind in AccountType if kind is not AccountType.OTHER}
#: The name fields and their widths: 依頼人名 (header) and 受取人名 (data records).
NAME_FIELDS = {"requester": 40, "holder": 30}
_FIELD_JA = {"requester": "依頼人名", "holder": "受取人名"}
#: The numeric fields' names in English, for the English half of a refusal.
_FIELD_EN = {
    "銀行番号": "bank code",
    "支店番号": "branch code",
    "依頼人コード": "requester code",
    "口座番号": "account number",
    "金額": "amount",
    "顧客コード": "customer code",
    "件数": "count",
    "合計金額": "total",
}
MAX_TRANSFER = 9_999_999_999
MAX_TOTAL = 999_999_999_999

# Errors -------------------------------------------------------------------------------


class ZenginError(ValueError):
    """A transfer that cannot be written, or a file that does not read back; ``code`` is stable.

    ``words`` is the message in Japanese and English apart (a client asks for one); ``str()`` both.
    """

    code = "zengin_invalid"

    def __init__(self, said: str | Words) -> None:
        self.words = said if isinstance(said, Words) else Words(said, said)
        super().__init__(str(self.words))


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the pre-check found: a name the file cannot hold as it is, or an account it refuses.

    ``field`` is ``holder`` (受取人名), ``requester`` (依頼人名) or ``account``; ``proposed`` is
    the form the file would hold, or None when no form can be proposed (a character with no
    replacement, an empty name, an account problem): then only fixing the record helps.
    """

    payee_id: str
    field: str
    name: str
    proposed: str | None
    reasons: tuple[str, ...]
    detail: str
    accepted: bool = False


def _reasons_said(fitted: kana.FittedName) -> list[Words]:
    """Why a name does not fit as it is, one reason each, in Japanese and in English."""
    said = []
    for reason in fitted.reasons:
        if reason == "too_long":
            said.append(
                Words(f"{fitted.width}文字を超えるため短縮", f"longer than {fitted.width}, shortened")
            )
        elif reason == "replaced":
            said.append(
                Words(f"銀行が受け付けない「{fitted.replaced}」を置換", f"{fitted.replaced} replaced")
            )
        elif reason == "lone_mark":
            said.append(Words("かなに付かない濁点・半濁点を削除", "a voiced mark with no kana dropped"))
        elif reason == "unencodable":
            said.append(Words(f"振込で使えない文字: {fitted.unencodable}", "characters banks do not accept"))
    if not fitted.written:
        said.append(Words("名義が空になります", "the name would be empty"))
    return said


def _described(fitted: kana.FittedName) -> Words:
    said = _reasons_said(fitted)
    return Words("; ".join(w.ja for w in said), "; ".join(w.en for w in said))


def _describe(fitted: kana.FittedName) -> str:
    # The finding's detail keeps both languages, each reason as "ja / en" (the pre-check report).
    return "; ".join(f"{w.ja} / {w.en}" for w in _reasons_said(fitted))


def name_finding(owner: str, field_: str, fitted: kana.FittedName) -> Finding | None:
    """The finding for one fitted name, or None when the field holds the name as it is."""
    if not fitted.changed and fitted.written:
        return None
    writable = fitted.written and not fitted.unencodable
    return Finding(
        payee_id=owner,
        field=field_,
        name=fitted.original,
        proposed=fitted.written if writable else None,
        reasons=fitted.reasons + (() if fitted.written else ("empty",)),
        detail=_describe(fitted),
    )


class NameRefused(ZenginError):
    """A payee or requester name the file cannot hold as it is (too long, or characters the bank refuses)."""

    code = "zengin_name_changed"

    def __init__(self, finding: Finding, why: Words | None = None) -> None:
        self.finding = finding
        self.owner, self.name, self.field = finding.payee_id, finding.name, finding.field
        label = _FIELD_JA.get(finding.field, finding.field)
        why = why or Words(finding.detail, finding.detail)
        proposed_ja = f"「{finding.proposed}」" if finding.proposed is not None else "（なし）"
        proposed_en = repr(finding.proposed) if finding.proposed is not None else "(none)"
        super().__init__(
            Words(
                f"{self.owner}: {label}「{self.name}」→ {proposed_ja}: {why.ja}",
                f"{self.owner}: the {finding.field} name {self.name!r} does not fit as it is"
                f" → {proposed_en}: {why.en}",
            )
        )


class UnencodableName(NameRefused):
    """A payee or requester name with characters the banks do not accept (口座名義)."""

    code = "zengin_name_unencodable"

    def __init__(
        self, owner: str, name: str, bad: str, field_: str = "holder", finding: Finding | None = None
    ) -> None:
        self.bad = bad
        self.finding = finding or Finding(owner, field_, name, None, ("unencodable",), bad)
        self.owner, self.name, self.field = owner, name, field_
        ZenginError.__init__(
            self,
            Words(
                f"{owner}: 口座名義「{name}」に振込で使えない文字があります: {bad}",
                f"{owner}: the account holder name {name!r} has characters banks do not accept: {bad}",
            ),
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


def to_bank_kana(text: str, owner: str) -> str:
    """Convert a name the routine way to the full Zengin half-width set (振込許容文字), uncut.

    Hiragana become katakana, full-width becomes half-width, lower case becomes upper case and
    small kana become large (ｯ → ﾂ); the long vowel mark and the permitted symbols are kept. A
    file's fields are fitted with :func:`server.settlement.kana.fit_name` and the bank's set.

    Args:
        text: the name as the merchant registered it (katakana, hiragana, latin, digits).
        owner: who the name belongs to (a merchant id), named in the error.

    Raises:
        UnencodableName: a character outside the permitted set remains (kanji, emoji, ...).
    """
    fitted = kana.fit_name(text, len(text) * 2 + 1, kana.ZENGIN)
    if fitted.unencodable:
        raise UnencodableName(owner, text, fitted.unencodable)
    return fitted.canonical


def _field(text: str, field_: str, owner: str, charset: kana.Charset) -> bytes:
    if kana.holds_as_is(text, NAME_FIELDS[field_], charset):
        return _c(text, NAME_FIELDS[field_])  # most stored names: nothing to fit, nothing to report
    fitted = kana.fit_name(text, NAME_FIELDS[field_], charset)
    finding = name_finding(owner, field_, fitted)
    if finding is not None and fitted.unencodable:
        raise UnencodableName(owner, text, fitted.unencodable, field_, finding)
    if finding is not None:
        raise NameRefused(finding, _described(fitted))
    return _c(fitted.written, NAME_FIELDS[field_])


# Banks --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _banks() -> dict[str, object]:
    # zengin_code loads every bank and branch (~0.4 s) on import: only when a file is needed.
    import zengin_code  # type: ignore[import-untyped]

    return dict(zengin_code.Bank.all)


def is_bank(bank_code: str) -> bool:
    """Whether ``bank_code`` is a bank in the zengin-code data."""
    return bank_code in _banks()


@lru_cache(maxsize=4096)
def bank_names(bank_code: str, branch_code: str, charset: kana.Charset = kana.STRICT) -> tuple[str, str]:
    """The half-width kana names of a bank and one of its branches, as the banks spell them.

    Fitted to their 15 characters in ``charset`` like every name; banks route by the codes, so a
    shortened bank or branch name is not a finding (it comes from the zengin-code data, not a record).

    Raises:
        UnknownBank: the bank code or the branch code is not in the zengin-code data.
    """
    bank = _banks().get(bank_code)
    if bank is None:
        raise UnknownBank(Words(f"銀行コード {bank_code} はありません", f"unknown bank code {bank_code}"))
    branch = bank.branches.get(branch_code)  # type: ignore[attr-defined]
    if branch is None:
        raise UnknownBank(
            Words(
                f"銀行 {bank_code} に支店コード {branch_code} はありません",
                f"bank {bank_code} has no branch {branch_code}",
            )
        )
    bank_kana = kana.fit_name(bank.kana, 15, charset).written  # type: ignore[attr-defined]
    return bank_kana, kana.fit_name(branch.kana, 15, charset).written


@lru_cache(maxsize=4096)
def _bank_fields(bank_code: str, branch_code: str, charset: kana.Charset) -> bytes:
    """銀行番号, 銀行名, 支店番号, 支店名 as a record holds them (37 bytes; the same for one branch).

    Raises:
        UnknownBank: the bank code or the branch code is not in the zengin-code data.
    """
    bank_kana, branch_kana = bank_names(bank_code, branch_code, charset)
    return b"".join(
        (_n(bank_code, 4, "銀行番号"), _c(bank_kana, 15), _n(branch_code, 3, "支店番号"), _c(branch_kana, 15))
    )


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
        raise BadAccount(
            Words(
                f"{what} {value!r} は{width}桁の数字ではありません",
                f"the {_FIELD_EN.get(what, what)} {value!r} is not {width} digits",
            )
        )
    return text.zfill(width).encode("ascii")


#: The codec's encoder, looked up once: ``str.encode("cp932")`` looks it up by name at every call.
_CP932 = codecs.getencoder("cp932")


def _c(text: str, width: int) -> bytes:
    raw = _CP932(text)[0][:width]
    return raw + b" " * (width - len(raw))


def _check_account(account: BankAccount, owner: str, charset: kana.Charset) -> bytes:
    """The account's bank and branch fields (:func:`_bank_fields`), once its type is one banks take."""
    if account.account_type not in ACCOUNT_TYPES:
        raise BadAccount(
            Words(
                f"{owner}: 預金種目 {account.account_type} は使えません（1 普通, 2 当座, 4 貯蓄）",
                f"{owner}: account type {account.account_type} is not accepted"
                " (1 ordinary, 2 current, 4 savings)",
            )
        )
    return _bank_fields(account.bank_code, account.branch_code, charset)


def _requester(request: TransferFile) -> str:
    # The requester's name, or its account holder's when the request names none.
    return request.requester_name or request.account.holder


def _header(request: TransferFile, charset: kana.Charset) -> bytes:
    bank = _check_account(request.account, request.requester_code, charset)
    date = request.transfer_date
    return b"".join(
        (
            b"1",
            KIND_GENERAL.encode(),
            CODE_JIS.encode(),
            _n(request.requester_code, 10, "依頼人コード"),
            _field(_requester(request), "requester", request.requester_code, charset),
            f"{date.month:02d}{date.day:02d}".encode(),
            bank,
            str(request.account.account_type).encode(),
            _n(request.account.number, 7, "口座番号"),
            b" " * 17,
        )
    )


#: A data record's last 19 bytes: 顧客コード2 blank, 振込指定区分 電信, 識別表示 blank, 7 spaces.
_DATA_END = b" " * 10 + TRANSFER_TELEGRAPHIC.encode() + b" " + b" " * 7


def _data(transfer: Transfer, charset: kana.Charset) -> bytes:
    account, amount = transfer.account, transfer.amount
    bank = _check_account(account, transfer.payee_id, charset)
    if not 0 < amount <= MAX_TRANSFER or isinstance(amount, bool):
        raise BadAccount(
            Words(
                f"{transfer.payee_id}: 金額 {amount} が範囲外です",
                f"{transfer.payee_id}: amount {amount} out of range",
            )
        )
    # The usual record (7-digit number, a stored name the field holds as it is, an int amount) is
    # put together directly; anything else goes through the field functions, which say what is wrong.
    number, holder = account.number, account.holder
    return b"".join(
        (
            b"2",
            bank,
            b"0000",
            str(account.account_type).encode(),
            number.encode() if len(number) == 7 and number.isdigit() and number.isascii()
            else _n(number, 7, "口座番号"),
            _c(holder, 30) if len(holder) <= 30 and holder and charset.holds(holder)
            else _field(holder, "holder", transfer.payee_id, charset),
            b"%010d" % amount if type(amount) is int else _n(amount, 10, "金額"),
            b"0",
            _n(transfer.customer_code, 10, "顧客コード") if transfer.customer_code else b" " * 10,
            _DATA_END,
        )
    )  # fmt: skip


def _data_records(transfers: tuple[Transfer, ...], charset: kana.Charset) -> list[bytes]:
    """Every data record, in order: the usual record formatted in one step, any other by :func:`_data`.

    The usual record (a bank and branch already seen in this file, an accepted type, a 7-digit
    number, a stored name the field holds as it is, an int amount, no customer code) costs one
    bytes formatting; whatever else goes through :func:`_data`, which raises what is wrong. The
    bytes are the same either way (tests/settlement/test_zengin.py compares them).
    """
    banks: dict[tuple[str, str, int], bytes] = {}
    holds, encode, usual = charset.holds, _CP932, b"2%b0000%d%b%-30b%010d0          " + _DATA_END
    records = []
    for transfer in transfers:
        account, amount = transfer.account, transfer.amount
        number, holder, kind = account.number, account.holder, account.account_type
        bank = banks.get((account.bank_code, account.branch_code, kind))
        if bank is None:
            bank = banks[(account.bank_code, account.branch_code, kind)] = _check_account(
                account, transfer.payee_id, charset
            )
        if (
            type(amount) is int
            and 0 < amount <= MAX_TRANSFER
            and not transfer.customer_code
            and len(number) == 7
            and number.isascii()
            and number.isdigit()
            and 0 < len(holder) <= 30
            and holds(holder)
        ):
            records.append(usual % (bank, kind, number.encode(), encode(holder)[0], amount))
        else:
            records.append(_data(transfer, charset))
    return records


def _trailer(count: int, total: int) -> bytes:
    if total > MAX_TOTAL or count > 999_999:
        raise BadAccount(
            Words("ファイルの件数か合計が大きすぎます", "too many transfers or too large a total")
        )
    return b"8" + _n(count, 6, "件数") + _n(total, 12, "合計金額") + b" " * 101


def write(request: TransferFile, charset: kana.Charset = kana.STRICT) -> bytes:
    """Write a 総合振込 file and check it by reading it back.

    Args:
        request: the transfers; every name must fit its field as it is (see :func:`check`).
        charset: the characters the paying bank accepts in names (the strict set by default).

    Returns:
        The file's bytes: 120-byte cp932 records, each followed by CRLF.

    Raises:
        NameRefused: a name that would have to be shortened or altered to fit (the payee and the
            proposed form are named); never written cut or altered.
        UnencodableName: a holder name the banks would not accept (the merchant is named).
        UnknownBank: a bank or branch code not in the zengin-code data.
        BadAccount: a malformed account number or type, or an amount that does not fit.
        FileDoesNotReadBack: the written file's trailer disagrees with the transfers (a bug).
    """
    records = [_header(request, charset)]
    records.extend(_data_records(request.transfers, charset))
    records.append(_trailer(len(request.transfers), request.total))
    records.append(b"9" + b" " * 119)
    for record in records:
        if len(record) != RECORD_SIZE:  # an invariant, kept even under python -O
            raise FileDoesNotReadBack(f"record of {len(record)} bytes")
    data = NEWLINE.join(records) + NEWLINE
    count, total = _read_back(data, request.transfer_date.year)
    if count != len(request.transfers) or total != request.total:
        raise FileDoesNotReadBack(Words("件数または合計が一致しません", "count or total does not match"))
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
    if set(map(len, lines)) - {RECORD_SIZE}:
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


#: The bytes cp932 decodes as one character each (ASCII, 0x80, half-width kana, 0xA0 and 0xFD-0xFF).
_ONE_BYTE = bytes(range(0x81)) + bytes(range(0xA0, 0xE0)) + bytes(range(0xFD, 0x100))


def _is_one_byte_text(data: bytes) -> bool:
    """Whether :func:`_one_byte_text` would give the text, told without decoding the usual file.

    Deleting the one-byte characters is a tenth of decoding; what is left (a lead byte) is decoded.
    """
    return not data.translate(None, _ONE_BYTE) or _one_byte_text(data) is not None


def _one_byte_text(data: bytes) -> str | None:
    """The file as text when each byte is one character (what :func:`write` writes), else None.

    Decoding the file once and slicing it costs a fiftieth of decoding each field apart.
    """
    try:
        whole = data.decode("cp932")
    except UnicodeDecodeError:
        return None
    return whole if len(whole) == len(data) else None


def _texts(data: bytes, lines: list[bytes]) -> list[str | None]:
    """Each record as text, sliced from the file decoded once; None each when that cannot be done."""
    whole = _one_byte_text(data)
    if whole is None:
        return [None] * len(lines)
    step = RECORD_SIZE + (len(NEWLINE) if NEWLINE in data else 0)
    return [whole[i : i + RECORD_SIZE] for i in range(0, step * len(lines), step)]


def _transfer(line: bytes, text: str | None) -> Transfer:
    """One data record read back: the payee (its customer code), the account and the amount.

    ``text`` is the record decoded, when each of its bytes is one character (else None).
    """
    if not (line[1:5] + line[20:23] + line[42:50] + line[80:90]).isdigit():
        _account(line, slice(1, 5), slice(20, 23), 42, slice(43, 50), "")  # names the field at fault
        _int(line[80:90], "金額")
    if text is None:
        code, holder = _text(line[91:101]), _text(line[50:80])
        bank, branch, number = line[1:5].decode(), line[20:23].decode(), line[43:50].decode()
    else:
        code, holder = text[91:101].rstrip(" "), text[50:80].rstrip(" ")
        bank, branch, number = text[1:5], text[20:23], text[43:50]
    # Every N field is ASCII digits (checked at once above): read without a check per field.
    account = BankAccount(bank, branch, int(line[42:43]), number, holder)
    return Transfer(payee_id=code, account=account, amount=int(line[80:90]), customer_code=code)


_DATA_NUMBERS = (slice(1, 5), slice(20, 23), slice(42, 50), slice(80, 90))
_AMOUNT = operator.itemgetter(slice(80, 90))


def _read_back(data: bytes, year: int) -> tuple[int, int]:
    """The count and total a file holds, checked as :func:`read` checks it, without building transfers.

    The writer's own check: building 10,000 transfers only to count them was a third of writing.

    Raises:
        FileDoesNotReadBack: as :func:`read`.
    """
    lines = _check_structure(data)
    payees = lines[1:-2]
    numbers = b"".join(line[where] for where in _DATA_NUMBERS for line in payees)
    if (payees and not numbers.isdigit()) or not _is_one_byte_text(data):
        back = read(data, year)  # reading it whole names the record and the field at fault
        return len(back.transfers), back.total
    amounts = sum(map(int, map(_AMOUNT, payees)))
    _check_trailer(lines[-2], len(payees), amounts)
    head = lines[0]
    _digits(head[4:14], "依頼人コード")
    _month_day(year, _int(head[54:56], "振込日"), _int(head[56:58], "振込日"))
    _account(head, slice(58, 62), slice(77, 80), 95, slice(96, 103), "")
    return len(payees), amounts


_FIRST = operator.itemgetter(0)


def _check_structure(data: bytes) -> list[bytes]:
    lines = _records(data)
    kinds = bytes(map(_FIRST, lines))
    if not re.fullmatch(rb"12*89", kinds):
        raise FileDoesNotReadBack("records are not header, data..., trailer, end")
    head = lines[0]
    if head[1:3] != KIND_GENERAL.encode() or head[3:4] != CODE_JIS.encode():
        raise FileDoesNotReadBack("not a JIS 総合振込 file")
    return lines


def _check_trailer(trailer: bytes, records: int, amounts: int) -> None:
    count, total = _int(trailer[1:7], "件数"), _int(trailer[7:19], "合計金額")
    if count != records or total != amounts:
        raise FileDoesNotReadBack(
            f"trailer says {count} transfers for {total} yen, the records hold {records} for {amounts} yen"
        )


def read(data: bytes, year: int = 2000) -> TransferFile:
    """Read a 総合振込 file and verify its structure, trailer count and total.

    The file holds the transfer day as MMDD only: ``year`` completes it (2000, a leap year, by
    default so that 0229 reads back).

    Raises:
        FileDoesNotReadBack: wrong record sizes or order, non-numeric N fields, or a trailer whose
            count or total differs from the data records.
    """
    lines = _check_structure(data)
    head = lines[0]
    texts = _texts(data, lines)
    transfers = [_transfer(line, text) for line, text in zip(lines[1:-2], texts[1:-2], strict=True)]
    _check_trailer(lines[-2], len(transfers), sum(t.amount for t in transfers))
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


def _account_finding(owner: str, account: BankAccount, charset: kana.Charset) -> Finding | None:
    try:
        _check_account(account, owner, charset)
        _n(account.number, 7, "口座番号")
    except ZenginError as error:
        return Finding(owner, "account", account.holder, None, (error.code,), str(error))
    return None


def check(request: TransferFile, charset: kana.Charset = kana.STRICT, requester: str = "") -> list[Finding]:
    """Everything :func:`write` would refuse about names and accounts, one finding each (the pre-check).

    Args:
        request: the file as it would be written.
        charset: the paying bank's characters.
        requester: who to name for the header's findings (the payer); its requester code by default.

    Returns:
        The requester's findings first, then each payee's in file order; empty when the file can
        be written as it is.
    """
    owner = requester or request.requester_code
    found = [
        _account_finding(owner, request.account, charset),
        name_finding(owner, "requester", kana.fit_name(_requester(request), 40, charset)),
    ]
    for transfer in request.transfers:
        found.append(_account_finding(transfer.payee_id, transfer.account, charset))
        if not kana.holds_as_is(transfer.account.holder, NAME_FIELDS["holder"], charset):
            fitted = kana.fit_name(transfer.account.holder, NAME_FIELDS["holder"], charset)
            found.append(name_finding(transfer.payee_id, "holder", fitted))
    return [finding for finding in found if finding is not None]
