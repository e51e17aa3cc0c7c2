"""The Bungotakada ranking batch, payout chains (city direct / via chamber), multi-city, partner report."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from points import tickets
from points.programs import ExchangeAward, Expiry, FundingSource, Program
from server import db, ledger
from server.settlement import claims, payouts, periods, ranking, statements, zengin
from server.settlement.claims import Scope
from server.settlement.errors import SettlementError
from tests.settlement.conftest import DEC, NOV, Books, insert

BUNGO = Program(
    id="bungo-walk",
    name_ja="豊後高田健康ポイント",
    name_en="Bungotakada health walk",
    city="tenri",
    funding=FundingSource(kind="city", id="tenri"),
    expiry=Expiry(days=365),
    award_rule=ExchangeAward(threshold=5000, voucher_value=500, voucher_count=10),
)
NOVEMBER = periods.parse_period("2026-11")


def walkers(books: Books, balances: list[int]) -> list[int]:
    """Residents of the walk program with these balances (as lots); their account ids."""
    insert(
        books.conn, "programs", id=BUNGO.id, city_id="tenri", funding_kind="city", funding_id="tenri",
        tender_kind="payment", payout="city_direct", fee_share_permille=0, definition=BUNGO.model_dump_json(),
        created_at=ledger.iso(NOV), updated_at=ledger.iso(NOV),
    )  # fmt: skip
    ids = []
    with db.atomic(books.conn):
        funding = ledger.account(books.conn, "funding", "city:tenri", BUNGO.id)
        for number, points in enumerate(balances):
            resident = ledger.account(books.conn, "resident", f"uid:{number:064x}", BUNGO.id)
            ledger.earn(
                books.conn, kind="grant", program_id=BUNGO.id, debit=funding, resident=resident,
                amount=points, expires_on=dt.date(2027, 6, 30), now=NOV,
            )  # fmt: skip
            ids.append(resident)
    return ids


def test_the_top_holders_above_the_threshold_get_vouchers_once(books: Books) -> None:
    accounts = walkers(books, [4999, 5000, 12000, 7000, 6000])
    signer = tickets.TicketSigner(Ed25519PrivateKey.generate())
    preview = ranking.ranking(books.conn, BUNGO.id, 5000, 3)
    assert [line["balance"] for line in preview] == [12000, 7000, 6000]
    first = ranking.run(books.conn, BUNGO, "2026", 5000, 3, signer, DEC, "city")
    assert (first["holders"], first["points"], first["repeated"]) == (3, 15000, False)
    slips = first["awarded"][0]["tickets"]
    assert len(slips) == 10 and {t["value"] for t in slips} == {500}
    checked = tickets.verify(slips[0]["text"], {signer.key_id: signer.public_key}, dt.date(2026, 12, 3))
    assert checked.value == 500 and checked.program_id == BUNGO.id
    again = ranking.run(books.conn, BUNGO, "2026", 5000, 3, signer, DEC, "city")
    assert again["repeated"] and again["awarded"] == first["awarded"]
    balances = [ledger.balance(books.conn, a) for a in accounts]
    assert balances == [4999, 5000, 7000, 2000, 1000]
    assert ledger.check(books.conn) == []


def test_a_program_without_an_exchange_rule_has_no_ranking_round(books: Books) -> None:
    program = Program.model_validate_json(
        books.conn.execute("SELECT definition FROM programs WHERE id = 'tenri'").fetchone()[0]
    )
    signer = tickets.TicketSigner(Ed25519PrivateKey.generate())
    with pytest.raises(SettlementError) as caught:
        ranking.run(books.conn, program, "2026", 0, 10, signer, DEC, "city")
    assert caught.value.code == "ranking_invalid"


def approve_all(books: Books, period_id: str) -> None:
    for claim in claims.list_claims(books.conn, Scope("admin"), period_id=period_id):
        claims.approve(books.conn, Scope("chamber", chamber_id=claim["chamber_id"]), claim["id"], "chamber")
        claims.approve(books.conn, Scope("city", city_id=claim["city_id"]), claim["id"], "city")


def test_payout_chains_and_the_multi_city_split(books: Books) -> None:
    books.redeem("shop-a", "tenri", 1000, NOV)  # Tenri: via the chamber
    books.redeem("shop-b", "tenri", 250, NOV, ticket=True)
    books.redeem("shop-a", "miyako", 2000, NOV)  # Miyakonojo: direct, 3.5 % fee
    books.redeem("shop-c", "miyako", 999, NOV)
    books.redeem("shop-c", "oguni", 100, NOV)  # partner-funded, Miyakonojo's city, direct
    for chamber in ("tenri-cci", "miyako-cci"):
        periods.close(books.conn, chamber, NOVEMBER, "clerk", now=DEC)
    approve_all(books, "2026-11")
    tenri = payouts.plan(books.conn, "2026-11", "city:tenri")
    assert [(p["payee_kind"], p["payee_id"], p["amount"]) for p in tenri.payments] == [
        ("chamber", "tenri-cci", 1250)
    ]
    chamber = payouts.plan(books.conn, "2026-11", "chamber:tenri-cci")
    assert [(p["payee_id"], p["amount"]) for p in chamber.payments] == [("shop-a", 1000), ("shop-b", 250)]
    miyako = payouts.plan(books.conn, "2026-11", "city:miyako")
    # shop-a: 2000 less 70 fee; shop-c: 999 less 34 (34.965 rounded down) plus 100 of Oguni points.
    assert [(p["payee_id"], p["amount"]) for p in miyako.payments] == [("shop-a", 1930), ("shop-c", 1065)]
    data = payouts.zengin_file(books.conn, "2026-11", "city:miyako", dt.date(2026, 12, 10))
    assert zengin.read(data, 2026).total == 2995
    for scope in (Scope("city", city_id="tenri"), Scope("city", city_id="miyako"), Scope("admin")):
        summary = payouts.reconcile(books.conn, scope, "2026-11")
        assert summary["balanced"] and summary["pending"] == 0
        assert summary["net_to_pay"] + summary["fees_of_paid"] == summary["claims_gross"]
    report = statements.partner_report(books.conn, "2026-11")
    assert report == [
        {"partner_id": "airline", "program_id": "oguni", "city_id": "miyako", "converted": 0, "redeemed": 100}
    ]


def test_an_unencodable_merchant_name_stops_the_file_naming_the_merchant(books: Books) -> None:
    books.conn.execute("UPDATE merchants SET account_holder_kana = '山田商店' WHERE id = 'shop-c'")
    books.redeem("shop-c", "miyako", 500, NOV)
    periods.close(books.conn, "miyako-cci", NOVEMBER, "clerk", now=DEC)
    approve_all(books, "2026-11")
    with pytest.raises(SettlementError) as caught:
        payouts.zengin_file(books.conn, "2026-11", "city:miyako", dt.date(2026, 12, 10))
    # The pre-check refuses it, naming the merchant; no form can be proposed (the record must be fixed).
    assert caught.value.code == "payout_precheck" and "shop-c" in caught.value.message
    assert "山田商店" in caught.value.message and "fix the record" in caught.value.message


def test_a_payee_without_a_bank_account_is_held_not_paid(books: Books) -> None:
    books.conn.execute("UPDATE merchants SET bank_code = NULL WHERE id = 'shop-c'")
    books.redeem("shop-c", "miyako", 500, NOV)
    periods.close(books.conn, "miyako-cci", NOVEMBER, "clerk", now=DEC)
    approve_all(books, "2026-11")
    plan = payouts.plan(books.conn, "2026-11", "city:miyako")
    assert plan.payments == [] and plan.held[0]["payee_id"] == "shop-c"


def test_a_city_sees_only_its_own_programs_on_a_merchants_statement(books: Books) -> None:
    books.redeem("shop-a", "tenri", 100, NOV)
    books.redeem("shop-a", "miyako", 200, NOV)
    books.refuse("shop-a", "tenri", 50, "ticket_already_redeemed", NOV)
    books.refuse("shop-a", "miyako", 70, "offline_limit_exceeded", NOV)
    periods.close(books.conn, "tenri-cci", NOVEMBER, "clerk", now=DEC)
    doc = statements.statement(books.conn, Scope("city", city_id="miyako"), "shop-a", "2026-11")
    assert [c["program_id"] for c in doc["claims"]] == ["miyako"]
    assert [line["amount"] for line in doc["disputed"]] == [70]
    whole = statements.statement(books.conn, Scope("merchant", merchant_id="shop-a"), "shop-a", "2026-11")
    assert whole["totals"]["gross"] == 300 and whole["totals"]["disputed"] == 120
