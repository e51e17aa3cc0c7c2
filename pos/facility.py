"""The facility desk's flow (区民ひろば・体育館の受付), without a screen: tap → member number, today's entry.

A resident taps the My Number Card at a community centre's or a gym's entrance. The server,
asked with the facility's own token, turns the card into the facility's member number and records
today's entry: one per member per day, for the city's visit counts, with no name, no address and
nothing else about the visit. A card the facility does not know yet is a first visit: the
member's existing facility card is scanned (or its number typed), linked to the card once, and the
entry recorded; afterwards the My Number Card alone works here.

The server's refusals (a blocked card, a suspended membership) come back as the sync client's
:class:`~pos.sync.SyncError`, whose words the screen shows; nothing is retried behind the desk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from points.wire import ErrorBody, IssuerInfo, MembershipLinkRequest
from pos.sync import ServerClient, ServerRefused

#: What a facility card's number may be (the wire's ``MembershipNumber``): checked before sending.
NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True, slots=True)
class Entry:
    """A member's entry as the desk shows it: the number, whether it is the first today, the count.

    ``linked`` is True when this tap was the first visit that linked the card.
    """

    number: str
    first_today: bool
    visits_today: int
    linked: bool = False


class FacilityDesk:
    """One facility's entrance desk, talking to the server with the facility's own token.

    Args:
        client: a :class:`~pos.sync.ServerClient` holding the facility's token (role ``facility``).
    """

    def __init__(self, client: ServerClient) -> None:
        self.client = client
        self._facility: IssuerInfo | None = None

    def facility(self) -> IssuerInfo:
        """The facility the token belongs to (asked once).

        Raises:
            SyncError: the server could not be asked, or refused the token.
        """
        if self._facility is None:
            self._facility = self.client.own_issuer()
        return self._facility

    def visits_today(self) -> int:
        """Members who entered today so far.

        Raises:
            SyncError: the server could not be asked.
        """
        return sum(count.visits for count in self.client.visits_today().counts)

    def enter(self, card_key: str) -> Entry | None:
        """Record today's entry of the tapped card; ``None`` when it is not a member here yet.

        Raises:
            SyncError: a refusal (``card_blocked``, ``membership_suspended``, …) or no server.
        """
        try:
            visit = self.client.visit(card_key)
        except ServerRefused as refused:
            if refused.code == "not_a_member":
                return None
            raise
        return Entry(visit.number, visit.first_today, visit.visits_today)

    def first_visit(self, card_key: str, number: str) -> Entry:
        """Link the member's existing facility card ``number`` to the tapped card, then enter.

        Raises:
            ValueError: ``number`` is not a card number (letters, digits, ``-``, ``_``, ``.``).
            SyncError: the link or the entry was refused (``membership_number_taken``, …).
        """
        number = number.strip()
        if not NUMBER.fullmatch(number):
            raise ValueError(number)
        self.client.membership_link(MembershipLinkRequest(card_key=card_key, number=number))
        entry = self.enter(card_key)
        if entry is None:  # linked a moment ago: only an ended membership answers so
            raise ServerRefused(404, ErrorBody(code="not_a_member", message="not a member after the link"))
        return Entry(entry.number, entry.first_today, entry.visits_today, linked=True)
