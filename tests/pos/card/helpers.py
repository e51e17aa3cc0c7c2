"""Small helpers shared by the card tests."""

from __future__ import annotations

import time
from typing import TypeVar

from pos.card import events
from pos.card.base import CardReader

SLOT0, SLOT1 = "Virtual PCD 00 00", "Virtual PCD 00 01"
E = TypeVar("E", bound=events.CardEvent)


def next_event(reader: CardReader, kind: type[E], timeout: float = 5.0) -> E:
    """The next event of ``kind`` (others skipped); fails the test if none comes in time."""
    deadline = time.monotonic() + timeout
    seen: list[events.CardEvent | None] = []
    while (left := deadline - time.monotonic()) > 0:
        event = reader.events.get(left)
        if isinstance(event, kind):
            return event
        seen.append(event)
    raise AssertionError(f"no {kind.__name__} within {timeout} s; saw {seen}")
