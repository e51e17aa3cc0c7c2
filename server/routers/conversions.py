"""Partner conversions into a program the partner funds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from points.wire import ConversionRequest, ConversionResult
from server.auth import Principal, require
from server.dependencies import json_answer, note_operation, store_of
from server.services import conversions

router = APIRouter(prefix="/v1", tags=["conversions"])


@router.post("/conversions", response_model=ConversionResult)
async def convert(
    request: Request, body: ConversionRequest, principal: Annotated[Principal, Depends(require("partner"))]
) -> Response:
    """Partner points converted into a program the partner funds (one way; idempotent by the partner's id)."""
    note_operation(request, body.conversion_id)
    return json_answer(await conversions.convert(store_of(request), principal, body))
