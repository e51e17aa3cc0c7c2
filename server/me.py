"""The resident's own page on a city's site: balances, lots, and what happened to the points.

A signed-in resident (role ``resident``, :mod:`server.approvals`) sees the programs of the site's
city and those the site accepts — not what the account holds elsewhere, which is not the site's
to show. History is read from the ledger's transfers to and from the account (no item lines: the
server holds none), newest first; ``points`` is signed (+ to the resident).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3

from points.programs import Program
from server import approvals, ledger
from server.auth import Principal

#: The operation kinds of the ledger as the page names them (others, like the orders', as they are).
KINDS = {
    "grant": "award",
    "exchange": "conversion",
    "ticket_issue": "ticket",
    "ticket_cancel": "ticket",
    "merge": "move",
}
#: The CSV's words for each kind.
KIND_JA = {
    "sale": "お買い物",
    "void": "取消",
    "return": "返品",
    "award": "付与",
    "conversion": "交換",
    "ticket": "ポイント券",
    "order": "特設サイトのご注文",
    "order_cancel": "ご注文の取消",
    "order_refund": "ご注文の返金",
    "expiry": "有効期限切れ",
    "move": "カードの移行",
}
CSV_HEADERS = ("日時", "種類", "ポイント事業", "ポイント", "店舗", "取引番号")


def site_programs(
    conn: sqlite3.Connection, principal: Principal, programs: dict[str, Program]
) -> list[Program]:
    """The programs the resident's page on this site shows: the site's city's and those it accepts."""
    shop = approvals.shop_of(conn, principal.shop_id or "")
    if shop is None:
        return []
    return sorted(
        (p for p in programs.values() if p.city == shop.city_id or p.id in shop.programs), key=lambda p: p.id
    )


def summary(
    conn: sqlite3.Connection, principal: Principal, programs: dict[str, Program], now: dt.datetime
) -> dict[str, object]:
    """``GET /v1/me``: the account number and, per program it holds points in, the balance and its lots."""
    number = principal.account_number
    today = ledger.business_date(now).isoformat()
    shown: list[dict[str, object]] = []
    for program in site_programs(conn, principal, programs):
        account_id = ledger.find_account(conn, "resident", number or "", program.id)
        if account_id is None:
            continue
        lots = conn.execute(
            "SELECT expires_on, SUM(remaining) FROM lots WHERE account_id = ? AND remaining > 0"
            " AND expires_on >= ? GROUP BY expires_on ORDER BY expires_on",
            (account_id, today),
        ).fetchall()
        shown.append(
            {
                "program_id": program.id,
                "name": program.display_name("ja"),
                "balance": sum(int(points) for _day, points in lots),
                "lots": [{"points": int(points), "expires_on": day} for day, points in lots],
            }
        )
    return {"account_number": number, "programs": shown}


def history_sql(accounts: int) -> str:
    """The history's query for ``accounts`` account ids (twice), a ``before`` id and a limit.

    It reads the transfers by the indexes ``transfers_debit`` / ``transfers_credit`` (migration 13),
    not by a backward scan of every transfer.
    """
    marks = ", ".join("?" for _ in range(accounts))
    return (
        "SELECT t.id, t.created_at, t.op_kind, t.program_id, t.amount, t.credit_account_id, m.name, t.sale_id"
        " FROM transfers t LEFT JOIN merchants m ON m.id = t.merchant_id"
        f" WHERE (t.debit_account_id IN ({marks}) OR t.credit_account_id IN ({marks})) AND t.id < ?"
        " ORDER BY t.id DESC LIMIT ?"
    )


def history(
    conn: sqlite3.Connection,
    principal: Principal,
    programs: dict[str, Program],
    *,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, object]], int | None]:
    """``GET /v1/me/history``: ``limit`` items older than ``before``, and the next cursor (or ``None``)."""
    ids = [
        account_id
        for p in site_programs(conn, principal, programs)
        if (account_id := ledger.find_account(conn, "resident", principal.account_number or "", p.id))
    ]
    if not ids:
        return [], None
    rows = conn.execute(
        history_sql(len(ids)), (*ids, *ids, before if before is not None else 2**62, limit + 1)
    ).fetchall()
    mine = set(ids)
    items = [
        {
            "at": at,
            "kind": KINDS.get(op_kind or "", op_kind),
            "program_id": program_id,
            "points": int(amount) if credit in mine else -int(amount),
            "merchant_name": merchant_name,
            "ref": ref,
        }
        for _id, at, op_kind, program_id, amount, credit, merchant_name, ref in rows[:limit]
    ]
    after = int(rows[limit - 1][0]) if len(rows) > limit else None
    return items, after


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a text starting with = + - @ is quoted)."""
    text = "" if value is None else str(value)
    if not isinstance(value, int) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def history_csv(conn: sqlite3.Connection, principal: Principal, programs: dict[str, Program]) -> bytes:
    """``GET /v1/me/history.csv``: every item, UTF-8 with a BOM (Excel), Japanese headers, JST times."""
    names = {p.id: p.display_name("ja") for p in programs.values()}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    before: int | None = None
    while True:
        items, before = history(conn, principal, programs, before=before, limit=200)
        for item in items:
            at = dt.datetime.fromisoformat(str(item["at"])).astimezone(ledger.JST)
            writer.writerow(
                [
                    _cell(at.strftime("%Y-%m-%d %H:%M")),
                    _cell(KIND_JA.get(str(item["kind"]), item["kind"])),
                    _cell(names.get(str(item["program_id"]), item["program_id"])),
                    _cell(item["points"]),
                    _cell(item["merchant_name"]),
                    _cell(item["ref"]),
                ]
            )
        if before is None:
            break
    return ("\ufeff" + out.getvalue()).encode("utf-8")
