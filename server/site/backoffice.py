"""The back office of the site: the supplying merchants' pages and the city's.

A merchant or the city signs in with its own API token (typed into a password field, POSTed,
kept in the server-side session, never in a URL); the pages call the server with that token, so
the server decides what each sees and may change: a merchant only its own products and its own
order lines, the city its shops' products and orders.

- Merchant: what it will be paid this month (gross, the city's fee share, net); its products (add,
  edit, stock; a changed name, text, price or rate waits for the city's approval again); its
  order lines (accept, ship with a tracking number; refund a shipped line, in part or whole, once per
  form: each refund form carries a refund id made with the page).
- City: products waiting for approval (approve, reject), every order, the fee share per shop.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from ulid import ULID

from server.site.account import JST, when
from server.site.app import CsrfRefused, Site
from server.site.client import SiteError
from server.site.shop import STATUS_JA, forget_catalogue, order_view

PRODUCT_STATUS_JA = {"pending": "承認待ち", "approved": "掲載中", "rejected": "差し戻し"}


def _month() -> str:
    return dt.datetime.now(JST).strftime("%Y-%m")


def routes(site: Site) -> list[BaseRoute]:
    """The back office's routes under ``/office``."""

    def office(request: Request) -> dict[str, str] | None:
        found: dict[str, str] | None = site.session(request).data.get("office")
        return found

    def trouble(request: Request, error: SiteError) -> Response:
        message = f"処理できませんでした(コード: {error.code})。入力を確かめて、もう一度お試しください。"
        if error.code == "unreachable":
            message = "ただいまサーバーにつながりません。しばらくしてからもう一度お試しください。"
        return site.page(
            request, "error.html", status=400, title="うまくいきませんでした", message=message, back="/office"
        )

    async def home(request: Request) -> Response:
        who = office(request)
        if who is None:
            return site.page(request, "office_signin.html", title="お店・市役所の方", notice=None)
        token, month = who["token"], _month()
        try:
            products = (await site.api.json("GET", "/v1/shop/products", token=token))["products"]
            orders = (await site.api.json("GET", "/v1/shop/orders", token=token))["orders"]
            if who["role"] == "merchant":
                money = await site.api.json("GET", "/v1/shop/payable", token=token, params={"period": month})
            else:
                money = await site.api.json("GET", "/v1/shop/fees", token=token, params={"period": month})
        except SiteError as error:
            if error.code == "unauthorized":
                site.session(request).data.pop("office", None)
                return site.redirect(request, "/office")
            return trouble(request, error)
        for p in products:
            p["status_ja"] = PRODUCT_STATUS_JA.get(p["status"], p["status"])
        views = [order_view(o) for o in orders]
        for view in views:  # a refund form's id, made with the page (a second press is the same refund)
            for line_view in view["lines"]:
                line_view["refund_id"] = str(ULID())
                line_view["refundable"] = int(line_view["amount"]) - int(line_view.get("refunded") or 0)
        template = "office_merchant.html" if who["role"] == "merchant" else "office_city.html"
        return site.page(
            request,
            template,
            title="お店の管理" if who["role"] == "merchant" else "市役所の管理",
            products=products,
            orders=views,
            money=money,
            month=month,
            status_ja=STATUS_JA,
        )

    async def signin(request: Request) -> Response:
        fields = await site.form(request)
        token = fields.get("token", "").strip()
        role = None
        try:
            await site.api.json("GET", "/v1/shop/payable", token=token, params={"period": _month()})
            role = "merchant"
        except SiteError as error:
            if error.code == "forbidden":
                try:
                    await site.api.json("GET", "/v1/shop/fees", token=token, params={"period": _month()})
                    role = "city"
                except SiteError:
                    role = None
        if role is None:
            notice = "このトークンではサインインできません。お店または市役所のトークンを入力してください。"
            return site.page(
                request, "office_signin.html", status=401, title="お店・市役所の方", notice=notice
            )
        session = site.renew(request)
        session.data["office"] = {"role": role, "token": token}
        return site.redirect(request, "/office")

    async def signout(request: Request) -> Response:
        await site.form(request)
        site.session(request).data.pop("office", None)
        site.renew(request)
        return site.redirect(request, "/office")

    async def product(request: Request) -> Response:
        fields = await site.form(request)
        who = office(request)
        if who is None or who["role"] != "merchant":
            return site.redirect(request, "/office")
        product_id = fields.get("product_id") or str(ULID())
        numbers = {k: fields.get(k, "").strip().replace(",", "") for k in ("price", "stock", "tax_rate")}
        if not all(v.isdigit() for v in numbers.values()):
            return trouble(request, SiteError("invalid_request"))
        shop_id = fields.get("shop_id") or await _shop_id(site)
        body: dict[str, Any] = {
            "shop_id": shop_id,
            "name": fields.get("name", ""),
            "description": fields.get("description", ""),
            "price": int(numbers["price"]),
            "tax_rate": int(numbers["tax_rate"]),
            "stock": int(numbers["stock"]),
        }
        try:
            await site.api.json("PUT", f"/v1/shop/products/{product_id}", token=who["token"], json=body)
        except SiteError as error:
            return trouble(request, error)
        forget_catalogue(site)
        return site.redirect(request, "/office#products")

    async def photo(request: Request) -> Response:
        who = office(request)
        session = site.session(request)
        body = await request.body()
        if len(body) > PHOTO_FORM_BYTES:
            return trouble(request, SiteError("invalid_request"))
        fields, files = _multipart(request.headers.get("content-type", ""), body)
        if request.scope.get("site_session_new") or not secrets.compare_digest(
            fields.get("csrf", ""), session.csrf
        ):
            raise CsrfRefused("no or wrong CSRF token")
        if who is None or who["role"] != "merchant":
            return site.redirect(request, "/office")
        upload = files.get("photo")
        if upload is None or upload[0] not in ("image/jpeg", "image/png"):
            return trouble(request, SiteError("invalid_request"))
        product_id = fields.get("product_id", "")
        try:
            await site.api.call(
                "PUT",
                f"/v1/shop/products/{product_id}/photo",
                token=who["token"],
                content=upload[1],
                content_type=upload[0],
            )
        except SiteError as error:
            return trouble(request, error)
        forget_catalogue(site)
        return site.redirect(request, "/office#products")

    async def review(request: Request) -> Response:
        fields = await site.form(request)
        who = office(request)
        if who is None or who["role"] != "city":
            return site.redirect(request, "/office")
        verb = "approve" if fields.get("decision") == "approve" else "reject"
        product_id = fields.get("product_id", "")
        try:
            await site.api.json("POST", f"/v1/shop/products/{product_id}/{verb}", token=who["token"])
        except SiteError as error:
            return trouble(request, error)
        forget_catalogue(site)
        return site.redirect(request, "/office#products")

    async def line(request: Request) -> Response:
        fields = await site.form(request)
        who = office(request)
        if who is None or who["role"] != "merchant":
            return site.redirect(request, "/office")
        order_id, line_no = fields.get("order_id", ""), fields.get("line_no", "")
        verb = "ship" if fields.get("action") == "ship" else "accept"
        body = {"tracking_number": fields.get("tracking_number", "")} if verb == "ship" else None
        try:
            await site.api.json(
                "POST", f"/v1/shop/orders/{order_id}/lines/{line_no}/{verb}", token=who["token"], json=body
            )
        except SiteError as error:
            return trouble(request, error)
        return site.redirect(request, "/office#orders")

    async def refund(request: Request) -> Response:
        """A partial or whole refund of a shipped line; the form's ``refund_id`` (made with the page)
        makes a second press of the same form the same refund (the server gives the points once)."""
        fields = await site.form(request)
        who = office(request)
        if who is None or who["role"] != "merchant":
            return site.redirect(request, "/office")
        order_id, line_no = fields.get("order_id", ""), fields.get("line_no", "")
        amount = fields.get("amount", "").strip().replace(",", "")
        refund_id = fields.get("refund_id", "")
        if not amount.isdigit() or int(amount) <= 0 or not line_no.isdigit():
            return trouble(request, SiteError("invalid_request"))
        try:
            await site.api.json(
                "POST",
                f"/v1/shop/orders/{order_id}/lines/{line_no}/refund",
                token=who["token"],
                json={"refund_id": refund_id, "amount": int(amount)},
            )
        except SiteError as error:
            return trouble(request, error)
        return site.redirect(request, "/office#orders")

    return [
        Route("/office", home, methods=["GET"]),
        Route("/office/refunds", refund, methods=["POST"]),
        Route("/office/signin", signin, methods=["POST"]),
        Route("/office/signout", signout, methods=["POST"]),
        Route("/office/products", product, methods=["POST"]),
        Route("/office/review", review, methods=["POST"]),
        Route("/office/photo", photo, methods=["POST"]),
        Route("/office/lines", line, methods=["POST"]),
    ]


#: A photo form's largest body (the photo is at most 2 MB; the form's fields and boundaries besides).
PHOTO_FORM_BYTES = 2 * 1024 * 1024 + 16 * 1024


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """A ``multipart/form-data`` body's text fields and files (name → (type, bytes)), by the standard
    library's MIME parser; anything else is no fields."""
    if not content_type.startswith("multipart/form-data"):
        return {}, {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        if part.get_filename() is not None:
            files[name] = (part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


async def _shop_id(site: Site) -> str:
    """The site's own shop id (its approved products name it)."""
    products = (await site.api.json("GET", "/v1/shop/products"))["products"]
    return str(products[0]["shop_id"]) if products else ""


__all__ = ["routes", "when"]
