"""Settlement's own tables, next to the ledger's (:mod:`server.ledger`); created by :mod:`server.schema`.

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
- closes, reopens (with their reason), approvals, returns, payout files and ranking runs are lines
  of the one audit log (:mod:`server.audit`).
- ``payers(owner, requester_code, name_kana, bank_code, branch_code, account_type, account_number)``
  — the 依頼人 side of a Zengin file: ``city:<id>`` or ``chamber:<id>``.
- ``ranking_runs(run_id, program_id, threshold, top_k, created_at, result)`` and
  ``ranking_awards(program_id, card_key, run_id, ...)`` — the Bungotakada batch, idempotent.
"""

from __future__ import annotations

import sqlite3

from server import audit, schema

#: Settlement's names for the audit log's two functions (its call sites say ``store.log``).
log = audit.append
log_lines = audit.lines


def ensure(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Bring the database's schema (settlement's tables with it) up to date; returns ``conn``.

    One ``PRAGMA user_version`` read when it is current. Call it outside a transaction.
    """
    schema.upgrade(conn)
    return conn
