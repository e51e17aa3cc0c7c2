"""Library desk fixtures: the Ariake libraries' systems on loopback (see tests/support/sip2_library.py)."""

from __future__ import annotations

import pytest

from pos.library.desk import InMemoryMemberships, LibraryDesk
from pos.library.sip2 import Sip2Client
from tests.support.sip2_library import Sip2Library, sip2_library

__all__ = ["omuta", "omuta_desk", "sip2_library"]

#: A resident's My Number Card as the desk sees it (a card key, never the individual number).
HANAKO_CARD = "jpki:" + "a" * 64


@pytest.fixture
def omuta(sip2_library: Sip2Library) -> Sip2Client:
    """A SIP2 client logged in to 大牟田市立図書館's system on first use (a short time limit)."""
    client = Sip2Client(sip2_library.system("OMUTA", timeout=1.0))
    yield client
    client.close()


@pytest.fixture
def omuta_desk(omuta: Sip2Client) -> LibraryDesk:
    """Omuta's desk, where Hanako's card is linked to her patron number 1100000001."""
    memberships = InMemoryMemberships()
    memberships.link(HANAKO_CARD, "OMUTA", "1100000001")
    return LibraryDesk(omuta, memberships, terminal_id="OMUTA-DESK-1")
