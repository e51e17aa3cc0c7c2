"""The double-entry point ledger (TigerBeetle's vocabulary): accounts, append-only transfers, lots.

Every movement of points is a **transfer** of a positive ``amount`` from a debit account to a
credit account; an account's ``balance`` is its credits minus its debits, so the balances of all
accounts always sum to zero and every balance can be recomputed from the transfers
(:func:`check`). Accounts with ``floor_zero`` (residents, tickets outstanding) never go below
zero: the database refuses it (a ``CHECK``), and :func:`post` turns that into
:class:`InsufficientPoints`. Transfers are never edited: a correction is a new transfer the
other way (``kind='void'``, ``reverses_id`` naming the original).

Accounts (``kind``, ``owner``, ``program_id``):

- ``resident`` — a resident account's points in one program (owner = the account number of
  :mod:`server.residents`, to which card keys are linked; floor zero, held in lots)
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
demo balances and admin grants), ``move`` (resident → resident, one lot of an account merged into
another, keeping its expiry; operation ``merge``, id ``merge:<from>:<into>``), ``void`` (the
reverse of a transfer of the same operation id: a sale's, by its void; a ticket issue's, by a
ticket cancel), ``return_points`` (merchant → resident, points a return gives back) and
``return_award`` (resident → funding, a sale award taken back by a return in proportion).

Tables and columns (DDL in :mod:`server.schema`'s migrations; times UTC ISO text, dates ``YYYY-MM-DD``):

- ``accounts(id, kind, owner, program_id, balance, floor_zero, created_at)``
- ``transfers(id, kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id,
  amount, created_at, reverses_id, ticket_serial, op_kind)`` — every transfer is part of one
  operation: ``op_kind`` is its kind (:data:`OPERATION_TRANSFERS`) and ``sale_id`` its id (the sale
  id for a sale and its void, else the award, ``partner:conversion`` or ticket issue id,
  ``expiry:<date>``; NULL for grants); ``merchant_id`` is the shop for sale transfers, else NULL
- ``operations(id, kind, issuer, created_at)`` — every id a client chose (sales, ticket issues,
  awards, conversions, exchange runs), once: one namespace, so an id never names two kinds
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
  redeemed_sale_id, redeemed_by, redeemed_at, created_at, receipt_sale_id)`` — ``state`` is
  ``issued``, ``redeemed``, ``expired`` or ``cancelled`` (the mykey-pos sale ``receipt_sale_id``
  whose receipt earned it was voided); ``ticket_issues(issue_id, program_id, principal_id,
  request_hash, points, result, created_at)``; ``ticket_receipts(merchant_id, receipt_no, date,
  issue_id, amount, points, sale_id)`` — ``receipt_no`` normalised (:func:`server.issuing.normal_receipt_no`)
- ``event_awards(award_id, card_key, program_id, event_id, kind, points, principal_id,
  request_hash, result, created_at)`` — once per (program, event, card);
  ``conversions(partner_id, conversion_id, card_key,
  program_id, points, request_hash, result, created_at)``
- ``challenges(challenge_id, nonce, terminal_id, created_at, expires_at, used_at,
  used_by_sale)``; ``eligibility(card_key, city_id, tag, valid_until, set_by, set_at)``;
  ``trust_anchors(fingerprint, pem, added_at)``; ``audit_log(id, at, actor, action, subject, detail)``
  (:mod:`server.audit`);
  ``meta(key, value)``
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

# Business dates (same-day voids, expiry) are the shared calendar's: Japan time, in ``points``.
# ``iso`` is the calendar's stored form of a moment; both names stay here for the server's callers.
from points.calendar import JST as JST
from points.calendar import business_date as business_date
from points.calendar import stored_text as iso
from server import db

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


class OperationIdTaken(LedgerError):
    """An operation id already names an operation of another kind (a sale id that is a ticket issue's)."""

    code = "operation_id_taken"


# Times --------------------------------------------------------------------------------


def utc_now() -> dt.datetime:
    """The server's clock, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


# Accounts -----------------------------------------------------------------------------


def funding_owner(kind: str, funder_id: str) -> str:
    """The owner string of a funding account: ``city:<id>`` or ``partner:<id>``."""
    return f"{kind}:{funder_id}"


#: The kinds of account that never go below zero (``floor_zero``): residents' points, tickets outstanding.
FLOOR_KINDS = ("resident", "tickets")


def account(conn: sqlite3.Connection, kind: str, owner: str, program_id: str = "") -> int:
    """The id of the account (``kind``, ``owner``, ``program_id``), opened on first use.

    Residents and tickets outstanding are floor-zero accounts. On PostgreSQL the id is remembered
    by the session (:attr:`server.pg.PgConnection.memo`): a sale names each of its accounts twice.
    """
    memo: dict[tuple[str, ...], Any] | None = getattr(conn, "memo", None)
    if memo is not None:
        known = memo.get(("account", kind, owner, program_id))
        if known is not None:
            return int(known)
        found = _open_account(conn, kind, owner, program_id)
        memo["account", kind, owner, program_id] = found
        if kind not in FLOOR_KINDS:
            memo["floorless", str(found)] = True
        return found
    return _open_account(conn, kind, owner, program_id)


def _open_account(conn: sqlite3.Connection, kind: str, owner: str, program_id: str) -> int:
    row = conn.execute(
        "SELECT id FROM accounts WHERE kind = ? AND owner = ? AND program_id = ?", (kind, owner, program_id)
    ).fetchone()
    if row is not None:
        return int(row[0])
    floor_zero = 1 if kind in FLOOR_KINDS else 0
    # OR IGNORE: on PostgreSQL another server process may open the same account at the same moment
    # (a card's or a merchant's first sale in a program); its row is then the one used.
    cursor = conn.execute(
        "INSERT OR IGNORE INTO accounts(kind, owner, program_id, balance, floor_zero, created_at)"
        " VALUES (?, ?, ?, 0, ?, ?)",
        (kind, owner, program_id, floor_zero, iso(utc_now())),
    )
    if cursor.rowcount == 1 and cursor.lastrowid is not None:
        return cursor.lastrowid
    found = find_account(conn, kind, owner, program_id)
    if found is None:
        raise db.Retry(f"account {kind}/{owner}/{program_id} was opened and rolled back meanwhile")
    return found


def _floorless(conn: sqlite3.Connection, account_id: int) -> bool:
    """Whether the account is known (to this PostgreSQL session) to have no floor, inside a transaction."""
    memo: dict[tuple[str, ...], Any] | None = getattr(conn, "memo", None)
    return bool(memo and memo.get(("floorless", str(account_id))) and conn.in_transaction)


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


# Operations ---------------------------------------------------------------------------

#: Each operation kind and the transfer kinds its transfers may have (:func:`check` holds them to it).
#: ``void`` and ``ticket_cancel`` reverse transfers of the operation of the same id named in
#: :data:`REVERSES`; ``payout`` is reserved (no transfers yet). A ``return`` (返品) has its own id and
#: moves part of a sale back (:mod:`server.returns`).
OPERATION_TRANSFERS: dict[str, frozenset[str]] = {
    "sale": frozenset({"redeem_points", "redeem_ticket", "award"}),
    "void": frozenset({"void"}),
    "return": frozenset({"return_points", "return_award"}),
    "ticket_issue": frozenset({"issue_ticket"}),
    "ticket_cancel": frozenset({"void"}),
    "award": frozenset({"award"}),
    "conversion": frozenset({"conversion"}),
    "exchange": frozenset({"exchange"}),
    "expiry": frozenset({"expiry"}),
    "grant": frozenset({"grant"}),
    "payout": frozenset(),
    "merge": frozenset({"move"}),
    "order": frozenset({"order_points"}),
    "order_cancel": frozenset({"void"}),
    "order_refund": frozenset({"order_return"}),
}
#: The operation whose transfers a reversing operation of the same id takes back.
REVERSES = {"void": "sale", "ticket_cancel": "ticket_issue", "order_cancel": "order"}
#: Operations whose ids clients choose: registered once in ``operations`` (one namespace).
REGISTERED = ("sale", "return", "ticket_issue", "award", "conversion", "exchange", "payout", "order")
# The one transfer kind that two operations make (a sale's purchase award, an event's award) must be
# told which; every other transfer kind belongs to one operation kind.
_OPERATION_OF = {
    transfer_kind: op_kind
    for op_kind, kinds in OPERATION_TRANSFERS.items()
    if op_kind not in ("ticket_cancel", "order_cancel")
    for transfer_kind in kinds
    if transfer_kind != "award"
}


def register_operation(
    conn: sqlite3.Connection, kind: str, op_id: str, issuer: str, now: dt.datetime
) -> None:
    """Claim ``op_id`` for an operation of ``kind`` by ``issuer`` (inside the operation's transaction).

    Ids chosen by clients share one namespace: the same id with the same kind is the caller's
    retry (its own table answers it before this is reached), with another kind a refusal.

    Raises:
        OperationIdTaken: ``op_id`` names an operation of another kind.
    """
    if not claim_operation(conn, kind, op_id, issuer, now):
        refuse_claimed(conn, kind, op_id)


def claim_operation(conn: sqlite3.Connection, kind: str, op_id: str, issuer: str, now: dt.datetime) -> bool:
    """Claim ``op_id`` as :func:`register_operation` does; ``False`` when it was claimed before.

    For a caller that claims the id before it reads its own table's stored answer: a new id (every
    operation but a retry) then costs this one statement. An id claimed before has that answer, or
    :func:`refuse_claimed` says why not.
    """
    assert kind in REGISTERED, kind
    inserted = conn.execute(
        "INSERT OR IGNORE INTO operations(id, kind, issuer, created_at) VALUES (?, ?, ?, ?)",
        (op_id, kind, issuer, iso(now)),
    ).rowcount
    return bool(inserted == 1)


def refuse_claimed(conn: sqlite3.Connection, kind: str, op_id: str) -> NoReturn:
    """Refuse ``op_id``, claimed before, for which the caller's own table holds no answer.

    Raises:
        OperationIdTaken: ``op_id`` names an operation of another kind.
        server.db.Retry: it is this kind's, registered meanwhile by another writer.
    """
    row = conn.execute("SELECT kind FROM operations WHERE id = ?", (op_id,)).fetchone()
    if row is not None and row[0] != kind:
        raise OperationIdTaken(f"{op_id} is already the id of a {row[0]}, not of a {kind}")
    # The id is this kind's, yet the caller's own table (read first) did not know it: another
    # server process registered it meanwhile (PostgreSQL: its transaction committed while this one
    # waited on the unique key). Run this one again, and its own table answers it.
    raise db.Retry(f"{kind} {op_id} was registered meanwhile by another writer")


#: Row locks taken by one statement (an expiry run may lock a whole town's accounts; a statement
#: takes at most 65,535 parameters).
_LOCKS_PER_STATEMENT = 10_000


def lock_accounts(
    conn: sqlite3.Connection, account_ids: Iterable[int], *, one_by_its_update: bool = False
) -> None:
    """Lock the accounts an operation will move, in one fixed order (ascending id), up front.

    On PostgreSQL several server processes write at once: taking every row lock in the same order
    means two sales never wait for each other in a cycle. SQLite needs nothing: ``BEGIN IMMEDIATE``
    already lets one writer in at a time.

    The lock is also what makes it safe to read what those rows guard (a resident's lots, before a
    void takes an award back or an order is paid) and decide on it: every writer that changes a
    resident's lots holds its account's row lock first, so nothing read after this call changes
    before the commit. Even one account is locked here, not left to its own ``UPDATE``, when reads
    come before that ``UPDATE``; ``one_by_its_update`` says they do not (a sale's first statement on
    its account is the debit or the credit), so one account alone is left to it: one round trip less.
    """
    # Accounts without a floor are not locked here: their balance only has amounts added to it
    # (at COMMIT, :func:`post`), and no rule reads it to decide, so their rows are held only then.
    ids = sorted({i for i in account_ids if not _floorless(conn, i)})
    if one_by_its_update and len(ids) == 1:
        return  # one lock has no order to keep
    if ids and db.is_postgres(conn):
        # Sent ahead (:func:`server.db.send`): the server takes the locks before it runs the next
        # statement, whose answer comes back with this one's; the lock costs no round trip of its own.
        for start in range(0, len(ids), _LOCKS_PER_STATEMENT):  # ascending across the statements too
            chunk = ids[start : start + _LOCKS_PER_STATEMENT]
            marks = ", ".join("?" * len(chunk))
            db.send(conn, f"SELECT id FROM accounts WHERE id IN ({marks}) ORDER BY id FOR UPDATE", chunk)


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
    op_kind: str | None = None


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
    op_kind: str | None = None,
) -> int:
    """Append a transfer of ``amount`` from ``debit`` to ``credit`` and update both balances.

    Must run inside a transaction (:func:`server.db.atomic`): the transfer and the two balance
    updates stand or fall together. ``sale_id`` is the operation's id and ``op_kind`` its kind
    (by default the one operation kind that makes transfers of ``kind``; an ``award`` must say).

    Raises:
        InsufficientPoints: the debit account is floor-zero and would go below zero.
        ValueError: a non-positive or non-int amount, or an operation kind that does not make ``kind``.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"a transfer amount is a positive int, got {amount!r}")
    op_kind = op_kind or _OPERATION_OF.get(kind)
    if op_kind is None or kind not in OPERATION_TRANSFERS.get(op_kind, ()):
        raise ValueError(f"a {kind} transfer is not part of a {op_kind} operation")
    # The floor is checked by the UPDATE itself (no error: a PostgreSQL transaction survives it),
    # and the table's CHECK stays the last line.
    # An account without a floor (a merchant's, a funder's) may have its change added at COMMIT
    # (PostgreSQL: :attr:`server.pg.PgConnection.deferred`), so its row is not held locked meanwhile.
    if _floorless(conn, debit):
        conn.defer(debit, -amount)  # type: ignore[union-attr]
    else:
        try:
            debited = conn.execute(
                "UPDATE accounts SET balance = balance - ? WHERE id = ? AND (floor_zero = 0 OR balance >= ?)",
                (amount, debit, amount),
            ).rowcount
        except sqlite3.IntegrityError:
            debited = 0
        if debited != 1:
            raise InsufficientPoints(f"not enough points for {amount} in {program_id}")
    if _floorless(conn, credit):
        conn.defer(credit, amount)  # type: ignore[union-attr]
    else:
        db.send(conn, "UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, credit))
    cursor = conn.execute(
        "INSERT INTO transfers(kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id,"
        " amount, created_at, reverses_id, ticket_serial, op_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            sale_id,
            merchant_id,
            program_id,
            debit,
            credit,
            amount,
            iso(now),
            reverses_id,
            ticket_serial,
            op_kind,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def transfers_of(conn: sqlite3.Connection, sale_id: str, op_kind: str = "sale") -> list[Transfer]:
    """Every transfer of the operation (``op_kind``, ``sale_id``), oldest first."""
    rows = conn.execute(
        "SELECT id, kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id, amount,"
        " created_at, reverses_id, ticket_serial, op_kind FROM transfers WHERE sale_id = ? AND op_kind = ?"
        " ORDER BY id",
        (sale_id, op_kind),
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
    """Record points credited to a resident that expire together on ``expires_on``; returns the lot's id."""
    cursor = conn.execute(
        _ADD_LOT, (account_id, transfer_id, points, points, expires_on.isoformat(), iso(now))
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


_ADD_LOT = (
    "INSERT INTO lots(account_id, transfer_id, points, remaining, expires_on, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


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
            db.send(conn, "UPDATE lots SET remaining = remaining - ? WHERE id = ?", (take, lot_id))
            db.send(
                conn,
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
    op_kind: str | None = None,
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
        op_kind=op_kind,
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
    op_kind: str | None = None,
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
        op_kind=op_kind,
    )
    # The lot's id is not needed here: sent ahead with the next statement (:func:`server.db.send`).
    db.send(conn, _ADD_LOT, (resident, transfer_id, amount, amount, expires_on.isoformat(), iso(now)))
    return transfer_id


def reverse(conn: sqlite3.Connection, original: Transfer, now: dt.datetime, op_kind: str = "void") -> int:
    """Post the reverse of ``original`` (kind ``void``), restoring lots it drew and removing lots it made.

    The reverse belongs to the operation ``op_kind`` of the same id (``void`` takes back a sale's
    transfers, ``ticket_cancel`` a ticket issue's).

    Raises:
        AwardSpent: ``original`` credited a lot that has since been (partly) spent.
        ValueError: ``original`` is not a transfer of the operation ``op_kind`` reverses.
    """
    if original.op_kind != REVERSES[op_kind]:
        raise ValueError(f"a {op_kind} reverses {REVERSES[op_kind]} transfers, not {original.op_kind}")
    # The lots are read under the account's row lock (PostgreSQL; the caller may hold it already):
    # read before it, a lot that a sale on another session is drawing looks whole, the award is taken
    # back although spent, and the balance loses the points twice while the lots lose them once.
    lock_accounts(conn, (original.debit_account_id, original.credit_account_id))
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
            op_kind=op_kind,
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
    # The accounts whose lots and tickets expire are locked first (PostgreSQL), as every writer of a
    # lot or a ticket locks them: a sale at midnight drawing a lot of yesterday, a void or a return
    # giving points back to one, commits first, and the lots are read as it left them.
    day = today.isoformat()
    if db.is_postgres(conn):
        touched = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT account_id FROM lots WHERE remaining > 0 AND expires_on < ?", (day,)
            )
        ]
        touched += [
            account(conn, "tickets", "outstanding", row[0])
            for row in conn.execute(
                "SELECT DISTINCT program_id FROM tickets WHERE state = 'issued' AND expires_on < ?", (day,)
            )
        ]
        lock_accounts(conn, touched)
    lots = conn.execute(
        "SELECT lots.id, lots.account_id, lots.remaining, accounts.program_id FROM lots"
        " JOIN accounts ON accounts.id = lots.account_id WHERE lots.remaining > 0 AND lots.expires_on < ?"
        " ORDER BY lots.id",
        (day,),
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
            sale_id=f"expiry:{day}",
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
        (day,),
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
            sale_id=f"expiry:{day}",
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
            " FROM transfers UNION ALL SELECT debit_account_id, -amount FROM transfers) AS moves"
            " GROUP BY account_id"
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
    problems.extend(operation_problems(conn))
    return problems


# A sale's answer (``sales.result``) against its transfers: points redeemed, tickets' face values,
# points awarded. One pass over the sales and one grouped pass over their transfers.
_SALE_SUMS = """
WITH moved AS (
    SELECT sale_id,
        SUM(CASE kind WHEN 'redeem_points' THEN amount ELSE 0 END) || '/'
        || SUM(CASE kind WHEN 'redeem_ticket' THEN amount ELSE 0 END) || '/'
        || SUM(CASE kind WHEN 'award' THEN amount ELSE 0 END) AS sums
    FROM transfers WHERE op_kind = 'sale' GROUP BY sale_id
), promised AS (
    SELECT sale_id,
        (SELECT COALESCE(SUM(json_extract(value, '$.points')), 0) FROM json_each(result, '$.points')) || '/'
        || (SELECT COALESCE(SUM(json_extract(value, '$.value')), 0) FROM json_each(result, '$.tickets'))
        || '/'
        || (SELECT COALESCE(SUM(json_extract(value, '$.points')), 0) FROM json_each(result, '$.awards'))
        AS sums
    FROM sales
)
SELECT p.sale_id, p.sums, COALESCE(m.sums, '0/0/0') FROM promised p LEFT JOIN moved m ON m.sale_id = p.sale_id
WHERE p.sums != COALESCE(m.sums, '0/0/0') ORDER BY p.sale_id
"""


# The same on PostgreSQL: its JSON functions instead of SQLite's.
_SALE_SUMS_PG = _SALE_SUMS
for _field, _list in (("points", "points"), ("value", "tickets"), ("points", "awards")):
    _SALE_SUMS_PG = _SALE_SUMS_PG.replace(
        f"(SELECT COALESCE(SUM(json_extract(value, '$.{_field}')), 0) FROM json_each(result, '$.{_list}'))",
        f"(SELECT COALESCE(SUM((v->>'{_field}')::bigint), 0)"
        f" FROM jsonb_array_elements(result::jsonb->'{_list}') v)",
    )


def operation_problems(conn: sqlite3.Connection) -> list[str]:
    """Each operation's transfers belong to it and balance (empty: consistent).

    Checks: every transfer names an operation kind that makes its kind, and an id where clients
    choose one; that id is registered for that kind; a sale's transfers are its merchant's; a
    reverse takes back one transfer of the operation of the same id, exactly; a voided sale's
    transfers are all reversed and an accepted sale's none; a sale's transfers move what its
    answer says (points, tickets, awards); a ticket issue's transfers are its
    tickets' values and add up to its points; an award's and a conversion's to theirs.
    """
    problems: list[str] = []
    for op_kind, kind, count in conn.execute(
        "SELECT op_kind, kind, COUNT(*) FROM transfers GROUP BY op_kind, kind ORDER BY 1, 2"
    ):
        if kind not in OPERATION_TRANSFERS.get(op_kind, ()):
            problems.append(f"{count} {kind} transfers are part of a {op_kind} operation, which makes none")
    registered = ", ".join(f"'{k}'" for k in (*REGISTERED, *REVERSES))
    bases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in REVERSES.items())
    for transfer_id, op_kind, op_id, found in conn.execute(
        f"SELECT t.id, t.op_kind, t.sale_id, o.kind FROM transfers t"
        f" LEFT JOIN operations o ON o.id = t.sale_id"
        f" WHERE t.op_kind IN ({registered})"
        f" AND (o.kind IS NULL OR o.kind != CASE t.op_kind {bases} ELSE t.op_kind END) ORDER BY t.id"
    ):
        problems.append(f"transfer {transfer_id} of {op_kind} {op_id}: that id is registered as {found}")
    for transfer_id, op_id, merchant_id, owner in conn.execute(
        "SELECT t.id, t.sale_id, t.merchant_id, s.merchant_id FROM transfers t"
        " JOIN sales s ON s.sale_id = t.sale_id"
        " WHERE t.op_kind IN ('sale', 'void') AND t.merchant_id IS NOT s.merchant_id ORDER BY t.id"
    ):
        problems.append(f"transfer {transfer_id} of sale {op_id} is {merchant_id}'s, the sale {owner}'s")
    for transfer_id, op_kind, op_id in conn.execute(
        f"SELECT v.id, v.op_kind, v.sale_id FROM transfers v LEFT JOIN transfers o ON o.id = v.reverses_id"
        f" WHERE v.kind = 'void' AND (o.id IS NULL OR o.sale_id IS NOT v.sale_id"
        f" OR o.op_kind IS NOT CASE v.op_kind {bases} END OR o.kind = 'void' OR o.amount != v.amount"
        f" OR o.program_id != v.program_id OR o.debit_account_id != v.credit_account_id"
        f" OR o.credit_account_id != v.debit_account_id) ORDER BY v.id"
    ):
        problems.append(f"transfer {transfer_id} ({op_kind} {op_id}) does not reverse a transfer of its own")
    for original, count in conn.execute(
        "SELECT reverses_id, COUNT(*) FROM transfers WHERE reverses_id IS NOT NULL GROUP BY reverses_id"
        " HAVING COUNT(*) > 1"
    ):
        problems.append(f"transfer {original} is reversed {count} times")
    for op_id, status, left in conn.execute(
        "SELECT s.sale_id, s.status, COUNT(t.id) FROM sales s JOIN transfers t ON t.sale_id = s.sale_id"
        " AND t.op_kind = 'sale' WHERE (s.status = 'voided') = NOT EXISTS"
        " (SELECT 1 FROM transfers v WHERE v.reverses_id = t.id) GROUP BY s.sale_id ORDER BY s.sale_id"
    ):
        state = "not reversed" if status == "voided" else "reversed"
        problems.append(f"sale {op_id} is {status} but {left} of its transfers are {state}")
    problems.extend(_return_problems(conn))
    from server import online  # orders keep their own tables; online builds on this module

    problems.extend(online.problems(conn))
    for op_id, promised, moved in conn.execute(_SALE_SUMS_PG if db.is_postgres(conn) else _SALE_SUMS):
        problems.append(
            f"sale {op_id} answered points/tickets/awards {promised} but its transfers move {moved}"
        )
    sums = (
        ("ticket issue", "ticket_issues", "issue_id", "ticket_issue"),
        ("award", "event_awards", "award_id", "award"),
        ("conversion", "conversions", "partner_id || ':' || conversion_id", "conversion"),
    )
    for label, table, key, op_kind in sums:
        for op_id, points, moved in conn.execute(
            f"SELECT r.op_id, r.points, COALESCE(SUM(t.amount), 0)"
            f" FROM (SELECT {key} AS op_id, points FROM {table}) r"
            f" LEFT JOIN transfers t ON t.sale_id = r.op_id AND t.op_kind = ? GROUP BY r.op_id, r.points"
            f" HAVING COALESCE(SUM(t.amount), 0) != r.points ORDER BY r.op_id",
            (op_kind,),
        ):
            problems.append(f"{label} {op_id} is of {points} points but its transfers move {moved}")
    for transfer_id, op_id, serial in conn.execute(
        "SELECT t.id, t.sale_id, t.ticket_serial FROM transfers t"
        " LEFT JOIN tickets k ON k.serial = t.ticket_serial"
        " WHERE t.op_kind = 'ticket_issue' AND (k.serial IS NULL OR k.issue_id IS NOT t.sale_id"
        " OR k.value != t.amount) ORDER BY t.id"
    ):
        problems.append(
            f"transfer {transfer_id} of ticket issue {op_id} names ticket {serial}, not one of its own"
        )
    return problems


def _return_problems(conn: sqlite3.Connection) -> list[str]:
    # A return's transfers are its sale's merchant's and move what its answer says; a sale's returns
    # never give back more than the sale, and a voided sale has none.
    problems: list[str] = []
    for transfer_id, op_id, merchant_id, owner in conn.execute(
        "SELECT t.id, t.sale_id, t.merchant_id, r.merchant_id FROM transfers t"
        " LEFT JOIN sale_returns r ON r.return_id = t.sale_id"
        " WHERE t.op_kind = 'return' AND (r.return_id IS NULL OR t.merchant_id IS NOT r.merchant_id)"
        " ORDER BY t.id"
    ):
        problems.append(f"transfer {transfer_id} of return {op_id} is {merchant_id}'s, the return {owner}'s")
    moved: dict[str, list[int]] = {}
    for op_id, kind, amount in conn.execute(
        "SELECT sale_id, kind, SUM(amount) FROM transfers WHERE op_kind = 'return' GROUP BY sale_id, kind"
    ):
        moved.setdefault(op_id, [0, 0])[0 if kind == "return_points" else 1] += int(amount)
    per_sale: dict[str, int] = {}
    for return_id, sale_id, amount, text in conn.execute(
        "SELECT return_id, sale_id, amount, result FROM sale_returns ORDER BY return_id"
    ):
        answer = json.loads(text)
        promised = [
            sum(int(p["points"]) for p in answer.get("points", [])),
            sum(int(a["points"]) for a in answer.get("awards_taken_back", [])),
        ]
        if promised != moved.pop(return_id, [0, 0]):
            problems.append(f"return {return_id} answered points/awards {promised} but its transfers differ")
        per_sale[sale_id] = per_sale.get(sale_id, 0) + int(amount)
    for op_id in sorted(moved):
        problems.append(f"return {op_id} has transfers but no stored return")
    for sale_id, returned in sorted(per_sale.items()):
        row = conn.execute("SELECT total, status FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()
        if row is None or returned > int(row[0]) or row[1] == "voided":
            problems.append(f"sale {sale_id} has returns of {returned} yen but is {row and tuple(row)}")
    return problems
