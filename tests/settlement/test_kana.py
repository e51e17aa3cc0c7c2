"""Names fitted to Zengin fields: never longer than the field, never a kana cut from its voiced mark,
only the paying bank's characters, and the pre-check reports exactly the names it changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.settlement import kana, namecheck, zengin
from server.settlement.kana import STRICT, ZENGIN, fit_name
from server.settlement.zengin import BankAccount, TransferFile

FULL_WIDTH = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
VOICED = "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴ"
SMALL = "ァィゥェォャュョッ"
HIRAGANA = "あいうえおがぎぱぴゃゅょっをん"
HALF_WIDTH = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｬｭｮｯ"
MARKS = "ﾞﾟ゛゜"
LONG_VOWELS = "ーｰ－-"
OTHERS = "　 ()（）.,/\\・ABCabc0１"
ALPHABET = FULL_WIDTH + VOICED + SMALL + HIRAGANA + HALF_WIDTH + MARKS + LONG_VOWELS + OTHERS

#: A kana name of 1 to 60 characters: mostly kana, with voiced and half-width forms, long vowels,
#: separate marks (also where they voice nothing) and the symbols banks differ on.
names = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=60)
charsets = st.sampled_from([STRICT, ZENGIN])
widths = st.sampled_from([zengin.NAME_FIELDS["holder"], zengin.NAME_FIELDS["requester"], 15, 1, 2])
LONE_MARK = re.compile("(?<![ｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎｳﾜｦ])ﾞ|(?<![ﾊﾋﾌﾍﾎ])ﾟ")


@settings(max_examples=400, deadline=None)
@given(name=names, width=widths, charset=charsets)
def test_a_fitted_name_fits_uses_the_banks_set_and_keeps_every_mark_on_its_kana(
    name: str, width: int, charset: kana.Charset
) -> None:
    fitted = fit_name(name, width, charset)
    written = fitted.written
    assert len(written.encode("cp932")) == len(written) <= width
    assert charset.takes(written)
    assert not LONE_MARK.search(written), "a voiced mark without its kana"
    assert written == written.strip(" ")
    # The cut is a prefix of the uncut form that never stops between a kana and its mark.
    uncut = fit_name(name, 1000, charset).written
    assert uncut.startswith(written)
    assert len(written) == len(uncut) or uncut[len(written)] not in kana.MARKS
    assert ("too_long" in fitted.reasons) == (len(uncut) > width)
    # A written form is a fixed point: fitting it again changes nothing (what a clerk approves stays).
    again = fit_name(written, width, charset)
    assert again.written == written and not again.changed
    assert fitted.changed == bool(fitted.reasons)


@pytest.mark.parametrize(
    ("name", "width", "written"),
    [
        ("ﾊﾋﾞ", 2, "ﾊ"),  # never ﾊﾋ: the receiving bank would return it as 名義相違
        ("ﾎﾞ", 1, ""),  # never ﾎ
        ("ﾊﾟﾝ", 1, ""),
        ("ﾔﾏﾀﾞ ｼﾖｳﾃﾝ", 5, "ﾔﾏﾀﾞ"),  # no trailing space: it would not read back
        ("カブシキガイシャ　ヤマダ", 30, "ｶﾌﾞｼｷｶﾞｲｼﾔ ﾔﾏﾀﾞ"),
        ("コーヒー", 30, "ｺ-ﾋ-"),
        ("ヲカダ", 30, "ｵｶﾀﾞ"),
        ("ﾔﾏﾀﾞ,ﾀﾛｳ/ﾊﾅｺ\\", 30, "ﾔﾏﾀﾞ.ﾀﾛｳ.ﾊﾅｺ."),
        ("か゛", 30, "ｶﾞ"),
        ("ｱﾞ", 30, "ｱ"),  # a mark that voices nothing is dropped (and reported)
    ],
)
def test_examples_of_the_strict_set(name: str, width: int, written: str) -> None:
    assert fit_name(name, width).written == written


def test_the_full_zengin_set_keeps_the_long_vowel_and_the_symbols() -> None:
    assert not fit_name("ｺｰﾋｰ,ｦ/\\", 30, ZENGIN).changed


def request(names_: list[str]) -> TransferFile:
    payees = [
        (f"p{i:02d}", BankAccount("0162", "180", 1, f"{1000000 + i}", name), 1000 + i)
        for i, name in enumerate(names_)
    ]
    city = BankAccount("0162", "180", 1, "1111111", "ﾃﾝﾘｼ")
    return TransferFile("1234567890", "ﾃﾝﾘｼ", dt.date(2026, 12, 10), city, zengin.transfers_for(payees))


@settings(max_examples=150, deadline=None)
@given(names_=st.lists(names, min_size=1, max_size=8), charset=charsets)
def test_the_precheck_reports_exactly_the_names_the_file_would_change(
    names_: list[str], charset: kana.Charset
) -> None:
    # A name with nothing left to write (only marks, say) is reported with no proposal: fix the record.
    empty = [n for n in names_ if not fit_name(n, 30, charset).written]
    unwritable = zengin.check(request(empty), charset)
    assert len(unwritable) == len(empty)
    assert all(f.proposed is None and "empty" in f.reasons for f in unwritable)
    writable = [n for n in names_ if n not in empty]
    findings = zengin.check(request(writable), charset)
    assert all(f.field == "holder" and f.proposed for f in findings)
    # The clerk accepts every proposal; the file then holds each name as the clerk approved it.
    accepted = [dataclasses.replace(f, accepted=True) for f in findings]
    back = zengin.read(zengin.write(namecheck.apply(request(writable), accepted), charset), 2026)
    by_payee = {f.payee_id: f for f in findings}
    for i, (name, transfer) in enumerate(zip(writable, back.transfers, strict=True)):
        finding = by_payee.get(f"p{i:02d}")
        routine = kana.normalize(name)
        # Reported exactly when the field does not hold the name's routine form; then it holds the proposal.
        assert (finding is not None) == (transfer.account.holder != routine)
        assert transfer.account.holder == (finding.proposed if finding else routine)


def test_a_name_the_file_would_change_is_refused_by_the_writer_itself() -> None:
    with pytest.raises(zengin.NameRefused) as caught:
        zengin.write(request(["ﾔﾏﾀﾞ ﾀﾛｳ", "ｶﾌﾞｼｷｶﾞｲｼﾔ ﾐﾄﾞﾘﾔ ﾍﾞｲｶﾘ ｵﾖﾋﾞ ｶﾌﾞﾝ"]))
    assert caught.value.finding.payee_id == "p01"
    # The 30th character is ﾌ of ﾌﾞ: cut before it, not between the kana and its mark.
    assert caught.value.finding.proposed == "ｶﾌﾞｼｷｶﾞｲｼﾔ ﾐﾄﾞﾘﾔ ﾍﾞｲｶﾘ ｵﾖﾋﾞ ｶ"
    assert caught.value.finding.reasons == ("too_long",)


@settings(max_examples=600, deadline=None)
@given(
    name=names | st.text(st.sampled_from(HALF_WIDTH + "ﾞﾟ ABC-."), max_size=40),
    width=widths,
    charset=charsets,
)
def test_the_quick_question_agrees_with_fitting_the_name(
    name: str, width: int, charset: kana.Charset
) -> None:
    # The writer asks holds_as_is first and fits only the names it says no to (zengin_10k_ms).
    fitted = fit_name(name, width, charset)
    as_is = fitted.written == name and not fitted.changed and not fitted.reasons and name != ""
    assert kana.holds_as_is(name, width, charset) == as_is
