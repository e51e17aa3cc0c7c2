"""The double-entry point ledger (TigerBeetle's vocabulary): accounts, append-only transfers, lots.

Every movement of points is a **transfer** of a positive ``amount`` from a debit account to a
credit account; an account's ``balance`` is its credits minus its debits, so the balances of all
accounts always sum to zero and every balance can be recomputed from the transfers
(:func:`check`). Accounts with ``floor_zero`` (residents, tickets outstanding) never go below
zero: the database refuses it (a ``CHECK``), and :func:`post` turns that into
:class:`InsufficientPoints`. Transfers are never edited: a correction is a new transfer the
other way (``kind='void'``, ``reverses_id`` naming the original).

Accounts (``kind``, ``owner``, ``program_id``):

- ``resident`` — a card's points in one program (owner = card key; floor zero, held in lots)
- ``funding`` — where a program's points come from (owner ``city:<id>`` or ``partner:<id>``;
  goes negative as points are issued: its negated balance is what the funder owes)
- ``merchant`` — a merchant's receivable per program (owner = merchant id): redeemed points and
  tickets, less voids; what its claim is computed from
- ``tickets`` — points printed on tickets not yet redeemed or expired (owner ``outstanding``;
  floor zero)
- ``chamber`` / ``city`` — for payouts through a chamber or a city (owner = its id, program '')

Transfer kinds: ``redeem_points`` (resident → merchant), ``redeem_ticket`` (tickets → merchant),
``award`` (funding → resident, from a sale or an event), ``conversion`` (partner funding →
resident), ``issue_ticket`` (funding → tickets), ``exchange`` (resident → tickets, points
swapped for vouchers), ``expiry`` (resident or tickets → funding), ``grant`` (funding → resident,
demo balances and admin grants), ``void`` (the reverse of a sale's transfer, same sale id).

Tables and columns (DDL in :mod:`server.schema`'s migrations; times UTC ISO text, dates ``YYYY-MM-DD``):

- ``accounts(id, kind, owner, program_id, balance, floor_zero, created_at)``
- ``transfers(id, kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id,
  amount, created_at, reverses_id, ticket_serial)`` — ``sale_id`` holds the operation's id: the
  sale id for ``redeem_*``/``award``/``void`` of a sale, else the award, conversion or ticket
  issue id; ``merchant_id`` is the shop for sale transfers, else NULL
- ``lots(id, account_id, transfer_id, points, remaining, expires_on, created_at)`` — points that
  expire together; spent earliest-expiring first
- ``lot_draws(transfer_id, lot_id, points)`` — which lots a spending transfer drew from (a void
  puts them back)
- ``sales(sale_id, merchant_id, terminal_id, receipt_no, card_prefix, total, cash, change,
  offline, status, request_hash, result, terminal_time, accepted_at, business_date, voided_at,
  void_reason, void_result)`` — ``accepted_at`` is server time, ``terminal_time`` the terminal's
  clock, ``business_date`` the Japan-time date of ``accepted_at``
- ``refused_sales(id, sale_id, line_no, merchant_id, terminal_id, program_id, amount,
  error_code, message, request_hash, terminal_time, created_at)`` — offline sales the server
  refused on sync, one line per point tender or ticket (program NULL and the sale total when it
  had neither): settlement lists them as disputed
- ``merchants(id, name, address, phone, invoice_number, category, chamber_id, bank_code,
  branch_code, account_type, account_number, account_holder_kana, created_at)`` —
  ``account_type`` is the Zengin code (:class:`points.banking.AccountType`), the holder name
  half-width katakana
- ``chambers(id, name, city_id, bank_code, branch_code, account_type, account_number,
  account_holder_kana, created_at)``, ``cities(id, name, created_at)``,
  ``partners(id, name, created_at)``
- ``programs(id, city_id, funding_kind, funding_id, tender_kind, payout, fee_share_permille,
  definition, created_at, updated_at)`` — ``definition`` is the :class:`points.programs.Program`
  as JSON; the other columns repeat what SQL needs
- ``terminals(id, mode, merchant_id, city_id, event, created_at)``; ``principals(id, role,
  terminal_id, merchant_id, chamber_id, city_id, partner_id, created_at)``;
  ``tokens(token_hash, principal_id, created_at, revoked_at)``
- ``tickets(serial, program_id, value, expires_on, key_id, issue_id, text, state,
  redeemed_sale_id, redeemed_by, redeemed_at, created_at)``; ``ticket_issues(issue_id,
  program_id, principal_id, request_hash, points, result, created_at)``;
  ``ticket_receipts(merchant_id, receipt_no, date, issue_id, amount, points)``
- ``event_awards(award_id, card_key, program_id, event_id, kind, points, principal_id,
  request_hash, result, created_at)``; ``conversions(partner_id, conversion_id, card_key,
  program_id, points, request_hash, result, created_at)``
- ``challenges(challenge_id, nonce, terminal_id, created_at, expires_at, used_at,
  used_by_sale)``; ``eligibility(card_key, city_id, tag, valid_until, set_by, set_at)``;
  ``trust_anchors(fingerprint, pem, added_at)``; ``audit_log(id, at, actor, action, subject, detail)``
  (:mod:`server.audit`);
  ``meta(key, value)``
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field

# Business dates (same-day voids, expiry) are the shared calendar's: Japan time, in ``points``.
# ``iso`` is the calendar's stored form of a moment; both names stay here for the server's callers.
from points.calendar import JST as JST
from points.calendar import business_date as business_date
from points.calendar import stored_text as iso

# Errors -------------------------------------------------------------------------------


class LedgerError(Exception):
    """A movement the ledger refuses; ``code`` is stable for the wire."""

    code = "ledger_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InsufficientPoints(LedgerError):
    """A floor-zero account (a resident's points, tickets outstanding) would go below zero."""

    code = "insufficient_points"


class AwardSpent(LedgerError):
    """A void would take back awarded points the resident has already spent."""

    code = "award_spent"


# Times --------------------------------------------------------------------------------


def utc_now() -> dt.datetime:
    """The server's clock, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


# Accounts -----------------------------------------------------------------------------


def funding_owner(kind: str, funder_id: str) -> str:
    """The owner string of a funding account: ``city:<id>`` or ``partner:<id>``."""
    return f"{kind}:{funder_id}"


def account(conn: sqlite3.Connection, kind: str, owner: str, program_id: str = "") -> int:
    """The id of the account (``kind``, ``owner``, ``program_id``), opened on first use.

    Residents and tickets outstanding are floor-zero accounts.
    """
    row = conn.execute(
        "SELECT id FROM accounts WHERE kind = ? AND owner = ? AND program_id = ?", (kind, owner, program_id)
    ).fetchone()
    if row is not None:
        return int(row[0])
    floor_zero = 1 if kind in ("resident", "tickets") else 0
    cursor = conn.execute(
        "INSERT INTO accounts(kind, owner, program_id, balance, floor_zero, created_at)"
        " VALUES (?, ?, ?, 0, ?, ?)",
        (kind, owner, program_id, floor_zero, iso(utc_now())),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def find_account(conn: sqlite3.Connection, kind: str, owner: str, program_id: str = "") -> int | None:
    """The id of an existing account, or ``None`` (never opens one: for read paths)."""
    row = conn.execute(
        "SELECT id FROM accounts WHERE kind = ? AND owner = ? AND program_id = ?", (kind, owner, program_id)
    ).fetchone()
    return None if row is None else int(row[0])


def balance(conn: sqlite3.Connection, account_id: int) -> int:
    """An account's current balance (credits minus debits)."""
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return 0 if row is None else int(row[0])


# Transfers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transfer:
    """One transfer as stored."""

    id: int
    kind: str
    sale_id: str | None
    merchant_id: str | None
    program_id: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    created_at: str
    reverses_id: int | None = None
    ticket_serial: int | None = None


def post(
    conn: sqlite3.Connection,
    *,
    kind: str,
    program_id: str,
    debit: int,
    credit: int,
    amount: int,
    now: dt.datetime,
    sale_id: str | None = None,
    merchant_id: str | None = None,
    reverses_id: int | None = None,
    ticket_serial: int | None = None,
) -> int:
    """Append a transfer of ``amount`` from ``debit`` to ``credit`` and update both balances.

    Must run inside a transaction (:func:`server.db.atomic`): the transfer and the two balance
    updates stand or fall together.

    Raises:
        InsufficientPoints: the debit account is floor-zero and would go below zero.
        ValueError: a non-positive or non-int amount.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"a transfer amount is a positive int, got {amount!r}")
    try:
        conn.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, debit))
    except sqlite3.IntegrityError:
        raise InsufficientPoints(f"not enough points for {amount} in {program_id}") from None
    conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, credit))
    cursor = conn.execute(
        "INSERT INTO transfers(kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id,"
        " amount, created_at, reverses_id, ticket_serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, sale_id, merchant_id, program_id, debit, credit, amount, iso(now), reverses_id, ticket_serial),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def transfers_of(conn: sqlite3.Connection, sale_id: str) -> list[Transfer]:
    """Every transfer recorded under an operation id, oldest first."""
    rows = conn.execute(
        "SELECT id, kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id, amount,"
        " created_at, reverses_id, ticket_serial FROM transfers WHERE sale_id = ? ORDER BY id",
        (sale_id,),
    ).fetchall()
    return [Transfer(*tuple(row)) for row in rows]


# Lots ---------------------------------------------------------------------------------


def add_lot(
    conn: sqlite3.Connection,
    account_id: int,
    transfer_id: int,
    points: int,
    expires_on: dt.date,
    now: dt.datetime,
) -> int:
    """Record points credited to a resident that expire together on ``expires_on``."""
    cursor = conn.execute(
        "INSERT INTO lots(account_id, transfer_id, points, remaining, expires_on, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (account_id, transfer_id, points, points, expires_on.isoformat(), iso(now)),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def spendable(conn: sqlite3.Connection, account_id: int, today: dt.date) -> int:
    """Points a resident may spend today: lots not yet past their last day."""
    row = conn.execute(
        "SELECT COALESCE(SUM(remaining), 0) FROM lots"
        " WHERE account_id = ? AND remaining > 0 AND expires_on >= ?",
        (account_id, today.isoformat()),
    ).fetchone()
    return int(row[0])


def draw_lots(
    conn: sqlite3.Connection, account_id: int, transfer_id: int, points: int, today: dt.date
) -> None:
    """Take ``points`` from a resident's lots, earliest-expiring first, and note each draw.

    Raises:
        InsufficientPoints: the unexpired lots hold fewer than ``points``.
    """
    left = points
    # A page of lots at a time: a resident may hold hundreds of small award lots, a sale needs few.
    while left > 0:
        rows = conn.execute(
            "SELECT id, remaining FROM lots WHERE account_id = ? AND remaining > 0 AND expires_on >= ?"
            " ORDER BY expires_on, id LIMIT 16",
            (account_id, today.isoformat()),
        ).fetchall()
        if not rows:
            break
        for lot_id, remaining in rows:
            take = min(left, remaining)
            conn.execute("UPDATE lots SET remaining = remaining - ? WHERE id = ?", (take, lot_id))
            conn.execute(
                "INSERT INTO lot_draws(transfer_id, lot_id, points) VALUES (?, ?, ?)",
                (transfer_id, lot_id, take),
            )
            left -= take
            if left == 0:
                return
    raise InsufficientPoints(f"only {points - left} of {points} points are unexpired")


def spend(
    conn: sqlite3.Connection,
    *,
    kind: str,
    program_id: str,
    resident: int,
    credit: int,
    amount: int,
    now: dt.datetime,
    sale_id: str | None = None,
    merchant_id: str | None = None,
) -> int:
    """Move points out of a resident account, drawing its lots: the transfer and the draws together."""
    transfer_id = post(
        conn,
        kind=kind,
        program_id=program_id,
        debit=resident,
        credit=credit,
        amount=amount,
        now=now,
        sale_id=sale_id,
        merchant_id=merchant_id,
    )
    draw_lots(conn, resident, transfer_id, amount, business_date(now))
    return transfer_id


def earn(
    conn: sqlite3.Connection,
    *,
    kind: str,
    program_id: str,
    debit: int,
    resident: int,
    amount: int,
    expires_on: dt.date,
    now: dt.datetime,
    sale_id: str | None = None,
    merchant_id: str | None = None,
) -> int:
    """Move points into a resident account as a new lot expiring on ``expires_on``."""
    transfer_id = post(
        conn,
        kind=kind,
        program_id=program_id,
        debit=debit,
        credit=resident,
        amount=amount,
        now=now,
        sale_id=sale_id,
        merchant_id=merchant_id,
    )
    add_lot(conn, resident, transfer_id, amount, expires_on, now)
    return transfer_id


def reverse(conn: sqlite3.Connection, original: Transfer, now: dt.datetime) -> int:
    """Post the reverse of ``original`` (kind ``void``), restoring lots it drew and removing lots it made.

    Raises:
        AwardSpent: ``original`` credited a lot that has since been (partly) spent.
    """
    made = conn.execute(
        "SELECT id, points, remaining FROM lots WHERE transfer_id = ?", (original.id,)
    ).fetchall()
    for lot_id, points, remaining in made:
        if remaining != points:
            raise AwardSpent(f"{points - remaining} of the {points} points awarded have been spent")
        conn.execute("UPDATE lots SET remaining = 0 WHERE id = ?", (lot_id,))
    for lot_id, points in conn.execute(
        "SELECT lot_id, points FROM lot_draws WHERE transfer_id = ?", (original.id,)
    ).fetchall():
        conn.execute("UPDATE lots SET remaining = remaining + ? WHERE id = ?", (points, lot_id))
    try:
        return post(
            conn,
            kind="void",
            program_id=original.program_id,
            debit=original.credit_account_id,
            credit=original.debit_account_id,
            amount=original.amount,
            now=now,
            sale_id=original.sale_id,
            merchant_id=original.merchant_id,
            reverses_id=original.id,
            ticket_serial=original.ticket_serial,
        )
    except InsufficientPoints:
        raise AwardSpent("the points this sale awarded have been spent") from None


# Expiry -------------------------------------------------------------------------------


@dataclass
class ExpiryReport:
    """What an expiry run moved back to the funding sources."""

    lots: int = 0
    tickets: int = 0
    points: int = 0
    by_program: dict[str, int] = field(default_factory=dict)


def expire(conn: sqlite3.Connection, today: dt.date, now: dt.datetime) -> ExpiryReport:
    """Move points in lots and on tickets past their last day (before ``today``) back to their funders.

    Runs inside the caller's transaction; running it twice moves nothing the second time.
    """
    report = ExpiryReport()
    funders = {
        row[0]: account(conn, "funding", funding_owner(row[1], row[2]), row[0])
        for row in conn.execute("SELECT id, funding_kind, funding_id FROM programs").fetchall()
    }
    lots = conn.execute(
        "SELECT lots.id, lots.account_id, lots.remaining, accounts.program_id FROM lots"
        " JOIN accounts ON accounts.id = lots.account_id WHERE lots.remaining > 0 AND lots.expires_on < ?"
        " ORDER BY lots.id",
        (today.isoformat(),),
    ).fetchall()
    for lot_id, account_id, remaining, program_id in lots:
        transfer_id = post(
            conn,
            kind="expiry",
            program_id=program_id,
            debit=account_id,
            credit=funders[program_id],
            amount=remaining,
            now=now,
        )
        conn.execute("UPDATE lots SET remaining = 0 WHERE id = ?", (lot_id,))
        conn.execute(
            "INSERT INTO lot_draws(transfer_id, lot_id, points) VALUES (?, ?, ?)",
            (transfer_id, lot_id, remaining),
        )
        report.lots += 1
        report.points += remaining
        report.by_program[program_id] = report.by_program.get(program_id, 0) + remaining
    tickets = conn.execute(
        "SELECT serial, program_id, value FROM tickets"
        " WHERE state = 'issued' AND expires_on < ? ORDER BY serial",
        (today.isoformat(),),
    ).fetchall()
    for serial, program_id, value in tickets:
        post(
            conn,
            kind="expiry",
            program_id=program_id,
            debit=account(conn, "tickets", "outstanding", program_id),
            credit=funders[program_id],
            amount=value,
            now=now,
            ticket_serial=serial,
        )
        conn.execute("UPDATE tickets SET state = 'expired' WHERE serial = ?", (serial,))
        report.tickets += 1
        report.points += value
        report.by_program[program_id] = report.by_program.get(program_id, 0) + value
    return report


# Consistency --------------------------------------------------------------------------


def check(conn: sqlite3.Connection) -> list[str]:
    """Recompute every balance from the transfers and list each difference (empty: consistent).

    Checks: each account's stored balance equals credits minus debits; all balances sum to
    zero; no floor-zero account is negative; each resident's balance equals its lots' remaining
    points; each ticket's state matches the tickets-outstanding account of its program.
    """
    problems: list[str] = []
    # One pass over the transfers (grouped), not one scan per account: check runs on real ledgers.
    computed: dict[int, int] = {
        row[0]: int(row[1])
        for row in conn.execute(
            "SELECT account_id, SUM(delta) FROM (SELECT credit_account_id AS account_id, amount AS delta"
            " FROM transfers UNION ALL SELECT debit_account_id, -amount FROM transfers) GROUP BY account_id"
        )
    }
    in_lots: dict[int, int] = {
        row[0]: int(row[1])
        for row in conn.execute("SELECT account_id, SUM(remaining) FROM lots GROUP BY account_id")
    }
    issued: dict[str, int] = {
        row[0]: int(row[1])
        for row in conn.execute(
            "SELECT program_id, SUM(value) FROM tickets WHERE state = 'issued' GROUP BY program_id"
        )
    }
    total = 0
    known: set[int] = set()
    for account_id, kind, owner, program_id, stored, floor_zero in conn.execute(
        "SELECT id, kind, owner, program_id, balance, floor_zero FROM accounts ORDER BY id"
    ):
        known.add(account_id)
        label = f"account {account_id} ({kind} {owner[:16]} {program_id})"
        expected = computed.get(account_id, 0)
        if stored != expected:
            problems.append(f"{label}: stored balance {stored} but transfers give {expected}")
        if floor_zero and expected < 0:
            problems.append(f"{label}: negative balance {expected}")
        held, worth = in_lots.get(account_id, 0), issued.get(program_id, 0)
        if kind == "resident" and stored != held:
            problems.append(f"resident account {account_id}: balance {stored} but lots hold {held}")
        if kind == "tickets" and stored != worth:
            problems.append(
                f"tickets of {program_id}: account holds {stored} but issued tickets are worth {worth}"
            )
        total += stored
    if total != 0:
        problems.append(f"balances sum to {total}, not 0")
    for account_id in sorted(set(computed) - known):
        problems.append(f"transfers name account {account_id}, which does not exist")
    return problems
