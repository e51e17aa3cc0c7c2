"""Claim periods (精算期間): naming them, closing them per chamber, reopening them.

Period names, bounds and cutoffs are the shared calendar's (:mod:`points.calendar`): ``2026-11``
(a month, the default), ``2026-11a`` / ``2026-11b`` (the 1st-15th and the 16th to the month's end)
or ``2026-W48`` (an ISO week); bounds are Japan time.

Closing a period for a chamber freezes one claim per merchant × issuing program from every ledger
transfer of its merchants that no earlier close has counted and that the server accepted before
the period's cutoff (its end, or the moment of closing if that is earlier). A sale accepted later
— an offline sale synced after the close — is left for the next close: it lands in the next
period, never in a closed one. Each transfer is recorded in ``claim_transfers`` under its id, the
table's primary key, so no transfer can be counted twice. Closing a closed period changes
nothing; reopening is an admin act with a reason, logged, refused once the city has approved
payment.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from points import calendar
from points.calendar import Period
from points.settlement import fee_share, online_fee
from points.settlement_wire import CloseResult
from server.db import atomic, is_postgres
from server.ledger import iso, utc_now
from server.settlement import store
from server.settlement.errors import SettlementError

#: Transfer kinds a claim counts: what a merchant redeemed, and voids of exactly those.
REDEEM_KINDS = ("redeem_points", "redeem_ticket")
#: Where a counted transfer's amount goes in a claim's sums (index in the sums list). Points a
#: return (返品) gave back lower the claim as a void does: the claim's ``voided`` is 取消・返品.
_COLUMN = {"redeem_points": 0, "redeem_ticket": 1, "void": 2, "return_points": 2}
#: Online lines (issue 15) are summed apart: what a merchant supplied to a site's orders (5) and what
#: cancels and refunds took back of it (6); the program's online fee share is kept of their difference.
_COLUMN.update({"order_points": 5, "order_void": 6, "order_return": 6})
#: The kind a counted transfer is summed under: a void of an order's points is an order's cancel.
COUNTED_KIND = "CASE WHEN t.kind = 'void' AND o.kind = 'order_points' THEN 'order_void' ELSE t.kind END"
_EMPTY = (0, 0, 0, 0, 0, 0, 0)


def parse_period(text: str) -> Period:
    """Read a period name (:func:`points.calendar.parse_period`) for the server.

    Raises:
        SettlementError: ``bad_period`` for anything else.
    """
    try:
        return calendar.parse_period(text)
    except calendar.PeriodError:
        raise SettlementError("bad_period", text) from None


def _claim_id(period_id: str, merchant_id: str, program_id: str) -> str:
    return f"{period_id}:{merchant_id}:{program_id}"


def close(
    conn: sqlite3.Connection, chamber_id: str, period: Period, actor: str, now: dt.datetime | None = None
) -> CloseResult:
    """Close ``period`` for ``chamber_id``'s merchants and freeze their claims (idempotent).

    Runs in one ``BEGIN IMMEDIATE`` transaction: sales arriving meanwhile wait for the write lock
    and then carry a later ``created_at``, so they fall after the cutoff.
    """
    store.ensure(conn)
    moment = now or utc_now()
    if period.start > moment:
        # A period not yet begun would freeze this month's claims under next month's name.
        raise SettlementError("period_not_started", period.id)
    with atomic(conn):
        if is_postgres(conn):
            # One close of a chamber at a time (across server processes), and no sale half-way:
            # SHARE waits for every transaction writing transfers to commit and holds new ones
            # back until this one does, as SQLite's write lock does. Without it a transfer whose id
            # was taken before the close but committed after it would fall below the low-water mark.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"settlement close {chamber_id}",))
            conn.execute("LOCK TABLE transfers IN SHARE MODE")
        row = conn.execute(
            "SELECT state, low_water FROM settlement_periods WHERE chamber_id = ? AND period_id = ?",
            (chamber_id, period.id),
        ).fetchone()
        if row is not None and row[0] == "closed":
            return _summary(conn, chamber_id, period.id, already_closed=True)
        low_water = _low_water(conn, chamber_id)
        cutoff = period.cutoff_at(moment)
        first, last = _freeze(conn, chamber_id, period.id, cutoff, low_water, iso(moment))
        conn.execute(
            "INSERT INTO settlement_periods(chamber_id, period_id, starts_at, ends_at, state, cutoff_at,"
            " closed_at, closed_by, low_water, first_transfer, last_transfer)"
            " VALUES (?, ?, ?, ?, 'closed', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(chamber_id, period_id) DO UPDATE SET state = 'closed',"
            " cutoff_at = excluded.cutoff_at, closed_at = excluded.closed_at, closed_by = excluded.closed_by,"
            " low_water = excluded.low_water,"
            " first_transfer = excluded.first_transfer, last_transfer = excluded.last_transfer",
            (
                chamber_id,
                period.id,
                period.starts_at,
                period.ends_at,
                cutoff,
                iso(moment),
                actor,
                _next_low_water(conn, chamber_id, low_water, cutoff),
                first,
                last,
            ),
        )
        result = _summary(conn, chamber_id, period.id, already_closed=False)
        store.log(
            conn,
            actor,
            "close",
            f"period:{chamber_id}:{period.id}",
            claims=result.claims,
            transfers=result.transfers,
            gross=result.gross,
            net=result.net,
        )
        return result


def _low_water(conn: sqlite3.Connection, chamber_id: str) -> int:
    # After a close, every relevant transfer below its low-water mark has been counted, so the next
    # close scans only from the latest close's mark. A reopened period freed counted transfers:
    # then scan from the start (rare, and still correct).
    if conn.execute(
        "SELECT 1 FROM settlement_periods WHERE chamber_id = ? AND state = 'open'", (chamber_id,)
    ).fetchone():
        return 0
    row = conn.execute(
        "SELECT low_water FROM settlement_periods WHERE chamber_id = ? ORDER BY closed_at DESC LIMIT 1",
        (chamber_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def _next_low_water(conn: sqlite3.Connection, chamber_id: str, low_water: int, cutoff: str) -> int:
    # The first transfer this close left for later (accepted after the cutoff), or the end of the table.
    row = conn.execute(
        # ``+t.id`` keeps SQLite on the created_at index: few rows follow a cutoff, many precede it.
        "SELECT MIN(t.id) FROM transfers t WHERE +t.id >= ? AND +t.merchant_id IN"
        " (SELECT id FROM merchants WHERE chamber_id = ?) AND t.created_at >= ?",
        (low_water, chamber_id, cutoff),
    ).fetchone()
    if row[0] is not None:
        return int(row[0])
    top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM transfers").fetchone()[0]
    return int(top) + 1


# What a claim counts: transfers into or out of a merchant's receivable by redeeming, by
# voiding a redemption or by a return giving points back, accepted before the cutoff, counted by
# no earlier close (so a return of a sale of a closed period is settled in the return's period).
_COUNTED = """
INSERT INTO claim_transfers(transfer_id, claim_seq)
SELECT t.id, {seq} FROM transfers t
JOIN temp.close_map m ON m.merchant_id = t.merchant_id AND m.program_id = t.program_id
LEFT JOIN transfers o ON o.id = t.reverses_id
WHERE t.id >= :low AND +t.created_at < :cutoff
  AND (t.kind IN ('redeem_points', 'redeem_ticket', 'order_points', 'order_return')
       OR (t.kind = 'void' AND o.kind IN ('redeem_points', 'redeem_ticket', 'order_points'))
       OR t.kind = 'return_points')
  AND NOT EXISTS (SELECT 1 FROM claim_transfers c WHERE c.transfer_id = t.id)
