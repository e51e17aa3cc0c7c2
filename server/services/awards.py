"""Event and volunteer awards (Toshima): once per card per event, from the city's award station."""

from __future__ import annotations

from points.wire import EventAwardRequest
from server import issuing, sales
from server.auth import Principal
from server.errors import ApiError
from server.services.access import city_program
from server.store import Store


async def award(store: Store, principal: Principal, body: EventAwardRequest) -> str:
    """Award the event's points to the card; returns the answer text (the stored one on a retry).

    Raises:
        ApiError: another city's program, a station set up for another event or kind, a second award.
    """
    found = city_program(store, principal, body.program_id)
    if principal.role == "terminal":
        assert principal.terminal_id is not None
        event = store.terminal_event(principal.terminal_id)
        # The station's set-up decides the kind too: a volunteer event's station cannot award a walk rally.
        if event is not None and (event.event_id, event.program_id, event.kind) != (
            body.event_id,
            body.program_id,
            body.kind,
        ):
            raise ApiError("forbidden", "this award station is set up for another event or kind")
    fingerprint = sales.request_hash(principal.id, body)
    now = store.clock()
    return await store.write(lambda conn: issuing.event_award(conn, principal, body, found, fingerprint, now))
