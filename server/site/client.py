"""The site's HTTP client of the server: the shop's token for the shop's calls, a resident's for theirs.

Every refusal, an unreachable server and an answer that is not JSON become :class:`SiteError` here,
once, with the server's stable code (``unreachable`` / ``bad_answer`` from here).
"""

from __future__ import annotations

from typing import Any

import httpx


class SiteError(Exception):
    """A call the site could not complete: the server's ``code`` (and HTTP ``status``, 0 when unreachable)."""

    def __init__(self, code: str, message: str = "", status: int = 0) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.status = status


class Api:
    """The server's API as the site uses it.

    Args:
        base_url: the server, ``http(s)://host:port``.
        shop_token: the site's ``online_shop`` token.
        transport: an httpx transport (tests may pass one; default: the network).
        verify: TLS verification (a CA file for a private CA).
    """

    def __init__(
        self,
        base_url: str,
        shop_token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str = True,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=10.0, verify=verify
        )
        self._shop = {"Authorization": f"Bearer {shop_token}"}

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """One request as the shop (``token`` None) or as a resident; a refusal raises :class:`SiteError`.

        ``content`` is a raw body of ``content_type`` (a product's photo) instead of ``json``.
        """
        headers = self._shop if token is None else {"Authorization": f"Bearer {token}"}
        if content_type is not None:
            headers = {**headers, "Content-Type": content_type}
        try:
            answer = await self._http.request(
                method, path, headers=headers, json=json, params=params, content=content
            )
        except httpx.HTTPError as error:
            raise SiteError("unreachable", type(error).__name__) from None
        if answer.status_code >= 400:
            try:
                body = answer.json()
                code, message = str(body["code"]), str(body.get("message", ""))
            except (ValueError, KeyError, TypeError):
                code, message = "bad_answer", f"HTTP {answer.status_code}"
            raise SiteError(code, message, answer.status_code)
        return answer

    async def json(self, method: str, path: str, **options: Any) -> Any:
        """:meth:`call`, the answer's JSON."""
        answer = await self.call(method, path, **options)
        try:
            return answer.json()
        except ValueError:
            raise SiteError("bad_answer", "not JSON", answer.status_code) from None

    # Card approvals and the resident's page ------------------------------------------

    async def ask_approval(
        self, approval_id: str, purpose: str, order_id: str | None = None, amount: int | None = None
    ) -> dict[str, Any]:
        """``POST /v1/approvals``: the user code to show and the device secret to poll with."""
        body: dict[str, Any] = {"approval_id": approval_id, "purpose": purpose}
        if purpose == "payment":
            body |= {"order_id": order_id, "amount": amount}
        answer: dict[str, Any] = await self.json("POST", "/v1/approvals", json=body)
        return answer

    async def poll(self, approval_id: str, device_secret: str) -> dict[str, Any]:
        """``POST /v1/approvals/{id}/poll``: pending, signed (a sign-in's token, once), expired, used."""
        answer: dict[str, Any] = await self.json(
            "POST", f"/v1/approvals/{approval_id}/poll", json={"device_secret": device_secret}
        )
        return answer

    async def me(self, token: str) -> dict[str, Any]:
        """``GET /v1/me``."""
        answer: dict[str, Any] = await self.json("GET", "/v1/me", token=token)
        return answer

    async def history(self, token: str, before: int | None = None, limit: int = 20) -> dict[str, Any]:
        """``GET /v1/me/history``."""
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        answer: dict[str, Any] = await self.json("GET", "/v1/me/history", token=token, params=params)
        return answer

    async def history_csv(self, token: str) -> bytes:
        """``GET /v1/me/history.csv`` as it came (UTF-8 with BOM)."""
        return (await self.call("GET", "/v1/me/history.csv", token=token)).content

    async def sign_out(self, token: str) -> None:
        """``POST /v1/me/signout``."""
        await self.call("POST", "/v1/me/signout", token=token)
