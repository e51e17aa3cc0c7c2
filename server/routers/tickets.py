"""Point tickets: issued from receipts at the city's counter; one ticket's state by serial."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from points.wire import TicketIssueRequest, TicketIssueResult, TicketStatus
from server.auth import Principal, require
from server.dependencies import SerialPath, json_answer, note_operation, store_of
from server.services import tickets

router = APIRouter(prefix="/v1", tags=["tickets"])


@router.post("/tickets/issue", response_model=TicketIssueResult)
async def issue_tickets(
    request: Request,
    body: TicketIssueRequest,
    principal: Annotated[Principal, Depends(require("city", "terminal", modes=("issue",)))],
) -> Response:
    """Tickets for shop receipts under the program's rule (Tenri); a receipt counts once."""
    note_operation(request, body.issue_id)
    return json_answer(await tickets.issue(store_of(request), principal, body))


@router.get("/tickets/{serial}", response_model=TicketStatus)
async def ticket(
    request: Request,
    serial: SerialPath,
    principal: Annotated[Principal, Depends(require("terminal", "merchant", "city", "admin"))],
) -> TicketStatus:
    """What the server knows of a ticket: issued, redeemed (when, by whom) or expired."""
    return tickets.status(store_of(request), principal, serial)
