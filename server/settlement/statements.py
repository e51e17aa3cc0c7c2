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
from server.settlement.periods import COUNTED_KIND, parse_period

BOM = "\ufeff"
STATE_JA = {
    "submitted": "審査待ち",
    "approved": "商工会承認済み",
    "returned": "差し戻し",
    "payment_approved": "支払承認済み",
}
#: A period with no close yet (or reopened) pays nothing *yet*: the statement says so.
PERIOD_STATE_JA = {"open": "未締め", "closed": "締め済み"}
#: Transfer kinds a claim counts, and the statement's count field for each.
_COUNT_FIELD = {
    "redeem_points": "redeemed_points_count",
    "redeem_ticket": "redeemed_tickets_count",
    "void": "voided_count",
    # A return's points back count with the voids (取消・返品), as the claim's sums do.
    "return_points": "voided_count",
    # Online lines (issue 15): a site's order lines supplied by the merchant, and their cancels and
    # refunds, counted apart from the counter's sales (オンライン販売).
    "order_points": "online_count",
    "order_return": "online_count",
    # A cancelled order's points back are a ``void`` of its ``order_points`` (the close sums them as
    # ``order_void``, :data:`server.settlement.periods.COUNTED_KIND`): an online line's, not a counter void.
    "order_void": "online_count",
}


def _program_names(conn: sqlite3.Connection) -> dict[str, str]:
    return {
        row[0]: json.loads(row[1]).get("name_ja", row[0])
        for row in conn.execute("SELECT id, definition FROM programs")
    }


def _names(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in conn.execute(f"SELECT id, name FROM {table}")}


def _counts(conn: sqlite3.Connection, claim_ids: list[str]) -> dict[str, dict[str, int]]:
    """How many transfers of each kind each claim counted (sales redeeming, tickets, voids)."""
    counts: dict[str, dict[str, int]] = {cid: dict.fromkeys(_COUNT_FIELD.values(), 0) for cid in claim_ids}
    if not claim_ids:
        return counts
    marks = ", ".join("?" * len(claim_ids))
    rows = conn.execute(
        f"""
        SELECT c.id, {COUNTED_KIND} AS kind, COUNT(*) FROM claims c
        CROSS JOIN settlement_periods p ON p.chamber_id = c.chamber_id AND p.period_id = c.period_id
        CROSS JOIN claim_transfers ct ON ct.transfer_id BETWEEN p.first_transfer AND p.last_transfer
                                     AND ct.claim_seq = c.seq
        JOIN transfers t ON t.id = ct.transfer_id
        LEFT JOIN transfers o ON o.id = t.reverses_id
        WHERE c.id IN ({marks}) GROUP BY c.id, {COUNTED_KIND}
        """,
        claim_ids,
    ).fetchall()
    for claim_id, kind, count in rows:
        if kind in _COUNT_FIELD:
            counts[claim_id][_COUNT_FIELD[kind]] += count
    return counts


def payer_name(payout: str, city_name: str, chamber_name: str) -> str:
    """Who pays the merchant, in words: the city directly, or the chamber (the city pays it)."""
    return f"{city_name}（直接）" if payout == "city_direct" else f"{chamber_name}（{city_name}から）"


