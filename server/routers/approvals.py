"""Card approvals (device flow) and the resident's own page: ``docs/dev/online-api.md``.

``POST /v1/approvals`` and ``/poll`` are the online shop's; ``/lookup`` and ``/sign`` take no token
(the card helper has none: the user code and the card's signature are what count) and are
rate-limited per client address and per code; ``/v1/me*`` are the signed-in resident's.
"""

from __future__ import annotations

import sqlite3
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from points.wire import PinProof, Ulid, WireModel
from server import approvals, me
from server.auth import Principal, bearer_token, require
from server.dependencies import store_of
from server.errors import ApiError

router = APIRouter(prefix="/v1", tags=["approvals"])
Shop = Annotated[Principal, Depends(require("online_shop"))]
Resident = Annotated[Principal, Depends(require("resident"))]


class ApprovalRequest(WireModel):
    """What the site asks the resident to approve with the card."""

    approval_id: Ulid
    purpose: Literal["sign_in", "payment"]
    order_id: Ulid | None = None
    amount: int | None = Field(default=None, gt=0, lt=10**9)


class CodeRequest(WireModel):
    """A user code as the resident typed it."""

    user_code: str = Field(min_length=1, max_length=20)


class SignRequest(WireModel):
    """The card's signature over the approval's challenge."""

    user_code: str = Field(min_length=1, max_length=20)
    pin_proof: PinProof


class PollRequest(WireModel):
    """The device secret the site was given with the approval."""

    device_secret: str = Field(min_length=1, max_length=100)


def _limit(request: Request, user_code: str) -> None:
    address = request.client.host if request.client is not None else "?"
    limits: approvals.Limits = request.app.state.approval_limits
    limits.check(address, approvals.normal_code(user_code) or user_code[:20])


def _shop(request: Request, principal: Principal) -> approvals.OnlineShop:
    assert principal.shop_id is not None
    shop = approvals.shop_of(store_of(request).reader, principal.shop_id)
    if shop is None:
        raise ApiError("forbidden", "the token's shop is gone")
    return shop


@router.post("/approvals", status_code=201)
async def create_approval(request: Request, body: ApprovalRequest, principal: Shop) -> dict[str, object]:
    """Ask for a card approval: a user code to show the resident, a device secret to poll with."""
    store = store_of(request)
    shop, now = _shop(request, principal), store.clock()

    def job(conn: sqlite3.Connection) -> dict[str, object]:
        return approvals.create(conn, shop, body.approval_id, body.purpose, body.order_id, body.amount, now)

    return await store.write(job)


@router.post("/approvals/lookup")
async def lookup_approval(request: Request, body: CodeRequest) -> dict[str, object]:
    """What a user code asks (the site, its origin, sign-in or payment of N pt) and the challenge to sign."""
    _limit(request, body.user_code)
    store = store_of(request)
    return approvals.lookup(store.reader, body.user_code, store.clock())


@router.post("/approvals/sign")
async def sign_approval(request: Request, body: SignRequest) -> dict[str, object]:
    """The card's signature (PIN checked by the card) over the approval's challenge."""
    _limit(request, body.user_code)
    store = store_of(request)
    now = store.clock()
    await store.write(
        lambda conn: approvals.sign(conn, body.user_code, body.pin_proof, store.trust_anchors, now)
    )
    return {"status": "signed"}


@router.post("/approvals/{approval_id}/poll")
async def poll_approval(
    request: Request, approval_id: Annotated[Ulid, ...], body: PollRequest, principal: Shop
) -> dict[str, object]:
    """The approval's state; a signed sign-in's resident session, once."""
    store = store_of(request)
    assert principal.shop_id is not None
    shop_id, now = principal.shop_id, store.clock()
    return await store.write(lambda conn: approvals.poll(conn, shop_id, approval_id, body.device_secret, now))


@router.get("/me")
async def my_page(
    request: Request,
    principal: Resident,
    history: Annotated[int, Query(ge=0, le=200)] = 0,
    before: Annotated[int | None, Query(ge=1, lt=2**62)] = None,
) -> dict[str, object]:
    """The resident's balances per program of the site's city and programs, lots soonest first.

    ``history=N`` adds the first page of ``/v1/me/history`` (``limit=N``, ``before``) to the answer,
    so that a page showing both asks once.
    """
    store = store_of(request)
    programs = store.programs()
    answer = me.summary(store.reader, principal, programs, store.clock())
    if history:
        items, after = me.history(store.reader, principal, programs, before=before, limit=history)
        answer["history"] = {"items": items, "next": after}
    return answer


@router.get("/me/history")
async def my_history(
    request: Request,
    principal: Resident,
    before: Annotated[int | None, Query(ge=1, lt=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, object]:
    """What happened to the resident's points, newest first (``next``: pass as ``before``)."""
    store = store_of(request)
    items, after = me.history(store.reader, principal, store.programs(), before=before, limit=limit)
    return {"items": items, "next": after}


@router.get("/me/history.csv")
async def my_history_csv(request: Request, principal: Resident) -> Response:
    """The whole history as CSV (UTF-8 with BOM, Japanese headers: opens in Excel)."""
    store = store_of(request)
    return Response(
        content=me.history_csv(store.reader, principal, store.programs()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mykey-history.csv"'},
    )


@router.post("/me/signout")
async def sign_out(request: Request, principal: Resident) -> dict[str, object]:
    """End the resident's session: its token stops working at once."""
    store = store_of(request)
    token, now = bearer_token(request), store.clock()
    await store.write(lambda conn: approvals.end_session(conn, token, now))
    return {"status": "signed_out"}
