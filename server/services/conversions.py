"""Partner points converted into a municipal program the partner funds (Oguni): one way, idempotent."""

from __future__ import annotations

from points.wire import ConversionRequest
from server import issuing, sales
from server.auth import Principal
from server.errors import ApiError
from server.services.access import program
from server.store import Store


async def convert(store: Store, principal: Principal, body: ConversionRequest) -> str:
    """Put the converted points on the card; returns the answer text (the stored one on a retry).

    Raises:
        ApiError: ``forbidden`` for a program this partner does not fund.
    """
    found = program(store, body.program_id)
    if found.funding.kind != "partner" or found.funding.id != principal.partner_id:
        raise ApiError("forbidden", f"{found.id} is not funded by this partner")
    fingerprint = sales.request_hash(principal.id, body)
    now = store.clock()
    return await store.write(lambda conn: issuing.conversion(conn, principal, body, found, fingerprint, now))
