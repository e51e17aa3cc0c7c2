"""Memberships: a library's or facility's number for a tapped card, the first visit's link, visits."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from points.wire import (
    IssuerInfo,
    Membership,
    MembershipAnswer,
    MembershipLinkRequest,
    MembershipLookupRequest,
    MembershipStatusChange,
    Visit,
    VisitCounts,
    VisitRequest,
)
from server.auth import Principal, require
from server.dependencies import store_of
from server.services import memberships

router = APIRouter(prefix="/v1", tags=["memberships"])

Desk = Annotated[Principal, Depends(require("library", "facility"))]


@router.get("/memberships/issuer", response_model=IssuerInfo)
async def own_issuer(request: Request, principal: Desk) -> IssuerInfo:
    """The desk's own library or facility: its id, kind and name (the desk's screen shows it)."""
    return memberships.own_issuer(store_of(request), principal)


@router.post("/memberships/status", response_model=Membership)
async def membership_status(request: Request, body: MembershipStatusChange, principal: Desk) -> Membership:
    """Suspend one of this issuer's members by its own number (the desk refuses the card), or lift it."""
    return await memberships.set_status(store_of(request), principal, body)


@router.post("/memberships/lookup", response_model=MembershipAnswer)
async def membership_lookup(
    request: Request, body: MembershipLookupRequest, principal: Desk
) -> MembershipAnswer:
    """This library's (facility's) membership of the card; the network's others only as it allows."""
    return memberships.lookup(store_of(request), principal, body.card_key)


@router.post("/memberships", response_model=Membership, status_code=201)
async def membership_link(
    request: Request, body: MembershipLinkRequest, principal: Desk, response: Response
) -> Membership:
    """Link the resident's existing number here to the card (first visit, once; the same again is 200)."""
    membership, new = await memberships.link(store_of(request), principal, body)
    if not new:
        response.status_code = 200
    return membership


@router.post("/visits", response_model=Visit)
async def facility_visit(
    request: Request,
    body: VisitRequest,
    principal: Annotated[Principal, Depends(require("facility"))],
) -> Visit:
    """A member's entry today: the member number and the day's count (no personal data)."""
    return await memberships.visit(store_of(request), principal, body.card_key)


@router.get("/visits", response_model=VisitCounts)
async def visit_counts(
    request: Request,
    principal: Annotated[Principal, Depends(require("facility", "city", "admin"))],
    first: Annotated[dt.date | None, Query(description="the first day (default: today)")] = None,
    last: Annotated[dt.date | None, Query(description="the last day (default: the first)")] = None,
) -> VisitCounts:
    """Visits per facility per day: a facility's own, a city's facilities', or all for an admin."""
    return memberships.visit_counts(store_of(request), principal, first, last)
