"""What every v1 router shares: the store, the principals' dependencies, path types, raw answers.

Handlers take what they need from here (FastAPI "Bigger Applications": ``routers/`` and one
``dependencies.py``) and hand the decision to a service module (:mod:`server.services`).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from points.wire import Ulid
from server.auth import Principal, require
from server.store import Store

#: A shop terminal (the sale, challenge and void endpoints); called by hand on the sale path.
SHOP = require("terminal", modes=("shop",))
Shop = Annotated[Principal, Depends(SHOP)]
SerialPath = Annotated[int, Path(ge=0, lt=10**12, description="the ticket's serial")]
SaleIdPath = Annotated[Ulid, Path(description="the sale's ULID")]

M = TypeVar("M", bound=BaseModel)


def store_of(request: Request) -> Store:
    """The app's :class:`~server.store.Store`."""
    store: Store = request.app.state.store
    return store


def json_answer(text: str, status: int = 200) -> Response:
    """A stored answer sent back byte for byte (not re-serialised)."""
    return Response(content=text, media_type="application/json", status_code=status)


def note_operation(request: Request, operation_id: str) -> None:
    """Name the sale (award, issue, conversion) id in the request's access log line."""
    request.scope.setdefault("state", {})["sale_id"] = operation_id


async def validated_body(request: Request, model: type[M]) -> M:
    """The request's JSON body as ``model``; invalid JSON or fields are ``invalid_request`` (422).

    Raises:
        RequestValidationError: the body is not valid JSON for ``model``.
    """
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        problems = [
            {"loc": ("body", *problem["loc"]), "msg": problem["msg"], "type": problem["type"]}
            for problem in error.errors(include_url=False)
        ]
        raise RequestValidationError(problems) from None
