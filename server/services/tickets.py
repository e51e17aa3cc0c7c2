"""Point tickets from shop receipts (the city's issuing counter) and what the server knows of one."""

from __future__ import annotations

from points.wire import TerminalMode, TicketIssueRequest, TicketStatus
from server import issuing, ledger, sales
from server.auth import Principal
from server.errors import ApiError
from server.services.access import city_program, program
from server.store import Store


async def issue(store: Store, principal: Principal, body: TicketIssueRequest) -> str:
    """Tickets for receipts under the program's rule (Tenri); a receipt counts once. Returns the answer text.

    Raises:
        ApiError: another city's program, a receipt already counted, a changed retry.
    """
    found = city_program(store, principal, body.program_id)
    fingerprint = sales.request_hash(principal.id, body)
    now = store.clock()
    return await store.write(
        lambda conn: issuing.issue_tickets(conn, principal, body, found, store.signer, fingerprint, now)
    )


def status(store: Store, principal: Principal, serial: int) -> TicketStatus:
    """A ticket's state as this principal may see it.

    The issuing side (admin, city, issuing counter) gets the signed text; a shop counter gets it
    only for a ticket it can still take, so a torn QR code's printed serial can be typed in
    (serials are random: typing one means holding the ticket).

    Who redeemed it (the shop, the time) is shown to its city and to the shop that redeemed it only.

    Raises:
        ApiError: ``not_found``, also for another city's ticket.
    """
    issuer_side = principal.is_admin or principal.role == "city" or principal.mode == TerminalMode.ISSUE
    found = issuing.ticket_status(
        store.reader,
        serial,
        ledger.business_date(store.clock()),
        with_text=issuer_side,
        text_if_redeemable=principal.mode == TerminalMode.SHOP,
    )
    if found is None:
        raise ApiError("not_found", f"ticket {serial}")
    city = program(store, found.program_id).city
    if principal.role == "city" and city != principal.city_id:
        raise ApiError("not_found", f"ticket {serial}")
    # Which shop took a ticket, and when, is its city's (and its desks') and that shop's business.
    city_side = (
        principal.merchant_id is None and principal.role in ("city", "terminal") and principal.city_id == city
    )
    sees_redeemer = (
        principal.is_admin
        or city_side
        or (principal.merchant_id is not None and principal.merchant_id == found.redeemed_by)
    )
    if not sees_redeemer:
        found = found.model_copy(update={"redeemed_by": None, "redeemed_at": None})
    return found
