"""Claims (請求): listing them for whoever may see them, approving and returning them, their lines.

A claim moves ``submitted`` → ``approved`` (the chamber checked it) → ``payment_approved`` (the city
of the issuing program agreed to pay). The chamber may instead return it with a reason the
merchant sees (``returned``); it may approve a returned claim later, or return an approved one
until the city has approved payment. The amounts never change after the close: a correction is a
reopen (admin) or a new transfer counted in the next period.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from server import audit
from server.db import atomic
from server.ledger import iso, utc_now
from server.settlement import store
from server.settlement.errors import SettlementError
from server.settlement.periods import COUNTED_KIND

CLAIM_COLUMNS = (
    "id",
    "period_id",
    "chamber_id",
    "merchant_id",
    "program_id",
    "city_id",
    "payout",
    "fee_share_permille",
    "redeemed_points",
    "redeemed_tickets",
    "voided",
    "disputed",
    "gross",
    "fee",
    "fee_remainder_permille",
    "net",
    "transfer_count",
    "state",
    "return_reason",
    "chamber_approved_by",
    "city_approved_by",
    "created_at",
    "updated_at",
    "online",
    "online_fee",
    "online_fee_bp",
)
# The names beside the codes, so that clerks read 「天理めぐみポイント」, not ``tenri-megumi``.
_SELECT = "SELECT " + ", ".join(f"c.{c}" for c in CLAIM_COLUMNS)
_SELECT += ", m.name, p.definition, ci.name, ch.name FROM claims c"
_SELECT += " LEFT JOIN merchants m ON m.id = c.merchant_id LEFT JOIN programs p ON p.id = c.program_id"
_SELECT += " LEFT JOIN cities ci ON ci.id = c.city_id LEFT JOIN chambers ch ON ch.id = c.chamber_id"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a principal may see: ``None`` everywhere for an admin, else its merchant, chamber or city."""

    role: str
    merchant_id: str | None = None
    chamber_id: str | None = None
    city_id: str | None = None

    def where(self) -> tuple[str, list[str]]:
        """A SQL condition on ``claims c`` limiting rows to this scope."""
        if self.role == "admin":
            return "1 = 1", []
        if self.role == "merchant":
            return "c.merchant_id = ?", [self.merchant_id or ""]
        if self.role == "chamber":
            return "c.chamber_id = ?", [self.chamber_id or ""]
        if self.role == "city":
            return "c.city_id = ?", [self.city_id or ""]
        return "1 = 0", []

    def sees(self, claim: dict[str, Any]) -> bool:
        """True when the claim is within this scope."""
        if self.role == "admin":
            return True
        column = {"merchant": "merchant_id", "chamber": "chamber_id", "city": "city_id"}.get(self.role)
        mine = {"merchant": self.merchant_id, "chamber": self.chamber_id, "city": self.city_id}.get(self.role)
        return column is not None and mine is not None and claim[column] == mine


