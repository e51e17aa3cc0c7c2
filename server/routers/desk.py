"""The city desk (市役所の窓口): resident accounts, renewals, merges, blocks of lost cards.

A city clerk (role ``city``) or the city's enrolment terminal (``terminal`` in mode ``enroll``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from points.wire import BlockRequest, Challenge, DeskLookupRequest, LinkRequest, MergeRequest, ResidentAccount
from server.auth import Principal, require
from server.dependencies import store_of
from server.services import desk

router = APIRouter(prefix="/v1/desk", tags=["desk"])
Clerk = Annotated[Principal, Depends(require("city", "terminal", modes=("enroll",)))]


@router.post("/challenges", response_model=Challenge)
async def desk_challenge(request: Request, principal: Clerk) -> Challenge:
    """A one-time nonce for a card on the desk's reader to sign (its PIN typed on the reader's side)."""
    return await desk.challenge(store_of(request), principal)


@router.post("/accounts/lookup", response_model=ResidentAccount)
async def desk_lookup(request: Request, body: DeskLookupRequest, principal: Clerk) -> ResidentAccount:
    """The account of the card on the reader: its number, cards (every state) and balances."""
    return desk.find(store_of(request), principal, body.card_key)


@router.get("/accounts/{number}", response_model=ResidentAccount)
async def desk_account(
    request: Request, number: Annotated[str, Path(min_length=8, max_length=12)], principal: Clerk
) -> ResidentAccount:
    """The account of a number the resident quotes (``ABCD-EFGH``; the check character is checked)."""
    return desk.by_number(store_of(request), principal, number)


@router.post("/link", response_model=ResidentAccount)
async def desk_link(request: Request, body: LinkRequest, principal: Clerk) -> ResidentAccount:
    """Link a renewed or replacement card to the old card's account (retiring it) or to a quoted one."""
    return await desk.link(store_of(request), principal, body)


@router.post("/merge", response_model=ResidentAccount)
async def desk_merge(request: Request, body: MergeRequest, principal: Clerk) -> ResidentAccount:
    """Merge a point card's account into a My Number Card's: lots move with their expiry dates."""
    return await desk.merge(store_of(request), principal, body)


@router.post("/block", response_model=ResidentAccount)
async def desk_block(request: Request, body: BlockRequest, principal: Clerk) -> ResidentAccount:
    """Block an account's cards (a lost card) by its number, with the reason; refused at every counter."""
    return await desk.block(store_of(request), principal, body)


@router.post("/unblock", response_model=ResidentAccount)
async def desk_unblock(request: Request, body: BlockRequest, principal: Clerk) -> ResidentAccount:
    """Lift a clerk's block (the card was found); a revoked certificate's block stays."""
    return await desk.block(store_of(request), principal, body, lift=True)
