"""Returns (返品): part of a sale given back, today or on a later day, idempotent by the terminal's return id.

A return is an operation of its own (kind ``return``, id the terminal's ``return_id``; one
namespace with sales and the rest). Its transfers reverse exactly the returned part:

- ``return_points``: points back from the merchant's receivable to the sale's card, per program,
  never more than the sale redeemed less earlier returns; they come back as a new lot expiring
  when the latest lot the sale drew from did (the points were the resident's until then);
- ``return_award``: the sale's purchase awards taken back in proportion to the yen returned
  (:func:`points.returns.award_taken_back`, the one rounding), from the card to the funder the
  award came from.

Cash and other tenders given back are recorded in the answer for the shop's reports, with no
transfer (cash was never in the ledger). Rules of what may be returned are
:func:`points.returns.check_return`'s; the counter checks the same before it asks. A voided sale
cannot be returned, and a sale with returns cannot be voided (:func:`server.sales.void`).

Settlement: ``return_points`` transfers lower the merchant's receivable, so the claim that counts
them is the first close whose cutoff comes after the return was accepted: a return of a sale in
an already closed period is settled in the period of the return (like a void), never by reopening.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from points.returns import ReturnError, SaleSide, award_taken_back, check_return
from points.wire import AwardLine, Balance, PointTender, ReturnRequest, ReturnResult, SaleResult, SaleStatus
from server import cards, db, ledger, residents
from server.auth import Principal
from server.errors import ApiError


def stored_answer(conn: sqlite3.Connection, return_id: str, fingerprint: str) -> str | None:
    """The answer already given to this return id, or ``None`` if it is new.

    Raises:
        ApiError: ``idempotency_mismatch`` when the id was used with a different body or sale.
    """
    row = conn.execute(
        "SELECT request_hash, result FROM sale_returns WHERE return_id = ?", (return_id,)
    ).fetchone()
    if row is None:
        return None
    if row[0] != fingerprint:
        raise ApiError("idempotency_mismatch", f"return {return_id}")
    return str(row[1])


def earlier_returns(conn: sqlite3.Connection, sale_id: str) -> list[ReturnResult]:
    """The sale's returns so far, oldest first."""
    rows = conn.execute(
        "SELECT result FROM sale_returns WHERE sale_id = ? ORDER BY accepted_at, return_id", (sale_id,)
    ).fetchall()
    return [ReturnResult.model_validate_json(row[0]) for row in rows]


def sale_side(sale: SaleResult, totals: dict[int, int], returns: list[ReturnResult]) -> SaleSide:
    """The sale and what its earlier returns took back, for :func:`points.returns.check_return`."""
    returned: dict[int, int] = {}
    refunded: dict[str, int] = {}
    for earlier in returns:
        for line in earlier.amounts:
            returned[int(line.rate)] = returned.get(int(line.rate), 0) + line.amount
        for tender in earlier.points:
            refunded[tender.program_id] = refunded.get(tender.program_id, 0) + tender.points
    return SaleSide(
        total=sale.total,
        totals=totals,
        points={p.program_id: p.points for p in sale.points},
        awards={a.program_id: a.points for a in sale.awards},
        returned=returned,
        points_refunded=refunded,
    )


