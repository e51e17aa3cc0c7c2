"""The console's HTTP client: settlement endpoints over httpx with the clerk's token.

Answers come back as the models the server answers with (:mod:`points.settlement_wire`), so a
field the server renames breaks here, at the edge, not in a screen. Errors from httpx, from the
server and from an answer that does not fit its model are translated here, once, into
:class:`ConsoleError`: the stable code, the server's message and what the refusal is about
(the body's ``detail``), said in the console's own words by :func:`server.console.words.refusal`.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, TypeVar

import httpx
import pydantic

from points.settlement_wire import (
    Claim,
    ClaimLine,
    CloseResult,
    ConsoleSession,
    NameFinding,
    PayoutPlan,
    Period,
    Precheck,
    Reconciliation,
)
from server.console import words

T = TypeVar("T")


@functools.cache
def _adapter(model: type[T]) -> pydantic.TypeAdapter[T]:
    # Building an adapter compiles a validator: once per answer type, not once per request.
    return pydantic.TypeAdapter(model)


class ConsoleError(Exception):
    """A request the console could not complete; ``str()`` is the message to show, in the console's language.

    Args:
        message: the server's message (shown as it is for a code the console has no words for).
        code: the server's stable code, or ``unreachable`` / ``bad_answer`` / ``error`` from here.
        detail: what the refusal is about (the body's ``detail``: ``text``, or named items).
    """

    def __init__(
        self, message: str, code: str = "console_error", detail: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.detail = message, code, detail or []

    def __str__(self) -> str:
        return words.refusal(self.code, self.message, self.detail)


class SettleClient:
    """Settlement endpoints for one principal (chamber, city or admin) at ``base_url``.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8080``.
        token: the clerk's bearer token; without one the client holds nothing until
            :meth:`sign_in` (a browser session starts so).
        transport: an httpx transport (tests pass ``httpx.ASGITransport``).
    """

    def __init__(
        self, base_url: str, token: str | None = None, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(60.0, connect=5.0), transport=transport
        )
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"
        #: The session :meth:`sign_in` opened, if any.
        self.session: ConsoleSession | None = None

    @property
    def has_token(self) -> bool:
        """Whether the client holds a token (given at start, or signed in)."""
        return "Authorization" in self._http.headers

    async def sign_in(self, token: str, remote: str) -> ConsoleSession:
        """Check ``token`` at the server for a console session from ``remote`` and keep it if it is good.

        Raises:
            ConsoleError: ``signin_failed`` (wrong or revoked), ``signin_role`` (not a clerk's),
                ``signin_paused`` (too many failures from ``remote``), or the server is unreachable.
        """
        self.forget()
        header = {"Authorization": f"Bearer {token.strip()}"}
        session = await self._answer(
            ConsoleSession, "POST", "/v1/console/sessions", json={"remote": remote}, headers=header
        )
        self._http.headers.update(header)
        self.session = session
        return session

    async def sign_out(self, reason: str = "signout") -> None:
        """End the session (``signout``, ``idle`` or ``closed``) at the server, then forget the token.

        The token is forgotten even when the server cannot be told.
        """
        session, self.session = self.session, None
        try:
            if session is not None and self.has_token:
                params = {"remote": session.remote, "reason": reason}
                await self._request("DELETE", f"/v1/console/sessions/{session.session_id}", params=params)
        except ConsoleError:
            pass
        finally:
            self.forget()

    def forget(self) -> None:
        """Drop the token and the session, without telling the server."""
        self._http.headers.pop("Authorization", None)
        self.session = None

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # The server answers refusals in the console's language alone (its message and detail texts).
        headers = {"Accept-Language": words.language(), **kwargs.pop("headers", {})}
        try:
            answer = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise ConsoleError("", "unreachable", [{"text": type(error).__name__}]) from None
        if answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                raise ConsoleError(f"HTTP {answer.status_code}", "error") from None
            if not isinstance(body, dict):
                raise ConsoleError(f"HTTP {answer.status_code}", "error")
            detail = body.get("detail")
            items = [item for item in detail if isinstance(item, dict)] if isinstance(detail, list) else []
            raise ConsoleError(str(body.get("message", answer.text)), str(body.get("code", "error")), items)
        return answer

    async def _answer(self, model: type[T], method: str, path: str, **kwargs: Any) -> T:
        answer = await self._request(method, path, **kwargs)
        try:
            return _adapter(model).validate_json(answer.content)
        except pydantic.ValidationError as error:
            raise ConsoleError("", "bad_answer", [{"text": str(error.error_count())}]) from None

    async def periods(self) -> list[Period]:
        """Periods with their totals."""
        return await self._answer(list[Period], "GET", "/v1/periods")

    async def close_period(self, period: str) -> CloseResult:
        """Close a period (a chamber's own)."""
        return await self._answer(CloseResult, "POST", f"/v1/periods/{period}/close")

    async def claims(self, period: str) -> list[Claim]:
        """Claims of a period within the principal's reach."""
        return await self._answer(list[Claim], "GET", "/v1/claims", params={"period": period})

    async def claim_lines(self, claim_id: str) -> list[ClaimLine]:
        """The transfers a claim counted."""
        return await self._answer(list[ClaimLine], "GET", f"/v1/claims/{claim_id}/lines")

    async def approve(self, claim_id: str) -> Claim:
        """Approve a claim (chamber) or its payment (city)."""
        return await self._answer(Claim, "POST", f"/v1/claims/{claim_id}/approve")

    async def return_claim(self, claim_id: str, reason: str) -> Claim:
        """Return a claim with a reason."""
        return await self._answer(Claim, "POST", f"/v1/claims/{claim_id}/return", json={"reason": reason})

    async def reconciliation(self, period: str) -> Reconciliation:
        """The reconciliation sums of a period."""
        return await self._answer(Reconciliation, "GET", f"/v1/reconciliation/{period}")

    async def payout_plan(self, period: str) -> PayoutPlan:
        """What the principal pays for a period, and how much of the period that is (``coverage``)."""
        return await self._answer(PayoutPlan, "GET", f"/v1/payouts/{period}")

    async def zengin(self, period: str, transfer_date: dt.date) -> bytes:
        """The principal's Zengin file for a period."""
        answer = await self._request(
            "GET", f"/v1/payouts/{period}/zengin", params={"date": transfer_date.isoformat()}
        )
        return answer.content

    async def precheck(self, period: str) -> Precheck:
        """The names pre-check of the principal's Zengin file (findings, ``ready``, report lines)."""
        return await self._answer(Precheck, "GET", f"/v1/payouts/{period}/precheck")

    async def accept_name(self, period: str, payee_id: str, field: str, proposed: str) -> NameFinding:
        """Accept the proposed form of one payee's name (the server logs who accepted it)."""
        body = {"payee_id": payee_id, "field": field, "proposed": proposed}
        return await self._answer(NameFinding, "POST", f"/v1/payouts/{period}/precheck/accept", json=body)

    async def summary_csv(self, period: str) -> bytes:
        """The principal's summary CSV for a period."""
        return (await self._request("GET", f"/v1/summaries/{period}")).content

    async def statement_csv(self, merchant_id: str, period: str) -> bytes:
        """A merchant's statement CSV."""
        answer = await self._request(
            "GET", f"/v1/statements/{merchant_id}/{period}", params={"format": "csv"}
        )
        return answer.content
