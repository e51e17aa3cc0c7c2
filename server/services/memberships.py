"""Memberships at a library or facility desk: look up, link once, record a visit, count visits."""

from __future__ import annotations

import datetime as dt
import sqlite3

from points.wire import (
    IssuerInfo,
    Membership,
    MembershipAnswer,
    MembershipLinkRequest,
    MembershipStatus,
    MembershipStatusChange,
    NetworkRegistration,
    Visit,
    VisitCount,
    VisitCounts,
)
from server import ledger, memberships, residents
from server.auth import Principal
from server.errors import ApiError
from server.store import Store


def _issuer_of(principal: Principal) -> str:
    if principal.issuer_id is None:
        raise ApiError("forbidden", "only a library or a facility has memberships")
    return principal.issuer_id


def _wire(row: memberships.MembershipRow) -> Membership:
    return Membership(
        issuer_id=row.issuer_id,
        number=row.number,
        since=dt.date.fromisoformat(row.since),
        status=MembershipStatus(row.status),
    )


def own_issuer(store: Store, principal: Principal) -> IssuerInfo:
    """The caller's own library or facility (the desk shows its name).

    Raises:
        ApiError: ``forbidden`` (not a library or facility), ``not_found`` (its issuer is gone).
    """
    issuer_id = _issuer_of(principal)
    found = memberships.issuer(store.reader, issuer_id)
    if found is None:
        raise ApiError("not_found", f"issuer {issuer_id}")
    return IssuerInfo(id=found.id, kind=found.kind, name=found.name)


async def set_status(store: Store, principal: Principal, change: MembershipStatusChange) -> Membership:
    """The issuer suspends one of its members' links by its own number, or lifts the suspension.

    Raises:
        ApiError: ``not_found`` (no such member here), ``invalid_request`` (an ended membership).
    """
    issuer_id = _issuer_of(principal)

    def job(conn: sqlite3.Connection) -> memberships.MembershipRow:
        return memberships.set_status(
            conn, issuer_id, change.number, change.status.value, principal.id, change.reason
        )

    return _wire(await store.write(job))


def lookup(store: Store, principal: Principal, card_key: str) -> MembershipAnswer:
    """This issuer's membership of a tapped card, and what its network lets it see of the others.

    A card never seen, or without a membership here, answers ``membership: null`` (a first visit).

    Raises:
        ApiError: ``card_blocked``, ``certificate_revoked``, ``card_replaced``, ``certificate_expired``.
    """
    issuer_id = _issuer_of(principal)
    number = residents.account_of(store.reader, card_key, store.clock())
    if number is None:
        return MembershipAnswer(issuer_id=issuer_id)
    row = memberships.membership(store.reader, number, issuer_id)
    elsewhere = [
        NetworkRegistration(issuer_id=r.issuer_id, name=r.name, number=r.number)
        for r in memberships.registrations_elsewhere(store.reader, number, issuer_id)
    ]
    return MembershipAnswer(
        issuer_id=issuer_id, membership=None if row is None else _wire(row), elsewhere=elsewhere
    )


async def link(store: Store, principal: Principal, request: MembershipLinkRequest) -> tuple[Membership, bool]:
    """Link the resident's existing number here to the card's account (once); True when new.

    Raises:
        ApiError: the card's refusals (as :func:`lookup`), ``membership_already_linked``,
            ``membership_number_taken``.
    """
    issuer_id = _issuer_of(principal)
    now = store.clock()
    since = request.since or ledger.business_date(now)

    def job(conn: sqlite3.Connection) -> tuple[memberships.MembershipRow, bool]:
        account = residents.open_account(conn, request.card_key, now)
        return memberships.link(conn, account, issuer_id, request.number, since, principal.id, now)

    row, new = await store.write(job)
    return _wire(row), new


async def visit(store: Store, principal: Principal, card_key: str) -> Visit:
    """A member's entry at the facility today (counted once a day).

    Raises:
        ApiError: the card's refusals (as :func:`lookup`), ``not_a_member``, ``membership_suspended``.
    """
    issuer_id = _issuer_of(principal)
    now = store.clock()

    def job(conn: sqlite3.Connection) -> Visit:
        account = residents.account_of(conn, card_key, now)
        row = None if account is None else memberships.membership(conn, account, issuer_id)
        if row is None or row.status == "ended":
            raise ApiError("not_a_member")
        if row.status == "suspended":
            raise ApiError("membership_suspended", f"member {row.number} at {issuer_id}")
        day, first, count = memberships.record_visit(conn, issuer_id, row.number, now)
        return Visit(issuer_id=issuer_id, number=row.number, day=day, first_today=first, visits_today=count)

    return await store.write(job)


def visit_counts(
    store: Store, principal: Principal, first: dt.date | None, last: dt.date | None
) -> VisitCounts:
    """Visits per facility per day: a facility its own, a city its facilities', an admin all.

    Raises:
        ApiError: ``forbidden`` for any other principal.
    """
    today = ledger.business_date(store.clock())
    first, last = first or today, last or first or today
    if principal.is_admin:
        issuers: list[str] | None = None
    elif principal.role == "facility" and principal.issuer_id is not None:
        issuers = [principal.issuer_id]
    elif principal.role == "city" and principal.city_id is not None:
        issuers = memberships.facilities_of_city(store.reader, principal.city_id)
    else:
        raise ApiError("forbidden", "visit counts are the facility's, its city's or an admin's")
    rows = memberships.visit_counts(store.reader, issuers, first, last)
    return VisitCounts(
        counts=[VisitCount(issuer_id=i, day=dt.date.fromisoformat(d), visits=n) for i, d, n in rows]
    )
