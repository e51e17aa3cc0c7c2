"""Online sales (docs/dev/online-api.md): products, photos, orders, cancels, shipping, refunds, payables."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from server import online
from server.auth import Principal, require
from server.dependencies import store_of
from server.errors import ApiError

router = APIRouter(prefix="/v1/shop", tags=["online sales"])

Anyone = Annotated[Principal, Depends(require("online_shop", "merchant", "city", "admin"))]
Viewer = Annotated[
    Principal,
    Depends(require("resident", "online_shop", "merchant", "city", "admin")),
]
Merchant = Annotated[Principal, Depends(require("merchant"))]
City = Annotated[Principal, Depends(require("city", "admin"))]
Site = Annotated[Principal, Depends(require("online_shop"))]
Canceller = Annotated[Principal, Depends(require("resident", "online_shop"))]
Refunder = Annotated[Principal, Depends(require("merchant", "online_shop"))]
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
LineNo = Annotated[int, Path(ge=1, le=50)]
Json = Annotated[dict[str, Any], Body()]


@router.get("/products")
async def list_products(request: Request, principal: Anyone) -> dict[str, Any]:
    """A site's approved products with stock; a merchant's own; a city's shops' (every status)."""
    return {"products": online.products(store_of(request).reader, principal)}


@router.put("/products/{product_id}")
async def put_product(
    request: Request, product_id: Id, body: Json, principal: Merchant, response: Response
) -> dict[str, Any]:
    """Create or edit the merchant's own product (a changed name, text, price or rate: pending again)."""
    store = store_of(request)
    now = store.clock()
    found, new = await store.write(lambda conn: online.put_product(conn, principal, product_id, body, now))
    response.status_code = 201 if new else 200
    return found


@router.put("/products/{product_id}/photo", status_code=204)
async def put_photo(request: Request, product_id: Id, principal: Merchant) -> Response:
    """The product's photo: ``image/jpeg`` or ``image/png``, at most 2 MB."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > online.MAX_PHOTO_BYTES:
        raise ApiError("invalid_request", "a photo is at most 2 MB")
    data = await request.body()
    store = store_of(request)
    now = store.clock()
    await store.write(lambda conn: online.put_photo(conn, principal, product_id, kind, data, now))
    return Response(status_code=204)


@router.get("/products/{product_id}/photo")
async def get_photo(request: Request, product_id: Id) -> Response:
    """A product's photo (no token: the catalogue's images)."""
    found = online.photo(store_of(request).reader, product_id)
    if found is None:
        raise ApiError("not_found", f"photo of {product_id}")
    return Response(content=found[1], media_type=found[0], headers={"Cache-Control": "public, max-age=300"})


@router.post("/products/{product_id}/approve")
async def approve(request: Request, product_id: Id, principal: City) -> dict[str, Any]:
    """The city of the product's shop approves it for the catalogue."""
    store = store_of(request)
    now = store.clock()
    return await store.write(lambda conn: online.review(conn, principal, product_id, True, now))


@router.post("/products/{product_id}/reject")
async def reject(request: Request, product_id: Id, principal: City) -> dict[str, Any]:
    """The city of the product's shop rejects it."""
    store = store_of(request)
    now = store.clock()
    return await store.write(lambda conn: online.review(conn, principal, product_id, False, now))


@router.post("/orders", status_code=201)
async def place_order(request: Request, body: Json, principal: Site, response: Response) -> dict[str, Any]:
    """One transaction: the payment approval used, stock taken, points paid to the supplying merchants."""
    store = store_of(request)
    now = store.clock()

    def job(conn: sqlite3.Connection) -> tuple[dict[str, Any], bool]:
        return online.place_order(conn, principal, body, now)

    found, new = await store.write(job)
    if not new:
        response.status_code = 200
    return found


@router.get("/orders")
async def list_orders(
    request: Request, principal: Viewer, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> dict[str, Any]:
    """A resident's own orders, a site's, a merchant's (its lines only), a city's shops'."""
    return {"orders": online.orders(store_of(request).reader, principal, limit)}


@router.get("/orders/{order_id}")
async def get_order(request: Request, order_id: Id, principal: Viewer) -> dict[str, Any]:
    """One order as the principal may see it."""
    return online.order(store_of(request).reader, principal, order_id)


@router.post("/orders/{order_id}/cancel")
async def cancel(request: Request, order_id: Id, principal: Canceller) -> dict[str, Any]:
    """Cancel before any line ships: points back exactly once, stock released."""
    store = store_of(request)
    now = store.clock()
    return await store.write(lambda conn: online.cancel(conn, principal, order_id, now))


@router.post("/orders/{order_id}/lines/{line_no}/accept")
async def accept(request: Request, order_id: Id, line_no: LineNo, principal: Merchant) -> dict[str, Any]:
    """The line's merchant accepts the line."""
    store = store_of(request)
    now = store.clock()
    return await store.write(lambda conn: online.accept(conn, principal, order_id, line_no, now))


@router.post("/orders/{order_id}/lines/{line_no}/ship")
async def ship(
    request: Request, order_id: Id, line_no: LineNo, body: Json, principal: Merchant
) -> dict[str, Any]:
    """The line's merchant ships it with a tracking number."""
    store = store_of(request)
    now = store.clock()
    tracking = body.get("tracking_number")
    return await store.write(lambda conn: online.ship(conn, principal, order_id, line_no, tracking, now))


@router.post("/orders/{order_id}/lines/{line_no}/refund")
async def refund(
    request: Request, order_id: Id, line_no: LineNo, body: Json, principal: Refunder
) -> dict[str, Any]:
    """A partial refund of a shipped line, each refund id once, at most the line's amount in all."""
    store = store_of(request)
    now = store.clock()
    return await store.write(lambda conn: online.refund(conn, principal, order_id, line_no, body, now))


@router.get("/payable")
async def payable(
    request: Request,
    principal: Merchant,
    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")],
) -> dict[str, Any]:
    """What the merchant will be paid for its online lines of a month: gross, fee, net."""
    return online.payable(store_of(request).reader, principal, period)


@router.get("/fees")
async def fees(
    request: Request,
    principal: Annotated[Principal, Depends(require("city"))],
    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")],
) -> dict[str, Any]:
    """A city's online sales of a month per supplying merchant: gross, the fee share it keeps, net."""
    return online.fees(store_of(request).reader, principal, period)
