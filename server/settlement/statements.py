"""Statements (精算明細) per merchant and period, summary CSVs per chamber and city, partner reports.

The JSON statement is what the counter app prints as a slip (through ``printers/``; the server
never imports terminal code). CSVs are UTF-8 with a BOM so Excel opens the Japanese columns
correctly, and CRLF line ends as Excel writes them.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from typing import Any

from server.settlement import claims, store
from server.settlement.claims import Scope
from server.settlement.periods import parse_period

BOM = "\ufeff"
STATE_JA = {
    "submitted": "審査待ち",
    "approved": "商工会承認済み",
    "returned": "差し戻し",
    "payment_approved": "支払承認済み",
}


def _program_names(conn: sqlite3.Connection) -> dict[str, str]:
    return {
        row[0]: json.loads(row[1]).get("name_ja", row[0])
        for row in conn.execute("SELECT id, definition FROM programs")
    }


def statement(conn: sqlite3.Connection, scope: Scope, merchant_id: str, period_id: str) -> dict[str, Any]:
    """A merchant's statement for a period: each claim, its disputed lines, and the totals.

    Only what ``scope`` may see is included (a merchant asking for another's gets nothing: the
    API refuses before calling this).
    """
    store.ensure(conn)
    parse_period(period_id)
    merchant = conn.execute(
        "SELECT id, name, invoice_number, chamber_id FROM merchants WHERE id = ?", (merchant_id,)
    ).fetchone()
    names = _program_names(conn)
    rows = claims.list_claims(conn, scope, period_id=period_id, merchant_id=merchant_id)
    lines = [
        {
            "claim_id": c["id"],
            "program_id": c["program_id"],
            "program_name": names.get(c["program_id"], c["program_id"]),
            "city_id": c["city_id"],
            "payout": c["payout"],
            "redeemed_points": c["redeemed_points"],
            "redeemed_tickets": c["redeemed_tickets"],
            "voided": c["voided"],
            "gross": c["gross"],
            "fee_share_permille": c["fee_share_permille"],
            "fee": c["fee"],
            "fee_remainder": c["fee_remainder"],
            "net": c["net"],
            "disputed": c["disputed"],
            "state": c["state"],
            "state_ja": STATE_JA[c["state"]],
            "return_reason": c["return_reason"],
        }
        for c in rows
    ]
    disputed = claims.disputed_lines(conn, period_id, merchant_id=merchant_id)
    if scope.role == "city":
        # A city sees the disputed lines of its own programs only, like the claims.
        own = {row[0] for row in conn.execute("SELECT id FROM programs WHERE city_id = ?", (scope.city_id,))}
        disputed = [line for line in disputed if line["program_id"] in own]
    return {
        "merchant": {
            "id": merchant_id,
            "name": merchant[1] if merchant else merchant_id,
            "invoice_number": merchant[2] if merchant else None,
            "chamber_id": merchant[3] if merchant else None,
        },
        "period_id": period_id,
        "claims": lines,
        "disputed": disputed,
        "totals": {
            key: sum(line[key] for line in lines) for key in ("gross", "fee", "net", "disputed", "voided")
        },
    }


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM + out.getvalue()).encode("utf-8")


def statement_csv(doc: dict[str, Any]) -> bytes:
    """A statement as CSV (UTF-8 with BOM): one row per claim, then the disputed lines."""
    header = [
        "期間",
        "加盟店",
        "事業",
        "自治体",
        "ポイント利用",
        "ポイント券",
        "取消",
        "請求額",
        "手数料",
        "手数料端数",
        "支払額",
        "保留（係争）",
        "状態",
        "差し戻し理由",
    ]
    rows: list[list[Any]] = [
        [
            doc["period_id"],
            doc["merchant"]["id"],
            line["program_name"],
            line["city_id"],
            line["redeemed_points"],
            line["redeemed_tickets"],
            line["voided"],
            line["gross"],
            line["fee"],
            line["fee_remainder"],
            line["net"],
            line["disputed"],
            line["state_ja"],
            line["return_reason"] or "",
        ]
        for line in doc["claims"]
    ]
    totals = doc["totals"]
    rows.append(
        [
            doc["period_id"],
            doc["merchant"]["id"],
            "合計",
            "",
            "",
            "",
            totals["voided"],
            totals["gross"],
            totals["fee"],
            "",
            totals["net"],
            totals["disputed"],
            "",
            "",
        ]
    )
    for line in doc["disputed"]:
        rows.append(
            [
                doc["period_id"],
                doc["merchant"]["id"],
                line["program_id"] or "",
                "係争",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                line["amount"],
                line["error_code"],
                f"{line['sale_id']} {line['message']}",
            ]
        )
    return _csv(header, rows)


def summary_csv(conn: sqlite3.Connection, scope: Scope, period_id: str) -> bytes:
    """A chamber's or a city's summary for a period: one row per claim in scope, and a total row."""
    names = _program_names(conn)
    rows_in = claims.list_claims(conn, scope, period_id=period_id)
    header = [
        "期間",
        "商工会",
        "加盟店",
        "加盟店名",
        "事業",
        "自治体",
        "支払経路",
        "請求額",
        "手数料",
        "支払額",
        "保留（係争）",
        "状態",
    ]
    rows: list[list[Any]] = [
        [
            c["period_id"],
            c["chamber_id"],
            c["merchant_id"],
            c["merchant_name"] or "",
            names.get(c["program_id"], c["program_id"]),
            c["city_id"],
            "市から直接" if c["payout"] == "city_direct" else "商工会経由",
            c["gross"],
            c["fee"],
            c["net"],
            c["disputed"],
            STATE_JA[c["state"]],
        ]
        for c in rows_in
    ]
    rows.append(
        [
            period_id,
            "",
            "",
            "合計",
            "",
            "",
            "",
            sum(c["gross"] for c in rows_in),
            sum(c["fee"] for c in rows_in),
            sum(c["net"] for c in rows_in),
            sum(c["disputed"] for c in rows_in),
            "",
        ]
    )
    return _csv(header, rows)


def partner_report(
    conn: sqlite3.Connection, period_id: str, city_id: str | None = None
) -> list[dict[str, Any]]:
    """Partner-funded points per partner and program for a period, so the city can bill each partner.

    ``converted`` is what the partner's conversions put on residents' cards during the period
    (by server time); ``redeemed`` is what merchants' claims of the period counted for programs
    the partner funds.
    """
    store.ensure(conn)
    period = parse_period(period_id)
    report: dict[tuple[str, str], dict[str, Any]] = {}

    def line(partner_id: str, program_id: str, program_city: str) -> dict[str, Any]:
        key = (partner_id, program_id)
        return report.setdefault(
            key,
            {
                "partner_id": partner_id,
                "program_id": program_id,
                "city_id": program_city,
                "converted": 0,
                "redeemed": 0,
            },
        )

    for partner_id, program_id, program_city, points in conn.execute(
        "SELECT v.partner_id, v.program_id, p.city_id, SUM(v.points) FROM conversions v"
        " JOIN programs p ON p.id = v.program_id WHERE v.created_at >= ? AND v.created_at < ?"
        " GROUP BY 1, 2, 3",
        (period.starts_at, period.ends_at),
    ):
        line(partner_id, program_id, program_city)["converted"] += points
    for partner_id, program_id, program_city, gross in conn.execute(
        "SELECT p.funding_id, p.id, p.city_id, SUM(c.gross) FROM claims c"
        " JOIN programs p ON p.id = c.program_id"
        " WHERE c.period_id = ? AND p.funding_kind = 'partner' GROUP BY 1, 2",
        (period_id,),
    ):
        line(partner_id, program_id, program_city)["redeemed"] += gross
    return [report[key] for key in sorted(report) if city_id is None or report[key]["city_id"] == city_id]
