"""The site's HTTP client of the server: the shop's token for the shop's calls, a resident's for theirs.

Every refusal, an unreachable server and an answer that is not JSON become :class:`SiteError` here,
once, with the server's stable code (``unreachable`` / ``bad_answer`` from here).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

#: The most connections to the server at once (each its own one-connection client: see :class:`Api`).
CONNECTIONS = 32


class SiteError(Exception):
    """A call the site could not complete: the server's ``code`` (and HTTP ``status``, 0 when unreachable)."""

    def __init__(self, code: str, message: str = "", status: int = 0) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.status = status


class Api:
    """The server's API as the site uses it.

    Requests go out on a pool of one-connection ``httpx`` clients, each lent to one request at a
    time: httpcore's own pool scans all its connections (and their sockets) for every request, which
    cost the resident's page under 20 concurrent clients more CPU than the page itself (profiled:
    ~60 % of the site process). With one connection a client, that scan is of one.

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
        self._base_url = base_url.rstrip("/")
        self._transport = transport
        # One TLS context for every client of the pool (each would load the CA bundle again: ~30 ms).
        self._verify: ssl.SSLContext | bool = verify is not False and (
            ssl.create_default_context(cafile=verify)
            if isinstance(verify, str)
            else httpx.create_ssl_context()
        )
        self._shop = {"Authorization": f"Bearer {shop_token}"}
        self._all: list[httpx.AsyncClient] = []
        self._free: list[httpx.AsyncClient] = []
        self._slots = asyncio.Semaphore(CONNECTIONS)

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the pool for one request (the most recently used first: its connection is warm)."""
        async with self._slots:
            if self._free:
                client = self._free.pop()
            else:
                client = httpx.AsyncClient(
                    base_url=self._base_url,
                    transport=self._transport,
                    timeout=10.0,
                    verify=self._verify,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                )
                self._all.append(client)
            try:
                yield client
            finally:
                self._free.append(client)

    async def close(self) -> None:
        """Close the connections."""
        for client in self._all:
            await client.aclose()
        self._all.clear()
        self._free.clear()

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
            async with self._client() as client:
                answer = await client.request(
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

    async def me(self, token: str, history: int = 0, before: int | None = None) -> dict[str, Any]:
        """``GET /v1/me``; with ``history=N`` its ``history`` too (``/v1/me/history``'s first page)."""
        params: dict[str, Any] = {}
        if history:
            params["history"] = history
            if before is not None:
                params["before"] = before
        answer: dict[str, Any] = await self.json("GET", "/v1/me", token=token, params=params or None)
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
