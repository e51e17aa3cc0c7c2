"""Sales: one sale, the offline batch, a stored answer, a void, a return; the PIN challenge before a sale."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from points.wire import (
    BatchRequest,
    BatchResult,
    Challenge,
    ReturnRequest,
    ReturnResult,
    SaleRequest,
    SaleResult,
    VoidRequest,
)
from server.auth import Principal, require
from server.dependencies import (
    SHOP,
    SaleIdPath,
    Shop,
    json_answer,
    note_operation,
    store_of,
    validated_body,
)
from server.services import cards, sales

router = APIRouter(prefix="/v1", tags=["sales"])


# The sale path first: FastAPI tries routes in order, and this is the one terminals call most.
@router.post(
    "/sales",
    response_model=SaleResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SaleRequest"}}},
        },
        "security": [{"bearer": []}],
    },
)
async def post_sale(request: Request) -> Response:
    """One sale, applied atomically; the same sale id and body get the same answer."""
    # The hot path does by hand what FastAPI's dependency and body machinery would do (the same
    # Require check, one pydantic-core validation from the raw bytes): that machinery was a
    # quarter of a sale's time in the profile. The OpenAPI schema still documents both.
    principal = await SHOP(request)
    body = await validated_body(request, SaleRequest)
    note_operation(request, body.sale_id)
    return json_answer(await sales.sell(store_of(request), principal, body))


@router.post("/challenges", response_model=Challenge)
async def challenge(request: Request, principal: Shop) -> Challenge:
    """A one-time nonce for a sale above a program's no-PIN limit (the card signs it after its PIN)."""
    return await cards.challenge(store_of(request), principal)


@router.post("/sales/batch", response_model=BatchResult)
async def post_batch(request: Request, body: BatchRequest, principal: Shop) -> BatchResult:
    """The offline queue in order: each sale applied or refused on its own (refusals are stored)."""
    return await sales.sell_batch(store_of(request), principal, body.sales)


@router.get("/sales/{sale_id}", response_model=SaleResult)
async def get_sale(
    request: Request,
    sale_id: SaleIdPath,
    principal: Annotated[Principal, Depends(require("terminal", "merchant", "chamber", "admin"))],
) -> Response:
    """A stored sale's answer (a terminal whose answer was lost asks here)."""
    return json_answer(sales.stored_sale(store_of(request), principal, sale_id))


@router.post("/sales/{sale_id}/void", response_model=SaleResult)
async def void_sale(request: Request, sale_id: SaleIdPath, body: VoidRequest, principal: Shop) -> Response:
    """Reverse a sale of the same day: points, tickets and awards go back (refused if awards were spent)."""
    note_operation(request, sale_id)
    return json_answer(await sales.void(store_of(request), principal, sale_id, body.reason))


@router.post("/sales/{sale_id}/returns", response_model=ReturnResult)
async def return_part(
    request: Request, sale_id: SaleIdPath, body: ReturnRequest, principal: Shop
) -> Response:
    """Return (返品) part of a sale of any day: points back to its card, awards taken back in proportion.

    Idempotent by the terminal's ``return_id``: the same id and body get the same answer.
    """
    note_operation(request, body.return_id)
    return json_answer(await sales.return_part(store_of(request), principal, sale_id, body))
