"""The shop's pages for residents: catalogue, cart, checkout paid with points, orders and cancels.

Browsing needs no JavaScript and no sign-in. The cart lives in the server-side session. Checkout
asks the server for a payment approval of the cart's total under a fresh order id and shows its
user code: the resident approves the payment with the card helper (the PIN never reaches the
browser); the waiting page refreshes itself (``<meta refresh>``) and, once the approval is signed,
places the order (one transaction on the server: the approval used, stock taken, points paid). A
refusal (out of stock, not enough points) is shown in words and nothing was taken.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from ulid import ULID

from server.site.account import when
from server.site.app import Site
from server.site.client import SiteError

STATUS_JA = {
    "paid": "お支払い済み(発送準備中)",
    "accepted": "お店が受け付けました",
    "partly_shipped": "一部発送済み",
    "shipped": "発送済み",
    "cancelled": "取り消し済み",
}
REFUSAL_JA = {
    "out_of_stock": "在庫が足りなくなりました。数量を減らすか、ほかの商品をお選びください。",
    "insufficient_points": "ポイントが足りません。カートの中身を減らしてください。",
    "approval_invalid": "カードでの確認の有効期限が切れたか、確認できませんでした。もう一度お試しください。",
    "order_shipped": "発送済みの商品があるため、取り消せません。お店にお問い合わせください。",
    "not_found": "この商品は現在お取り扱いしていません。",
}
#: The most of one product in the cart.
MAX_QUANTITY = 20


def _refusal(code: str) -> str:
    return REFUSAL_JA.get(code, f"処理できませんでした(コード: {code})。もう一度お試しください。")


def order_view(order: dict[str, Any]) -> dict[str, Any]:
    """An order as the pages show it (times and statuses in words)."""
    return {
        **order,
        "when": when(order["placed_at"]),
        "status_ja": STATUS_JA.get(order["status"], order["status"]),
        "lines": [
            {**line, "status_ja": STATUS_JA.get(line["status"], line["status"])} for line in order["lines"]
        ],
        "cancellable": order["status"] == "paid",
    }


#: How long the site reuses the catalogue it fetched (seconds): the stock shown may be this old; an
#: order is checked against the server's stock in its own transaction whatever the page showed.
CATALOGUE_S = 2.0
_catalogues: weakref.WeakKeyDictionary[Site, tuple[float, list[dict[str, Any]]]] = weakref.WeakKeyDictionary()


async def catalogue(site: Site) -> list[dict[str, Any]]:
    """The site's approved products with stock (``GET /v1/shop/products`` as the shop, reused briefly)."""
    now = time.monotonic()
    known = _catalogues.get(site)
    if known is not None and now - known[0] < CATALOGUE_S:
        return known[1]
    answer = await site.api.json("GET", "/v1/shop/products")
    products: list[dict[str, Any]] = answer["products"]
    _catalogues[site] = (now, products)
    return products


def forget_catalogue(site: Site) -> None:
    """Fetch the catalogue anew next time (after an order, a cancel, a product's change on this site)."""
    _catalogues.pop(site, None)


