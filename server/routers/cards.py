"""Cards: balances and tags of one card key; eligibility tags set by a city."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from points.wire import CardKey, CardLookup, CardLookupRequest, EligibilityUpdate
from server.auth import Principal, require
from server.dependencies import store_of
from server.services import cards

router = APIRouter(prefix="/v1", tags=["cards"])


@router.post("/cards/lookup", response_model=CardLookup)
async def card_lookup(
    request: Request,
    body: CardLookupRequest,
    principal: Annotated[Principal, Depends(require("terminal", "city", "admin"))],
) -> CardLookup:
    """A card's balances in the programs this principal works with, lots expiring within 30 days, and tags."""
    return cards.lookup(store_of(request), principal, body.card_key)


@router.put("/cards/{card_key}/eligibility", response_model=CardLookup)
async def set_eligibility(
    request: Request,
    card_key: Annotated[CardKey, Path()],
    body: EligibilityUpdate,
    principal: Annotated[Principal, Depends(require("city", "terminal", modes=("enroll",)))],
) -> CardLookup:
    """Replace the card's tags of the principal's city (its desk checked the resident's papers)."""
    return await cards.set_eligibility(store_of(request), principal, card_key, body)
