"""The Zengin 総合振込 file: golden bytes, fixed record length, refused names, trailer sums."""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.settlement import kana, zengin
from server.settlement.zengin import BankAccount, TransferFile

GOLDEN = pathlib.Path(__file__).parent / "data" / "zengin_golden.txt"
CITY = BankAccount("0001", "001", 1, "1234567", "ぶんごたかだし")


def request(*payments: tuple[str, BankAccount, int]) -> TransferFile:
    return TransferFile(
        requester_code="1234567890",
        requester_name="ﾌﾞﾝｺﾞﾀｶﾀﾞｼ",
        transfer_date=dt.date(2026, 12, 25),
        account=CITY,
        transfers=zengin.transfers_for(payments),
    )


def golden_request() -> TransferFile:
    return request(
        ("shop-1", BankAccount("0005", "001", 1, "7654321", "ヤマダ　ショウテン"), 12345),
        ("shop-2", BankAccount("9900", "018", 2, "1111111", "（カ）キッサ　コーヒー"), 500),
    )


def test_the_file_matches_the_golden_bytes() -> None:
    # The golden file keeps 「ｰ」 (コーヒー): a bank taking the full Zengin set.
    assert zengin.write(golden_request(), kana.ZENGIN) == GOLDEN.read_bytes()


def test_the_strict_default_refuses_the_long_vowel_and_proposes_the_dash() -> None:
    with pytest.raises(zengin.NameRefused) as caught:
        zengin.write(golden_request())
    finding = caught.value.finding
    assert (finding.payee_id, finding.field, finding.proposed) == ("shop-2", "holder", "(ｶ)ｷﾂｻ ｺ-ﾋ-")
    assert zengin.check(golden_request()) == [finding]


def test_golden_fields_sit_at_the_offsets_of_the_published_layout() -> None:
    header, first, _second, trailer, end, tail = GOLDEN.read_bytes().split(b"\r\n")
    assert tail == b""
    assert header[0:1] == b"1" and header[1:3] == b"21" and header[3:4] == b"0"
    assert header[4:14] == b"1234567890"
    assert header[54:58] == b"1225"
    assert header[58:62] == b"0001" and header[77:80] == b"001"
    assert header[95:96] == b"1" and header[96:103] == b"1234567"
    assert header[62:77].decode("cp932") == "ﾐｽﾞﾎ".ljust(15)
    assert first[0:1] == b"2" and first[1:5] == b"0005" and first[20:23] == b"001"
    assert first[38:42] == b"0000" and first[42:43] == b"1" and first[43:50] == b"7654321"
    # Small kana become large: ショウテン → ｼﾖｳﾃﾝ.
    assert first[50:80].decode("cp932") == "ﾔﾏﾀﾞ ｼﾖｳﾃﾝ".ljust(30)
    assert first[80:90] == b"0000012345" and first[111:112] == b"7"
    assert first[90:91] == b"0" and first[91:111] == b" " * 20  # 新規コード, 顧客コード left blank
    assert trailer == b"8" + b"000002" + b"000000012845" + b" " * 101
    assert end == b"9" + b" " * 119


def test_the_file_reads_back_to_what_was_written() -> None:
    written = golden_request()
    back = zengin.read(zengin.write(written, kana.ZENGIN), year=2026)
    assert back.transfer_date == written.transfer_date
    assert [t.amount for t in back.transfers] == [12345, 500]
    assert [t.account.number for t in back.transfers] == ["7654321", "1111111"]
    assert back.transfers[1].account.account_type == 2
    assert back.total == written.total == 12845


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("やまだ　しょうてん", "ﾔﾏﾀﾞ ｼﾖｳﾃﾝ"),
        ("ｶ)ﾔﾏﾀﾞ", "ｶ)ﾔﾏﾀﾞ"),
        ("コーヒー・ショップ", "ｺｰﾋｰ.ｼﾖﾂﾌﾟ"),
        ("ａｂｃ　１２３", "ABC 123"),
        ("ヴァイオリン", "ｳﾞｱｲｵﾘﾝ"),
        ("ﾊﾟﾝ-ﾔ/ﾆｼ(ﾕ)", "ﾊﾟﾝ-ﾔ/ﾆｼ(ﾕ)"),
    ],
)
def test_names_become_the_permitted_half_width_set(name: str, expected: str) -> None:
    assert zengin.to_bank_kana(name, "shop-1") == expected


@pytest.mark.parametrize("name", ["山田商店", "ヤマダ☆ショウテン", "ｶﾌｪ&ﾊﾞｰ", "ヤマダ😀"])
def test_unencodable_names_are_refused_naming_the_merchant(name: str) -> None:
    with pytest.raises(zengin.UnencodableName) as caught:
        zengin.write(request(("shop-7", BankAccount("0005", "001", 1, "1", name), 100)))
    assert caught.value.owner == "shop-7"
    assert "shop-7" in str(caught.value) and "口座名義" in str(caught.value)