def _cart_lines(cart: dict[str, int], products: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    by_id = {p["product_id"]: p for p in products}
    lines = []
    for product_id, quantity in cart.items():
        product = by_id.get(product_id)
        if product is None:
            continue
        lines.append({**product, "quantity": quantity, "amount": product["price"] * quantity})
    return lines, sum(line["amount"] for line in lines)


def routes(site: Site) -> list[BaseRoute]:
    """The catalogue, cart, checkout and orders routes."""

    def trouble(request: Request, error: SiteError, status: int = 400) -> Response:
        if error.code == "unreachable":
            message = "ただいまサーバーにつながりません。しばらくしてからもう一度お試しください。"
            status = 502
        else:
            message = _refusal(error.code)
        return site.page(
            request, "error.html", status=status, title="うまくいきませんでした", message=message
        )

    async def products(request: Request) -> Response:
        try:
            found = await catalogue(site)
        except SiteError as error:
            return trouble(request, error)
        cart = site.session(request).data.get("cart", {})
        return site.page(
            request,
            "products.html",
            title="商品一覧",
            products=found,
            in_cart=sum(cart.values()),
            notice=None,
        )

    async def product(request: Request) -> Response:
        product_id = request.path_params["product_id"]
        try:
            found = [p for p in await catalogue(site) if p["product_id"] == product_id]
        except SiteError as error:
            return trouble(request, error)
        if not found:
            return site.page(
                request, "error.html", status=404, title="商品が見つかりません", message=_refusal("not_found")
            )
        return site.page(request, "product.html", title=found[0]["name"], product=found[0])

    async def photo(request: Request) -> Response:
        product_id = request.path_params["product_id"]
        try:
            answer = await site.api.call("GET", f"/v1/shop/products/{product_id}/photo")
        except SiteError:
            return Response(status_code=404)
        kind = answer.headers.get("content-type", "")
        if kind not in ("image/jpeg", "image/png"):
            return Response(status_code=404)
        return Response(answer.content, media_type=kind, headers={"Cache-Control": "public, max-age=300"})

    async def cart_page(request: Request) -> Response:
        session = site.session(request)
        try:
            found = await catalogue(site)
        except SiteError as error:
            return trouble(request, error)
        lines, total = _cart_lines(session.data.get("cart", {}), found)
        return site.page(
            request,
            "cart.html",
            title="カート",
            lines=lines,
            total=total,
            max_quantity=MAX_QUANTITY,
            notice=None,
        )

    async def cart_change(request: Request) -> Response:
        fields = await site.form(request)
        session = site.session(request)
        cart: dict[str, int] = dict(session.data.get("cart", {}))
        product_id = fields.get("product_id", "")
        text = fields.get("quantity", "1").strip()
        quantity = int(text) if text.isdigit() else 1
        if fields.get("action") == "add":
            quantity = cart.get(product_id, 0) + quantity
        quantity = min(quantity, MAX_QUANTITY)
        if product_id:
            if quantity <= 0 or fields.get("action") == "remove":
                cart.pop(product_id, None)
            else:
                cart[product_id] = quantity
        session.data["cart"] = cart
        return site.redirect(request, "/cart")

    async def checkout(request: Request) -> Response:
        await site.form(request)
        session = site.session(request)
        if session.resident_token is None:
            session.data["after_signin"] = "/cart"
            return site.redirect(request, "/signin")
        try:
            found = await catalogue(site)
        except SiteError as error:
            return trouble(request, error)
        lines, total = _cart_lines(session.data.get("cart", {}), found)
        if not lines:
            return site.redirect(request, "/cart")
        order_id = str(ULID())
        try:
            approval = await site.api.ask_approval(str(ULID()), "payment", order_id, total)
        except SiteError as error:
            return trouble(request, error)
        session.data["checkout"] = {
            "order_id": order_id,
            "approval": approval,
            "lines": [{"product_id": x["product_id"], "quantity": x["quantity"]} for x in lines],
            "total": total,
        }
        return site.redirect(request, "/checkout/wait")

    async def settle(request: Request) -> tuple[str, Any]:
        """Poll the checkout's approval; once signed, place the order.

        Returns ``("none", None)``, ``("pending", checkout)``, ``("placed", order_id)`` or
        ``("refused", SiteError)``.
        """
        session = site.session(request)
        pending = session.data.get("checkout")
        if pending is None:
            return "none", None
        approval = pending["approval"]
        try:
            polled = await site.api.poll(approval["approval_id"], approval["device_secret"])
        except SiteError as error:
            return "refused", error
        if polled["status"] == "pending":
            return "pending", pending
        session.data.pop("checkout", None)
        if polled["status"] != "signed":
            return "refused", SiteError("approval_invalid")
        body = {
            "order_id": pending["order_id"],
            "approval_id": approval["approval_id"],
            "lines": pending["lines"],
        }
        try:
            await site.api.json("POST", "/v1/shop/orders", json=body)
        except SiteError as error:
            return "refused", error
        session.data["cart"] = {}
        forget_catalogue(site)
        return "placed", pending["order_id"]

    async def checkout_wait(request: Request) -> Response:
        state, value = await settle(request)
        if state == "none":
            return site.redirect(request, "/cart")
        if state == "placed":
            return site.redirect(request, f"/orders/{value}")
        if state == "refused":
            return trouble(request, value, 409)
        approval = value["approval"]
        return site.page(
            request,
            "checkout_wait.html",
            title="カードでお支払いを確認してください",
            code=approval["user_code"],
            origin=approval["origin"],
            server_site_name=approval["site_name"],
            total=value["total"],
            expires=when(approval["expires_at"]),
            interval=int(approval.get("interval_s", 2)),
        )

    async def checkout_status(request: Request) -> Response:
        state, value = await settle(request)
        if state == "placed":
            return JSONResponse({"status": "signed", "next": f"/orders/{value}"})
        if state == "pending":
            return JSONResponse({"status": "pending"})
        if state == "refused":
            # The page itself shows the refusal in words: it is asked for once more, then says why.
            site.session(request).data["checkout_refusal"] = value.code
            return JSONResponse({"status": "refused", "next": "/checkout/refused"})
        return JSONResponse({"status": "none", "next": "/cart"})

    async def checkout_refused(request: Request) -> Response:
        code = site.session(request).data.pop("checkout_refusal", "approval_invalid")
        return trouble(request, SiteError(str(code)), 409)

    async def my_orders(request: Request) -> Response:
        session = site.session(request)
        if session.resident_token is None:
            return site.redirect(request, "/signin")
        try:
            answer = await site.api.json("GET", "/v1/shop/orders", token=session.resident_token)
        except SiteError as error:
            return trouble(request, error)
        views = [order_view(o) for o in answer["orders"]]
        return site.page(request, "orders.html", title="ご注文の履歴", orders=views)

    async def my_order(request: Request) -> Response:
        session = site.session(request)
        if session.resident_token is None:
            return site.redirect(request, "/signin")
        order_id = request.path_params["order_id"]
        try:
            found = await site.api.json("GET", f"/v1/shop/orders/{order_id}", token=session.resident_token)
        except SiteError as error:
            return trouble(request, error, 404 if error.code == "not_found" else 400)
        return site.page(request, "order.html", title="ご注文の内容", order=order_view(found))

    async def cancel(request: Request) -> Response:
        await site.form(request)
        session = site.session(request)
        if session.resident_token is None:
            return site.redirect(request, "/signin")
        order_id = request.path_params["order_id"]
        try:
            await site.api.json("POST", f"/v1/shop/orders/{order_id}/cancel", token=session.resident_token)
        except SiteError as error:
            return trouble(request, error, 409)
        forget_catalogue(site)
        return site.redirect(request, f"/orders/{order_id}")

    return [
        Route("/products", products),
        Route("/products/{product_id:str}", product),
        Route("/photos/{product_id:str}", photo),
        Route("/cart", cart_page, methods=["GET"]),
        Route("/cart", cart_change, methods=["POST"]),
        Route("/checkout", checkout, methods=["POST"]),
        Route("/checkout/wait", checkout_wait),
        Route("/checkout/status", checkout_status),
        Route("/checkout/refused", checkout_refused),
        Route("/orders", my_orders),
        Route("/orders/{order_id:str}", my_order),
        Route("/orders/{order_id:str}/cancel", cancel, methods=["POST"]),
    ]
