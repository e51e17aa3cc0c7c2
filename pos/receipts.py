"""Printed documents from journal entries: the printer's dataclasses filled from what the journal holds.

A sale's receipt is built from its journal entry (item lines, tenders) and the server's answer
(tickets applied, awards, balances after), or, for a sale made offline, from the request alone.
The layout and the bytes are the printer part's business (:mod:`printers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from points import calendar, dayreport, tender, tickets
from points.programs import Program, TenderKind
from points.tax import RateTotal, TaxRate, receipt_tax
from points.wire import Balance, CardLookup, ExternalKind, ExternalTender, TerminalConfig
from pos.journal import Entry
from printers.documents import (
    BalanceAfter,
    BalanceSlip,
    DayReport,
    ExpiringLot,
    PointsAwarded,
    PointsUsed,
    ProgramDay,
    ReturnReceipt,
    SaleReceipt,
    SettlementStatement,
    StatementLine,
    Tally,
    TenderLine,
    TicketUsed,
    VoidReceipt,
)


def _programs(config: TerminalConfig) -> dict[str, Program]:
    return {program.id: program for program in config.programs}


def balances_after(config: TerminalConfig, balances: Iterable[Balance]) -> tuple[BalanceAfter, ...]:
    """Balances per program as a receipt shows them (programs the terminal knows only)."""
    programs = _programs(config)
    return tuple(
        BalanceAfter(
            program=programs[b.program_id],
            points=b.points,
            expiring=tuple(ExpiringLot(points=lot.points, expires_on=lot.expires_on) for lot in b.expiring),
        )
        for b in balances
        if b.program_id in programs
    )


#: How a receipt words other tenders (printed in Japanese, like the rest of the receipt).
EXTERNAL_WORDS = {
    ExternalKind.CREDIT: "クレジット",
    ExternalKind.QR: "QR決済",
    ExternalKind.IC: "電子マネー(交通系IC)",
}


def sale_receipt(entry: Entry, config: TerminalConfig, *, reprint: bool = False) -> SaleReceipt:
    """The receipt (適格簡易請求書) of a sale in the journal."""
    programs = _programs(config)
    request = entry.sale_request
    result = entry.sale_result
    if result is not None:
        used = tuple(
            TicketUsed(program=programs[t.program_id], serial=t.serial, value=t.value, applied=t.applied)
            for t in result.tickets
        )
        awards = tuple(
            PointsAwarded(program=programs[a.program_id], points=a.points, expires_on=a.expires_on)
            for a in result.awards
            if a.program_id in programs and a.points
        )
        balances = balances_after(config, result.balances)
    else:
        # Offline: what the counter checked itself (the same tender rule as the server's); the
        # server's answer comes with the sync.
        scanned = [tickets.decode(t.text) for t in request.tickets]
        covered = tender.cover(
            request.total,
            [p.points for p in request.points],
            [tender.TicketOffer(t.value, tender.gives_change(programs[t.program_id])) for t in scanned],
        )
        used = tuple(
            TicketUsed(program=programs[t.program_id], serial=t.serial, value=t.value, applied=c.applied)
            for t, c in zip(scanned, covered.tickets, strict=True)
        )
        awards, balances = (), ()
    return SaleReceipt(
        merchant=config.merchant,
        terminal_id=config.terminal_id,
        receipt_no=entry.receipt_no,
        issued_at=calendar.japan_time(entry.created_at),
        lines=tuple(entry.lines),
        points=tuple(PointsUsed(program=programs[p.program_id], points=p.points) for p in request.points),
        tickets=used,
        cash=request.cash,
        awards=awards,
        balances=balances,
        sale_id=entry.id,
        offline=entry.offline and result is None,
        awards_pending=result is None and bool(request.award_programs),
        reprint=reprint,
        # The server knows the totals after the shop's discounts: what the lines leave over is
        # the subtotal discount (小計値引), so the journal needs no column of its own for it.
        subtotal_discount=sum(line.amount for line in entry.lines) - request.total,
        external=tuple((EXTERNAL_WORDS[t.kind], t.amount) for t in request.external),
        voided=reprint and entry.voided_at is not None,
    )


def void_receipt(entry: Entry, config: TerminalConfig, reason: str = "") -> VoidReceipt:
    """The void receipt (取消) of a voided sale."""
    voided_at = calendar.japan_time(entry.voided_at or calendar.now())
    return VoidReceipt(original=sale_receipt(entry, config), voided_at=voided_at, reason=reason)


def return_receipt(
    entry: Entry, sale: Entry, config: TerminalConfig, *, reprint: bool = False
) -> ReturnReceipt:
    """The return receipt (返品) of a return in the journal, with its original sale's receipt."""
    programs = _programs(config)
    request = entry.return_request
    result = entry.return_result
    taken = result.awards_taken_back if result else []
    return ReturnReceipt(
        original=sale_receipt(sale, config),
        receipt_no=entry.receipt_no,
        returned_at=calendar.japan_time(entry.created_at),
        amounts=tuple((TaxRate(int(a.rate)), a.amount) for a in request.amounts),
        lines=tuple(entry.lines),
        points=tuple(PointsUsed(program=programs[p.program_id], points=p.points) for p in request.points),
        external=tuple((EXTERNAL_WORDS[t.kind], t.amount) for t in request.external),
        cash=request.cash,
        awards_taken_back=tuple(
            PointsAwarded(program=programs[a.program_id], points=a.points)
            for a in taken
            if a.program_id in programs and a.points
        ),
        balances=balances_after(config, result.balances) if result else (),
        return_id=entry.id,
        reason=request.reason,
        reprint=reprint,
    )