ORDER BY t.id
"""


def _count_postgres(
    conn: sqlite3.Connection, low_water: int, cutoff: str, sums: dict[int, list[int]], span: list[int]
) -> int:
    # PostgreSQL has no Python aggregate: the rows the close counts are picked once (with the kind and
    # amount the sums need), inserted, and summed in one grouped pass (the sums ``tally`` keeps on
    # SQLite). Measured on 1,000,000 transfers: joining the INSERT's RETURNING back to ``transfers``
    # was an index lookup a row. The temp map is analysed (autovacuum never sees temp tables: without
    # it the planner guessed 850 pairs and nested loops) and the sort gets memory, not disk.
    conn.execute("ANALYZE pg_temp.close_map")
    conn.execute("SET LOCAL work_mem = '64MB'")
    picked = _COUNTED.replace("INSERT INTO claim_transfers(transfer_id, claim_seq)\n", "").format(
        seq=f"m.seq AS seq, {COUNTED_KIND} AS kind, t.amount AS amount"
    )
    rows = conn.execute(
        "WITH picked AS MATERIALIZED (" + picked.replace("SELECT t.id,", "SELECT t.id AS id,", 1) + "),"
        " counted AS (INSERT INTO claim_transfers(transfer_id, claim_seq)"
        " SELECT id, seq FROM picked ORDER BY id)"
        " SELECT seq, kind, SUM(amount), COUNT(*), MIN(id), MAX(id) FROM picked GROUP BY seq, kind",
        {"low": low_water, "cutoff": cutoff},
    ).fetchall()
    inserted = 0
    for seq, kind, amount, count, first, last in rows:
        line = sums.setdefault(int(seq), list(_EMPTY))
        line[_COLUMN[kind]] += int(amount)
        line[3] += int(count)
        inserted += int(count)
        span[0] = int(first) if span[1] < 0 else min(span[0], int(first))
        span[1] = max(span[1], int(last))
    return inserted


def _freeze(
    conn: sqlite3.Connection, chamber_id: str, period_id: str, cutoff: str, low_water: int, now: str
) -> tuple[int, int]:
    # Every (merchant of the chamber, program) pair gets a claim number up front, in a small
    # in-memory map; one INSERT ... SELECT then records each counted transfer under its number
    # (rowid-ordered, so the primary key grows at its end) and hands each row to ``tally``, which
    # keeps the sums: one pass, no sort. Pairs with nothing counted and nothing disputed get no claim.
    conn.execute("PRAGMA temp_store = MEMORY")
    first_seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM claims").fetchone()[0])
    conn.execute("DROP TABLE IF EXISTS temp.close_map")
    conn.execute(
        "CREATE TEMP TABLE close_map(merchant_id TEXT, program_id TEXT, seq INTEGER,"
        " PRIMARY KEY (merchant_id, program_id)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO temp.close_map SELECT m.id, p.id, ? + row_number() OVER (ORDER BY m.id, p.id)"
        " FROM merchants m CROSS JOIN programs p WHERE m.chamber_id = ?",
        (first_seq - 1, chamber_id),
    )
    sums: dict[int, list[int]] = {}  # seq → [points, tickets, voided, count, disputed, online, online back]
    span = [0, -1]

    def tally(seq: int, transfer_id: int, kind: str, amount: int) -> int:
        line = sums.get(seq)
        if line is None:
            line = sums[seq] = list(_EMPTY)
        line[_COLUMN[kind]] += amount
        line[3] += 1
        span[0] = span[0] if span[1] >= 0 else transfer_id  # rows arrive in transfer id order
        span[1] = transfer_id
        return seq

    if is_postgres(conn):
        inserted = _count_postgres(conn, low_water, cutoff, sums, span)
    else:
        conn.create_function("settlement_tally", 4, tally)
        inserted = conn.execute(
            _COUNTED.format(seq=f"settlement_tally(m.seq, t.id, {COUNTED_KIND}, t.amount)"),
            {"low": low_water, "cutoff": cutoff},
        ).rowcount
        conn.create_function("settlement_tally", 4, None)
    if inserted != sum(line[3] for line in sums.values()):  # the sums must describe exactly the rows kept
        raise RuntimeError(
            f"close counted {inserted} transfers but summed {sum(x[3] for x in sums.values())}"
        )
    disputes = conn.execute(
        """
        SELECT r.id, r.merchant_id, r.program_id, r.amount, m.seq FROM refused_sales r
        JOIN merchants s ON s.id = r.merchant_id
        LEFT JOIN temp.close_map m ON m.merchant_id = r.merchant_id AND m.program_id = r.program_id
        WHERE s.chamber_id = ? AND r.created_at < ?
          AND NOT EXISTS (SELECT 1 FROM claim_disputes d WHERE d.refused_id = r.id)
        """,
        (chamber_id, cutoff),
    ).fetchall()
    for _id, _merchant, _program, amount, seq in disputes:
        if seq is not None:  # a line of an unknown program is listed, but belongs to no claim
            sums.setdefault(seq, list(_EMPTY))[4] += amount
    programs = {
        row[0]: (row[1], row[2], row[3], int(row[4]))
        for row in conn.execute("SELECT id, city_id, payout, fee_share_permille, online_fee_bp FROM programs")
    }
    pairs = {row[2]: (row[0], row[1]) for row in conn.execute("SELECT * FROM temp.close_map")}
    for seq, (points, tickets, voided, count, disputed, sold, taken_back) in sorted(sums.items()):
        merchant_id, program_id = pairs[seq]
        city_id, payout, permille, online_bp = programs[program_id]
        counter = points + tickets - voided
        online = sold - taken_back
        gross = counter + online
        # A void whose sale was counted in an earlier period can leave a period's gross negative:
        # no fee is kept on it and the negative net is shown, never paid. Online lines pay the
        # program's online share instead of its counter share, rounded once (in ``points``).
        fee = fee_share(max(counter, 0), permille)
        kept = online_fee(max(online, 0), online_bp).yen
        conn.execute(
            "INSERT INTO claims(seq, id, period_id, chamber_id, merchant_id, program_id, city_id, payout,"
            " fee_share_permille, redeemed_points, redeemed_tickets, voided, disputed, gross, fee,"
            " fee_remainder_permille, net, transfer_count, state, created_at, updated_at, online, online_fee,"
            " online_fee_bp)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?)",
            (seq, _claim_id(period_id, merchant_id, program_id), period_id, chamber_id, merchant_id,
             program_id, city_id, payout, permille, points, tickets, voided, disputed, gross, fee.yen + kept,
             fee.remainder_permille, gross - fee.yen - kept, count, now, now, online, kept, online_bp),
        )  # fmt: skip
    conn.executemany(
        "INSERT INTO claim_disputes(refused_id, period_id, chamber_id, merchant_id, program_id)"
        " VALUES (?, ?, ?, ?, ?)",
        [(d[0], period_id, chamber_id, d[1], d[2]) for d in disputes],
    )
    conn.execute("DROP TABLE temp.close_map")
    return span[0], span[1]


def _summary(
    conn: sqlite3.Connection, chamber_id: str, period_id: str, *, already_closed: bool
) -> CloseResult:
    claims, transfers, gross, net = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(transfer_count), 0), COALESCE(SUM(gross), 0), COALESCE(SUM(net), 0)"
        " FROM claims WHERE chamber_id = ? AND period_id = ?",
        (chamber_id, period_id),
    ).fetchone()
    disputes = conn.execute(
        "SELECT COUNT(*) FROM claim_disputes WHERE chamber_id = ? AND period_id = ?", (chamber_id, period_id)
    ).fetchone()[0]
    cutoff = conn.execute(
        "SELECT cutoff_at FROM settlement_periods WHERE chamber_id = ? AND period_id = ?",
        (chamber_id, period_id),
    ).fetchone()
    return CloseResult(
        chamber_id=chamber_id,
        period_id=period_id,
        already_closed=already_closed,
        claims=claims,
        transfers=transfers,
        disputes=disputes,
        gross=gross,
        net=net,
        cutoff_at=cutoff[0] if cutoff else "",
    )


def _span(conn: sqlite3.Connection, chamber_id: str, period_id: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT first_transfer, last_transfer FROM settlement_periods WHERE chamber_id = ? AND period_id = ?",
        (chamber_id, period_id),
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, -1)


def reopen(conn: sqlite3.Connection, chamber_id: str, period: Period, actor: str, reason: str) -> CloseResult:
    """Reopen a closed period (an admin act): its claims are withdrawn, their transfers free again.

    Raises:
        SettlementError: ``reason_required`` without a reason, ``period_not_closed`` for an open
            period, ``period_paid`` when the city has approved payment of one of its claims.
    """
    if not reason.strip():
        raise SettlementError("reason_required")
    store.ensure(conn)
    with atomic(conn):
        row = conn.execute(
            "SELECT state FROM settlement_periods WHERE chamber_id = ? AND period_id = ?",
            (chamber_id, period.id),
        ).fetchone()
        if row is None or row[0] != "closed":
            raise SettlementError("period_not_closed", f"{chamber_id} {period.id}")
        paid = conn.execute(
            "SELECT COUNT(*) FROM claims WHERE chamber_id = ? AND period_id = ?"
            " AND state = 'payment_approved'",
            (chamber_id, period.id),
        ).fetchone()[0]
        if paid:
            raise SettlementError("period_paid", f"{paid} claims")
        before = _summary(conn, chamber_id, period.id, already_closed=True)
        conn.execute(
            "DELETE FROM claim_transfers WHERE transfer_id BETWEEN ? AND ? AND claim_seq IN"
            " (SELECT seq FROM claims WHERE chamber_id = ? AND period_id = ?)",
            (*_span(conn, chamber_id, period.id), chamber_id, period.id),
        )
        conn.execute("DELETE FROM claims WHERE chamber_id = ? AND period_id = ?", (chamber_id, period.id))
        conn.execute(
            "DELETE FROM claim_disputes WHERE chamber_id = ? AND period_id = ?", (chamber_id, period.id)
        )
        conn.execute(
            "UPDATE settlement_periods SET state = 'open', cutoff_at = NULL, closed_at = NULL,"
            " closed_by = NULL,"
            " low_water = 0 WHERE chamber_id = ? AND period_id = ?",
            (chamber_id, period.id),
        )
        store.log(
            conn,
            actor,
            "reopen",
            f"period:{chamber_id}:{period.id}",
            reason=reason,
            claims=before.claims,
            gross=before.gross,
            net=before.net,
        )
        return before


def list_periods(conn: sqlite3.Connection, chamber_id: str | None = None) -> list[dict[str, object]]:
    """Periods known (closed or reopened), newest first, with their claims' totals."""
    store.ensure(conn)
    rows = conn.execute(
        """
        SELECT p.chamber_id, p.period_id, p.state, p.starts_at, p.ends_at, p.cutoff_at, p.closed_at,
               p.closed_by, COUNT(c.id), COALESCE(SUM(c.gross), 0), COALESCE(SUM(c.net), 0),
               COALESCE(MAX(ch.name), '')
        FROM settlement_periods p
        LEFT JOIN claims c ON c.chamber_id = p.chamber_id AND c.period_id = p.period_id
        LEFT JOIN chambers ch ON ch.id = p.chamber_id
        WHERE (:chamber IS NULL OR p.chamber_id = :chamber)
        GROUP BY p.chamber_id, p.period_id ORDER BY p.ends_at DESC, p.chamber_id
        """,
        {"chamber": chamber_id},
    ).fetchall()
    keys = (
        "chamber_id",
        "period_id",
        "state",
        "starts_at",
        "ends_at",
        "cutoff_at",
        "closed_at",
        "closed_by",
        "claims",
        "gross",
        "net",
        "chamber_name",
    )
    return [dict(zip(keys, tuple(row), strict=True)) for row in rows]
