"""The FastAPI application: ``create_app(db_path) -> FastAPI`` (DESIGN.md §4, without settlement).

Errors leave as :class:`points.wire.ErrorBody` JSON with a stable code (validation errors are
``invalid_request``, unknown paths ``not_found``, wrong methods ``method_not_allowed``). One
structured log line per request names the principal, the sale id and the outcome, never a PIN,
a signature or a whole card key.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import pathlib
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import server
from points.wire import ErrorBody
from server import approvals
from server.errors import ApiError
from server.pg import ConnectionLost
from server.routers import ROUTERS
from server.settlement.api import router as settlement_router
from server.store import Store

log = logging.getLogger("mykey.server.access")

_CARD_KEY = re.compile(r"(jpki|uid)(:|%3A)([0-9a-f]{8})[0-9a-f]{56}", re.IGNORECASE)
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "Refused by a rule"),
        (401, "No valid token"),
        (403, "Not this principal's to do"),
        (404, "Not found"),
        (409, "Conflicts with what is stored"),
        (422, "Invalid request"),
    )
}


def create_app(
    db_path: str | pathlib.Path,
    *,
    trust_anchors: list[bytes] | None = None,
    clock: Callable[[], Any] | None = None,
) -> FastAPI:
    """Build the server for the database at ``db_path`` (made by ``mykey-server init``).

    Args:
        db_path: the SQLite file.
        trust_anchors: CA certificates (PEM) that card certificates may chain to, beside those
            the database remembers (``demo-data --trust-ca``).
        clock: the server's clock, a function returning an aware datetime (tests move it).
    """
    options: dict[str, Any] = {"trust_anchors": trust_anchors}
    if clock is not None:
        options["clock"] = clock
    store = Store(db_path, **options)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="mykey-pos settlement server",
        version=server.__version__,
        description="Ledger, sales, tickets, awards and conversions for municipal points (自治体ポイント).",
        lifespan=lifespan,
        responses=_ERRORS,
    )
    app.state.store = store
    app.state.approval_limits = approvals.Limits()
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(settlement_router)
    _install_error_handlers(app)
    app.add_middleware(AccessLog)
    return app


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a long-running server process.

    Objects alive after start-up (FastAPI, pydantic schemas, caches) are frozen out of the
    collector's scans, and the youngest generation is collected every 20,000 allocations
    rather than 700: a sale allocates a few thousand objects, almost none in cycles. Measured
    in-process: about a fifth less CPU a sale.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def app_from_env() -> FastAPI:
    """The app of one worker process of ``mykey-server serve --workers N`` (settings from the parent).

    Reads ``MYKEY_SERVE_DB`` and ``MYKEY_SERVE_TRUST`` (CA files separated by ``os.pathsep``).
    """
    trust = [p for p in os.environ.get("MYKEY_SERVE_TRUST", "").split(os.pathsep) if p]
    app = create_app(
        os.environ["MYKEY_SERVE_DB"], trust_anchors=[pathlib.Path(p).read_bytes() for p in trust]
    )
    tune_gc()
    return app


def _error(
    status: int, code: str, message: str, detail: list[dict[str, object]] | None = None
) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        request.scope.setdefault("state", {})["code"] = error.code
        return _error(error.status, error.code, error.message, error.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        request.scope.setdefault("state", {})["code"] = "invalid_request"
        detail: list[dict[str, object]] = [
            {
                "loc": [str(part) for part in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type")),
            }
            for e in error.errors()[:20]
        ]
        problem = ApiError("invalid_request")
        return _error(422, "invalid_request", problem.message, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            error.status_code, f"http_{error.status_code}"
        )
        message = (
            ApiError(code).message
            if code in ("unauthorized", "forbidden", "not_found", "method_not_allowed")
            else str(error.detail)
        )
        request.scope.setdefault("state", {})["code"] = code
        return _error(error.status_code, code, message)

    @app.exception_handler(ConnectionLost)
    async def database_gone(request: Request, error: ConnectionLost) -> JSONResponse:
        # Not stored, or (lost during COMMIT) unknown: the terminal's retry with the same id decides.
        request.scope.setdefault("state", {})["code"] = "database_unavailable"
        response = _error(503, "database_unavailable", ApiError("database_unavailable").message)
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> JSONResponse:
        logging.getLogger("mykey.server").exception("unhandled error on %s", request.url.path)
        return _error(500, "internal_error", ApiError("internal_error").message)


class AccessLog:
    """One JSON line per request: method, path (card keys cut short), principal, sale id, status, code, ms."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # What reached the client: a status counts once the server took its start line. A
        # response the HTTP layer refused (a bad header) is logged as sent with no answer (0).
        status = 0
        answering = False

        async def sending(message: Message) -> None:
            nonlocal status, answering
            if message["type"] == "http.response.start":
                answering = True
                await send(message)
                status = message["status"]
                return
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            if not answering:
                status = 500  # the error middleware outside this one answers 500
            raise
        finally:
            if log.isEnabledFor(logging.INFO):
                state = scope.get("state") or {}
                log.info(
                    json.dumps(
                        {
                            "method": scope["method"],
                            "path": _CARD_KEY.sub(r"\1\2\3…", scope["path"]),
                            "principal": state.get("principal"),
                            "sale_id": state.get("sale_id"),
                            "status": status,
                            "code": state.get("code"),
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                        },
                        ensure_ascii=False,
                    )
                )
