"""Resident accounts (住民アカウント): points belong to an account, card keys are linked to it.

The account plays the part of the real platform's マイキーID: a short random number a resident
can quote at the city desk, and nothing else about the person (DESIGN.md §3). Each card key
(``jpki:``/``uid:``) is linked to at most one account (``card_keys``' primary key); a renewed or
replaced card's key is *retired* (kept, with the time), a lost card's key or a revoked
certificate's is *blocked* (with the time, the clerk and the reason). The ledger's resident
accounts are owned by the account number, so every boundary that receives a card key resolves it
here first (:func:`account_of` on read paths, :func:`open_account` on write paths).

An account number is 8 characters from :data:`ALPHABET` (no 0/O, 1/I/L): 7 random digits in base
31 and a check character chosen so that ``sum(position * value) % 31 == 0`` (positions 1-8), which
catches every single mistyped character and every swap of two neighbours.

Tables (:mod:`server.schema`, migration 6): ``resident_accounts(number, created_at, merged_into,
merged_at)``; ``card_keys(card_key, account_number, linked_at, retired_at, blocked_at, block_code,
block_reason, blocked_by, certificate_issuer, certificate_serial, certificate_expires_at)``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import sqlite3
from dataclasses import dataclass

from server import db, ledger
from server.errors import ApiError

#: The account number's characters: digits and capitals without the look-alikes 0 O 1 I L (31, a prime).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_VALUE = {c: n for n, c in enumerate(ALPHABET)}
_TYPED = re.compile(r"[\s\-]")


# Account numbers ----------------------------------------------------------------------


def check_character(body: str) -> str:
    """The 8th character that makes the weighted sum of ``body`` (7 characters) and it 0 mod 31."""
    total = sum(n * _VALUE[c] for n, c in enumerate(body, start=1))
    return ALPHABET[(-4 * total) % 31]  # 4 is 8's inverse mod 31


def new_number() -> str:
    """A fresh random account number (not checked against the table: see :func:`_create`)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(7))
    return body + check_character(body)


def normal_number(text: str) -> str | None:
    """An account number as typed (spaces, hyphens, lower case allowed) in its stored form, or ``None``."""
    number = _TYPED.sub("", text).upper()
    if len(number) != 8 or any(c not in _VALUE for c in number):
        return None
    return number if check_character(number[:7]) == number[7] else None


def shown(number: str) -> str:
    """The number as printed and shown: ``ABCD-EFGH``."""
    return f"{number[:4]}-{number[4:]}"


# Card keys ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardKeyState:
    """One card key's link as stored."""

    card_key: str
    account_number: str
    linked_at: str
    retired_at: str | None
    blocked_at: str | None
    block_code: str | None
    block_reason: str | None
    certificate_expires_at: str | None

    @property
    def live(self) -> bool:
        """Neither retired nor blocked."""
        return self.retired_at is None and self.blocked_at is None


_STATE = (
    "SELECT card_key, account_number, linked_at, retired_at, blocked_at, block_code, block_reason,"
    " certificate_expires_at FROM card_keys"
)


def key_state(conn: sqlite3.Connection, card_key: str, *, lock: bool = False) -> CardKeyState | None:
    """The key's link, or ``None`` when the key was never linked.

    ``lock``: read it under a row lock held to the end of the transaction (PostgreSQL, where several
    server processes write at once; SQLite's ``BEGIN IMMEDIATE`` already lets one writer in), so a
    block, a retirement or a merge committed meanwhile is seen, and one coming after waits for this
    transaction: a sale is never committed after its card's block.
    """
    row = conn.execute(_STATE + " WHERE card_key = ?" + _for_update(conn, lock), (card_key,)).fetchone()
    return None if row is None else CardKeyState(*tuple(row))


def _for_update(conn: sqlite3.Connection, lock: bool) -> str:
    return db.row_lock(conn) if lock else ""


def lock_keys_of(conn: sqlite3.Connection, number: str) -> None:
    """Lock every key of an account (PostgreSQL; see :func:`key_state`) before the desk changes them.

    The desk takes its time after this, so a sale committed before the change is older than it.
    """
    if db.is_postgres(conn):
        conn.execute(
            "SELECT card_key FROM card_keys WHERE account_number = ? ORDER BY card_key FOR UPDATE", (number,)
        )


def keys_of(conn: sqlite3.Connection, number: str) -> list[CardKeyState]:
    """Every key linked to an account (retired and blocked ones too), oldest link first."""
    rows = conn.execute(_STATE + " WHERE account_number = ? ORDER BY linked_at, card_key", (number,))
    return [CardKeyState(*tuple(row)) for row in rows.fetchall()]


