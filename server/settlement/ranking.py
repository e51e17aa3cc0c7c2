"""The ranking batch (Bungotakada): the top holders of a program swap points for vouchers, once.

Bungotakada's health walk gives the top 200 holders with 5,000 points or more 5,000 yen of
vouchers (ten 500-yen tickets, no change). A run ranks the program's resident accounts by
balance (ties by account id, so the order is stable), takes the top ``top_k`` at or above the
threshold, and for each one posts an ``exchange`` transfer (resident → tickets outstanding,
drawing the earliest-expiring lots) and issues the signed voucher tickets. A round (e.g.
``2026``) is run once per program: running it again returns what the first run did and moves
nothing — a holder is recorded per program and round under a primary key.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from points.awards import Exchange
from points.programs import ExchangeAward, Program
from points.tickets import TicketSigner, format_human_serial
from server import audit, issuing, ledger
from server.db import atomic
from server.settlement import store
from server.settlement.errors import SettlementError

_TOP = (
    "SELECT id, owner, balance FROM accounts WHERE kind = 'resident' AND program_id = ? AND balance >= ?"
    " ORDER BY balance DESC, id LIMIT ?"
)

_TICKET = (
    "INSERT INTO tickets(serial, program_id, value, expires_on, key_id, issue_id, text, state, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 'issued', ?)"
)


def ranking(conn: sqlite3.Connection, program_id: str, threshold: int, top_k: int) -> list[dict[str, Any]]:
    """The top ``top_k`` resident accounts of a program holding at least ``threshold`` points.

    Card keys are shown by their first 13 characters only (enough to tell cards apart on a list).
    """
    rows = conn.execute(_TOP, (program_id, threshold, top_k)).fetchall()
    return [
        {"rank": i + 1, "card": owner[:13], "balance": balance}
        for i, (_id, owner, balance) in enumerate(rows)
    ]


def _exchange_of(program: Program, balance: int) -> Exchange | None:
    rule = program.award_rule
    if isinstance(rule, ExchangeAward):
        return rule.exchange_for(balance)
    return None


def run(
    conn: sqlite3.Connection,
    program: Program,
    round_id: str,
    threshold: int,
    top_k: int,
    signer: TicketSigner,
    now: dt.datetime,
    actor: str,
) -> dict[str, Any]:
    """Run (or repeat) a round: exchange points for vouchers for the top holders.

    Raises:
        SettlementError: ``ranking_invalid`` when the program has no exchange rule or the
            parameters are out of range.
    """
    if not isinstance(program.award_rule, ExchangeAward) or top_k <= 0 or threshold < 0 or not round_id:
        raise SettlementError("ranking_invalid", f"{program.id} {round_id} {threshold} {top_k}")
    run_id = f"{program.id}:{round_id}"
    store.ensure(conn)
    with atomic(conn):
        stored = conn.execute("SELECT result FROM ranking_runs WHERE run_id = ?", (run_id,)).fetchone()
        if stored is not None:
            return {**json.loads(stored[0]), "repeated": True}
        today = ledger.business_date(now)
        ledger.register_operation(conn, "exchange", run_id, program.id, now)
        expires_on = program.expiry.expires_on(today)
        outstanding = ledger.account(conn, "tickets", "outstanding", program.id)
        holders = conn.execute(_TOP, (program.id, threshold, top_k)).fetchall()
        awarded: list[dict[str, Any]] = []
        for account_id, number, _balance in holders:
            exchange = _exchange_of(program, ledger.spendable(conn, account_id, today))
            if exchange is None:
                continue  # spendable points (unexpired lots) fall short of the exchange
            transfer_id = ledger.spend(
                conn,
                kind="exchange",
                program_id=program.id,
                resident=account_id,
                credit=outstanding,
                amount=exchange.cost,
                now=now,
                sale_id=run_id,
            )
            tickets = []
            for _ in range(exchange.voucher_count):
                serial = issuing.new_serial(conn)
                text = signer.issue(serial, program.id, exchange.voucher_value, expires_on)
                row = (serial, program.id, exchange.voucher_value, expires_on.isoformat(), signer.key_id)
                conn.execute(_TICKET, (*row, run_id, text, ledger.iso(now)))
                tickets.append(
                    {
                        "serial": serial,
                        "human_serial": format_human_serial(serial),
                        "value": exchange.voucher_value,
                        "expires_on": expires_on.isoformat(),
                        "text": text,
                    }
                )
            conn.execute(
                "INSERT INTO ranking_awards(program_id, round, account_number, run_id, points, serials)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    program.id,
                    round_id,
                    number,
                    run_id,
                    exchange.cost,
                    json.dumps([t["serial"] for t in tickets]),
                ),
            )
            awarded.append(
                {
                    "card": number,
                    "points": exchange.cost,
                    "transfer_id": transfer_id,
                    "tickets": tickets,
                }
            )
        result = {
            "run_id": run_id,
            "program_id": program.id,
            "round": round_id,
            "threshold": threshold,
            "top_k": top_k,
            "holders": len(awarded),
            "points": sum(a["points"] for a in awarded),
            "awarded": awarded,
        }
        conn.execute(
            "INSERT INTO ranking_runs(run_id, program_id, threshold, top_k, created_at, result)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, program.id, threshold, top_k, ledger.iso(now), json.dumps(result)),
        )
        audit.append(
            conn, actor, "ranking", f"ranking:{run_id}", holders=len(awarded), points=result["points"]
        )
        return {**result, "repeated": False}
