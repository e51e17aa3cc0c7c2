"""Shop receipts at the ticket counter (Tenri): one receipt earns tickets once, and as the server knows it.

A receipt number is compared in its normal form (:func:`normal_receipt_no`): ``1``, ``01``,
``0000001`` and a full-width ``１`` are one receipt. A receipt printed by a mykey-pos terminal is a
sale the server holds: the counter scans its QR code (the sale id) or types its number, and the
receipt must match that sale (same shop, number, day and amount) and the sale must stand (not
voided). The tickets such a receipt earns remember the sale, and voiding the sale cancels those
not yet redeemed (:func:`cancel_tickets_of`): their value goes back to the program's funder.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import unicodedata

from points.wire import ReceiptForTickets
from server import db, ledger
from server.errors import ApiError


def normal_receipt_no(text: str) -> str:
    """A receipt number as compared and stored: NFKC, trimmed, upper case; digits lose leading zeros.

    Raises:
        ApiError: ``invalid_request`` for a number that is only spaces.
    """
    normal = unicodedata.normalize("NFKC", text).strip().upper()
    if not normal:
        raise ApiError("invalid_request", "a receipt number is not blank")
    if normal.isascii() and normal.isdigit():
        return normal.lstrip("0") or "0"
    return normal


def sale_of_receipt(conn: sqlite3.Connection, receipt: ReceiptForTickets, receipt_no: str) -> str | None:
    """The mykey-pos sale a receipt is, checked against it; ``None`` for a receipt of another till.

    By its sale id (the QR code) when given, else by the shop's sales of that day with its number.

    Raises:
        ApiError: ``receipt_sale_unknown`` (no sale of that id), ``receipt_sale_voided``,
            ``receipt_mismatch`` (another shop, number, day or amount than the sale's).
    """
    columns = "SELECT sale_id, merchant_id, receipt_no, business_date, total, status FROM sales"
    # Read FOR SHARE (PostgreSQL): a void of the sale, which locks its row FOR UPDATE, waits for these
    # tickets' commit and then cancels them; or this read waits for the void's and sees it voided.
    lock = db.row_lock(conn, "SHARE")
    if receipt.sale_id is not None:
        candidates = conn.execute(f"{columns} WHERE sale_id = ?{lock}", (receipt.sale_id,)).fetchall()
        if not candidates:
            raise ApiError("receipt_sale_unknown", receipt.sale_id)
    elif receipt_no.isascii() and receipt_no.isdigit() and len(receipt_no) <= 10:
        # The shop's sales accepted on that Japan-time day (the index on merchant and time).
        start = dt.datetime.combine(receipt.date, dt.time(), ledger.JST)
        candidates = conn.execute(
            f"{columns} WHERE merchant_id = ? AND accepted_at >= ? AND accepted_at < ?"
            f" AND receipt_no = ?{lock}",
            (
                receipt.merchant_id,
                ledger.iso(start),
                ledger.iso(start + dt.timedelta(days=1)),
                int(receipt_no),
            ),
        ).fetchall()
        if not candidates:
            return None
    else:
        return None
    same = [
        row
        for row in candidates
        if (row[1], str(row[2]), row[3], row[4])
        == (receipt.merchant_id, receipt_no, receipt.date.isoformat(), receipt.amount)
    ]
    standing = [row for row in same if row[5] == "accepted"]
    if standing:
        return str(standing[0][0])
    if same:
        raise ApiError("receipt_sale_voided", str(same[0][0]))
    raise ApiError(
        "receipt_mismatch", f"{receipt.merchant_id} {receipt.receipt_no} {receipt.date.isoformat()}"
    )


def accounts_of_tickets_of(conn: sqlite3.Connection, sale_id: str) -> list[int]:
    """The tickets-outstanding accounts of the tickets a sale's receipt earned (to lock before a void).

    A sale that redeems one of those tickets holds its program's account lock until it commits, so
    a void that takes these locks first reads each ticket's state as that sale left it.
    """
    return [
        ledger.account(conn, "tickets", "outstanding", row[0])
        for row in conn.execute(
            "SELECT DISTINCT program_id FROM tickets WHERE receipt_sale_id = ? ORDER BY program_id",
            (sale_id,),
        )
    ]


def cancel_tickets_of(conn: sqlite3.Connection, sale_id: str, now: dt.datetime) -> int:
    """Cancel the unredeemed tickets a (now voided) sale's receipt earned; returns how many.

    Each one's issue transfer is reversed (operation ``ticket_cancel`` of the issue's id), so the
    tickets outstanding fall by its value and the funder gets it back. The caller holds the locks of
    :func:`accounts_of_tickets_of` (PostgreSQL).
    """
    rows = conn.execute(
        "SELECT serial, issue_id FROM tickets WHERE receipt_sale_id = ? AND state = 'issued' ORDER BY serial",
        (sale_id,),
    ).fetchall()
    for serial, issue_id in rows:
        for transfer in ledger.transfers_of(conn, issue_id, "ticket_issue"):
            if transfer.ticket_serial == serial:
                ledger.reverse(conn, transfer, now, op_kind="ticket_cancel")
        conn.execute("UPDATE tickets SET state = 'cancelled' WHERE serial = ?", (serial,))
    return len(rows)