def period_state(conn: sqlite3.Connection, chamber_id: str | None, period_id: str) -> str:
    """``closed`` once the chamber closed the period (and did not reopen it), else ``open``."""
    row = conn.execute(
        "SELECT state FROM settlement_periods WHERE chamber_id = ? AND period_id = ?",
        (chamber_id or "", period_id),
    ).fetchone()
    return "closed" if row is not None and row[0] == "closed" else "open"


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
    cities, chambers = _names(conn, "cities"), _names(conn, "chambers")
    rows = claims.list_claims(conn, scope, period_id=period_id, merchant_id=merchant_id)
    counts = _counts(conn, [c["id"] for c in rows])
    disputed = claims.disputed_lines(conn, period_id, merchant_id=merchant_id)
    if scope.role == "city":
        # A city sees the disputed lines of its own programs only, like the claims.
        own = {row[0] for row in conn.execute("SELECT id FROM programs WHERE city_id = ?", (scope.city_id,))}
        disputed = [line for line in disputed if line["program_id"] in own]
    for line in disputed:
        line["program_name"] = names.get(line["program_id"], line["program_id"] or "")
    lines = [
        {
            "claim_id": c["id"],
            "program_id": c["program_id"],
            "program_name": names.get(c["program_id"], c["program_id"]),
            "city_id": c["city_id"],
            "city_name": cities.get(c["city_id"], c["city_id"]),
            "payout": c["payout"],
            "payer_name": payer_name(
                c["payout"],
                cities.get(c["city_id"], c["city_id"]),
                chambers.get(c["chamber_id"], c["chamber_id"]),
            ),
            "redeemed_points": c["redeemed_points"],
            "redeemed_tickets": c["redeemed_tickets"],
            "voided": c["voided"],
            "online": c["online"],
            "online_fee": c["online_fee"],
            "online_fee_bp": c["online_fee_bp"],
            "counter_fee": c["fee"] - c["online_fee"],
            **counts[c["id"]],
            "disputed_count": sum(1 for d in disputed if d["program_id"] == c["program_id"]),
            "gross": c["gross"],
            "fee_share_permille": c["fee_share_permille"],
            "fee": c["fee"],
            "fee_remainder": c["fee_remainder"],
            "fee_remainder_permille": c["fee_remainder_permille"],
            "net": c["net"],
            "disputed": c["disputed"],
            "state": c["state"],
            "state_ja": STATE_JA[c["state"]],
            "return_reason": c["return_reason"],
        }
        for c in rows
    ]
    state = period_state(conn, merchant[3] if merchant else None, period_id)
    summed = (
        "gross", "fee", "net", "disputed", "voided", "redeemed_points", "redeemed_tickets",
        "fee_remainder_permille", "disputed_count", "online", "online_fee", "counter_fee",
        *dict.fromkeys(_COUNT_FIELD.values()),
    )  # fmt: skip
    totals = {key: sum(line[key] for line in lines) for key in summed}
    return {
        "merchant": {
            "id": merchant_id,
            "name": merchant[1] if merchant else merchant_id,
            "invoice_number": merchant[2] if merchant else None,
            "chamber_id": merchant[3] if merchant else None,
        },
        "period_id": period_id,
        # An open period has no claims yet: its ¥0 is "not closed", never "nothing to pay".
        "period_state": state,
        "period_state_ja": PERIOD_STATE_JA[state],
        "claims": lines,
        "disputed": disputed,
        "totals": totals,
    }


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM + out.getvalue()).encode("utf-8")


def statement_csv(doc: dict[str, Any]) -> bytes:
    """A statement as CSV (UTF-8 with BOM): one row per claim, a total row, then the disputed lines.

    Every count and amount is a whole number (counts in 件, amounts in 円, the fee's fraction of a
    yen in 1/1000 円), so Excel sums the columns as they are; the total row fills every one of them.
    """
    header = [
        "期間",
        "加盟店",
        "事業",
        "自治体",
        "支払元",
        "ポイント利用件数",
        "ポイント利用",
        "ポイント券枚数",
        "ポイント券",
        "取消件数",
        "取消",
        "オンライン販売件数",
        "オンライン販売",
        "請求額",
        "手数料（店頭）",
        "手数料（オンライン）",
        "手数料",
        "手数料端数（1/1000円）",
        "支払額",
        "保留件数",
        "保留（係争）",
        "状態",
        "差し戻し理由",
    ]
    merchant = doc["merchant"]["name"] or doc["merchant"]["id"]

    def figures(line: dict[str, Any]) -> list[Any]:
        return [
            line["redeemed_points_count"],
            line["redeemed_points"],
            line["redeemed_tickets_count"],
            line["redeemed_tickets"],
            line["voided_count"],
            line["voided"],
            line["online_count"],
            line["online"],
            line["gross"],
            line["counter_fee"],
            line["online_fee"],
            line["fee"],
            line["fee_remainder_permille"],
            line["net"],
            line["disputed_count"],
            line["disputed"],
        ]

    rows: list[list[Any]] = [
        [
            doc["period_id"],
            merchant,
            line["program_name"],
            line["city_name"],
            line["payer_name"],
            *figures(line),
            line["state_ja"],
            line["return_reason"] or "",
        ]
        for line in doc["claims"]
    ]
    totals = doc["totals"]
    closed = doc["period_state"] == "closed"
    rows.append(
        [
            doc["period_id"],
            merchant,
            "合計",
            "",
            "",
            *figures(totals),
            doc["period_state_ja"],
            "" if closed else "期間が締められるまで支払額は確定しません",
        ]
    )
    for line in doc["disputed"]:
        rows.append(
            [
                doc["period_id"],
                merchant,
                line.get("program_name") or line["program_id"] or "",
                "",
                "",
                *([""] * 14),
                1,
                line["amount"],
                "係争",
                # Why, in the server's words; the code last, for whoever looks the sale up.
                f"{line['sale_id']} {line['message']} ({line['error_code']})",
            ]
        )
    return _csv(header, rows)


def summary_csv(conn: sqlite3.Connection, scope: Scope, period_id: str) -> bytes:
    """A chamber's or a city's summary for a period: one row per claim in scope, and a total row."""
    names = _program_names(conn)
    cities = _names(conn, "cities")
    rows_in = claims.list_claims(conn, scope, period_id=period_id)
    header = [
        "期間",
        "商工会",
        "加盟店コード",
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
            c["chamber_name"] or c["chamber_id"],
            c["merchant_id"],
            c["merchant_name"] or "",
            names.get(c["program_id"], c["program_id"]),
            cities.get(c["city_id"], c["city_id"]),
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