def _return_figures(entry: Entry, programs: dict[str, Program]) -> dayreport.SaleFigures:
    # A return receipt as printed: yen and tax per rate given back, and each refund tender.
    request = entry.return_request
    discount = sum(
        p.points
        for p in request.points
        if p.program_id in programs and programs[p.program_id].tender_kind is TenderKind.DISCOUNT
    )
    taxed = receipt_tax({TaxRate(int(a.rate)): a.amount for a in request.amounts}, discount)
    tenders = [dayreport.TenderAmount("cash", "", request.cash)] if request.cash else []
    tenders += [dayreport.TenderAmount("points", p.program_id, p.points) for p in request.points]
    tenders += [dayreport.TenderAmount("external", t.kind.value, t.amount) for t in request.external]
    rates = tuple((int(r.rate), r.amount, r.tax) for r in taxed)
    return dayreport.SaleFigures(rates, tuple(tenders), refund_cash=request.cash, is_return=True)


def balance_slip(config: TerminalConfig, card: CardLookup) -> BalanceSlip:
    """The balance slip (残高照会) of a card."""
    return BalanceSlip(
        merchant=config.merchant,
        terminal_id=config.terminal_id,
        printed_at=calendar.japan_time(calendar.now()),
        balances=balances_after(config, card.balances),
        account_number=card.account_number,
    )


_PAYOUT_JA = {"city_direct": "市から直接", "via_chamber": "商工会経由"}


def statement(config: TerminalConfig, data: dict[str, Any]) -> SettlementStatement:
    """The settlement statement (明細) slip from the server's ``GET /v1/statements/...`` answer.

    Claims of programs this terminal does not know are left off the slip (their totals stay in
    the server's answer); disputed sales are counted per program.
    """
    programs = _programs(config)
    period = str(data["period_id"])
    try:
        named = calendar.parse_period(period)
        start, end = named.starts_on, named.last_day
    except calendar.PeriodError:
        start = end = calendar.today()  # a name this terminal's release does not know
    lines = []
    for claim in data.get("claims", []):
        program = programs.get(claim["program_id"])
        if program is None:
            continue
        lines.append(
            StatementLine(
                program=program,
                redeemed=Tally(int(claim.get("redeemed_points_count", 0)), int(claim["redeemed_points"])),
                tickets=Tally(int(claim.get("redeemed_tickets_count", 0)), int(claim["redeemed_tickets"])),
                voided=Tally(int(claim.get("voided_count", 0)), int(claim["voided"])),
                fee=int(claim["fee"]),
                disputed=Tally(
                    sum(1 for d in data.get("disputed", []) if d.get("program_id") == program.id),
                    int(claim["disputed"]),
                ),
            )
        )
    closed = data.get("period_state", "closed") == "closed"
    states = sorted({str(c.get("state_ja") or c.get("state")) for c in data.get("claims", [])})
    if not closed:
        states = [str(data.get("period_state_ja") or "未締め")]
    # Names, not codes (a server from before names were sent gives codes: said in words here).
    payers = sorted(
        {
            str(c.get("payer_name") or _PAYOUT_JA.get(c["payout"], c["payout"]))
            for c in data.get("claims", [])
            if c.get("payout")
        }
    )
    return SettlementStatement(
        merchant=config.merchant,
        period=period,
        period_start=start,
        period_end=end,
        issued_at=calendar.japan_time(calendar.now()),
        lines=tuple(lines),
        payer="・".join(payers),
        status="・".join(states),
        closed=closed,
    )


