"""Event and volunteer awards from a city's award station."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from points.wire import EventAwardRequest, EventAwardResult
from server.auth import Principal, require
from server.dependencies import json_answer, note_operation, store_of
from server.services import awards

router = APIRouter(prefix="/v1", tags=["awards"])


@router.post("/awards", response_model=EventAwardResult)
async def award(
    request: Request,
    body: EventAwardRequest,
    principal: Annotated[Principal, Depends(require("city", "terminal", modes=("award",)))],
) -> Response:
    """An event or volunteer award (Toshima), once per card per event."""
    note_operation(request, body.award_id)
    return json_answer(await awards.award(store_of(request), principal, body))