def refusal(state: CardKeyState, now: dt.datetime, offline_at: dt.datetime | None = None) -> ApiError | None:
    """Why a key may not be used (a blocked, retired or expired key), or ``None``.

    Online every block and retirement counts at once. An offline sale (``offline_at``: the
    terminal's time of the sale) counts only those from before it: a sale made before the block
    is accepted when it is synced later.
    """
    at = offline_at
    if state.blocked_at is not None and (at is None or dt.datetime.fromisoformat(state.blocked_at) <= at):
        return ApiError(state.block_code or "card_blocked")
    if state.retired_at is not None and (at is None or dt.datetime.fromisoformat(state.retired_at) <= at):
        return ApiError("card_replaced")
    expires = state.certificate_expires_at
    if expires is not None and dt.datetime.fromisoformat(expires) < (at or now):
        return ApiError("certificate_expired")
    return None


def account_of(
    conn: sqlite3.Connection,
    card_key: str,
    now: dt.datetime,
    offline_at: dt.datetime | None = None,
    *,
    lock: bool = False,
) -> str | None:
    """The account number of a usable card key, or ``None`` for a key never linked (read paths).

    ``lock``: read under the key's row lock (write paths: see :func:`key_state`).

    Raises:
        ApiError: ``card_blocked``, ``certificate_revoked``, ``card_replaced`` or ``certificate_expired``.
    """
    state = key_state(conn, card_key, lock=lock)
    if state is None:
        return None
    error = refusal(state, now, offline_at)
    if error is not None:
        raise error
    return state.account_number


def open_account(
    conn: sqlite3.Connection, card_key: str, now: dt.datetime, offline_at: dt.datetime | None = None
) -> str:
    """The account number of a usable card key; a key never seen gets a new account (write paths).

    ``offline_at`` is an offline sale's time on the terminal (see :func:`refusal`). The key is read
    under its row lock (:func:`key_state`).

    Raises:
        ApiError: as :func:`account_of`.
    """
    number = account_of(conn, card_key, now, offline_at, lock=True)
    if number is not None:
        return number
    number = _create(conn, now)
    inserted = conn.execute(
        "INSERT INTO card_keys(card_key, account_number, linked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (card_key, number, ledger.iso(now)),
    ).rowcount
    if inserted != 1:
        # Another server process linked the key meanwhile (PostgreSQL): run the job again.
        raise db.Retry(f"card key {card_key[:12]} was linked meanwhile")
    return number


def _create(conn: sqlite3.Connection, now: dt.datetime) -> str:
    for _ in range(20):
        number = new_number()
        inserted = conn.execute(
            "INSERT INTO resident_accounts(number, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (number, ledger.iso(now)),
        ).rowcount
        if inserted == 1:
            return number
    raise RuntimeError("no free account number in 20 draws")  # 31**7 numbers: never, in practice


def note_certificate(
    conn: sqlite3.Connection, card_key: str, issuer: str, serial: str, expires_at: dt.datetime
) -> None:
    """Remember what a verified certificate says of its key (its issuer, serial and last moment).

    A later CRL can then block the key, and a lookup refuse it once the certificate has expired.
    """
    conn.execute(
        "UPDATE card_keys SET certificate_issuer = ?, certificate_serial = ?, certificate_expires_at = ?"
        " WHERE card_key = ?",
        (issuer, serial, ledger.iso(expires_at), card_key),
    )


def blocked_keys(conn: sqlite3.Connection) -> list[str]:
    """Every blocked key, for the terminals' offline block list (oldest block first)."""
    rows = conn.execute(
        "SELECT card_key FROM card_keys WHERE blocked_at IS NOT NULL ORDER BY blocked_at, card_key"
    )
    return [row[0] for row in rows.fetchall()]


def note_block_changes(conn: sqlite3.Connection, keys: list[str], blocked: bool, now: dt.datetime) -> None:
    """Number each block (or unblock) of ``keys`` in ``block_list_changes``, the terminals' deltas.

    Called in the transaction that changes ``card_keys.blocked_at``, by every path that does.
    """
    conn.executemany(
        "INSERT INTO block_list_changes(card_key, blocked, at) VALUES (?, ?, ?)",
        [(key, 1 if blocked else 0, ledger.iso(now)) for key in keys],
    )


def block_list_version(conn: sqlite3.Connection) -> str:
    """The block list's version: its last change's number and time (``0:`` before any change).

    The time makes a version from another history (a database restored from a backup, then
    changed) differ from this one's at the same number: such a terminal gets the whole list.
    """
    row = conn.execute(
        "SELECT seq, at FROM block_list_changes WHERE seq = (SELECT MAX(seq) FROM block_list_changes)"
    ).fetchone()
    return "0:" if row is None else f"{int(row[0])}:{row[1]}"


#: Below this many changes a delta is sent even when the whole list is shorter (a few KB either way).
DELTA_FLOOR = 256


