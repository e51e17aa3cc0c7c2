"""Printed documents from journal entries: the printer's dataclasses filled from what the journal holds.

A sale's receipt is built from its journal entry (item lines, tenders) and the server's answer
(tickets applied, awards, balances after), or, for a sale made offline, from the request alone.
The layout and the bytes are the printer part's business (:mod:`printers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from points import calendar, tender, tickets
from points.programs import Program
from points.wire import Balance, CardLookup, TerminalConfig
from pos.journal import Entry
from printers.documents import (
    BalanceAfter,
    BalanceSlip,
    EndOfDayReport,
    ExpiringLot,
    PointsAwarded,
    PointsUsed,
    ProgramDay,
    SaleReceipt,
    SettlementStatement,
    StatementLine,
    Tally,
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
        reprint=reprint,
        voided=reprint and entry.voided_at is not None,
    )


def void_receipt(entry: Entry, config: TerminalConfig, reason: str = "") -> VoidReceipt:
    """The void receipt (取消) of a voided sale."""
    voided_at = calendar.japan_time(entry.voided_at or dt.datetime.now(dt.UTC))
    return VoidReceipt(original=sale_receipt(entry, config), voided_at=voided_at, reason=reason)


def balance_slip(config: TerminalConfig, card: CardLookup) -> BalanceSlip:
    """The balance slip (残高照会) of a card."""
    return BalanceSlip(
        merchant=config.merchant,
        terminal_id=config.terminal_id,
        printed_at=calendar.japan_time(dt.datetime.now(dt.UTC)),
        balances=balances_after(config, card.balances),
    )


def end_of_day(config: TerminalConfig, entries: list[Entry], day: dt.date, unsynced: int) -> EndOfDayReport:
    """The end-of-day report (日計) from the day's journal entries."""
    programs = _programs(config)
    sales = [e for e in entries if e.kind.value == "sale" and e.counts]
    voids = [e for e in entries if e.kind.value == "sale" and e.voided_at is not None]
    redeemed: dict[str, Tally] = {}
    ticket_tally: dict[str, Tally] = {}
    awarded: dict[str, Tally] = {}
    cash = change = 0
    for entry in sales:
        receipt = sale_receipt(entry, config)
        cash += receipt.cash
        change += receipt.change
        for p in receipt.points:
            t = redeemed.get(p.program.id, Tally())
            redeemed[p.program.id] = Tally(t.count + 1, t.amount + p.points)
        for used in receipt.tickets:
            t = ticket_tally.get(used.program.id, Tally())
            ticket_tally[used.program.id] = Tally(t.count + 1, t.amount + used.amount)
        for award in receipt.awards:
            t = awarded.get(award.program.id, Tally())
            awarded[award.program.id] = Tally(t.count + 1, t.amount + award.points)
    touched = sorted(set(redeemed) | set(ticket_tally) | set(awarded))
    return EndOfDayReport(
        merchant=config.merchant,
        terminal_id=config.terminal_id,
        business_date=day,
        printed_at=calendar.japan_time(dt.datetime.now(dt.UTC)),
        sales=Tally(len(sales), sum(e.total for e in sales)),
        voids=Tally(len(voids), sum(e.total for e in voids)),
        cash=Tally(sum(1 for e in sales if e.request.get("cash")), cash),
        change=change,
        programs=tuple(
            ProgramDay(
                program=programs[pid],
                redeemed=redeemed.get(pid, Tally()),
                tickets=ticket_tally.get(pid, Tally()),
                awarded=awarded.get(pid, Tally()),
            )
            for pid in touched
            if pid in programs
        ),
        offline=sum(1 for e in sales if e.offline),
        unsynced=unsynced,
    )


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
                redeemed=Tally(0, int(claim["redeemed_points"])),
                tickets=Tally(0, int(claim["redeemed_tickets"])),
                voided=Tally(0, int(claim["voided"])),
                fee=int(claim["fee"]),
                disputed=Tally(
                    sum(1 for d in data.get("disputed", []) if d.get("program_id") == program.id),
                    int(claim["disputed"]),
                ),
            )
        )
    states = sorted({str(c.get("state_ja") or c.get("state")) for c in data.get("claims", [])})
    payers = sorted({str(c.get("payout", "")) for c in data.get("claims", []) if c.get("payout")})
    return SettlementStatement(
        merchant=config.merchant,
        period=period,
        period_start=start,
        period_end=end,
        issued_at=calendar.japan_time(dt.datetime.now(dt.UTC)),
        lines=tuple(lines),
        payer="・".join(payers),
        status="・".join(states),
    )
