"""Serving the console to browsers (``mykey-settle serve``): one console process per tab, none privileged.

textual-serve starts a console process for each browser websocket. Ours differ in four ways:

- the serving process holds no token and passes none: each session process starts without one,
  shows the sign-in screen, and learns the browser's address from ``$MYKEY_SETTLE_REMOTE``
  (what aiohttp saw as the peer), which the server logs with every sign-in;
- the session is started with an argument list, not through a shell, so stopping it stops the
  console itself; closing the tab asks it to quit (it signs out) and kills it after a grace time
  (textual-serve's own stop only asks, and waits for ever); stopping ``serve`` stops every session,
  and a session whose ``serve`` was killed ends too (:func:`end_with_parent`);
- it listens with TLS when given a certificate, and refuses to listen beyond loopback without one;
- the page builds its websocket URL from the address the browser used, and a websocket opened by
  a page of another origin is refused (another site cannot drive a console in the clerk's browser).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import shlex
import socket
import ssl
import sys
import urllib.parse
from asyncio.subprocess import PIPE, Process

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from server.console.words import _

#: Environment variables a session process must never inherit from the serving process.
PRIVILEGED_ENV = ("MYKEY_SETTLE_TOKEN",)
#: The browser's address, as the serving process saw it, handed to each session process.
REMOTE_ENV = "MYKEY_SETTLE_REMOTE"
#: How long a session process has to sign out and quit after its tab closed.
STOP_GRACE_SECONDS = 10.0

log = logging.getLogger("mykey.settle.serve")


def end_with_parent() -> None:
    """In a session process: be sent SIGTERM when the serving process dies, even by SIGKILL (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(0)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this computer (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def tls_context(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """A server-side TLS context with the certificate chain and its key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def who_can_reach(host: str, tls: bool) -> str:
    """The start-up sentence that says who can open the console at ``host`` (in the console's language)."""
    if is_loopback(host):
        return _("Only users of this computer can open it; each browser signs in with its own token")
    return _(
        "Anyone on the network who can reach {host} can open the sign-in screen ({tls});"
        " each browser signs in with its own token",
        host=host,
        tls=_("TLS") if tls else _("no TLS"),
    )


class SessionService(AppService):
    """One browser's console process, started without a token and told the browser's address."""

    def __init__(self, argv: list[str], remote: str, **options: object) -> None:
        super().__init__(shlex.join(argv), **options)  # type: ignore[arg-type]
        self.argv = argv
        self.remote = remote

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        for name in PRIVILEGED_ENV:
            environment.pop(name, None)
        environment[REMOTE_ENV] = self.remote
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        # No shell in between: the process we stop (or kill) is the console itself.
        process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=self._build_environment(width, height)
        )
        self._process = process
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        """The console process's id, once started."""
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        """Ask the console to quit (it signs out first); kill it if it is still there after the grace time."""
        try:
            await asyncio.wait_for(super().stop(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("console session %s did not quit; killing it", self.pid)
            self._task = None  # cancelled by the timeout: a second stop must not await it
        finally:
            process = self._process
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()


class ConsoleServer(Server):
    """textual-serve's server for the console's sessions, with TLS and the checks above.

    Args:
        argv: the command of one session process (it must read :data:`REMOTE_ENV`).
        host: the address to listen on.
        port: the port (0: any free one; the start-up line says which).
        tls: the TLS context, or ``None`` for plain HTTP (loopback only: the caller checks).
        title: the page title.
    """

    def __init__(
        self, argv: list[str], host: str, port: int, *, tls: ssl.SSLContext | None, title: str
    ) -> None:
        super().__init__(shlex.join(argv), host=host, port=port, title=title)
        self.argv = argv
        self.tls = tls
        self.sessions: set[SessionService] = set()

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: :meth:`serve` has said where the console is before it starts."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Stop every session (each signs out) before the server goes: none is left running."""
        await asyncio.gather(*(service.stop() for service in list(self.sessions)), return_exceptions=True)

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page, its websocket and static URLs on the address the browser used."""
        scheme = "https" if request.secure else "http"
        websocket = request.app.router["websocket"].url_for()
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        context = {
            "font_size": font_size,
            "app_websocket_url": f"{'wss' if request.secure else 'ws'}://{request.host}{websocket}",
            "config": {"static": {"url": f"{scheme}://{request.host}/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    def same_origin(self, request: web.Request) -> bool:
        """A browser's websocket must come from our own page (other clients send no ``Origin``)."""
        origin = request.headers.get("Origin")
        return origin is None or urllib.parse.urlsplit(origin).netloc == request.host

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Start a console process for this browser, relay until either side closes, then stop it."""
        if not self.same_origin(request):
            raise web.HTTPForbidden(text="cross-origin websocket refused")
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        size = []
        for name, default in (("width", 80), ("height", 24)):
            try:
                size.append(int(request.query.get(name, default)))
            except ValueError:
                size.append(default)
        service = SessionService(
            self.argv,
            request.remote or "-",
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.sessions.add(service)
        try:
            await service.start(size[0], size[1])
            log.info("console session %s for %s", service.pid, service.remote)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            pass  # the server is shutting down: stop the session below all the same
        finally:
            await service.stop()
            self.sessions.discard(service)
            log.info("console session %s for %s ended", service.pid, service.remote)
            await websocket.close()
        return websocket

    def serve(self, debug: bool = False) -> None:
        """Listen (with TLS when configured) until SIGINT or SIGTERM; print where, and who can reach it."""
        self.debug = debug
        logging.basicConfig(level="INFO", format="%(message)s", stream=sys.stderr)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host.strip("[]"), self.port), family=family)
        port = sock.getsockname()[1]
        scheme = "https" if self.tls else "http"
        print(f"mykey-settle listening on {scheme}://{self.host}:{port}", flush=True)
        print(who_can_reach(self.host, self.tls is not None), flush=True)
        web.run_app(self._make_app(), sock=sock, ssl_context=self.tls, print=None, handle_signals=True)
