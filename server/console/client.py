"""The console's HTTP client: settlement endpoints over httpx with the clerk's token.

Errors from httpx and from the server are translated here, once, into :class:`ConsoleError`
carrying the words a clerk reads (the server's bilingual message, or a bilingual "cannot reach").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx


class ConsoleError(Exception):
    """A request the console could not complete; ``str()`` is the message to show."""

    def __init__(self, message: str, code: str = "console_error") -> None:
        super().__init__(message)
        self.code = code


class SettleClient:
    """Settlement endpoints for one principal (chamber, city or admin) at ``base_url``.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8080``.
        token: the clerk's bearer token.
        transport: an httpx transport (tests pass ``httpx.ASGITransport``).
    """

    def __init__(self, base_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(60.0, connect=5.0),
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ConsoleError(
                f"サーバーに接続できません / Cannot reach the server: {type(error).__name__}", "unreachable"
            ) from None
        if answer.status_code >= 400:
            try:
                body = answer.json()
                raise ConsoleError(str(body.get("message", answer.text)), str(body.get("code", "error")))
            except ValueError:
                raise ConsoleError(f"HTTP {answer.status_code}", "error") from None
        return answer

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._request(method, path, **kwargs)).json()

    async def periods(self) -> list[dict[str, Any]]:
        """Periods with their totals."""
        result: list[dict[str, Any]] = await self._json("GET", "/v1/periods")
        return result

    async def close_period(self, period: str) -> dict[str, Any]:
        """Close a period (a chamber's own)."""
        result: dict[str, Any] = await self._json("POST", f"/v1/periods/{period}/close")
        return result

    async def claims(self, period: str) -> list[dict[str, Any]]:
        """Claims of a period within the principal's reach."""
        result: list[dict[str, Any]] = await self._json("GET", "/v1/claims", params={"period": period})
        return result

    async def claim_lines(self, claim_id: str) -> list[dict[str, Any]]:
        """The transfers a claim counted."""
        result: list[dict[str, Any]] = await self._json("GET", f"/v1/claims/{claim_id}/lines")
        return result

    async def approve(self, claim_id: str) -> dict[str, Any]:
        """Approve a claim (chamber) or its payment (city)."""
        result: dict[str, Any] = await self._json("POST", f"/v1/claims/{claim_id}/approve")
        return result

    async def return_claim(self, claim_id: str, reason: str) -> dict[str, Any]:
        """Return a claim with a reason."""
        result: dict[str, Any] = await self._json(
            "POST", f"/v1/claims/{claim_id}/return", json={"reason": reason}
        )
        return result

    async def reconciliation(self, period: str) -> dict[str, Any]:
        """The reconciliation sums of a period."""
        result: dict[str, Any] = await self._json("GET", f"/v1/reconciliation/{period}")
        return result

    async def zengin(self, period: str, transfer_date: dt.date) -> bytes:
        """The principal's Zengin file for a period."""
        answer = await self._request(
            "GET", f"/v1/payouts/{period}/zengin", params={"date": transfer_date.isoformat()}
        )
        return answer.content

    async def precheck(self, period: str) -> dict[str, Any]:
        """The names pre-check of the principal's Zengin file (findings, ``ready``, report lines)."""
        result: dict[str, Any] = await self._json("GET", f"/v1/payouts/{period}/precheck")
        return result

    async def accept_name(self, period: str, payee_id: str, field: str, proposed: str) -> dict[str, Any]:
        """Accept the proposed form of one payee's name (the server logs who accepted it)."""
        body = {"payee_id": payee_id, "field": field, "proposed": proposed}
        result: dict[str, Any] = await self._json("POST", f"/v1/payouts/{period}/precheck/accept", json=body)
        return result

    async def summary_csv(self, period: str) -> bytes:
        """The principal's summary CSV for a period."""
        return (await self._request("GET", f"/v1/summaries/{period}")).content

    async def statement_csv(self, merchant_id: str, period: str) -> bytes:
        """A merchant's statement CSV."""
        answer = await self._request(
            "GET", f"/v1/statements/{merchant_id}/{period}", params={"format": "csv"}
        )
        return answer.content