def apply(
    conn: sqlite3.Connection,
    principal: Principal,
    sale_id: str,
    request: ReturnRequest,
    fingerprint: str,
    now: dt.datetime,
) -> str:
    """Apply a return in the writer's transaction and return its answer's JSON (or the stored one).

    Raises:
        ApiError: ``sale_not_found``, ``return_of_voided_sale``, ``return_card_mismatch``, the
            rules' codes (:func:`points.returns.check_return`), ``return_award_spent`` (the points to
            take back are no longer on the card), ``idempotency_mismatch``, ``operation_id_taken``.
    """
    existing = stored_answer(conn, request.return_id, fingerprint)
    if existing is not None:
        return existing
    # The sale row is locked first on PostgreSQL: two returns of one sale at once wait for each other,
    # and so do a return and a void of it.
    row = conn.execute(
        "SELECT s.merchant_id, s.status, s.result, m.chamber_id FROM sales s"
        " JOIN merchants m ON m.id = s.merchant_id WHERE s.sale_id = ?" + db.row_lock(conn, of="s"),
        (sale_id,),
    ).fetchone()
    if row is None or not principal.owns_merchant(row[0], row[3]):
        raise ApiError("sale_not_found", sale_id)
    if row[1] == SaleStatus.VOIDED.value:
        raise ApiError("return_of_voided_sale", sale_id)
    merchant_id = str(row[0])
    sale = SaleResult.model_validate_json(row[2])
    originals = ledger.transfers_of(conn, sale_id, "sale")
    totals = _sale_totals(conn, sale_id)
    returns = earlier_returns(conn, sale_id)
    side = sale_side(sale, totals, returns)
    amounts = {int(a.rate): a.amount for a in request.amounts}
    refund_points = {p.program_id: p.points for p in request.points}
    try:
        returned = check_return(side, amounts, refund_points, request.external_total, request.cash)
    except ReturnError as error:
        raise ApiError(error.code, str(error)) from None
    # Points go back to the sale's resident account: any usable card linked to it (a renewed or
    # replacement card too), never another account's, never through a blocked or retired key.
    owner = _owner_of(conn, originals)
    if request.points and (
        request.card_key is None or residents.account_of(conn, request.card_key, now) != owner
    ):
        raise ApiError("return_card_mismatch", "the card tapped is not the sale's card")
    ledger.register_operation(conn, "return", request.return_id, merchant_id, now)
    redeemed = {t.program_id: t for t in originals if t.kind == "redeem_points"}
    awarded = {t.program_id: t for t in originals if t.kind == "award"}
    if db.is_postgres(conn):
        ledger.lock_accounts(
            conn,
            [t.debit_account_id for t in (*redeemed.values(), *awarded.values())]
            + [t.credit_account_id for t in (*redeemed.values(), *awarded.values())],
        )
    today = ledger.business_date(now)
    touched: dict[str, int] = {}
    for program_id, points in refund_points.items():
        original = redeemed[program_id]
        touched[program_id] = original.debit_account_id
        ledger.earn(
            conn,
            kind="return_points",
            program_id=program_id,
            debit=original.credit_account_id,
            resident=original.debit_account_id,
            amount=points,
            expires_on=_refund_expiry(conn, original, today),
            now=now,
            sale_id=request.return_id,
            merchant_id=merchant_id,
        )
    taken: list[AwardLine] = []
    for award in sale.awards:
        points = award_taken_back(award.points, side.total, side.returned_total, returned)
        if points == 0:
            continue
        original = awarded[award.program_id]
        touched.setdefault(award.program_id, original.credit_account_id)
        try:
            ledger.spend(
                conn,
                kind="return_award",
                program_id=award.program_id,
                resident=original.credit_account_id,
                credit=original.debit_account_id,
                amount=points,
                now=now,
                sale_id=request.return_id,
                merchant_id=merchant_id,
            )
        except ledger.InsufficientPoints:
            raise ApiError(
                "return_award_spent",
                f"{points} points of {award.program_id} to take back are no longer on the card",
            ) from None
        taken.append(AwardLine(program_id=award.program_id, points=points))
    balances: list[Balance] = (
        [cards.balance_of(conn, owner, p, today, account_id=a) for p, a in touched.items()] if owner else []
    )
    result = ReturnResult(
        return_id=request.return_id,
        sale_id=sale_id,
        accepted_at=now,
        amounts=request.amounts,
        points=[PointTender(program_id=p, points=n) for p, n in refund_points.items()],
        external=request.external,
        cash=request.cash,
        awards_taken_back=taken,
        balances=balances,
        sale_returned=side.returned_total + returned,
        sale_total=side.total,
    )
    text = result.model_dump_json()
    conn.execute(
        "INSERT INTO sale_returns(return_id, sale_id, merchant_id, terminal_id, receipt_no, amount, cash,"
        " request_hash, result, terminal_time, accepted_at, business_date)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            request.return_id,
            sale_id,
            merchant_id,
            principal.terminal_id,
            request.receipt_no,
            returned,
            request.cash,
            fingerprint,
            text,
            request.terminal_time.isoformat(),
            ledger.iso(now),
            today.isoformat(),
        ),
    )
    return text


def has_returns(conn: sqlite3.Connection, sale_id: str) -> bool:
    """True when the sale has at least one return (it can no longer be voided)."""
    return (
        conn.execute("SELECT 1 FROM sale_returns WHERE sale_id = ? LIMIT 1", (sale_id,)).fetchone()
        is not None
    )


def _sale_totals(conn: sqlite3.Connection, sale_id: str) -> dict[int, int]:
    # Empty for a sale stored before totals per rate were kept: its total alone bounds its returns.
    rows = conn.execute("SELECT rate, amount FROM sale_rate_totals WHERE sale_id = ?", (sale_id,)).fetchall()
    return {int(rate): int(amount) for rate, amount in rows}


def _owner_of(conn: sqlite3.Connection, originals: list[ledger.Transfer]) -> str | None:
    # The resident account a sale moved: the one its points came from or its award went to.
    for transfer in originals:
        if transfer.kind in ("redeem_points", "award"):
            spent = transfer.kind == "redeem_points"
            account_id = transfer.debit_account_id if spent else transfer.credit_account_id
            row = conn.execute("SELECT owner FROM accounts WHERE id = ?", (account_id,)).fetchone()
            return None if row is None else str(row[0])
    return None


def _refund_expiry(conn: sqlite3.Connection, original: ledger.Transfer, today: dt.date) -> dt.date:
    # The refunded points were the resident's until the sale: they last as long as the latest lot
    # the sale drew them from (a point already past its day expires at the next expiry run).
    row = conn.execute(
        "SELECT MAX(l.expires_on) FROM lot_draws d JOIN lots l ON l.id = d.lot_id WHERE d.transfer_id = ?",
        (original.id,),
    ).fetchone()
    return dt.date.fromisoformat(row[0]) if row and row[0] else today