def test_unknown_bank_and_branch_codes_are_refused() -> None:
    with pytest.raises(zengin.UnknownBank):
        zengin.write(request(("shop-1", BankAccount("0002", "001", 1, "1", "ﾔﾏﾀﾞ"), 100)))
    with pytest.raises(zengin.UnknownBank):
        zengin.write(request(("shop-1", BankAccount("0001", "999", 1, "1", "ﾔﾏﾀﾞ"), 100)))


@pytest.mark.parametrize(
    "account",
    [
        BankAccount("0005", "001", 3, "1", "ﾔﾏﾀﾞ"),
        BankAccount("0005", "001", 9, "1", "ﾔﾏﾀﾞ"),  # その他: some banks' software refuses it
        BankAccount("0005", "001", 1, "12345678", "ﾔﾏﾀﾞ"),
    ],
)
def test_bad_account_types_and_numbers_are_refused(account: BankAccount) -> None:
    with pytest.raises(zengin.BadAccount):
        zengin.write(request(("shop-1", account, 100)))


def test_a_numeric_customer_code_is_zero_filled_and_reads_back() -> None:
    account = BankAccount("0005", "001", 1, "7654321", "ﾔﾏﾀﾞ")
    transfer = zengin.Transfer("shop-1", account, 100, customer_code="4321")
    data = zengin.write(TransferFile("1", "ﾃﾝﾘ", dt.date(2026, 12, 25), CITY, (transfer,)))
    assert data.split(b"\r\n")[1][91:111] == b"0000004321" + b" " * 10
    assert zengin.read(data).transfers[0].customer_code == "0000004321"
    with pytest.raises(zengin.BadAccount):
        zengin.write(
            TransferFile("1", "ﾃﾝﾘ", dt.date(2026, 12, 25), CITY, (zengin.Transfer("x", account, 1, "AB"),))
        )


def test_zero_payments_are_left_out_and_an_empty_file_still_has_its_trailer() -> None:
    data = zengin.write(request(("shop-1", CITY, 0)))
    assert data.split(b"\r\n")[1] == b"8" + b"0" * 18 + b" " * 101


def test_a_tampered_amount_is_caught_by_the_trailer() -> None:
    data = bytearray(GOLDEN.read_bytes())
    amount_at = 122 + 80 + 9  # the last digit of the first data record's amount
    data[amount_at : amount_at + 1] = b"6"
    with pytest.raises(zengin.FileDoesNotReadBack, match="trailer"):
        zengin.read(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-3] + b"\r\n",  # a shortened end record
        lambda d: d.replace(b"\r\n8", b"\r\n2", 1),  # no trailer
        lambda d: d.split(b"\r\n", 1)[1],  # no header
    ],
)
def test_damaged_files_do_not_read_back(damage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(zengin.FileDoesNotReadBack):
        zengin.read(damage(GOLDEN.read_bytes()))


def test_back_to_back_records_without_newlines_also_read() -> None:
    data = GOLDEN.read_bytes().replace(b"\r\n", b"")
    assert zengin.read(data).total == 12845


NAME_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=600))
def test_reading_garbage_fails_only_with_a_clear_error(garbage: bytes) -> None:
    for data in (garbage, GOLDEN.read_bytes()[:122] + garbage, GOLDEN.read_bytes()[:-124] + garbage):
        with contextlib.suppress(zengin.FileDoesNotReadBack):
            zengin.read(data)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.text(NAME_CHARS, max_size=60), min_size=1, max_size=5),
    amounts=st.lists(st.integers(1, zengin.MAX_TRANSFER), min_size=5, max_size=5),
)
def test_every_record_is_120_bytes_for_any_name(names: list[str], amounts: list[int]) -> None:
    payments = [
        (f"shop-{i}", BankAccount("0005", "001", 1, "7654321", name), amount)
        for i, (name, amount) in enumerate(zip(names, amounts, strict=False))
    ]
    try:
        data = zengin.write(request(*payments))
    except zengin.NameRefused as refused:
        # Refused names are refused clearly: a merchant named, and what the pre-check would say.
        assert refused.owner.startswith("shop-") and refused.finding.reasons
        assert refused.finding in zengin.check(request(*payments))
        return
    records = data.split(b"\r\n")
    assert records[-1] == b""
    assert all(len(record) == zengin.RECORD_SIZE for record in records[:-1])
    back = zengin.read(data, year=2026)
    assert [t.amount for t in back.transfers] == amounts[: len(names)]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ァアィイゥウェエォオッツャヤュユョヨーがぱカナ漢ｶﾞ゛abcXYZ019 ()-./,", max_size=40))
