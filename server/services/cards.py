"""A card's balances and tags as a principal may see them; eligibility set by a city; PIN challenges."""

from __future__ import annotations

import sqlite3

from points.wire import CardLookup, Challenge, EligibilityUpdate
from server import cards, ledger, residents
from server.auth import Principal
from server.errors import ApiError
from server.services.access import visible_programs
from server.store import Store


def lookup(store: Store, principal: Principal, card_key: str) -> CardLookup:
    """Balances in the programs this principal works with (expiring lots included) and tags.

    Raises:
        ApiError: ``card_blocked``, ``certificate_revoked``, ``card_replaced``, ``certificate_expired``.
    """
    now = store.clock()
    today = ledger.business_date(now)
    number = residents.account_of(store.reader, card_key, now)
    held = set(cards.programs_held(store.reader, number))
    programs = [p for p in visible_programs(store, principal) if p.id in held]
    city = (
        None
        if principal.is_admin or (principal.role == "terminal" and principal.merchant_id)
        else principal.city_id
    )
    return CardLookup(
        card_key=card_key,
        account_number=number,
        balances=[cards.balance_of(store.reader, number, p.id, today) for p in programs],
        eligibility=cards.tags_of(store.reader, number, city),
    )


async def set_eligibility(
    store: Store, principal: Principal, card_key: str, update: EligibilityUpdate
) -> CardLookup:
    """Replace the card's tags of the principal's city; only a city (or its enrolment desk) may.

    Raises:
        ApiError: ``forbidden`` for a principal that is not a city's.
    """
    city_id = principal.city_id
    if city_id is None or (principal.role == "terminal" and principal.merchant_id is not None):
        raise ApiError("forbidden", "only a city sets eligibility")
    now = store.clock()

    def job(conn: sqlite3.Connection) -> None:
        number = residents.open_account(conn, card_key, now)
        cards.set_tags(conn, number, city_id, update.tags, principal.id, now)

    await store.write(job)
    return lookup(store, principal, card_key)


async def challenge(store: Store, principal: Principal) -> Challenge:
    """A one-time nonce for the shop terminal's next sale above a no-PIN limit."""
    assert principal.terminal_id is not None
    terminal_id, now = principal.terminal_id, store.clock()
    return await store.write(lambda conn: cards.new_challenge(conn, terminal_id, now))
