"""Sales: checked, applied atomically (points, tickets, awards, cash), idempotent by the terminal's sale id.

A sale is handled in two steps. :func:`prepare` runs on the event loop with the read
connection and does everything that needs no lock: the programs and their rules, the tender
arithmetic, ticket signatures, the card's PIN proof. :func:`apply` runs in the writer's group commit:
the idempotency check, ticket and challenge state, the ledger transfers and the stored answer,
all in one savepoint. The answer is stored under the sale id; the same id with the same body
gets it again, with a different body ``idempotency_mismatch``.

Tender rules are :mod:`points.tender`'s, the same function the counter checks a sale with:
points first, then tickets in the order scanned (a no-change ticket pays at most what is left;
a change-giving ticket worth more than what is left pays it all and its excess is given back as
cash change), then cash. Sale awards (a program's percent rule) are computed on what the
resident paid beyond points and tickets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from points import tickets as ticket_codes
from points.calendar import business_date
from points.programs import PercentAward, Program
from points.tender import TenderError, TicketOffer, cover, gives_change
from points.wire import (
    AwardLine,
    PointTender,
    RedeemedTicket,
    SaleRequest,
    SaleResult,
    SaleStatus,
    WireModel,
)
from server import cards, db, ledger, receipts, residents, returns
from server.auth import Principal
from server.errors import ApiError
from server.store import Store


def request_hash(principal_id: str, request: WireModel) -> str:
    """The idempotency fingerprint of a request: who sent it and its canonical JSON."""
    # The validated model's JSON is canonical (fields in model order, defaults filled in), so
    # the same sale sent with keys in another order or defaults spelled out has the same hash.
    # A field added after sales were stored is left out while at its default, so a retry of a
    # sale stored before the field existed still has the hash it was stored with.
    fields = type(request).model_fields
    exclude = {name for name in _ADDED_LATER if name in fields and not getattr(request, name)}
    body = request.model_dump_json(exclude=exclude or None)
    return hashlib.sha256(principal_id.encode() + b"\n" + body.encode()).hexdigest()


#: Wire fields added after release 0.1's stored sales (see :func:`request_hash`).
_ADDED_LATER = ("external",)


@dataclass
class TicketUse:
    """A scanned ticket, verified, with what it pays on this sale."""

    ticket: ticket_codes.PointTicket
    program: Program
    applied: int


@dataclass
class PreparedSale:
    """A sale checked against the rules, ready for the writer."""

    request: SaleRequest
    principal: Principal
    request_hash: str
    now: dt.datetime
    programs: dict[str, Program]
    tickets: list[TicketUse] = field(default_factory=list)
    awards: list[tuple[Program, int]] = field(default_factory=list)
    change: int = 0
    #: an offline sale's time on the terminal (blocks after it do not refuse it)
    offline_at: dt.datetime | None = None
    #: what the verified certificate says of the card key (issuer, serial, last moment)
    certificate: tuple[str, str, dt.datetime] | None = None


# Stored answers -----------------------------------------------------------------------


def stored_answer(conn: sqlite3.Connection, sale_id: str, fingerprint: str) -> str | ApiError | None:
    """The answer already given to this sale id: its JSON, the stored refusal, or ``None`` if new.

    Raises:
        ApiError: ``idempotency_mismatch`` when the id was used with a different body.
    """
    # One statement for both tables (a retry's, inside the group commit).
    row = conn.execute(
        "SELECT request_hash, status, result, void_result, NULL, NULL FROM sales WHERE sale_id = ?1"
        " UNION ALL SELECT * FROM (SELECT request_hash, 'refused', NULL, NULL, error_code, message"
        " FROM refused_sales WHERE sale_id = ?1 ORDER BY line_no LIMIT 1) AS refused LIMIT 1",
        (sale_id,),
    ).fetchone()
    if row is None:
        return None
    if row[0] != fingerprint:
        raise ApiError("idempotency_mismatch", f"sale {sale_id}")
    if row[1] == "refused":
        error = ApiError(row[4])
        error.message = row[5]
        return error
    return str(row[3] if row[1] == SaleStatus.VOIDED.value else row[2])


# Preparing (no lock) ------------------------------------------------------------------


def prepare(store: Store, principal: Principal, request: SaleRequest, fingerprint: str) -> PreparedSale:
    """Check a sale against the programs' rules and the card's proof, without touching balances.

    Raises:
        ApiError: the first rule the sale breaks.
    """
    now = store.clock()
    today = business_date(now)
    conn = store.reader
    programs = store.programs()
    merchant_id = principal.merchant_id
    assert merchant_id is not None
    merchant = store.merchant(conn, merchant_id)
    if merchant is None:
        raise ApiError("unknown_merchant")
    prepared = PreparedSale(request, principal, fingerprint, now, {})
    # The card's account: a blocked, replaced or expired key is refused before any rule.
    number: str | None = None
    if request.card_key is not None:
        prepared.offline_at = request.terminal_time if request.offline else None
        number = residents.account_of(conn, request.card_key, now, prepared.offline_at)

    def accepted(program_id: str) -> Program:
        program = programs.get(program_id)
        if program is None:
            raise ApiError("unknown_program", program_id)
        if not program.accepted_by.accepts(merchant.id, merchant.category):
            raise ApiError("program_not_accepted", program_id)
        prepared.programs[program.id] = program
        return program

    total = request.total
    # Points first: the rule refuses points beyond the total before any program is looked up.
    try:
        covered = cover(total, [p.points for p in request.points], [])
    except TenderError as error:
        raise ApiError(error.code, str(error)) from None
    needs_pin = False
    for tender in request.points:
        program = accepted(tender.program_id)
        assert request.card_key is not None
        cards.check_eligible(conn, number, program, today)
        if request.offline:
            if tender.points > program.offline_limit:
                raise ApiError("offline_limit_exceeded", f"{tender.points} > {program.offline_limit}")
        elif tender.points > program.no_pin_limit:
            needs_pin = True
    if needs_pin:
        if request.pin_proof is None:
            raise ApiError("pin_required")
        assert request.card_key is not None and principal.terminal_id is not None
        certificate = cards.verify_proof(
            conn,
            request.pin_proof,
            card_key=request.card_key,
            terminal_id=principal.terminal_id,
            anchors=store.trust_anchors,
            now=now,
        )
        prepared.certificate = (
            cards.issuer_id(certificate.issuer),
            cards.serial_text(certificate.serial_number),
            certificate.not_valid_after_utc,
        )
    keys: dict[str, Ed25519PublicKey] = {store.signer.key_id: store.signer.public_key}
    for scanned in request.tickets:
        try:
            ticket = ticket_codes.verify(scanned.text, keys, today)
        except ticket_codes.TicketError as error:
            raise ApiError(
                error.code if error.code in _TICKET_CODES else "ticket_invalid", str(error)
            ) from None
        program = accepted(ticket.program_id)
        try:
            covered = covered.take(TicketOffer(ticket.value, gives_change(program)))
        except TenderError as error:
            raise ApiError(error.code, ticket.human_serial) from None
        prepared.tickets.append(TicketUse(ticket, program, covered.tickets[-1].applied))
    try:
        prepared.change = covered.change(request.cash, request.external_total)
    except TenderError as error:
        raise ApiError(error.code, str(error)) from None
    if len(set(request.award_programs)) != len(request.award_programs):
        raise ApiError("invalid_request", "each program appears at most once in award_programs")
    for program_id in request.award_programs:
        program = accepted(program_id)
        if not isinstance(program.award_rule, PercentAward):
            raise ApiError("no_award_rule", program_id)
        assert request.card_key is not None
        cards.check_eligible(conn, number, program, today)
        prepared.awards.append((program, program.award_rule.points_for(covered.due)))
    return prepared


_TICKET_CODES = {"ticket_garbled", "ticket_unknown_key", "ticket_bad_signature", "ticket_expired"}


# Applying (in the group commit) --------------------------------------------------------


def apply(conn: sqlite3.Connection, sale: PreparedSale) -> str | ApiError:
    """Apply a prepared sale: its transfers, ticket states and stored answer, or none of them.

    Returns the answer's JSON, or the refusal (an offline sale's refusal is stored in
    ``refused_sales`` for settlement, which is why it is returned rather than raised).

    Raises:
        ApiError: an online sale's refusal.
    """
    request = sale.request
    assert sale.principal.merchant_id is not None
    # The id is claimed first: a new one (nearly every sale) costs that one statement. One claimed
    # before has its stored answer (a refused offline sale's too: the claim outlives its refusal).
    if not ledger.claim_operation(conn, "sale", request.sale_id, sale.principal.merchant_id, sale.now):
        existing = stored_answer(conn, request.sale_id, sale.request_hash)
        if existing is not None:
            return existing
        try:
            ledger.refuse_claimed(conn, "sale", request.sale_id)  # a sale id that is a ticket issue's
        except ledger.LedgerError as error:
            if request.offline:
                return _refused(conn, sale, ApiError(error.code, str(error)))
            raise ApiError(error.code, str(error)) from None
    if not request.offline:
        # A refused online sale is stored nowhere: the writer's savepoint around this job undoes it.
        try:
            return _apply(conn, sale)
        except ledger.LedgerError as error:
            raise ApiError(error.code, str(error)) from None
    try:
        conn.execute("SAVEPOINT sale")
        try:
            result = _apply(conn, sale)
        except BaseException:
            conn.execute("ROLLBACK TO sale")
            raise
        finally:
            conn.execute("RELEASE sale")
    except ApiError as error:
        return _refused(conn, sale, error)
    except ledger.LedgerError as error:
        return _refused(conn, sale, ApiError(error.code, str(error)))
    return result


def _refused(conn: sqlite3.Connection, sale: PreparedSale, error: ApiError) -> ApiError:
    if sale.request.offline:
        record_refusal(conn, sale.principal, sale.request, sale.request_hash, error, sale.now)
    return error


def _accounts_of(conn: sqlite3.Connection, sale: PreparedSale, number: str | None) -> list[int]:
    """Every account the sale will move (opened if new), for :func:`server.ledger.lock_accounts`."""
    request, merchant_id = sale.request, sale.principal.merchant_id
    assert merchant_id is not None
    wanted: list[tuple[str, str, str]] = []
    for tender in request.points:
        assert number is not None
        wanted += [
            ("resident", number, tender.program_id),
            ("merchant", merchant_id, tender.program_id),
        ]
    for use in sale.tickets:
        program_id = use.ticket.program_id
        wanted += [("tickets", "outstanding", program_id), ("merchant", merchant_id, program_id)]
    for program, points in sale.awards:
        if points and number is not None:
            funding = ledger.funding_owner(program.funding.kind, program.funding.id)
            wanted += [("funding", funding, program.id), ("resident", number, program.id)]
    return [ledger.account(conn, *key) for key in dict.fromkeys(wanted)]


def _apply(conn: sqlite3.Connection, sale: PreparedSale) -> str:
    request, now = sale.request, sale.now
    merchant_id = sale.principal.merchant_id
    assert merchant_id is not None
    sale_id = request.sale_id
    if request.pin_proof is not None and any(
        t.points > sale.programs[t.program_id].no_pin_limit for t in request.points
    ):
        cards.use_challenge(conn, request.pin_proof.challenge_id, sale_id, now)
    # The card's account, checked again under the write lock and the key's row lock (a block may have
    # come in between, and one coming now waits for this sale's commit); a card new to the server gets
    # its account when it first earns or spends.
    number: str | None = None
    if request.card_key is not None:
        if request.points or sale.awards:
            number = residents.open_account(conn, request.card_key, now, sale.offline_at)
        else:
            number = residents.account_of(conn, request.card_key, now, sale.offline_at, lock=True)
        if sale.certificate is not None:
            residents.note_certificate(conn, request.card_key, *sale.certificate)
    if db.is_postgres(conn):
        # Nothing below reads what an account's lock guards (its lots) before its first UPDATE.
        ledger.lock_accounts(conn, _accounts_of(conn, sale, number), one_by_its_update=True)
    touched: dict[str, int] = {}  # program → the card's account in it (for the balances after)
    for tender in request.points:
        assert number is not None
        resident = touched[tender.program_id] = ledger.account(conn, "resident", number, tender.program_id)
        ledger.spend(
            conn,
            kind="redeem_points",
            program_id=tender.program_id,
            resident=resident,
            credit=ledger.account(conn, "merchant", merchant_id, tender.program_id),
            amount=tender.points,
            now=now,
            sale_id=sale_id,
            merchant_id=merchant_id,
        )
    redeemed: list[RedeemedTicket] = []
    for use in sale.tickets:
        ticket = use.ticket
        cursor = conn.execute(
            "UPDATE tickets SET state = 'redeemed', redeemed_sale_id = ?, redeemed_by = ?, redeemed_at = ?"
            " WHERE serial = ? AND state = 'issued'",
            (sale_id, merchant_id, ledger.iso(now), ticket.serial),
        )
        if cursor.rowcount != 1:
            state = conn.execute("SELECT state FROM tickets WHERE serial = ?", (ticket.serial,)).fetchone()
            if state is None:
                raise ApiError("ticket_invalid", f"ticket {ticket.human_serial} was never issued")
            code = {"expired": "ticket_expired", "cancelled": "ticket_cancelled"}.get(
                state[0], "ticket_already_redeemed"
            )
            raise ApiError(code, ticket.human_serial)
        ledger.post(
            conn,
            kind="redeem_ticket",
            program_id=ticket.program_id,
            debit=ledger.account(conn, "tickets", "outstanding", ticket.program_id),
            credit=ledger.account(conn, "merchant", merchant_id, ticket.program_id),
            amount=ticket.value,
            now=now,
            sale_id=sale_id,
            merchant_id=merchant_id,
            ticket_serial=ticket.serial,
        )
        redeemed.append(
            RedeemedTicket(
                serial=ticket.serial, program_id=ticket.program_id, value=ticket.value, applied=use.applied
            )
        )
    award_lines: list[AwardLine] = []
    today = ledger.business_date(now)
    for program, points in sale.awards:
        expires_on = program.expiry.expires_on(today)
        award_lines.append(AwardLine(program_id=program.id, points=points, expires_on=expires_on))
        assert number is not None
        if program.id not in touched:
            touched[program.id] = ledger.account(conn, "resident", number, program.id)
        if points == 0:
            continue
        ledger.earn(
            conn,
            kind="award",
            program_id=program.id,
            debit=ledger.account(
                conn, "funding", ledger.funding_owner(program.funding.kind, program.funding.id), program.id
            ),
            resident=touched[program.id],
            amount=points,
            expires_on=expires_on,
            now=now,
            sale_id=sale_id,
            merchant_id=merchant_id,
            op_kind="sale",
        )
    balances = (
        [cards.balance_of(conn, number, p, today, account_id=a) for p, a in touched.items()]
        if number is not None
        else []
    )
    result = SaleResult(
        sale_id=sale_id,
        status=SaleStatus.ACCEPTED,
        accepted_at=now,
        total=request.total,
        points=[PointTender(program_id=p.program_id, points=p.points) for p in request.points],
        tickets=redeemed,
        cash=request.cash,
        change=sale.change,
        awards=award_lines,
        balances=balances,
    )
    text = result.model_dump_json()
    # The sale's rows are sent ahead (PostgreSQL: answered with the commit, :func:`server.db.send`).
    db.send(
        conn,
        "INSERT INTO sales(sale_id, merchant_id, terminal_id, receipt_no, card_prefix, total, cash, change,"
        " offline,"
        " status, request_hash, result, terminal_time, accepted_at, business_date, card_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?, ?)",
        (
            sale_id,
            merchant_id,
            sale.principal.terminal_id,
            request.receipt_no,
            None if request.card_key is None else request.card_key[:12],
            request.total,
            request.cash,
            sale.change,
            int(request.offline),
            sale.request_hash,
            text,
            request.terminal_time.isoformat(),
            ledger.iso(now),
            today.isoformat(),
            request.card_key,
        ),
    )
    # Its totals per rate bound its returns (返品) per rate; what a resident bought stays in the shop.
    for total in request.totals:
        db.send(
            conn,
            "INSERT INTO sale_rate_totals(sale_id, rate, amount) VALUES (?, ?, ?)",
            (sale_id, int(total.rate), total.amount),
        )
    # Other tenders are recorded for the shop's own reports; no transfer: never in a claim.
    for line_no, tender in enumerate(request.external, start=1):
        db.send(
            conn,
            "INSERT INTO sale_external_tenders(sale_id, line_no, kind, amount) VALUES (?, ?, ?, ?)",
            (sale_id, line_no, tender.kind.value, tender.amount),
        )
    return text


def record_refusal(
    conn: sqlite3.Connection,
    principal: Principal,
    request: SaleRequest,
    fingerprint: str,
    error: ApiError,
    now: dt.datetime,
) -> None:
    """Store an offline sale the server refused on sync: one line per point tender or ticket.

    Settlement lists these as disputed lines; the terminal shows them to the shopkeeper. The id is
    claimed as a sale's (:func:`apply` claims it before it reads a stored answer), unless it is
    already another operation's.
    """
    assert principal.merchant_id is not None
    ledger.claim_operation(conn, "sale", request.sale_id, principal.merchant_id, now)
    lines: list[tuple[str | None, int]] = [(p.program_id, p.points) for p in request.points]
    for tender in request.tickets:
        try:
            ticket = ticket_codes.decode(tender.text)
            lines.append((ticket.program_id, ticket.value))
        except ticket_codes.TicketError:
            lines.append((None, 0))
    if not lines:
        lines.append((None, request.total))
    conn.executemany(
        "INSERT OR IGNORE INTO refused_sales(sale_id, line_no, merchant_id, terminal_id, program_id, amount,"
        " error_code, message, request_hash, terminal_time, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?)",
        [
            (
                request.sale_id,
                number,
                principal.merchant_id,
                principal.terminal_id,
                program_id,
                amount,
                error.code,
                error.message,
                fingerprint,
                request.terminal_time.isoformat(),
                ledger.iso(now),
            )
            for number, (program_id, amount) in enumerate(lines)
        ],
    )


# Voids --------------------------------------------------------------------------------


def void(conn: sqlite3.Connection, principal: Principal, sale_id: str, reason: str, now: dt.datetime) -> str:
    """Reverse every transfer of a sale of the same (Japan) day and return the voided answer.

    The unredeemed tickets its receipt earned at the ticket counter are cancelled with it.

    Voiding a voided sale returns the same answer again.

    Raises:
        ApiError: ``sale_not_found`` (unknown, or another merchant's), ``void_not_same_day``,
            ``award_spent`` (points it awarded have been spent since).
    """
    # The sale row locked first (PostgreSQL): two voids of one sale on two server processes, a void
    # and a return, or a void and the ticket counter taking its receipt, wait for each other instead
    # of each reading it standing and giving its points back twice.
    row = conn.execute(
        "SELECT merchant_id, status, result, void_result, business_date FROM sales WHERE sale_id = ?"
        + db.row_lock(conn),
        (sale_id,),
    ).fetchone()
    if row is None or not principal.owns_merchant(row[0]):
        raise ApiError("sale_not_found", sale_id)
    if row[1] == SaleStatus.VOIDED.value:
        return str(row[3])
    if ledger.business_date(now).isoformat() != row[4]:
        raise ApiError("void_not_same_day", f"the sale is of {row[4]}")
    if returns.has_returns(conn, sale_id):
        # Its returns already gave part back: a void would give it back twice.
        raise ApiError("sale_has_returns", sale_id)
    # Only this sale's own transfers: an operation of another kind never shares its id (one namespace).
    originals = ledger.transfers_of(conn, sale_id, "sale")
    # Every account it moves locked up front, in the ledger's order (PostgreSQL): each reverse
    # reads the lots under its account's lock, and two writers never take a card's accounts in
    # opposite orders.
    # The tickets its receipt earned count too: a sale redeeming one of them holds that lock.
    moved = [a for t in originals for a in (t.debit_account_id, t.credit_account_id)]
    ledger.lock_accounts(conn, moved + receipts.accounts_of_tickets_of(conn, sale_id))
    # Awards first: if their points were spent the void is refused before anything else moves.
    originals.sort(key=lambda t: (t.kind != "award", -t.id))
    try:
        for transfer in originals:
            ledger.reverse(conn, transfer, now)
    except ledger.AwardSpent as error:
        raise ApiError("award_spent", str(error)) from None
    conn.execute(
        "UPDATE tickets SET state = 'issued', redeemed_sale_id = NULL, redeemed_by = NULL, redeemed_at = NULL"
        " WHERE redeemed_sale_id = ? AND state = 'redeemed'",
        (sale_id,),
    )
    # Tickets the counter gave for this sale's receipt go too, unless already redeemed.
    receipts.cancel_tickets_of(conn, sale_id, now)
    result = SaleResult.model_validate_json(row[2])
    card_programs = [b.program_id for b in result.balances]
    card = conn.execute(
        "SELECT a.owner FROM transfers t JOIN accounts a ON a.id IN (t.debit_account_id, t.credit_account_id)"
        " WHERE t.sale_id = ? AND t.op_kind = 'sale' AND a.kind = 'resident' LIMIT 1",
        (sale_id,),
    ).fetchone()
    today = ledger.business_date(now)
    voided = result.model_copy(
        update={
            "status": SaleStatus.VOIDED,
            "balances": [cards.balance_of(conn, card[0], p, today) for p in card_programs] if card else [],
        }
    )
    text = voided.model_dump_json()
    conn.execute(
        "UPDATE sales SET status = 'voided', voided_at = ?, void_reason = ?, void_result = ? WHERE sale_id"
        " = ?",
        (ledger.iso(now), reason, text, sale_id),
    )
    return text
