"""The names pre-check of a payout: refusals until each name is fixed or accepted, and what is logged."""

from __future__ import annotations

import datetime as dt

import pytest

from server.settlement import namecheck, payouts, periods, store, zengin
from server.settlement.errors import SettlementError
from tests.settlement.conftest import DEC, NOV, Books
from tests.settlement.test_ranking_and_payouts import approve_all

DAY = dt.date(2026, 12, 10)
LONG = "カブシキガイシャ　ミヤコノジョウ　ヤキトリ　ホンポ　ニシテン"  # 31 half-width characters


@pytest.fixture
def miyako(books: Books) -> Books:
    """Miyakonojo pays shop-a and shop-c directly; shop-c has a long name, shop-a a long vowel."""
    books.conn.execute("UPDATE merchants SET account_holder_kana = ? WHERE id = 'shop-c'", (LONG,))
    books.conn.execute("UPDATE merchants SET account_holder_kana = 'ｺｰﾋｰ ﾔﾏﾀﾞ' WHERE id = 'shop-a'")
    books.redeem("shop-a", "miyako", 2000, NOV)
    books.redeem("shop-c", "miyako", 999, NOV)
    for chamber in ("tenri-cci", "miyako-cci"):
        periods.close(books.conn, chamber, periods.parse_period("2026-11"), "clerk", now=DEC)
    approve_all(books, "2026-11")
    return books


def test_the_precheck_lists_each_name_with_its_field_and_proposed_form(miyako: Books) -> None:
    check = payouts.precheck(miyako.conn, "2026-11", "city:miyako")
    assert (check.bank_code, check.charset) == ("0001", "strict")
    assert [(f.payee_id, f.field, f.proposed, f.reasons) for f in check.findings] == [
        ("shop-a", "holder", "ｺ-ﾋ- ﾔﾏﾀﾞ", ("replaced",)),
        ("shop-c", "holder", "ｶﾌﾞｼｷｶﾞｲｼﾔ ﾐﾔｺﾉｼﾞﾖｳ ﾔｷﾄﾘ ﾎﾝﾎﾟ", ("too_long",)),
    ]
    assert len(check.unresolved) == 2


def test_writing_refuses_until_each_name_is_fixed_or_accepted(miyako: Books) -> None:
    conn = miyako.conn
    with pytest.raises(SettlementError) as caught:
        payouts.zengin_file(conn, "2026-11", "city:miyako", DAY)
    assert caught.value.code == "payout_precheck"
    assert "shop-a" in caught.value.message and "shop-c" in caught.value.message
    # The clerk fixes shop-c's record with the bank's own abbreviation, and accepts shop-a's dash.
    namecheck.set_holder(conn, "merchant", "shop-c", "ｶ)ﾐﾔｺﾉｼﾞﾖｳﾔｷﾄﾘﾎﾝﾎﾟ ﾆｼﾃﾝ", "chamber-clerk")
    accepted = payouts.accept_name(
        conn, "2026-11", "city:miyako", "shop-a", "holder", "ｺ-ﾋ- ﾔﾏﾀﾞ", "city-clerk"
    )
    assert accepted.accepted
    assert payouts.precheck(conn, "2026-11", "city:miyako").unresolved == []
    back = zengin.read(payouts.zengin_file(conn, "2026-11", "city:miyako", DAY), 2026)
    assert [t.account.holder for t in back.transfers] == ["ｺ-ﾋ- ﾔﾏﾀﾞ", "ｶ)ﾐﾔｺﾉｼﾞﾖｳﾔｷﾄﾘﾎﾝﾎﾟ ﾆｼﾃﾝ"]
    logged = {(line["action"], line["subject"], line["actor"]) for line in store.log_lines(conn)}
    assert ("accept_name", "name:city:miyako:shop-a", "city-clerk") in logged
    assert ("holder_name", "payee:merchant:shop-c", "chamber-clerk") in logged


def test_an_acceptance_lapses_when_the_record_changes(miyako: Books) -> None:
    conn = miyako.conn
    payouts.accept_name(conn, "2026-11", "city:miyako", "shop-a", "holder", "ｺ-ﾋ- ﾔﾏﾀﾞ", "clerk")
    namecheck.set_holder(conn, "merchant", "shop-a", "ｺｰﾋｰ ﾔﾏﾀﾞ ﾎﾝﾃﾝ", "clerk")
    finding = next(
        f for f in payouts.precheck(conn, "2026-11", "city:miyako").findings if f.payee_id == "shop-a"
    )
    assert finding.proposed == "ｺ-ﾋ- ﾔﾏﾀﾞ ﾎﾝﾃﾝ" and not finding.accepted


def test_only_the_proposed_form_of_a_listed_name_can_be_accepted(miyako: Books) -> None:
    conn = miyako.conn
    with pytest.raises(SettlementError) as other:
        payouts.accept_name(conn, "2026-11", "city:miyako", "shop-a", "holder", "ｺﾋ ﾔﾏﾀﾞ", "clerk")
    with pytest.raises(SettlementError) as unlisted:
        payouts.accept_name(conn, "2026-11", "city:miyako", "shop-b", "holder", "ｶ)ｷﾂｻ", "clerk")
    conn.execute("UPDATE merchants SET account_holder_kana = '山田コーヒー' WHERE id = 'shop-a'")
    with pytest.raises(SettlementError) as unwritable:
        payouts.accept_name(conn, "2026-11", "city:miyako", "shop-a", "holder", "ｺ-ﾋ-", "clerk")
    assert (other.value.code, unlisted.value.code, unwritable.value.code) == (
        "name_not_acceptable", "name_not_found", "name_not_acceptable",
    )  # fmt: skip
    assert not [line for line in store.log_lines(conn) if line["action"] == "accept_name"]


def test_a_bank_taking_the_full_zengin_set_keeps_the_long_vowel(miyako: Books) -> None:
    namecheck.set_bank_charset(miyako.conn, "0001", "zengin", "admin")
    check = payouts.precheck(miyako.conn, "2026-11", "city:miyako")
    assert check.charset == "zengin" and [f.payee_id for f in check.findings] == ["shop-c"]


def test_account_type_other_and_a_long_requester_name_are_listed(miyako: Books) -> None:
    # A payer registered with その他 before it was refused (merchants' records cannot hold it).
    miyako.conn.execute("UPDATE payers SET account_type = 9 WHERE owner = 'city:miyako'")
    miyako.conn.execute("UPDATE payers SET name_kana = ? WHERE owner = 'city:miyako'", ("ﾐﾔｺﾉｼﾞﾖｳｼ " * 5,))
    found = {
        (f.payee_id, f.field): f for f in payouts.precheck(miyako.conn, "2026-11", "city:miyako").findings
    }
    account = found["city:miyako", "account"]
    assert account.proposed is None and "預金種目 9" in account.detail
    requester = found["city:miyako", "requester"]
    assert requester.proposed == "ﾐﾔｺﾉｼﾞﾖｳｼ ﾐﾔｺﾉｼﾞﾖｳｼ ﾐﾔｺﾉｼﾞﾖｳｼ ﾐﾔｺﾉｼﾞﾖｳｼ"
    assert len(requester.proposed) <= 40