def _sale_figures(
    receipt: SaleReceipt, voided: bool, external: Iterable[ExternalTender] = ()
) -> dayreport.SaleFigures:
    # The receipt as printed is the one source: tax per rate as rounded on it, cash net of change
    # (below zero when a change-giving ticket's excess came out of the drawer and no cash went in).
    cash = [dayreport.TenderAmount("cash", "", receipt.cash - receipt.change)]
    tenders = cash if receipt.cash or receipt.change else []
    tenders += [dayreport.TenderAmount("points", p.program.id, p.points) for p in receipt.points]
    tenders += [dayreport.TenderAmount("ticket", t.program.id, t.amount) for t in receipt.tickets]
    # Other tenders (credit, QR, IC) by kind, as the return receipts' refunds are counted.
    tenders += [dayreport.TenderAmount("external", t.kind.value, t.amount) for t in external]
    rates = tuple((int(r.rate), r.amount, r.tax) for r in receipt.tax)
    return dayreport.SaleFigures(rates, tuple(tenders), voided=voided)


def _tender_label(kind: str, key: str, programs: dict[str, Program]) -> str:
    name = programs[key].name_ja if key in programs else key
    if kind == "cash":
        return "現金"
    if kind == "points":
        return f"ポイント {name}"
    if kind == "ticket":
        return f"ポイント券 {name}"
    if kind == "external" and key in {k.value for k in EXTERNAL_WORDS}:
        return EXTERNAL_WORDS[ExternalKind(key)]
    return f"{kind} {name}".strip()  # a tender kind this release does not name (other tenders)


def day_report(
    config: TerminalConfig,
    entries: list[Entry],
    day: dt.date,
    *,
    unsynced: int = 0,
    change_float: int = 0,
    pieces: dict[int, int] | None = None,
    closing: bool = False,
    z_no: int = 0,
) -> DayReport:
    """The X (点検) or Z (精算) report of ``day`` from the journal; sums by :mod:`points.dayreport`."""
    programs = _programs(config)
    figures = []
    awarded: dict[str, Tally] = {}
    reversed_: dict[str, Tally] = {}
    for entry in entries:
        if entry.kind.value == "return" and entry.state.value == "accepted":
            figures.append(_return_figures(entry, programs))
            result = entry.return_result
            for taken in result.awards_taken_back if result else []:
                if taken.points:
                    t = reversed_.get(taken.program_id, Tally())
                    reversed_[taken.program_id] = Tally(t.count + 1, t.amount + taken.points)
            continue
        if entry.kind.value != "sale" or not (entry.counts or entry.voided_at is not None):
            continue
        receipt = sale_receipt(entry, config)
        figures.append(_sale_figures(receipt, entry.voided_at is not None, entry.sale_request.external))
        if entry.voided_at is None:
            for award in receipt.awards:
                t = awarded.get(award.program.id, Tally())
                awarded[award.program.id] = Tally(t.count + 1, t.amount + award.points)
    day_sums = dayreport.summarise(figures)

    def tally(s: dayreport.Sum) -> Tally:
        return Tally(s.count, s.amount)

    used = {key: s for (kind, key), s in day_sums.tenders.items() if kind == "points"}
    tickets_taken = {key: s for (kind, key), s in day_sums.tenders.items() if kind == "ticket"}
    touched = sorted((set(used) | set(tickets_taken) | set(awarded) | set(reversed_)) & set(programs))
    counted = None if pieces is None else dayreport.counted_total(pieces)
    return DayReport(
        merchant=config.merchant,
        terminal_id=config.terminal_id,
        business_date=day,
        printed_at=calendar.japan_time(calendar.now()),
        closing=closing,
        z_no=z_no,
        sales=tally(day_sums.sales),
        voids=tally(day_sums.voids),
        returns=tally(day_sums.returns),
        return_rates=tuple(
            RateTotal(TaxRate(rate), amount, tax) for rate, (amount, tax) in day_sums.return_rates.items()
        ),
        return_tenders=tuple(
            TenderLine(_tender_label(kind, key, programs), tally(s))
            for (kind, key), s in day_sums.return_tenders.items()
        ),
        net=day_sums.net,
        rates=tuple(RateTotal(TaxRate(rate), amount, tax) for rate, (amount, tax) in day_sums.rates.items()),
        tenders=tuple(
            TenderLine(_tender_label(kind, key, programs), tally(s))
            for (kind, key), s in day_sums.tenders.items()
        ),
        programs=tuple(
            ProgramDay(
                program=programs[pid],
                redeemed=tally(used.get(pid, dayreport.Sum())),
                tickets=tally(tickets_taken.get(pid, dayreport.Sum())),
                awarded=awarded.get(pid, Tally()),
                award_reversed=reversed_.get(pid, Tally()),
            )
            for pid in touched
        ),
        change_float=change_float,
        expected_cash=dayreport.expected_cash(change_float, day_sums),
        pieces=tuple((d, (pieces or {}).get(d, 0)) for d in dayreport.DENOMINATIONS)
        if pieces is not None
        else (),
        counted=counted,
        offline=sum(1 for e in entries if e.kind.value == "sale" and e.counts and e.offline),
        unsynced=unsynced,
    )
