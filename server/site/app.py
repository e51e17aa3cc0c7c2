"""The site's app: server-side sessions, CSRF, security headers, templates, and the pages' routes.

What every page shares is here; the pages are in their own modules, each giving a list of routes
(:mod:`server.site.account`; the shop's catalogue, cart and orders add theirs to :data:`PAGES`).

- **Sessions** live in this process's memory (:class:`Sessions`), keyed by a random id in a cookie
  that is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when the site is served over TLS; a
  session ends after :data:`SESSION_IDLE_S` unused. Signing in gives a new session id (no fixation).
- **CSRF**: every form carries the session's token (``{{ csrf_field() }}``) and every POST is
  refused without it (:meth:`Site.form`).
- **Headers**: a Content-Security-Policy allowing only the site's own styles and scripts, no
  framing, no referrer, ``nosniff``; personal pages are not cached.
- **Escaping**: Jinja2 with autoescape on, for every template.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.site.client import Api

HERE = pathlib.Path(__file__).parent
COOKIE = "mk_site"
#: A session unused this long is forgotten (seconds); the resident's server session idles out at 30 min too.
SESSION_IDLE_S = 30 * 60
#: The most sessions kept (the oldest unused go first).
MAX_SESSIONS = 50_000
#: Form bodies larger than this are refused (bytes).
MAX_FORM_BYTES = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclasses.dataclass
class Session:
    """One browser's session: its CSRF token, a resident's token once signed in, and page state."""

    id: str
    csrf: str
    seen: float
    #: the resident's session token on the server (never sent to the browser)
    resident_token: str | None = None
    account_number: str | None = None
    #: what pages keep between requests (a pending approval, a cart...), JSON-like values
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


class Sessions:
    """The sessions of this process, by id."""

    def __init__(self, idle_s: float = SESSION_IDLE_S) -> None:
        self.idle_s = idle_s
        self._by_id: dict[str, Session] = {}

    def new(self) -> Session:
        """A fresh session with its own id and CSRF token."""
        if len(self._by_id) >= MAX_SESSIONS:
            self._forget()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), seen=time.monotonic())
        self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of an id, or ``None``."""
        session = self._by_id.get(session_id or "")
        if session is None:
            return None
        now = time.monotonic()
        if now - session.seen > self.idle_s:
            del self._by_id[session.id]
            return None
        session.seen = now
        return session

    def renew(self, session: Session) -> Session:
        """The same session under a new id and CSRF token (at sign-in and sign-out)."""
        self._by_id.pop(session.id, None)
        fresh = dataclasses.replace(session, id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        self._by_id[fresh.id] = fresh
        return fresh

    def drop(self, session: Session) -> None:
        """Forget a session."""
        self._by_id.pop(session.id, None)

    def _forget(self) -> None:
        now = time.monotonic()
        self._by_id = {k: s for k, s in self._by_id.items() if now - s.seen <= self.idle_s}
        while len(self._by_id) >= MAX_SESSIONS:
            oldest = min(self._by_id.values(), key=lambda s: s.seen)
            del self._by_id[oldest.id]


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


class Site:
    """What the pages share: the API, the sessions, the templates, the site's name."""

    def __init__(self, api: Api, *, name: str, secure: bool | None = None) -> None:
        self.api = api
        self.name = name
        #: ``Secure`` cookies: ``None`` decides per request (served over https or not).
        self.secure = secure
        self.sessions = Sessions()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            # Compiled once: no stat of the template files on every page.
            auto_reload=False,
        )
        self.templates.filters["points"] = lambda n: f"{int(n):,}"
        self.templates.filters["yen"] = lambda n: f"{int(n):,}円"

    # Sessions ------------------------------------------------------------------------

    def session(self, request: Request) -> Session:
        """The request's session; a new one (its cookie set by the response) when it has none."""
        known: Session | None = request.scope.get("site_session")
        if known is not None:
            return known
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            session = self.sessions.new()
            request.scope["site_session_new"] = True
        request.scope["site_session"] = session
        return session

    def renew(self, request: Request) -> Session:
        """Give the request's session a new id (its cookie set by the response)."""
        session = self.sessions.renew(self.session(request))
        request.scope["site_session"] = session
        request.scope["site_session_new"] = True
        return session

    def cookie_for(self, request: Request, response: Response) -> None:
        """Set the session cookie on ``response`` when the session is new."""
        session: Session | None = request.scope.get("site_session")
        if session is None or not request.scope.get("site_session_new"):
            return
        secure = self.secure if self.secure is not None else request.url.scheme == "https"
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="lax", secure=secure, path="/")

    # Forms ---------------------------------------------------------------------------

    async def form(self, request: Request) -> dict[str, str]:
        """A POSTed form's fields (urlencoded), once its CSRF token is the session's.

        Raises:
            CsrfRefused: no token, another session's token, or a body too large.
        """
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise CsrfRefused("form too large")
        fields = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        session = self.session(request)
        if request.scope.get("site_session_new") or not secrets.compare_digest(
            fields.get("csrf", ""), session.csrf
        ):
            raise CsrfRefused("no or wrong CSRF token")
        return fields

    # Pages ---------------------------------------------------------------------------

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A template rendered with what every page has (the site's name, the session, the CSRF field)."""
        session = self.session(request)

        def csrf_field() -> Markup:
            return Markup('<input type="hidden" name="csrf" value="{}">').format(session.csrf)

        html = self.templates.get_template(template).render(
            site_name=self.name,
            signed_in=session.resident_token is not None,
            csrf_field=csrf_field,
            path=request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        self.cookie_for(request, response)
        return response

    def redirect(self, request: Request, to: str) -> RedirectResponse:
        """A 303 to ``to`` (after a POST), with the session cookie when it is new."""
        response = RedirectResponse(to, status_code=303)
        self.cookie_for(request, response)
        return response


class SecurityHeaders:
    """The headers every answer carries (CSP, no framing, no referrer, nosniff; no caching of pages)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


#: The modules whose ``routes(site)`` make the site's pages, in order.
PAGES: list[str] = ["server.site.account", "server.site.shop", "server.site.backoffice"]


def create_site(
    api: Api,
    *,
    name: str = "特設サイト",
    secure: bool | None = None,
    pages: Sequence[str] | None = None,
    extra_routes: Iterable[BaseRoute] = (),
) -> Starlette:
    """The site's ASGI app.

    Args:
        api: the server's API with the site's ``online_shop`` token.
        name: the site's name in its header (the server's ``site_name`` is what the card helper shows).
        secure: ``Secure`` cookies always (``True``), never (``False``) or when the request is https.
        pages: the page modules (default :data:`PAGES`); each has ``routes(site) -> list[BaseRoute]``.
        extra_routes: more routes (tests).
    """
    import importlib

    site = Site(api, name=name, secure=secure)
    routes: list[BaseRoute] = []
    for module_name in pages if pages is not None else PAGES:
        make: Callable[[Site], list[BaseRoute]] = importlib.import_module(module_name).routes
        routes.extend(make(site))
    routes.extend(extra_routes)
    routes.append(Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"))

    @contextlib.asynccontextmanager
    async def closing(_app: Starlette) -> AsyncIterator[None]:
        yield
        await api.close()

    app = Starlette(
        routes=routes, lifespan=closing, exception_handlers={CsrfRefused: _csrf_refused, 404: _missing}
    )
    app.state.site = site
    app.add_middleware(SecurityHeaders)
    return app


async def _csrf_refused(request: Request, _error: Exception) -> Response:
    site: Site = request.app.state.site
    message = "ページの有効期限が切れました。前のページに戻り、もう一度お試しください。"
    return site.page(request, "error.html", status=403, title="もう一度お試しください", message=message)


async def _missing(request: Request, _error: Exception) -> Response:
    site: Site = request.app.state.site
    message = "お探しのページは見つかりませんでした。"
    return site.page(request, "error.html", status=404, title="ページが見つかりません", message=message)
