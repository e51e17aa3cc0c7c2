"""Sample documents: the print-test receipt, the benchmark receipt and the golden test receipts.

Ten Japanese items at both tax rates, paid with points of a payment program, a discount
program's points, a point ticket and cash, with an award and the balance after; and a point
ticket signed with a key made for the occasion (so its QR verifies with ``points.tickets``).
"""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from points.programs import Expiry, FundingSource, PercentAward, Program, TenderKind
from points.tax import Line, TaxRate
from points.tickets import TicketSigner
from points.wire import Merchant
from printers.documents import (
    BalanceAfter,
    BalanceSlip,
    EndOfDayReport,
    ExpiringLot,
    PointsAwarded,
    PointsUsed,
    ProgramDay,
    ReturnReceipt,
    SaleReceipt,
    SettlementStatement,
    StatementLine,
    Tally,
    TicketSlip,
    TicketUsed,
    VoidReceipt,
)

#: A fixed moment so golden receipts do not change with the clock.
SAMPLE_TIME = dt.datetime(2026, 11, 27, 14, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))

SHOP = Merchant(
    id="m-tenri-001",
    name="天理本通り商店",
    address="奈良県天理市川原城町123-4",
    phone="0743-63-0000",
    invoice_number="T1234567890123",
    category="grocery",
)

#: Tenri's rule: 10 % in 100-point units on receipts of 1,000 yen or more, counted up to 50,000 yen.
TENRI_AWARD = PercentAward(rate_permille=100, unit=100, minimum_receipt=1000, receipt_cap=50_000)

#: A payment-kind program (points pay like money: taxable amounts unchanged).
MEGURU = Program(
    id="tenri-meguru",
    name_ja="天理めぐみめぐるポイント",
    name_en="Tenri Megumi Meguru Points",
    city="tenri",
    funding=FundingSource(kind="city", id="tenri"),
    tender_kind=TenderKind.PAYMENT,
    change_allowed=False,
    expiry=Expiry(days=180),
    award_rule=TENRI_AWARD,
)

#: A discount-kind program (points lower the taxable amounts, split across rates).
KITASATO = Program(
    id="oguni-kitasato",
    name_ja="小国町北里柴三郎ポイント",
    name_en="Oguni Kitasato Shibasaburo Points",
    city="oguni",
    funding=FundingSource(kind="city", id="oguni"),
    tender_kind=TenderKind.DISCOUNT,
)

ITEMS = (
    Line("牛乳 1000ml", 248, 1, TaxRate.REDUCED),
    Line("食パン 6枚切", 198, 1, TaxRate.REDUCED),
    Line("りんご(ふじ)", 150, 3, TaxRate.REDUCED),
    Line("緑茶ティーバッグ", 398, 1, TaxRate.REDUCED),
    Line("奈良漬", 864, 1, TaxRate.REDUCED),
    Line("柿の葉寿司 7個入", 1296, 1, TaxRate.REDUCED),
    Line("ﾃｨｯｼｭﾍﾟｰﾊﾟｰ 5箱", 328, 1, TaxRate.STANDARD),
    Line("台所用洗剤", 218, 2, TaxRate.STANDARD),
    Line("電池 単3形 4本", 528, 1, TaxRate.STANDARD),
    Line("レジ袋(大)", 5, 1, TaxRate.STANDARD),
)


def sample_signer(seed: bytes | None = None) -> TicketSigner:
    """A ticket signer with a key made now, or from a 32-byte ``seed`` (for golden receipts)."""
    key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
    return TicketSigner(key)


def sample_receipt(*, reprint: bool = False) -> SaleReceipt:
    """The print-test receipt: ten items of both rates, points, a discount, a ticket, cash, an award."""
    total = sum(item.amount for item in ITEMS)
    points = (PointsUsed(MEGURU, 1000), PointsUsed(KITASATO, 300))
    tickets = (TicketUsed(MEGURU, serial=123_456_789, value=500),)
    cash = 3000
    paid_other = 1000 + 300 + 500
    assert cash >= total - paid_other, "the sample pays in full"
    return SaleReceipt(
        merchant=SHOP,
        terminal_id="T01",
        receipt_no=123,
        issued_at=SAMPLE_TIME,
        lines=ITEMS,
        points=points,
        tickets=tickets,
        cash=cash,
        awards=(
            PointsAwarded(
                MEGURU, TENRI_AWARD.points_for(total), MEGURU.expiry.expires_on(SAMPLE_TIME.date())
            ),
        ),
        balances=(
            BalanceAfter(MEGURU, 2_345, (ExpiringLot(300, dt.date(2026, 12, 31)),)),
            BalanceAfter(KITASATO, 700),
        ),
        sale_id="01JDQ8Z6K3V4W5X6Y7Z8A9B0CD",
        qr="01JDQ8Z6K3V4W5X6Y7Z8A9B0CD",
        reprint=reprint,
    )


