"""The server's health and a terminal's configuration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

import server
from points.wire import Health, TerminalConfig
from server import residents
from server.auth import Principal, require
from server.dependencies import store_of
from server.services import terminal

router = APIRouter(prefix="/v1", tags=["terminal"])


@router.get("/health", response_model=Health)
async def health(request: Request) -> Health:
    """The server is up and can read its database."""
    store = store_of(request)
    store.reader.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
    return Health(
        version=server.__version__,
        time=store.clock(),
        block_list_version=residents.block_list_version(store.reader),
    )


@router.get("/terminal/config", response_model=TerminalConfig)
async def terminal_config(
    request: Request,
    principal: Annotated[Principal, Depends(require("terminal"))],
    block_list_since: Annotated[str | None, Query(max_length=80)] = None,
) -> TerminalConfig:
    """The terminal's shop (or city desk), its programs and their rules, and the ticket keys.

    ``block_list_since``: the terminal's block list version; the answer's block list is then
    only what changed since (``block_list_since`` set in the answer), or the whole list.
    """
    return terminal.config(store_of(request), principal, block_list_since)