def _row(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    values = tuple(row)
    claim = dict(zip(CLAIM_COLUMNS, values[:-4], strict=True))
    merchant, definition, city, chamber = values[-4:]
    claim["merchant_name"] = merchant
    name = json.loads(definition).get("name_ja") if definition else None
    claim["program_name"] = str(name or claim["program_id"]) if definition else ""
    claim["city_name"] = city or ""
    claim["chamber_name"] = chamber or ""
    claim["fee_remainder"] = f"0.{claim['fee_remainder_permille']:03d}"
    return claim


def list_claims(
    conn: sqlite3.Connection,
    scope: Scope,
    *,
    period_id: str | None = None,
    state: str | None = None,
    merchant_id: str | None = None,
    program_id: str | None = None,
) -> list[dict[str, Any]]:
    """The claims in ``scope``, filtered, ordered by period, chamber, merchant and program."""
    store.ensure(conn)
    condition, params = scope.where()
    sql = f"{_SELECT} WHERE {condition}"
    for column, value in (
        ("period_id", period_id),
        ("state", state),
        ("merchant_id", merchant_id),
        ("program_id", program_id),
    ):
        if value is not None:
            sql += f" AND c.{column} = ?"
            params.append(value)
    sql += " ORDER BY c.period_id, c.chamber_id, c.merchant_id, c.program_id"
    return [_row(r) for r in conn.execute(sql, params).fetchall()]


def get_claim(conn: sqlite3.Connection, scope: Scope, claim_id: str) -> dict[str, Any]:
    """One claim, if ``scope`` may see it.

    Raises:
        SettlementError: ``claim_not_found`` (also for a claim out of scope: its existence is not told).
    """
    store.ensure(conn)
    row = conn.execute(f"{_SELECT} WHERE c.id = ?", (claim_id,)).fetchone()
    if row is None or not scope.sees(claim := _row(row)):
        raise SettlementError("claim_not_found", claim_id)
    return claim


def approve(conn: sqlite3.Connection, scope: Scope, claim_id: str, actor: str) -> dict[str, Any]:
    """Approve a claim: a chamber approves it as checked, a city approves its payment.

    Raises:
        SettlementError: ``claim_not_found`` or ``claim_state`` (e.g. the city approving a claim
            the chamber has not approved, or anyone approving one the city already approved).
    """
    store.ensure(conn)
    with atomic(conn):
        claim = get_claim(conn, scope, claim_id)
        state = claim["state"]
        if scope.role == "chamber" and state in ("submitted", "returned", "approved"):
            new, column = "approved", "chamber_approved_by"
        elif scope.role == "city" and state in ("approved", "payment_approved"):
            new, column = "payment_approved", "city_approved_by"
        else:
            raise SettlementError("claim_state", f"{scope.role} cannot approve a {state} claim")
        if state != new:
            conn.execute(
                f"UPDATE claims SET state = ?, {column} = ?, return_reason = NULL, updated_at = ?"
                " WHERE id = ?",
                (new, actor, iso(utc_now()), claim_id),
            )
            audit.append(conn, actor, f"approve:{scope.role}", f"claim:{claim_id}", net=claim["net"])
        return get_claim(conn, scope, claim_id)


def return_claim(
    conn: sqlite3.Connection, scope: Scope, claim_id: str, actor: str, reason: str
) -> dict[str, Any]:
    """Return a claim to its merchant with a reason the merchant sees (chamber only).

    Raises:
        SettlementError: ``reason_required``, ``claim_not_found`` or ``claim_state``.
    """
    if not reason.strip():
        raise SettlementError("reason_required")
    store.ensure(conn)
    with atomic(conn):
        claim = get_claim(conn, scope, claim_id)
        if scope.role not in ("chamber", "admin") or claim["state"] not in (
            "submitted",
            "approved",
            "returned",
        ):
            raise SettlementError("claim_state", f"{scope.role} cannot return a {claim['state']} claim")
        conn.execute(
            "UPDATE claims SET state = 'returned', return_reason = ?, chamber_approved_by = NULL,"
            " updated_at = ? WHERE id = ?",
            (reason.strip(), iso(utc_now()), claim_id),
        )
        audit.append(conn, actor, "return", f"claim:{claim_id}", reason=reason.strip())
        return get_claim(conn, scope, claim_id)


def claim_lines(conn: sqlite3.Connection, scope: Scope, claim_id: str) -> list[dict[str, Any]]:
    """The transfers a claim counted (drill-down to sales): kind, sale, amount, time, ticket serial.

    A return's points back (``return_points``) name the sale returned and its receipt number. An
    online order's lines are ``order_points`` and ``order_return`` (a refund), and a cancelled
    order's points back ``order_void`` (a ``void`` of ``order_points``, as the close sums it); their
    ``sale_id`` is the order's id.
    """
    get_claim(conn, scope, claim_id)
    rows = conn.execute(
        f"""
        SELECT t.id, {COUNTED_KIND}, COALESCE(r.sale_id, t.sale_id), t.amount, t.created_at, t.ticket_serial,
               s.receipt_no, s.offline
        FROM claims c
        CROSS JOIN settlement_periods p ON p.chamber_id = c.chamber_id AND p.period_id = c.period_id
        CROSS JOIN claim_transfers ct ON ct.transfer_id BETWEEN p.first_transfer AND p.last_transfer
                                     AND ct.claim_seq = c.seq
        JOIN transfers t ON t.id = ct.transfer_id
        LEFT JOIN sale_returns r ON r.return_id = t.sale_id AND t.op_kind = 'return'
        LEFT JOIN sales s ON s.sale_id = COALESCE(r.sale_id, t.sale_id)
        LEFT JOIN transfers o ON o.id = t.reverses_id
        WHERE c.id = ? ORDER BY t.id
        """,
        (claim_id,),
    ).fetchall()
    keys = (
        "transfer_id",
        "kind",
        "sale_id",
        "amount",
        "created_at",
        "ticket_serial",
        "receipt_no",
        "offline",
    )
    return [dict(zip(keys, tuple(r), strict=True)) for r in rows]


def disputed_lines(
    conn: sqlite3.Connection, period_id: str, merchant_id: str | None = None, chamber_id: str | None = None
) -> list[dict[str, Any]]:
    """Sales refused on sync that a period lists apart: sale, program, amount, error code and message."""
    store.ensure(conn)
    rows = conn.execute(
        """
        SELECT r.sale_id, r.line_no, r.merchant_id, r.program_id, r.amount, r.error_code, r.message,
               r.terminal_time, r.created_at
        FROM claim_disputes d JOIN refused_sales r ON r.id = d.refused_id
        WHERE d.period_id = :period AND (:merchant IS NULL OR d.merchant_id = :merchant)
          AND (:chamber IS NULL OR d.chamber_id = :chamber)
        ORDER BY r.merchant_id, r.id
        """,
        {"period": period_id, "merchant": merchant_id, "chamber": chamber_id},
    ).fetchall()
    keys = (
        "sale_id",
        "line_no",
        "merchant_id",
        "program_id",
        "amount",
        "error_code",
        "message",
        "terminal_time",
        "accepted_at",
    )
    return [dict(zip(keys, tuple(r), strict=True)) for r in rows]