def sample_ticket(signer: TicketSigner | None = None) -> TicketSlip:
    """A 500-point ticket slip of :data:`MEGURU`, signed by ``signer`` (a new key when omitted)."""
    signer = signer or sample_signer()
    text = signer.issue(123_456_789, MEGURU.id, 500, dt.date(2027, 5, 31))
    return TicketSlip(issuer=SHOP, program=MEGURU, text=text, issued_at=SAMPLE_TIME, terminal_id="T01")


def sample_void() -> VoidReceipt:
    """The sample receipt voided the same afternoon."""
    return VoidReceipt(
        original=sample_receipt(), voided_at=SAMPLE_TIME + dt.timedelta(minutes=20), reason="打ち間違い"
    )


def sample_return() -> ReturnReceipt:
    """Two lines of the sample receipt returned two days later: points back in proportion, the rest cash."""
    returned = (ITEMS[0], ITEMS[8])  # 牛乳 (8 %) and 電池 (10 %): 776 yen of 4,751
    return ReturnReceipt(
        original=sample_receipt(),
        receipt_no=131,
        returned_at=SAMPLE_TIME + dt.timedelta(days=2),
        amounts=((TaxRate.STANDARD, 528), (TaxRate.REDUCED, 248)),
        lines=returned,
        points=(PointsUsed(MEGURU, 163), PointsUsed(KITASATO, 49)),
        cash=564,
        awards_taken_back=(PointsAwarded(MEGURU, 65),),
        balances=(BalanceAfter(MEGURU, 2_443), BalanceAfter(KITASATO, 749)),
        return_id="01JDVB0RX7K3V4W5X6Y7Z8A9B0",
        reason="電池の液漏れ",
    )


def sample_balance() -> BalanceSlip:
    """A balance slip (残高照会) with points expiring soon."""
    return BalanceSlip(
        merchant=SHOP,
        terminal_id="T01",
        printed_at=SAMPLE_TIME,
        balances=(
            BalanceAfter(MEGURU, 2_345, (ExpiringLot(300, dt.date(2026, 12, 31)),)),
            BalanceAfter(KITASATO, 700),
        ),
    )


def sample_end_of_day() -> EndOfDayReport:
    """An end-of-day report (日計) with a void and two sales still not synced."""
    return EndOfDayReport(
        merchant=SHOP,
        terminal_id="T01",
        business_date=SAMPLE_TIME.date(),
        printed_at=SAMPLE_TIME.replace(hour=19, minute=30),
        sales=Tally(42, 187_310),
        voids=Tally(1, 4_451),
        cash=Tally(38, 121_000),
        change=3_210,
        programs=(
            ProgramDay(
                MEGURU, redeemed=Tally(12, 15_600), tickets=Tally(9, 6_500), awarded=Tally(30, 11_200)
            ),
            ProgramDay(KITASATO, redeemed=Tally(3, 1_800)),
        ),
        offline=5,
        unsynced=2,
    )


def sample_statement() -> SettlementStatement:
    """A settlement statement (明細) for November 2026 with a fee and a disputed line."""
    return SettlementStatement(
        merchant=SHOP,
        period="2026-11",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        issued_at=dt.datetime(2026, 12, 3, 10, 0, tzinfo=SAMPLE_TIME.tzinfo),
        lines=(
            StatementLine(
                MEGURU,
                redeemed=Tally(310, 402_300),
                tickets=Tally(205, 131_500),
                voided=Tally(2, 3_000),
                fee=0,
                disputed=Tally(1, 1_500),
            ),
            StatementLine(KITASATO, redeemed=Tally(40, 21_000), fee=630),
        ),
        payer="天理市",
        status="承認済み",
    )
