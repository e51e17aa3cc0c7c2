"""Sign-in and sign-out of the settlement console's browser sessions (``/v1/console/sessions``).

``mykey-settle serve`` gives every browser its own console process, which asks the clerk for a
token and checks it here before it shows anything. The server does not keep sessions: the token
stays the credential of every later request. What this adds is the audit trail and the brake:

- every sign-in, failed sign-in, refused sign-in and sign-out is written to the audit log with the
  principal, the browser's address (as the serving process saw it) and the peer that called;
- :data:`FAILURES_BEFORE_PAUSE` failed sign-ins from one browser address within :data:`PAUSE`
  pause sign-in for that address until the oldest of them is :data:`PAUSE` old (a success resets
  the count). While paused even the right token is refused, or the pause would not slow a guesser.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from ulid import ULID

from points import settlement_wire as models
from server import db
from server.auth import Principal, lookup, require
from server.errors import ApiError
from server.ledger import iso, utc_now
from server.settlement import store

router = APIRouter(tags=["settlement console"])

FAILURES_BEFORE_PAUSE = 5
PAUSE = dt.timedelta(minutes=15)
CLERK_ROLES = ("chamber", "city", "admin")
#: A browser address as aiohttp reports it (IPv4, IPv6 with a zone) or ``local`` for a terminal.
ADDRESS = r"^[0-9A-Za-z.:%_-]{1,64}$"


#: code → (HTTP status, Japanese, English).
CATALOG: dict[str, tuple[int, str, str]] = {
    "signin_failed": (
        401,
        "トークンが正しくないか、無効にされています",
        "The token is wrong or has been revoked",
    ),
    "signin_paused": (
        429,
        "サインインの失敗が続いたため、この端末からのサインインを一時停止しています",
        "Too many failed sign-ins from this address: sign-in is paused",
    ),
    "signin_role": (
        403,
        "このトークンでは精算コンソールを使えません（商工会・自治体・管理者のみ）",
        "This token cannot use the settlement console (chamber, city or admin only)",
    ),
}


class ConsoleSessionError(ApiError):
    """A sign-in the console session endpoint refuses (see :data:`CATALOG`)."""

    catalog = CATALOG


class SignInRequest(BaseModel):
    """The browser's address the serving process saw (the token is the bearer header)."""

    model_config = ConfigDict(extra="forbid")

    remote: str | None = Field(default=None, pattern=ADDRESS)


# The audit log -------------------------------------------------------------------------
# The only two places this module touches the log: re-point them when the log moves.


def _audit(conn: sqlite3.Connection, actor: str, action: str, remote: str, **detail: object) -> None:
    store.log(conn, actor, action, f"console:{remote}", **detail)


def _audit_lines(conn: sqlite3.Connection, remote: str) -> list[dict[str, object]]:
    subject = f"console:{remote}"
    return [line for line in store.log_lines(conn, subject) if line["subject"] == subject]


# The brake -----------------------------------------------------------------------------


def paused_until(lines: list[dict[str, object]], now: dt.datetime) -> dt.datetime | None:
    """When sign-in from an address may resume, given its log lines (oldest first), or ``None``.

    Counts the failures since the address's last successful sign-in that are younger than
    :data:`PAUSE`; at :data:`FAILURES_BEFORE_PAUSE` of them sign-in waits until the oldest counted
    one is :data:`PAUSE` old.
    """
    failures: list[dt.datetime] = []
    for line in lines:
        if line["action"] == "console.signin":
            failures = []
        elif line["action"] == "console.signin_failed":
            failures.append(dt.datetime.fromisoformat(str(line["at"])))
    recent = [at for at in failures if now - at < PAUSE]
    if len(recent) < FAILURES_BEFORE_PAUSE:
        return None
    return recent[-FAILURES_BEFORE_PAUSE] + PAUSE


def _refuse_if_paused(conn: sqlite3.Connection, remote: str, peer: str) -> None:
    now = utc_now()
    until = paused_until(_audit_lines(conn, remote), now)
    if until is not None:
        minutes = max(1, -(-int((until - now).total_seconds()) // 60))
        _audit(conn, "-", "console.signin_paused", remote, via=peer, until=iso(until))
        raise ConsoleSessionError("signin_paused", f"あと {minutes} 分 / {minutes} more min")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _peer(request: Request) -> str:
    return request.client.host if request.client else "-"


# Endpoints -----------------------------------------------------------------------------


def _connection(request: Request) -> Iterator[sqlite3.Connection]:
    conn = db.connect(request.app.state.store.path)
    try:
        yield store.ensure(conn)
    finally:
        conn.close()


Conn = Annotated[sqlite3.Connection, Depends(_connection)]


@router.post(
    "/v1/console/sessions",
    summary="Sign a settlement console session in (the clerk's token as bearer)",
    response_model=models.ConsoleSession,
    status_code=201,
)
def sign_in(body: SignInRequest, request: Request, conn: Conn) -> dict[str, Any]:
    """Check the token of a clerk signing in to a console session; log it with the browser's address."""
    peer = _peer(request)
    remote = body.remote or peer
    _refuse_if_paused(conn, remote, peer)
    token = _bearer(request)
    principal: Principal | None = lookup(conn, token) if token else None
    if principal is None:
        _audit(conn, "-", "console.signin_failed", remote, via=peer)
        _refuse_if_paused(conn, remote, peer)  # the fifth failure says so at once
        raise ConsoleSessionError("signin_failed")
    if principal.role not in CLERK_ROLES:
        _audit(conn, principal.id, "console.signin_refused", remote, via=peer, role=principal.role)
        raise ConsoleSessionError("signin_role")
    session_id = str(ULID())
    _audit(conn, principal.id, "console.signin", remote, via=peer, session=session_id, role=principal.role)
    return {
        "session_id": session_id,
        "principal_id": principal.id,
        "role": principal.role,
        "chamber_id": principal.chamber_id,
        "city_id": principal.city_id,
        "remote": remote,
    }


@router.delete(
    "/v1/console/sessions/{session_id}",
    summary="Sign a settlement console session out (by the clerk, when idle, or when its tab closed)",
    status_code=204,
    response_class=Response,
)
def sign_out(
    session_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require(*CLERK_ROLES))],
    conn: Conn,
    remote: Annotated[str | None, Query(pattern=ADDRESS)] = None,
    reason: Literal["signout", "idle", "closed"] = "signout",
) -> Response:
    """Log the end of a console session (the token itself stays valid: it is the clerk's)."""
    if not 0 < len(session_id) <= 32:
        raise ApiError("invalid_request", "session id")
    peer = _peer(request)
    _audit(conn, principal.id, "console.signout", remote or peer, via=peer, session=session_id, reason=reason)
    return Response(status_code=204)
