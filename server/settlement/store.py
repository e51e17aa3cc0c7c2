"""Settlement's own tables, next to the ledger's (:mod:`server.ledger`), created on first use.

- ``settlement_periods(chamber_id, period_id, starts_at, ends_at, state, cutoff_at, closed_at,
  closed_by, low_water, first_transfer, last_transfer)`` — a chamber's period; ``cutoff_at`` is the
  earlier of its end and the moment it was closed (what it froze); ``low_water`` the smallest
  transfer id a later close must look at; ``first/last_transfer`` the span of ids it counted.
- ``claims(seq, id, period_id, chamber_id, merchant_id, program_id, city_id, payout, fee_share_permille,
  redeemed_points, redeemed_tickets, voided, disputed, gross, fee, fee_remainder_permille, net,
  transfer_count, state, return_reason, created_at, updated_at, chamber_approved_by,
  city_approved_by)`` — one claim per merchant × issuing program × period.
- ``claim_transfers(transfer_id, claim_seq)`` — which ledger transfer a claim counted; the primary
  key on ``transfer_id`` is what makes "nothing counted twice" a database rule. No second index:
  a claim's rows are found within its period's span of transfer ids (one insertion point instead of
  one per claim keeps a million-sale close fast).
- ``claim_disputes(refused_id, period_id, chamber_id, merchant_id, program_id)`` — sales refused on
  sync, listed apart.
- ``settlement_log(id, at, actor, action, subject, detail)`` — closes, reopens (with their reason),
  approvals, returns, payout files and ranking runs.
- ``payers(owner, requester_code, name_kana, bank_code, branch_code, account_type, account_number)``
  — the 依頼人 side of a Zengin file: ``city:<id>`` or ``chamber:<id>``.
- ``ranking_runs(run_id, program_id, threshold, top_k, created_at, result)`` and
  ``ranking_awards(program_id, card_key, run_id, ...)`` — the Bungotakada batch, idempotent.
"""

from __future__ import annotations

import json
import sqlite3

from server.ledger import iso, utc_now

DDL = """
CREATE TABLE IF NOT EXISTS settlement_periods (
    chamber_id TEXT NOT NULL,
    period_id TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    cutoff_at TEXT,
    closed_at TEXT,
    closed_by TEXT,
    low_water INTEGER NOT NULL DEFAULT 0,
    first_transfer INTEGER NOT NULL DEFAULT 0,
    last_transfer INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (chamber_id, period_id)
);

CREATE TABLE IF NOT EXISTS claims (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    period_id TEXT NOT NULL,
    chamber_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    city_id TEXT NOT NULL,
    payout TEXT NOT NULL,
    fee_share_permille INTEGER NOT NULL,
    redeemed_points INTEGER NOT NULL,
    redeemed_tickets INTEGER NOT NULL,
    voided INTEGER NOT NULL,
    disputed INTEGER NOT NULL,
    gross INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    fee_remainder_permille INTEGER NOT NULL,
    net INTEGER NOT NULL,
    transfer_count INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'returned', 'payment_approved')),
    return_reason TEXT,
    chamber_approved_by TEXT,
    city_approved_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (period_id, chamber_id, merchant_id, program_id)
);
CREATE INDEX IF NOT EXISTS claims_period ON claims(period_id, city_id);

CREATE TABLE IF NOT EXISTS claim_transfers (
    transfer_id INTEGER PRIMARY KEY,
    claim_seq INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS claim_disputes (
    refused_id INTEGER PRIMARY KEY,
    period_id TEXT NOT NULL,
    chamber_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    program_id TEXT
);
CREATE INDEX IF NOT EXISTS claim_disputes_period ON claim_disputes(period_id, merchant_id);

CREATE TABLE IF NOT EXISTS settlement_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS payers (
    owner TEXT PRIMARY KEY,
    requester_code TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    bank_code TEXT NOT NULL,
    branch_code TEXT NOT NULL,
    account_type INTEGER NOT NULL,
    account_number TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ranking_runs (
    run_id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    top_k INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    result TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ranking_awards (
    program_id TEXT NOT NULL,
    round TEXT NOT NULL,
    card_key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    serials TEXT NOT NULL,
    PRIMARY KEY (program_id, round, card_key)
);
"""


def ensure(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Create settlement's tables if they are missing; returns ``conn``.

    Call it outside a transaction: creating tables runs a script, which commits.
    """
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ranking_awards'"
    ).fetchone()
    if row is None:
        conn.executescript(DDL)
    return conn


def log(conn: sqlite3.Connection, actor: str, action: str, subject: str, **detail: object) -> None:
    """Append one line to the settlement log (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO settlement_log(at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (iso(utc_now()), actor, action, subject, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
    )


def log_lines(conn: sqlite3.Connection, subject_prefix: str = "") -> list[dict[str, object]]:
    """The log, oldest first, optionally only subjects starting with ``subject_prefix``."""
    rows = conn.execute(
        "SELECT at, actor, action, subject, detail FROM settlement_log WHERE substr(subject, 1, ?) = ?"
        " ORDER BY id",
        (len(subject_prefix), subject_prefix),
    ).fetchall()
    return [
        {"at": r[0], "actor": r[1], "action": r[2], "subject": r[3], "detail": json.loads(r[4])} for r in rows
    ]