def block_list_delta(conn: sqlite3.Connection, since: str) -> tuple[list[str], list[str]] | None:
    """The keys blocked and unblocked since version ``since``, or None when the whole list must go.

    None when ``since`` is not a version of this history (unknown, from a restored database, in
    the future) or when the changes since outnumber both the whole list's keys and :data:`DELTA_FLOOR`.
    """
    number, _, at = since.partition(":")
    if not number.isascii() or not number.isdigit() or len(number) > 18:  # 18 digits fit a BIGINT
        return None
    seq = int(number)
    if seq > 0:
        row = conn.execute("SELECT at FROM block_list_changes WHERE seq = ?", (seq,)).fetchone()
        if row is None or row[0] != at:
            return None
    elif at:
        return None
    (count,) = conn.execute("SELECT COUNT(*) FROM block_list_changes WHERE seq > ?", (seq,)).fetchone()
    if int(count) > DELTA_FLOOR and int(count) > int(
        conn.execute("SELECT COUNT(*) FROM card_keys WHERE blocked_at IS NOT NULL").fetchone()[0]
    ):
        return None
    changes = conn.execute(
        "SELECT card_key, blocked FROM block_list_changes WHERE seq > ? ORDER BY seq", (seq,)
    ).fetchall()
    last: dict[str, bool] = {}
    for card_key, blocked in changes:
        last.pop(card_key, None)
        last[card_key] = bool(blocked)  # a key's last change decides, in the order of the last changes
    return [k for k, b in last.items() if b], [k for k, b in last.items() if not b]


# Consistency --------------------------------------------------------------------------


def problems(conn: sqlite3.Connection) -> list[str]:
    """What ``mykey-server check`` reports of accounts and keys (empty: consistent).

    Checks: every key's block is the last change the terminals' block list was sent
    (``block_list_changes``), no key is linked to two accounts, every key's account exists and was not merged
    away, every resident ledger account is owned by an account number, and no blocked or retired
    (replaced) key has a sale made after its block or retirement (an offline sale counts at its
    terminal time).
    """
    found: list[str] = []
    for card_key, blocked, noted in conn.execute(
        "SELECT k.card_key, CASE WHEN k.blocked_at IS NULL THEN 0 ELSE 1 END, c.blocked FROM card_keys k"
        " LEFT JOIN block_list_changes c ON c.seq = (SELECT MAX(seq) FROM block_list_changes l"
        " WHERE l.card_key = k.card_key)"
        " WHERE CASE WHEN k.blocked_at IS NULL THEN 0 ELSE 1 END != COALESCE(c.blocked, 0)"
        " ORDER BY k.card_key"
    ):
        said = {None: "no change", 0: "an unblock", 1: "a block"}[noted]
        state = "blocked" if blocked else "not blocked"
        found.append(f"card key {card_key[:12]} is {state}, but the block list's last change says {said}")
    for card_key, count in conn.execute(
        "SELECT card_key, COUNT(DISTINCT account_number) FROM card_keys GROUP BY card_key"
        " HAVING COUNT(DISTINCT account_number) > 1"
    ):
        found.append(f"card key {card_key[:12]} is linked to {count} accounts")
    for card_key, number, merged in conn.execute(
        "SELECT k.card_key, k.account_number, r.merged_into FROM card_keys k"
        " LEFT JOIN resident_accounts r ON r.number = k.account_number"
        " WHERE r.number IS NULL OR r.merged_into IS NOT NULL ORDER BY k.card_key"
    ):
        state = "does not exist" if merged is None else f"was merged into {merged}"
        found.append(f"card key {card_key[:12]} is linked to account {number}, which {state}")
    for account_id, owner in conn.execute(
        "SELECT a.id, a.owner FROM accounts a LEFT JOIN resident_accounts r ON r.number = a.owner"
        " WHERE a.kind = 'resident' AND r.number IS NULL ORDER BY a.id"
    ):
        found.append(f"resident ledger account {account_id} is owned by {owner[:12]}, not an account number")
    for sale_id, card_key, offline, terminal_time, accepted_at, retired_at in conn.execute(
        "SELECT s.sale_id, s.card_key, s.offline, s.terminal_time, s.accepted_at, k.retired_at FROM sales s"
        " JOIN card_keys k ON k.card_key = s.card_key WHERE k.retired_at IS NOT NULL ORDER BY s.sale_id"
    ):
        used = dt.datetime.fromisoformat(terminal_time if offline else accepted_at)
        if used >= dt.datetime.fromisoformat(retired_at):
            found.append(
                f"sale {sale_id} of card key {card_key[:12]} was made after it was replaced at {retired_at}"
            )
    for sale_id, card_key, offline, terminal_time, accepted_at, blocked_at in conn.execute(
        "SELECT s.sale_id, s.card_key, s.offline, s.terminal_time, s.accepted_at, k.blocked_at FROM sales s"
        " JOIN card_keys k ON k.card_key = s.card_key WHERE k.blocked_at IS NOT NULL ORDER BY s.sale_id"
    ):
        used = dt.datetime.fromisoformat(terminal_time if offline else accepted_at)
        if used >= dt.datetime.fromisoformat(blocked_at):
            found.append(
                f"sale {sale_id} of card key {card_key[:12]} was made after its block at {blocked_at}"
            )
    return found
