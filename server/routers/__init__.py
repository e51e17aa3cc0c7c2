"""The v1 endpoints, one router per resource (settlement's are in :mod:`server.settlement.api`).

Each endpoint names the roles it allows (:func:`server.auth.require`), parses the request, asks
its service (:mod:`server.services`) and answers. What belongs to another principal is
``not_found`` or ``forbidden``, never shown. Every endpoint is ``async`` and runs on the event
loop (the read connection is the loop's; FastAPI would run a plain ``def`` in a thread pool).
Writes go through the group commit (:meth:`server.store.Store.write`); stored answers are sent
back as they were stored, byte for byte.

:data:`ROUTERS` is the order the app includes them in: FastAPI tries routes in order, and the
sale is the one terminals call most.
"""

from __future__ import annotations

from fastapi import APIRouter

from server.routers import (
    approvals,
    awards,
    cards,
    conversions,
    desk,
    memberships,
    sales,
    shop,
    terminal,
    tickets,
)

ROUTERS: tuple[APIRouter, ...] = (
    sales.router,
    terminal.router,
    cards.router,
    tickets.router,
    awards.router,
    conversions.router,
    desk.router,
    memberships.router,
    shop.router,
    approvals.router,
)
