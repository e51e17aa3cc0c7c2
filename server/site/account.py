"""Signing in with the My Number Card, the resident's own page, signing out.

Sign-in is the server's device flow: the page asks the server for a sign-in approval and shows its
user code; the resident types it into the card helper on their own PC (``mykey-pos card helper``),
which shows this site's name and origin, asks the PIN itself and signs. The waiting page polls
(a small script, or a ``<meta refresh>`` without JavaScript) and, once signed, keeps the resident's
session token in the site's server-side session, under a new session id. The code and the device
secret are never in a URL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from ulid import ULID

from server.site.app import Session, Site
from server.site.client import SiteError

JST = dt.timezone(dt.timedelta(hours=9))
#: Lots expiring within this many days are marked "soon" on the resident's page.
SOON_DAYS = 30
#: History items a page shows.
HISTORY_PAGE = 20
KIND_JA = {
    "sale": "お買い物",
    "void": "お買い物の取消",
    "return": "返品",
    "award": "付与",
    "conversion": "交換",
    "ticket": "ポイント券",
    "order": "特設サイトのご注文",
    "order_cancel": "ご注文の取消",
    "order_refund": "ご注文の返金",
    "expiry": "有効期限切れ",
    "move": "カードの移行",
}
PURPOSE_JA = {"sign_in": "サインイン", "payment": "お支払い"}


def when(text: str) -> str:
    """An ISO time as shown: Japan time, ``2026年12月2日 13:05``."""
    at = dt.datetime.fromisoformat(text).astimezone(JST)
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"


def day(text: str) -> str:
    """An ISO date as shown: ``2027年3月31日``."""
    d = dt.date.fromisoformat(text)
    return f"{d.year}年{d.month}月{d.day}日"


def routes(site: Site) -> list[BaseRoute]:
    """The sign-in, own page and sign-out routes."""

    async def home(request: Request) -> Response:
        return site.page(request, "home.html", title="ようこそ")

    async def signin(request: Request) -> Response:
        session = site.session(request)
        if session.resident_token is not None:
            return RedirectResponse("/me", status_code=303)
        return site.page(request, "signin.html", title="マイナンバーカードでサインイン", notice=None)

    async def start(request: Request) -> Response:
        await site.form(request)
        session = site.session(request)
        try:
            approval = await site.api.ask_approval(str(ULID()), "sign_in")
        except SiteError as error:
            return _trouble(site, request, error)
        session.data["approval"] = approval
        return site.redirect(request, "/signin/wait")

    async def wait(request: Request) -> Response:
        session = site.session(request)
        approval = session.data.get("approval")
        if approval is None:
            return site.redirect(request, "/signin")
        try:
            polled = await site.api.poll(approval["approval_id"], approval["device_secret"])
        except SiteError as error:
            return _trouble(site, request, error)
        if polled["status"] == "signed":
            _signed_in(site, request, polled)
            return site.redirect(request, "/me")
        if polled["status"] != "pending":
            session.data.pop("approval", None)
            return site.page(
                request,
                "signin.html",
                title="マイナンバーカードでサインイン",
                notice="コードの有効期限が切れました。もう一度「コードを表示する」を押してください。",
            )
        return site.page(
            request,
            "signin_wait.html",
            title="カードで確認してください",
            code=approval["user_code"],
            origin=approval["origin"],
            server_site_name=approval["site_name"],
            expires=when(approval["expires_at"]),
            interval=int(approval.get("interval_s", 2)),
        )

    async def status(request: Request) -> Response:
        session = site.session(request)
        approval = session.data.get("approval")
        if session.resident_token is not None:
            return JSONResponse({"status": "signed", "next": "/me"})
        if approval is None:
            return JSONResponse({"status": "none", "next": "/signin"})
        try:
            polled = await site.api.poll(approval["approval_id"], approval["device_secret"])
        except SiteError:
            return JSONResponse({"status": "error", "next": "/signin/wait"})
        if polled["status"] == "signed":
            _signed_in(site, request, polled)
            response = JSONResponse({"status": "signed", "next": "/me"})
            site.cookie_for(request, response)
            return response
        if polled["status"] == "pending":
            return JSONResponse({"status": "pending"})
        return JSONResponse({"status": polled["status"], "next": "/signin/wait"})

    async def mine(request: Request) -> Response:
        session = site.session(request)
        token = session.resident_token
        if token is None:
            return site.redirect(request, "/signin")
        before = request.query_params.get("before")
        older = int(before) if before and before.isdigit() else None
        try:
            # One call: the balances and the history's page together (the page is CPU-bound).
            page = await site.api.me(token, HISTORY_PAGE, older)
            history = page["history"]
        except SiteError as error:
            if error.code == "unauthorized":
                return _signed_out(site, request, session)
            return _trouble(site, request, error)
        today = dt.datetime.now(JST).date()
        soon = today + dt.timedelta(days=SOON_DAYS)
        programs = [
            {
                **p,
                "lots": [
                    {
                        **lot,
                        "day": day(lot["expires_on"]),
                        "soon": dt.date.fromisoformat(lot["expires_on"]) <= soon,
                    }
                    for lot in p["lots"]
                ],
            }
            for p in page["programs"]
        ]
        names = {p["program_id"]: p["name"] for p in page["programs"]}
        items = [
            {
                **item,
                "when": when(item["at"]),
                "kind_ja": KIND_JA.get(item["kind"], item["kind"]),
                "program_name": names.get(item["program_id"], item["program_id"]),
            }
            for item in history["items"]
        ]
        number = str(page["account_number"] or "")
        return site.page(
            request,
            "me.html",
            title="わたしのポイント",
            account_number=f"{number[:4]}-{number[4:]}",
            programs=programs,
            items=items,
            next=history["next"],
        )

    async def csv(request: Request) -> Response:
        session = site.session(request)
        if session.resident_token is None:
            return site.redirect(request, "/signin")
        try:
            content = await site.api.history_csv(session.resident_token)
        except SiteError as error:
            if error.code == "unauthorized":
                return _signed_out(site, request, session)
            return _trouble(site, request, error)
        return Response(
            content,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="mykey-history.csv"'},
        )

    async def signout(request: Request) -> Response:
        await site.form(request)
        session = site.session(request)
        if session.resident_token is not None:
            try:
                await site.api.sign_out(session.resident_token)
            except SiteError as error:
                if error.code != "unauthorized":
                    return _trouble(site, request, error)
        site.sessions.drop(session)
        fresh = site.renew(request)
        fresh.resident_token = fresh.account_number = None
        fresh.data = {}
        return site.page(request, "signed_out.html", title="サインアウトしました")

    return [
        Route("/", home),
        Route("/signin", signin, methods=["GET"]),
        Route("/signin", start, methods=["POST"]),
        Route("/signin/wait", wait),
        Route("/signin/status", status),
        Route("/me", mine),
        Route("/me/history.csv", csv),
        Route("/signout", signout, methods=["POST"]),
    ]


def _signed_in(site: Site, request: Request, polled: dict[str, Any]) -> None:
    session = site.renew(request)
    session.resident_token = str(polled["resident_token"])
    session.account_number = str(polled["account_number"])
    session.data.pop("approval", None)


def _signed_out(site: Site, request: Request, session: Session) -> Response:
    session.resident_token = session.account_number = None
    return site.page(
        request,
        "signin.html",
        title="マイナンバーカードでサインイン",
        notice="一定時間操作がなかったため、サインアウトしました。もう一度サインインしてください。",
    )


def _trouble(site: Site, request: Request, error: SiteError) -> Response:
    if error.code == "unreachable":
        message = "ただいまサーバーにつながりません。しばらくしてからもう一度お試しください。"
    else:
        message = f"処理できませんでした(コード: {error.code})。もう一度お試しください。"
    status = 502 if error.status in (0, 500, 503) else 400
    return site.page(request, "error.html", status=status, title="うまくいきませんでした", message=message)
