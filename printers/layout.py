"""Documents laid out as printed lines, measured in display columns (80 mm = 48, 58 mm = 32).

:func:`layout` turns a document into blocks: text lines (normal or double size), QR codes and
cuts. Every text line fits the paper for any Unicode input: normal lines at most ``width``
columns, double-size lines at most ``width // 2``. Alignment is done here with spaces, so the
decoded bytes read exactly like the paper.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import singledispatch

from points.money import format_points, format_yen
from points.programs import TenderKind
from points.tax import REDUCED_MARK, RateTotal, TaxRate
from points.wire import Merchant
from printers import text as tx
from printers.documents import (
    BalanceAfter,
    BalanceSlip,
    DayReport,
    EndOfDayReport,
    LendingSlip,
    PointsAwarded,
    PointsUsed,
    ReturnReceipt,
    SaleReceipt,
    SettlementStatement,
    Tally,
    TicketSlip,
    TicketUsed,
    VoidReceipt,
)

PAPER_80MM = 48
PAPER_58MM = 32
#: Narrower than this, the amounts of a receipt no longer fit beside a label.
MIN_WIDTH = 24


@dataclass(frozen=True, slots=True)
class Text:
    """One printed line; ``double`` is double width and height (``GS !``), half as many columns."""

    text: str
    double: bool = False
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Qr:
    """A QR code, centred."""

    data: str


@dataclass(frozen=True, slots=True)
class Cut:
    """Feed and cut the paper."""


Block = Text | Qr | Cut

_WEEKDAYS = "月火水木金土日"


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日({_WEEKDAYS[day.weekday()]})"


def _datetime(moment: dt.datetime) -> str:
    return f"{_date(moment.date())} {moment:%H:%M}"


def _minus(amount: int) -> str:
    return format_yen(-amount) if amount else format_yen(0)


class _Page:
    """Collects blocks for one document at one paper width."""

    def __init__(self, width: int) -> None:
        if width < MIN_WIDTH:
            raise ValueError(f"paper width must be at least {MIN_WIDTH} columns, got {width}")
        self.width = width
        self.blocks: list[Block] = []
        #: Characters the printer cannot print, substituted with 〓 or ? (reported, not hidden).
        self.lost: list[str] = []

    def _note(self, *texts: str) -> None:
        for text in texts:
            self.lost.extend(tx.printable_with_report(text)[1])

    def line(self, text: str = "", *, bold: bool = False) -> None:
        self._note(text)
        self.blocks.append(Text(tx.cut(text, self.width), bold=bold))

    def wrapped(self, text: str) -> None:
        self._note(text)
        for part in tx.wrap(text, self.width):
            self.blocks.append(Text(part))

    def centered(self, text: str) -> None:
        self._note(text)
        for part in tx.wrap(text, self.width):
            self.blocks.append(Text(tx.center(part, self.width)))

    def pair(self, left: str, right: str, *, double: bool = False, wrap_left: bool = False) -> None:
        self._note(left, right)
        if double and tx.width(right) > self.width // 2:
            double = False  # an amount too long for double size is printed normal size, never cut
        columns = self.width // 2 if double else self.width
        for part in tx.columns_line(left, right, columns, wrap_left=wrap_left):
            self.blocks.append(Text(part, double=double))

    def title(self, text: str) -> None:
        self._note(text)
        half = self.width // 2
        for part in tx.wrap(text, half):
            self.blocks.append(Text(tx.center(part, half), double=True))

    def rule(self, char: str = "-") -> None:
        self.blocks.append(Text(char * self.width))

    def qr(self, data: str) -> None:
        self.blocks.append(Qr(data))

    def cut(self) -> None:
        self.blocks.append(Cut())


def _header(page: _Page, merchant: Merchant, reprint: bool) -> None:
    if reprint:
        page.title("【再発行】")
    page.title(merchant.name)
    if merchant.address:
        page.centered(merchant.address)
    if merchant.phone:
        page.centered(f"TEL {merchant.phone}")
    if merchant.invoice_number:
        page.centered(f"登録番号 {merchant.invoice_number}")


def _balances(page: _Page, balances: tuple[BalanceAfter, ...], label: str) -> None:
    for balance in balances:
        page.pair(f"{label}{balance.program.name_ja}", format_points(balance.points))
        for lot in balance.expiring:
            page.wrapped(f"  ※{format_points(lot.points)}が{_date(lot.expires_on)}に失効します")


def _rate_label(rate: TaxRate) -> str:
    mark = REDUCED_MARK if rate is TaxRate.REDUCED else " "
    return f"{mark}{int(rate):>2}%対象"


def _items(page: _Page, receipt: SaleReceipt, sign: int) -> None:
    for item in receipt.lines:
        mark = REDUCED_MARK if item.rate is TaxRate.REDUCED else "  "
        amount = format_yen(sign * item.gross)
        if item.quantity == 1:
            page.pair(f"{mark}{item.name}", amount)
        else:
            page.line(f"{mark}{item.name}")
            page.pair(f"    {format_yen(item.unit_price)} × {item.quantity}", amount)
        if item.discount:
            page.pair(f"    {item.discount_label or '値引'}", format_yen(-sign * item.discount))


@singledispatch
def _layout(document: object, page: _Page) -> None:
    raise TypeError(f"not a printable document: {type(document).__name__}")


@_layout.register
def _sale(receipt: SaleReceipt, page: _Page) -> None:
    _header(page, receipt.merchant, receipt.reprint)
    if receipt.voided:
        page.title("【取消済】")
    page.line(_datetime(receipt.issued_at))
    page.pair(f"端末 {receipt.terminal_id}", f"No.{receipt.receipt_no:06d}")
    page.rule()
    _items(page, receipt, 1)
    page.rule()
    count = sum(item.quantity for item in receipt.lines)
    page.pair(f"小計 {count}点", format_yen(receipt.items_total))
    if receipt.subtotal_discount:
        page.pair(receipt.subtotal_label, _minus(receipt.subtotal_discount))
    for used in receipt.points:
        if used.program.tender_kind is TenderKind.DISCOUNT:
            page.pair(f"値引 {used.program.name_ja}", _minus(used.points))
    for ticket in receipt.tickets:
        if ticket.program.tender_kind is TenderKind.DISCOUNT:
            page.pair(f"値引 ポイント券 {ticket.human_serial}", _minus(ticket.amount), wrap_left=True)
    page.pair("合計", format_yen(receipt.due), double=True)
    for rate in receipt.tax:
        page.pair(_rate_label(rate.rate), format_yen(rate.amount))
        page.pair("    内消費税等", format_yen(rate.tax))
    page.rule()
    for used in receipt.points:
        if used.program.tender_kind is TenderKind.PAYMENT:
            page.pair(used.program.name_ja, format_points(used.points))
    for ticket in receipt.tickets:
        if ticket.program.tender_kind is TenderKind.PAYMENT:
            page.pair(f"ポイント券 {ticket.human_serial}", format_yen(ticket.amount), wrap_left=True)
        if ticket.lost:
            page.wrapped(f"  (額面{format_yen(ticket.value)}・お釣りは出ません)")
    for words, amount in receipt.external:
        page.pair(words, format_yen(amount))
    if receipt.cash or not receipt.paid:
        page.pair("現金", format_yen(receipt.cash))
    page.pair("お釣り", format_yen(receipt.change))
    if receipt.awards or receipt.balances:
        page.rule()
    for award in receipt.awards:
        page.pair(f"付与 {award.program.name_ja}", "+" + format_points(award.points))
        if award.expires_on:
            page.line(f"  有効期限 {_date(award.expires_on)}")
    _balances(page, receipt.balances, "残高 ")
    if receipt.provisional:
        page.wrapped("オフライン取引: ポイントはサーバーで確認後に確定します")
    page.rule()
    if receipt.has_reduced_rate:
        page.wrapped(f"{REDUCED_MARK}印は軽減税率(8%)対象商品です")
    page.centered("ご利用ありがとうございました")
    if receipt.sale_id:
        page.pair("取引ID", receipt.sale_id)
    if receipt.qr:
        page.qr(receipt.qr)
    page.cut()


@_layout.register
def _void(void: VoidReceipt, page: _Page) -> None:
    original = void.original
    _header(page, original.merchant, void.reprint)
    page.title("取消")
    page.line(_datetime(void.voided_at))
    page.pair(f"端末 {original.terminal_id}", f"元No.{original.receipt_no:06d}")
    page.line(f"元取引 {_datetime(original.issued_at)}")
    page.rule()
    _items(page, original, -1)
    page.rule()
    _total_back(page, "取消合計", original.due, original.tax)
    _given_back(
        page, original.points, original.external, original.cash - original.change, original.awards,
        tickets=original.tickets,
    )  # fmt: skip
    if void.reason:
        page.wrapped(f"理由: {void.reason}")
    if original.has_reduced_rate:
        page.wrapped(f"{REDUCED_MARK}印は軽減税率(8%)対象商品です")
    page.cut()


@_layout.register
def _return(receipt: ReturnReceipt, page: _Page) -> None:
    original = receipt.original
    _header(page, original.merchant, receipt.reprint)
    page.title("返品")
    page.line(_datetime(receipt.returned_at))
    page.pair(f"端末 {original.terminal_id}", f"No.{receipt.receipt_no:06d}")
    page.pair("元レシート", f"No.{original.receipt_no:06d}")
    page.line(f"元取引 {_datetime(original.issued_at)}")
    page.rule()
    for item in receipt.lines:
        mark = REDUCED_MARK if item.rate is TaxRate.REDUCED else "  "
        page.pair(f"{mark}{item.name}", _minus(item.amount))
        if item.quantity > 1:
            page.line(f"    {format_yen(item.unit_price)} × {item.quantity}")
    if receipt.lines:
        page.rule()
    if receipt.discount:
        # Points of a discount program lowered the sale's taxable amount: going back, they do again.
        page.pair("返品額", _minus(receipt.total))
        for used in receipt.points:
            if used.program.tender_kind is TenderKind.DISCOUNT:
                page.pair(f"値引 {used.program.name_ja}", "+" + format_yen(used.points))
    _total_back(page, "返品合計", receipt.due, receipt.tax)
    _given_back(page, receipt.points, receipt.external, receipt.cash, receipt.awards_taken_back)
    _balances(page, receipt.balances, "残高 ")
    if receipt.reason:
        page.wrapped(f"理由: {receipt.reason}")
    page.rule()
    if receipt.has_reduced_rate:
        page.wrapped(f"{REDUCED_MARK}印は軽減税率(8%)対象商品です")
    if receipt.return_id:
        page.pair("返品ID", receipt.return_id)
    if original.sale_id:
        page.pair("元取引ID", original.sale_id)
    page.cut()


def _total_back(page: _Page, label: str, due: int, tax: list[RateTotal]) -> None:
    # A void's or a return's total and its tax lines: amounts going back, so shown as minus.
    page.pair(label, _minus(due), double=True)
    for rate in tax:
        page.pair(_rate_label(rate.rate), _minus(rate.amount))
        page.pair("    内消費税等", _minus(rate.tax))
    page.rule()


def _given_back(
    page: _Page,
    points: tuple[PointsUsed, ...],
    external: tuple[tuple[str, int], ...],
    cash: int,
    awards: tuple[PointsAwarded, ...],
    *,
    tickets: tuple[TicketUsed, ...] = (),
) -> None:
    # What a void or a return gives back (points, tickets, other tenders, cash) and the awards it takes.
    for used in points:
        page.pair(f"ポイント返却 {used.program.name_ja}", "+" + format_points(used.points))
    for ticket in tickets:
        page.pair(f"ポイント券返却 {ticket.human_serial}", format_yen(ticket.value), wrap_left=True)
        page.pair("  うちお支払い分", format_yen(ticket.amount))
    for words, amount in external:
        page.pair(f"{words}返金", format_yen(amount))
    if cash:
        page.pair("現金返金", format_yen(cash))
    for award in awards:
        page.pair(f"付与取消 {award.program.name_ja}", "-" + format_points(award.points))


@_layout.register
def _ticket(slip: TicketSlip, page: _Page) -> None:
    ticket = slip.ticket
    _header(page, slip.issuer, slip.reprint)
    page.title("ポイント券")
    page.centered(slip.program.name_ja)
    page.title(f"{ticket.value:,}円分")
    page.centered(f"有効期限 {_date(ticket.expires_on)}まで")
    page.qr(slip.text)
    page.centered(ticket.human_serial)
    if not slip.program.change_allowed:
        page.centered("お釣りは出ません")
    page.centered("1回限り有効です")
    page.line(_datetime(slip.issued_at))
    if slip.terminal_id:
        page.line(f"端末 {slip.terminal_id}")
    page.cut()


@_layout.register
def _balance(slip: BalanceSlip, page: _Page) -> None:
    _header(page, slip.merchant, slip.reprint)
    page.title("残高照会")
    page.line(_datetime(slip.printed_at))
    page.line(f"端末 {slip.terminal_id}")
    if slip.account_number is not None:
        # Quoted at the city desk (a lost card, a renewal): printed in two groups of four.
        page.pair("アカウント番号", f"{slip.account_number[:4]}-{slip.account_number[4:]}")
    page.rule()
    _balances(page, slip.balances, "")
    if not slip.balances:
        page.line("ポイントはありません")
    page.rule()
    page.centered("ご利用ありがとうございました")
    page.cut()


def _tally(page: _Page, label: str, tally: Tally, amount: str) -> None:
    page.pair(f"{label} {tally.count:,}件", amount)


@_layout.register
def _end_of_day(report: EndOfDayReport, page: _Page) -> None:
    _header(page, report.merchant, report.reprint)
    page.title("日計")
    page.pair("営業日", _date(report.business_date))
    page.pair(f"端末 {report.terminal_id}", f"{report.printed_at:%H:%M}出力")
    page.rule()
    _tally(page, "売上", report.sales, format_yen(report.sales.amount))
    _tally(page, "取消", report.voids, _minus(report.voids.amount))
    _tally(page, "現金", report.cash, format_yen(report.cash.amount))
    page.pair("お釣り", format_yen(report.change))
    for day in report.programs:
        page.rule()
        page.wrapped(day.program.name_ja)
        _tally(page, "  ポイント利用", day.redeemed, format_points(day.redeemed.amount))
        _tally(page, "  ポイント券", day.tickets, format_yen(day.tickets.amount))
        _tally(page, "  ポイント付与", day.awarded, format_points(day.awarded.amount))
        if day.award_reversed.count:
            _tally(page, "  付与取消", day.award_reversed, "-" + format_points(day.award_reversed.amount))
    page.rule()
    page.pair("オフライン取引", f"{report.offline:,}件")
    page.pair("未送信", f"{report.unsynced:,}件")
    if report.unsynced:
        page.wrapped("未送信の取引があります。通信を確認してください。")
    page.cut()


_YEN_NAMES = {10_000: "1万円", 5_000: "5千円", 2_000: "2千円", 1_000: "千円"}


@_layout.register
def _day_report(report: DayReport, page: _Page) -> None:
    _header(page, report.merchant, report.reprint)
    page.title(f"精算(Z) No.{report.z_no}" if report.closing else "点検(X)")
    page.pair("営業日", _date(report.business_date))
    page.pair(f"端末 {report.terminal_id}", f"{report.printed_at:%H:%M}出力")
    page.rule()
    _tally(page, "売上", report.sales, format_yen(report.sales.amount))
    for rate in report.rates:
        page.pair(_rate_label(rate.rate), format_yen(rate.amount))
        page.pair("    内消費税等", format_yen(rate.tax))
    _tally(page, "取消", report.voids, _minus(report.voids.amount))
    _tally(page, "返品", report.returns, _minus(report.returns.amount))
    for rate in report.return_rates:
        page.pair(f"  返品{_rate_label(rate.rate).strip()}", _minus(rate.amount))
        page.pair("    内消費税等", _minus(rate.tax))
    for refund in report.return_tenders:
        _tally(page, f"  返金 {refund.label}", refund.tally, format_yen(refund.tally.amount))
    if report.net is not None and report.returns.count:
        page.pair("純売上", format_yen(report.net))
    page.rule()
    page.line("支払別")
    for tender in report.tenders:
        _tally(page, f"  {tender.label}", tender.tally, format_yen(tender.tally.amount))
    for day in report.programs:
        page.rule()
        page.wrapped(day.program.name_ja)
        _tally(page, "  ポイント利用", day.redeemed, format_points(day.redeemed.amount))
        _tally(page, "  ポイント券", day.tickets, format_yen(day.tickets.amount))
        _tally(page, "  ポイント付与", day.awarded, format_points(day.awarded.amount))
        if day.award_reversed.count:
            _tally(page, "  付与取消", day.award_reversed, "-" + format_points(day.award_reversed.amount))
    page.rule()
    page.pair("釣銭準備金", format_yen(report.change_float))
    page.pair("現金在高(予定)", format_yen(report.expected_cash))
    if report.counted is not None:
        for denomination, pieces in report.pieces:
            if pieces:
                name = _YEN_NAMES.get(denomination, f"{denomination}円")
                page.pair(f"  {name} × {pieces:,}", format_yen(denomination * pieces))
        page.pair("現金在高(実査)", format_yen(report.counted))
        over = report.over_short or 0
        page.pair(
            "過不足", _minus(-over) if over < 0 else ("+" if over else "") + format_yen(over), double=True
        )
    else:
        page.line("現金は未確認です")
    page.rule()
    page.pair("オフライン取引", f"{report.offline:,}件")
    page.pair("未送信", f"{report.unsynced:,}件")
    if report.unsynced:
        page.wrapped("未送信の取引があります。通信を確認してください。")
    page.cut()


@_layout.register
def _statement(statement: SettlementStatement, page: _Page) -> None:
    _header(page, statement.merchant, statement.reprint)
    page.title("精算明細書")
    page.pair("対象期間", statement.period)
    page.wrapped(f"{_date(statement.period_start)}～{_date(statement.period_end)}")
    page.line(f"発行 {_datetime(statement.issued_at)}")
    if statement.payer:
        page.pair("支払元", statement.payer)
    if statement.status:
        page.pair("状態", statement.status)
    for line in statement.lines:
        page.rule()
        page.wrapped(line.program.name_ja)
        _tally(page, "  ポイント利用", line.redeemed, format_yen(line.redeemed.amount))
        _tally(page, "  ポイント券", line.tickets, format_yen(line.tickets.amount))
        _tally(page, "  取消", line.voided, _minus(line.voided.amount))
        page.pair("  手数料", _minus(line.fee))
        page.pair("  小計", format_yen(line.payable))
        if line.disputed.count:
            _tally(page, "  保留(確認中)", line.disputed, format_yen(line.disputed.amount))
    page.rule()
    if statement.closed:
        page.pair("お支払額", format_yen(statement.payable), double=True)
    else:
        page.pair("お支払額", "未締め", double=True)
        page.wrapped("期間が締められると支払額が確定します。")
    page.cut()


@_layout.register
def _lending(slip: LendingSlip, page: _Page) -> None:
    if slip.reprint:
        page.title("【再発行】")
    page.title(slip.library_name)
    page.title("貸出票")
    page.line(_datetime(slip.printed_at))
    page.line(f"利用者番号 {slip.patron_hint}")
    if slip.terminal_id:
        page.line(f"端末 {slip.terminal_id}")
    page.rule()
    for item in slip.items:
        page.wrapped(item.title)
        due = _date(item.due_date) if item.due_date else item.due_text
        page.pair(f"  {item.barcode}", f"返却期限 {due}")
    page.rule()
    page.pair("貸出冊数", f"{len(slip.items)}冊", double=True)
    if slip.unsettled:
        page.wrapped("次の資料は貸出が確認できませんでした。図書館でご確認ください:")
        for barcode in slip.unsettled:
            page.line(f"  {barcode}")
    if slip.not_lent:
        page.wrapped("次の資料は貸出されていません:")
        for barcode in slip.not_lent:
            page.line(f"  {barcode}")
    page.centered("返却期限までにお返しください")
    page.cut()


def layout_report(document: object, width: int = PAPER_80MM) -> tuple[list[Block], list[str]]:
    """The blocks of ``document`` on paper ``width`` columns wide, and the characters substituted.

    Raises:
        TypeError: ``document`` is not one of :mod:`printers.documents`.
        ValueError: ``width`` is below :data:`MIN_WIDTH`.
    """
    page = _Page(width)
    _layout(document, page)
    if getattr(document, "training", False):
        # 練習モード: marked at the top and the foot of every slip, in one place for all documents.
        mark = _Page(width)
        mark.title("【練習】")
        mark.centered("練習モード(取引ではありません)")
        page.blocks[:0] = mark.blocks
        cut = len(page.blocks) - 1 if page.blocks and isinstance(page.blocks[-1], Cut) else len(page.blocks)
        page.blocks[cut:cut] = mark.blocks[:1]
        page.lost += mark.lost
    return page.blocks, page.lost


def layout(document: object, width: int = PAPER_80MM) -> list[Block]:
    """The blocks of ``document`` on paper ``width`` columns wide (see :func:`layout_report`)."""
    return layout_report(document, width)[0]
