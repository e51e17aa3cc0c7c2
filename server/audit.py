"""The audit log (監査ログ): one append-only table of who did what, for administration and settlement.

Administrative acts (the command line, demo data) and settlement's (closes, reopens with their
reason, approvals, returns, payout files, ranking runs) are lines of ``audit_log(id, at, actor,
action, subject, detail)``: ``subject`` names what was acted on (``claim:<id>``,
``period:<chamber>:<period>``, a merchant id), ``detail`` is a JSON object of the rest.
"""

from __future__ import annotations

import json
import sqlite3

from server.ledger import iso, utc_now


def append(conn: sqlite3.Connection, actor: str, action: str, subject: str = "", **detail: object) -> None:
    """Append one line (inside the caller's transaction, so it stands or falls with the act)."""
    conn.execute(
        "INSERT INTO audit_log(at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (iso(utc_now()), actor, action, subject, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
    )


def lines(conn: sqlite3.Connection, subject_prefix: str = "") -> list[dict[str, object]]:
    """The log, oldest first, optionally only subjects starting with ``subject_prefix``."""
    rows = conn.execute(
        "SELECT at, actor, action, subject, detail FROM audit_log WHERE substr(subject, 1, ?) = ?"
        " ORDER BY id",
        (len(subject_prefix), subject_prefix),
    ).fetchall()
    return [
        {"at": r[0], "actor": r[1], "action": r[2], "subject": r[3], "detail": json.loads(r[4])} for r in rows
    ]
