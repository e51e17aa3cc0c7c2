"""Point tickets issued from shop receipts (Tenri), ticket status, event awards and partner conversions.

Each operation is idempotent by the id its caller chose (``issue_id``, ``award_id``, the
partner's ``conversion_id``): the same id and body get the stored answer, a different body
``idempotency_mismatch``. Business keys are refused twice: a receipt (merchant, number, date)
gives tickets once, a card is awarded once per event.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3

from points.programs import EventAward, PercentAward, Program
from points.tickets import SERIAL_DIGITS, TicketSigner, format_human_serial, split_into_tickets
from points.wire import (
    AwardLine,
    ConversionRequest,
    ConversionResult,
    EventAwardRequest,
    EventAwardResult,
    IssuedTicket,
    TicketIssueRequest,
    TicketIssueResult,
    TicketState,
    TicketStatus,
)
from server import cards, ledger, receipts, residents
from server.auth import Principal
from server.errors import ApiError


def _stored(conn: sqlite3.Connection, sql: str, key: tuple[str, ...], fingerprint: str) -> str | None:
    row = conn.execute(sql, key).fetchone()
    if row is None:
        return None
    if row[0] != fingerprint:
        raise ApiError("idempotency_mismatch", "/".join(key))
    return str(row[1])


def _register(conn: sqlite3.Connection, kind: str, op_id: str, issuer: str, now: dt.datetime) -> None:
    try:
        ledger.register_operation(conn, kind, op_id, issuer, now)
    except ledger.OperationIdTaken as error:
        raise ApiError(error.code, str(error)) from None


def _funding(conn: sqlite3.Connection, program: Program) -> int:
    return ledger.account(
        conn, "funding", ledger.funding_owner(program.funding.kind, program.funding.id), program.id
    )


def issue_tickets(
    conn: sqlite3.Connection,
    principal: Principal,
    request: TicketIssueRequest,
    program: Program,
    signer: TicketSigner,
    fingerprint: str,
    now: dt.datetime,
) -> str:
    """Issue tickets for receipts under the program's percent rule (each receipt counted once).

    Receipt numbers are compared normalised, and a receipt of a mykey-pos sale is checked against
    it (:mod:`server.receipts`).

    Raises:
        ApiError: ``no_award_rule``, ``tickets_would_be_expired``, ``unknown_merchant``,
            ``receipt_already_used``, ``receipt_sale_unknown``, ``receipt_sale_voided``,
            ``receipt_mismatch``.
    """
    stored = _stored(
        conn,
        "SELECT request_hash, result FROM ticket_issues WHERE issue_id = ?",
        (request.issue_id,),
        fingerprint,
    )
    if stored is not None:
        return stored
    rule = program.award_rule
    if not isinstance(rule, PercentAward):
        raise ApiError("no_award_rule", program.id)
    _register(conn, "ticket_issue", request.issue_id, principal.id, now)
    today = ledger.business_date(now)
    expires_on = program.expiry.expires_on(today)
    if expires_on < today:  # a program with a fixed last day that has passed
        raise ApiError("tickets_would_be_expired", f"{program.id} tickets expire on {expires_on.isoformat()}")
    if request.card_key is not None:
        cards.check_eligible(conn, residents.account_of(conn, request.card_key, now), program, today)
    total = 0
    receipt_rows = []
    # Tickets earned by a mykey-pos receipt are that sale's (its void cancels them); the rest in one lot.
    batches: dict[str | None, int] = {None: 0}
    for receipt in request.receipts:
        if conn.execute("SELECT 1 FROM merchants WHERE id = ?", (receipt.merchant_id,)).fetchone() is None:
            raise ApiError("unknown_merchant", receipt.merchant_id)
        receipt_no = receipts.normal_receipt_no(receipt.receipt_no)
        sale_id = receipts.sale_of_receipt(conn, receipt, receipt_no)
        points = rule.points_for(receipt.amount)
        total += points
        batches[sale_id] = batches.get(sale_id, 0) + points
        receipt_rows.append(
            (receipt.merchant_id, receipt_no, receipt.date.isoformat(), receipt.amount, points, sale_id)
        )
    conn.execute(
        "INSERT INTO ticket_issues(issue_id, program_id, principal_id, request_hash, points, result,"
        " created_at)"
        " VALUES (?, ?, ?, ?, ?, '', ?)",
        (request.issue_id, program.id, principal.id, fingerprint, total, ledger.iso(now)),
    )
    for merchant_id, receipt_no, day, amount, points, sale_id in receipt_rows:
        try:
            conn.execute(
                "INSERT INTO ticket_receipts(merchant_id, receipt_no, date, issue_id, amount, points,"
                " sale_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (merchant_id, receipt_no, day, request.issue_id, amount, points, sale_id),
            )
        except sqlite3.IntegrityError:
            raise ApiError("receipt_already_used", f"{merchant_id} {receipt_no} {day}") from None
    issued: list[IssuedTicket] = []
    funding = _funding(conn, program)
    outstanding = ledger.account(conn, "tickets", "outstanding", program.id)
    faces = [(sale_id, value) for sale_id, points in batches.items() for value in _faces(points, rule.unit)]
    for sale_id, value in faces:
        serial = new_serial(conn)
        text = signer.issue(serial, program.id, value, expires_on)
        conn.execute(
            "INSERT INTO tickets(serial, program_id, value, expires_on, key_id, issue_id, text, state,"
            " created_at, receipt_sale_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'issued', ?, ?)",
            (
                serial,
                program.id,
                value,
                expires_on.isoformat(),
                signer.key_id,
                request.issue_id,
                text,
                ledger.iso(now),
                sale_id,
            ),
        )
        ledger.post(
            conn,
            kind="issue_ticket",
            program_id=program.id,
            debit=funding,
            credit=outstanding,
            amount=value,
            now=now,
            sale_id=request.issue_id,
            ticket_serial=serial,
        )
        issued.append(
            IssuedTicket(
                serial=serial,
                human_serial=format_human_serial(serial),
                program_id=program.id,
                value=value,
                expires_on=expires_on,
                text=text,
            )
        )
    text = TicketIssueResult(issue_id=request.issue_id, points=total, tickets=issued).model_dump_json()
    conn.execute("UPDATE ticket_issues SET result = ? WHERE issue_id = ?", (text, request.issue_id))
    return text


def _faces(points: int, unit: int) -> list[int]:
    return split_into_tickets(points, unit) if points else []


def new_serial(conn: sqlite3.Connection) -> int:
    """A fresh random ticket serial, unused so far.

    Random rather than counted up, because a typed serial redeems the ticket at a shop: with
    10^12 serials and thousands outstanding, guessing one is hopeless, counting up is not.
    """
    while True:
        serial = secrets.randbelow(10**SERIAL_DIGITS)
        if conn.execute("SELECT 1 FROM tickets WHERE serial = ?", (serial,)).fetchone() is None:
            return serial


def ticket_status(
    conn: sqlite3.Connection,
    serial: int,
    today: dt.date,
    *,
    with_text: bool,
    text_if_redeemable: bool = False,
) -> TicketStatus | None:
    """What the server knows of a ticket.

    Its signed text goes to the issuing side (for reprints) and, with ``text_if_redeemable``,
    to a shop while the ticket can still be redeemed (a typed serial at the counter).
    """
    row = conn.execute(
        "SELECT serial, program_id, value, expires_on, state, redeemed_at, redeemed_by, text FROM tickets"
        " WHERE serial = ?",
        (serial,),
    ).fetchone()
    if row is None:
        return None
    expires_on = dt.date.fromisoformat(row[3])
    state = TicketState(row[4])
    if state is TicketState.ISSUED and today > expires_on:
        state = TicketState.EXPIRED
    return TicketStatus(
        serial=row[0],
        human_serial=format_human_serial(row[0]),
        program_id=row[1],
        value=row[2],
        expires_on=expires_on,
        state=state,
        redeemed_at=None if row[5] is None else dt.datetime.fromisoformat(row[5]),
        redeemed_by=row[6],
        text=row[7] if with_text or (text_if_redeemable and state is TicketState.ISSUED) else None,
    )


def event_award(
    conn: sqlite3.Connection,
    principal: Principal,
    request: EventAwardRequest,
    program: Program,
    fingerprint: str,
    now: dt.datetime,
) -> str:
    """Award a card for an event or volunteering, once per card per event.

    Raises:
        ApiError: ``no_award_rule`` (not an event program, or an unknown kind),
            ``already_awarded``, ``not_eligible``.
    """
    stored = _stored(
        conn,
        "SELECT request_hash, result FROM event_awards WHERE award_id = ?",
        (request.award_id,),
        fingerprint,
    )
    if stored is not None:
        return stored
    rule = program.award_rule
    if not isinstance(rule, EventAward) or request.kind not in rule.table:
        raise ApiError("no_award_rule", f"{program.id}: {request.kind}")
    today = ledger.business_date(now)
    # Once per resident account per event: a second card of the same resident is not a second award.
    number = residents.open_account(conn, request.card_key, now)
    cards.check_eligible(conn, number, program, today)
    _register(conn, "award", request.award_id, principal.id, now)
    points = rule.points_for(request.kind)
    expires_on = program.expiry.expires_on(today)
    award = AwardLine(program_id=program.id, points=points, expires_on=expires_on)
    try:
        conn.execute(
            "INSERT INTO event_awards(award_id, account_number, program_id, event_id, kind, points,"
            " principal_id, request_hash, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?)",
            (
                request.award_id,
                number,
                program.id,
                request.event_id,
                request.kind,
                points,
                principal.id,
                fingerprint,
                ledger.iso(now),
            ),
        )
    except sqlite3.IntegrityError:
        raise ApiError("already_awarded", request.event_id) from None
    if points:
        ledger.earn(
            conn,
            kind="award",
            program_id=program.id,
            debit=_funding(conn, program),
            resident=ledger.account(conn, "resident", number, program.id),
            amount=points,
            expires_on=expires_on,
            now=now,
            sale_id=request.award_id,
            op_kind="award",
        )
    result = EventAwardResult(
        award_id=request.award_id,
        award=award,
        balance=cards.balance_of(conn, number, program.id, today),
    ).model_dump_json()
    conn.execute("UPDATE event_awards SET result = ? WHERE award_id = ?", (result, request.award_id))
    return result


def conversion(
    conn: sqlite3.Connection,
    principal: Principal,
    request: ConversionRequest,
    program: Program,
    fingerprint: str,
    now: dt.datetime,
) -> str:
    """Convert a partner's points into a program it funds (one way), idempotent by the partner's id.

    Raises:
        ApiError: ``not_eligible``.
    """
    assert principal.partner_id is not None
    key = (principal.partner_id, request.conversion_id)
    stored = _stored(
        conn,
        "SELECT request_hash, result FROM conversions WHERE partner_id = ? AND conversion_id = ?",
        key,
        fingerprint,
    )
    if stored is not None:
        return stored
    today = ledger.business_date(now)
    number = residents.open_account(conn, request.card_key, now)
    cards.check_eligible(conn, number, program, today)
    # A partner chooses its ids on its own: they are kept apart by the partner's id in front.
    op_id = f"{principal.partner_id}:{request.conversion_id}"
    _register(conn, "conversion", op_id, principal.partner_id, now)
    expires_on = program.expiry.expires_on(today)
    ledger.earn(
        conn,
        kind="conversion",
        program_id=program.id,
        debit=_funding(conn, program),
        resident=ledger.account(conn, "resident", number, program.id),
        amount=request.points,
        expires_on=expires_on,
        now=now,
        sale_id=op_id,
    )
    result = ConversionResult(
        conversion_id=request.conversion_id,
        award=AwardLine(program_id=program.id, points=request.points, expires_on=expires_on),
        balance=cards.balance_of(conn, number, program.id, today),
    ).model_dump_json()
    conn.execute(
        "INSERT INTO conversions(partner_id, conversion_id, card_key, program_id, points, request_hash,"
        " result,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (*key, request.card_key, program.id, request.points, fingerprint, result, ledger.iso(now)),
    )
    return result