def test_names_made_of_kana_latin_and_symbols_always_convert(name: str) -> None:
    if "漢" in name:
        with pytest.raises(zengin.UnencodableName):
            zengin.to_bank_kana(name, "shop-1")
        return
    converted = zengin.to_bank_kana(name, "shop-1")
    assert not set(converted) & set("ｧｨｩｪｫｬｭｮｯ゛")
    assert len(converted.encode("cp932")) == len(converted)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ｱｶﾞﾊﾟｦｰ ABC-.,/\\ﾞﾟあア", min_size=0, max_size=34),
            st.sampled_from(["1234567", "123", "0000001"]),
            st.integers(1, 10**6),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([kana.STRICT, kana.ZENGIN]),
)
def test_the_quick_record_path_writes_what_the_field_functions_write(
    payees: list[tuple[str, str, int]], charset: kana.Charset
) -> None:
    # Each record is written field by field when it is not the usual kind; the bytes must be the same.
    for n, (holder, number, amount) in enumerate(payees):
        transfer = zengin.Transfer(f"shop-{n}", BankAccount("0005", "001", 1, number, holder), amount)
        try:
            quick = zengin._data(transfer, charset)
        except zengin.ZenginError as refused:
            with pytest.raises(type(refused)):
                zengin._field(holder, "holder", transfer.payee_id, charset)
            continue
        assert quick[50:80] == zengin._field(holder, "holder", transfer.payee_id, charset)
        assert quick[43:50] == zengin._n(number, 7, "口座番号") and quick[80:90] == zengin._n(amount, 10, "")


def test_a_file_with_two_byte_names_still_reads_field_by_field() -> None:
    data = bytearray(zengin.write(golden_request(), kana.ZENGIN))
    record = 122  # the first data record's holder name, written by another program in full-width kana
    data[record + 50 : record + 80] = "ヤマダ".encode("cp932").ljust(30)
    assert zengin.read(bytes(data)).transfers[0].account.holder == "ヤマダ"
    with pytest.raises(zengin.FileDoesNotReadBack):
        zengin.read(bytes(data[:-200]))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-3] + b"\r\n",
        lambda d: d.replace(b"\r\n8", b"\r\n2", 1),
        lambda d: d.split(b"\r\n", 1)[1],
        lambda d: d[: 122 + 89] + b"6" + d[122 + 90 :],  # an amount that disagrees with the trailer
        lambda d: d[: 122 + 45] + b"x" + d[122 + 46 :],  # a letter in an account number
        lambda d: d[:54] + b"0231" + d[58:],  # no such transfer day
    ],
)
def test_the_writers_own_read_back_refuses_what_reading_refuses(damage) -> None:  # type: ignore[no-untyped-def]
    data = damage(GOLDEN.read_bytes())
    with pytest.raises(zengin.FileDoesNotReadBack):
        zengin.read(data)
    with pytest.raises(zengin.FileDoesNotReadBack):
        zengin._read_back(data, 2026)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.text(alphabet="ｱｶﾞﾊﾟﾝABC", min_size=1, max_size=30),  # the usual stored name
                st.text(alphabet="ｱｶﾞﾊﾟｦｰ ABC-.,/\\ﾞﾟあア", min_size=0, max_size=34),
            ),
            st.sampled_from(["1234567", "123", "0000001", "12345678", "１234567"]),
            st.sampled_from([1, 2, 4, 9]),
            st.sampled_from([("0005", "001"), ("9900", "018"), ("0005", "999")]),
            st.one_of(st.integers(1, 10**6), st.integers(-1, 10**11), st.just(True)),
            st.sampled_from(["", "", "42", "12345678901"]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([kana.STRICT, kana.ZENGIN]),
)
def test_the_files_record_loop_writes_and_refuses_what_one_record_at_a_time_does(
    payees: list[tuple[str, str, int, tuple[str, str], int, str]], charset: kana.Charset
) -> None:
    # write() formats the usual record in one step (_data_records); its bytes and refusals must be
    # exactly those of the field-by-field _data.
    transfers = tuple(
        zengin.Transfer(f"shop-{n}", BankAccount(bank, branch, kind, number, holder), amount, code)  # type: ignore[arg-type]
        for n, (holder, number, kind, (bank, branch), amount, code) in enumerate(payees)
    )
    one_by_one: list[bytes] = []
    refused: zengin.ZenginError | None = None
    for transfer in transfers:
        try:
            one_by_one.append(zengin._data(transfer, charset))
        except zengin.ZenginError as error:
            refused = refused or error
            with pytest.raises(type(error), match=re.escape(str(error))):
                zengin._data_records((transfer,), charset)
        else:
            assert zengin._data_records((transfer,), charset) == [one_by_one[-1]]
    if refused is None:
        assert zengin._data_records(transfers, charset) == one_by_one
    else:
        with pytest.raises(type(refused), match=re.escape(str(refused))):
            zengin._data_records(transfers, charset)


def test_the_one_byte_check_agrees_with_decoding_for_every_byte() -> None:
    for value in range(256):
        for data in (bytes([value]), bytes([value, 0x41]), bytes([0x41, value, 0x40])):
            assert zengin._is_one_byte_text(data) is (zengin._one_byte_text(data) is not None), data
