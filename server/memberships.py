"""Memberships (会員登録): a resident account's numbers at libraries and facilities, and facility visits.

A library or a facility (community centre, gym) is an *issuer* of membership numbers and a
principal of its own (role ``library`` or ``facility``, the principal's ``issuer_id``). A tapped
card resolves to its resident account (:func:`server.residents.account_of`: a blocked, replaced or
expired card is refused as at a shop), and the account to the issuer's number. Nothing about the
person is stored: no name, no address; the issuer's own system knows who its members are.

Visibility: an issuer sees only its own memberships. A library of a network (the Ariake six) may,
when the network's ``members_see_registered`` is set, see *that* the resident is registered at
another member library (its id and name), and the other library's number only when
``members_see_numbers`` is set too. A library outside the network, or a network with neither
setting, sees nothing of the others.

A membership is linked once: the same number again is a no-op, another number for the same
account and issuer is ``membership_already_linked``, a number another account holds at the issuer
``membership_number_taken``. Every link is a line of the audit log (``membership_link``).

A library (or facility) may **suspend** one of its members' links by its own number (a patron
barred for a while) and lift it again: the desk then refuses the card there in words
(``membership_suspended``), the network's other members no longer see the registration, and
both acts are audit lines (``membership_suspend``, ``membership_resume``).

Facility visits: one row per member, facility and Japan-time day (a second tap the same day is not
counted again); the city reads counts per facility per day.

Tables (:mod:`server.schema`, migration 9): ``library_networks(id, name, members_see_registered,
members_see_numbers, created_at)``; ``issuers(id, kind, name, network_id, city_id, created_at)``;
``memberships(account_number, issuer_id, number, since, status, linked_at, linked_by)``;
``facility_visits(issuer_id, day, membership_number, entered_at)``; ``principals.issuer_id``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Literal

from server import audit, db, ledger
from server.errors import ApiError

IssuerKind = Literal["library", "facility"]


@dataclass(frozen=True, slots=True)
class Issuer:
    """A library or facility as stored."""

    id: str
    kind: IssuerKind
    name: str
    network_id: str | None
    city_id: str | None


@dataclass(frozen=True, slots=True)
class MembershipRow:
    """One membership as stored."""

    issuer_id: str
    number: str
    since: str
    status: str


@dataclass(frozen=True, slots=True)
class Registration:
    """The resident is registered at another member library (``number`` only if the network shows it)."""

    issuer_id: str
    name: str
    number: str | None


# Administration (demo data, the command line) -------------------------------------------


def add_network(
    conn: sqlite3.Connection,
    network_id: str,
    name: str,
    *,
    members_see_registered: bool = False,
    members_see_numbers: bool = False,
) -> None:
    """Register a network of libraries and what its members see of each other's registrations."""
    conn.execute(
        "INSERT INTO library_networks(id, name, members_see_registered, members_see_numbers, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            network_id,
            name,
            int(members_see_registered),
            int(members_see_numbers),
            ledger.iso(ledger.utc_now()),
        ),
    )


def set_network_visibility(
    conn: sqlite3.Connection, network_id: str, *, members_see_registered: bool, members_see_numbers: bool
) -> None:
    """Change what the network's members see of each other's registrations."""
    conn.execute(
        "UPDATE library_networks SET members_see_registered = ?, members_see_numbers = ? WHERE id = ?",
        (int(members_see_registered), int(members_see_numbers), network_id),
    )


def add_issuer(
    conn: sqlite3.Connection,
    issuer_id: str,
    kind: IssuerKind,
    name: str,
    *,
    network_id: str | None = None,
    city_id: str | None = None,
) -> None:
    """Register a library (its id is its SIP2 institution id) or a facility."""
    conn.execute(
        "INSERT INTO issuers(id, kind, name, network_id, city_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (issuer_id, kind, name, network_id, city_id, ledger.iso(ledger.utc_now())),
    )


def join_network(conn: sqlite3.Connection, issuer_id: str, network_id: str | None) -> None:
    """Make the library a member of the network (``None``: of none).

    Raises:
        ApiError: ``not_found`` (no such library or network), ``invalid_request`` (a facility:
            networks are of libraries).
    """
    found = issuer(conn, issuer_id)
    if found is None:
        raise ApiError("not_found", f"no library {issuer_id}")
    if found.kind != "library":
        raise ApiError("invalid_request", f"{issuer_id} is a facility: networks are of libraries")
    if network_id is not None and network(conn, network_id) is None:
        raise ApiError("not_found", f"no network {network_id}")
    conn.execute("UPDATE issuers SET network_id = ? WHERE id = ?", (network_id, issuer_id))


@dataclass(frozen=True, slots=True)
class Network:
    """A network of libraries and what its members see of each other's registrations."""

    id: str
    name: str
    members_see_registered: bool
    members_see_numbers: bool


def network(conn: sqlite3.Connection, network_id: str) -> Network | None:
    """The network, or ``None``."""
    row = conn.execute(
        "SELECT id, name, members_see_registered, members_see_numbers FROM library_networks WHERE id = ?",
        (network_id,),
    ).fetchone()
    return None if row is None else Network(row[0], row[1], bool(int(row[2])), bool(int(row[3])))


def networks(conn: sqlite3.Connection) -> list[tuple[Network, list[str]]]:
    """Every network with its member libraries' ids."""
    found = []
    for (network_id,) in conn.execute("SELECT id FROM library_networks ORDER BY id").fetchall():
        members = conn.execute(
            "SELECT id FROM issuers WHERE network_id = ? ORDER BY id", (network_id,)
        ).fetchall()
        net = network(conn, network_id)
        assert net is not None
        found.append((net, [m[0] for m in members]))
    return found


def issuers(conn: sqlite3.Connection) -> list[tuple[Issuer, int]]:
    """Every library and facility with its count of active memberships."""
    rows = conn.execute(
        "SELECT i.id, i.kind, i.name, i.network_id, i.city_id,"
        " (SELECT COUNT(*) FROM memberships m WHERE m.issuer_id = i.id AND m.status = 'active')"
        " FROM issuers i ORDER BY i.id"
    ).fetchall()
    return [(Issuer(r[0], r[1], r[2], r[3], r[4]), int(r[5])) for r in rows]


def issuer(conn: sqlite3.Connection, issuer_id: str) -> Issuer | None:
    """The issuer, or ``None``."""
    row = conn.execute(
        "SELECT id, kind, name, network_id, city_id FROM issuers WHERE id = ?", (issuer_id,)
    ).fetchone()
    return None if row is None else Issuer(*tuple(row))


# Memberships ------------------------------------------------------------------------------


def membership(conn: sqlite3.Connection, account_number: str, issuer_id: str) -> MembershipRow | None:
    """The account's membership at the issuer, or ``None``."""
    row = conn.execute(
        "SELECT issuer_id, number, since, status FROM memberships WHERE account_number = ? AND issuer_id = ?",
        (account_number, issuer_id),
    ).fetchone()
    return None if row is None else MembershipRow(*tuple(row))


def registrations_elsewhere(
    conn: sqlite3.Connection, account_number: str, issuer_id: str
) -> list[Registration]:
    """The account's registrations at the other libraries of ``issuer_id``'s network, as it may see them.

    Empty for an issuer outside any network, or a network whose members see nothing of each other.
    """
    row = conn.execute(
        "SELECT n.members_see_registered, n.members_see_numbers FROM issuers i"
        " JOIN library_networks n ON n.id = i.network_id WHERE i.id = ?",
        (issuer_id,),
    ).fetchone()
    if row is None or not int(row[0]):
        return []
    numbers = bool(int(row[1]))
    rows = conn.execute(
        "SELECT o.id, o.name, m.number FROM memberships m JOIN issuers o ON o.id = m.issuer_id"
        " JOIN issuers i ON i.network_id = o.network_id"
        " WHERE m.account_number = ? AND i.id = ? AND o.id != i.id AND m.status = 'active'"
        " ORDER BY o.id",
        (account_number, issuer_id),
    ).fetchall()
    return [Registration(r[0], r[1], r[2] if numbers else None) for r in rows]


def link(
    conn: sqlite3.Connection,
    account_number: str,
    issuer_id: str,
    number: str,
    since: dt.date,
    actor: str,
    now: dt.datetime,
) -> tuple[MembershipRow, bool]:
    """Link the issuer's ``number`` to the account, once; returns the membership and whether it is new.

    Raises:
        ApiError: ``membership_already_linked`` (the account has another number here),
            ``membership_number_taken`` (another account has this number here).
    """
    held = membership(conn, account_number, issuer_id)
    if held is not None:
        if held.number == number:
            return held, False
        raise ApiError("membership_already_linked")
    other = conn.execute(
        "SELECT account_number FROM memberships WHERE issuer_id = ? AND number = ?", (issuer_id, number)
    ).fetchone()
    if other is not None:
        raise ApiError("membership_number_taken")
    inserted = conn.execute(
        "INSERT INTO memberships(account_number, issuer_id, number, since, status, linked_at, linked_by)"
        " VALUES (?, ?, ?, ?, 'active', ?, ?) ON CONFLICT DO NOTHING",
        (account_number, issuer_id, number, since.isoformat(), ledger.iso(now), actor),
    ).rowcount
    if inserted != 1:
        # Another server process linked meanwhile (PostgreSQL): run the job again to answer as it did.
        raise db.Retry(f"membership of {account_number} at {issuer_id} was linked meanwhile")
    audit.append(
        conn,
        actor,
        "membership_link",
        f"membership:{issuer_id}:{account_number}",
        number=number,
        since=since.isoformat(),
    )
    return MembershipRow(issuer_id, number, since.isoformat(), "active"), True


def set_status(
    conn: sqlite3.Connection, issuer_id: str, number: str, status: str, actor: str, reason: str = ""
) -> MembershipRow:
    """Suspend the issuer's member ``number`` (``suspended``) or lift it (``active``); audited.

    The same status again changes nothing and writes no audit line.

    Raises:
        ApiError: ``not_found`` (the issuer has no member of that number), ``invalid_request``
            (an ended membership cannot be suspended or resumed).
    """
    row = conn.execute(
        "SELECT account_number, since, status FROM memberships WHERE issuer_id = ? AND number = ?",
        (issuer_id, number),
    ).fetchone()
    if row is None:
        raise ApiError("not_found", f"no member {number} at {issuer_id}")
    account_number, since, held = row
    if held == "ended":
        raise ApiError("invalid_request", "an ended membership cannot change its status")
    if held != status:
        conn.execute(
            "UPDATE memberships SET status = ? WHERE issuer_id = ? AND number = ?",
            (status, issuer_id, number),
        )
        action = "membership_suspend" if status == "suspended" else "membership_resume"
        audit.append(
            conn, actor, action, f"membership:{issuer_id}:{account_number}", number=number, reason=reason
        )
    return MembershipRow(issuer_id, number, since, status)


def move_on_merge(conn: sqlite3.Connection, gone: str, kept: str) -> tuple[list[str], list[str]]:
    """A merge at the city desk: ``gone``'s memberships go to ``kept``; returns (moved, ended).

    Where the surviving account already has a membership at the same issuer, the survivor's stays
    and the merged account's is **ended** (status ``ended``, left on the merged account as history):
    one account holds one number per issuer, and the resident's second patron record is the
    library's to reconcile. Both lists name ``issuer:number``; the merge's audit line carries them.
    """
    rows = conn.execute(
        "SELECT issuer_id, number FROM memberships WHERE account_number = ? ORDER BY issuer_id", (gone,)
    ).fetchall()
    held = {r[0] for r in conn.execute("SELECT issuer_id FROM memberships WHERE account_number = ?", (kept,))}
    moved: list[str] = []
    ended: list[str] = []
    for issuer_id, number in rows:
        if issuer_id in held:
            conn.execute(
                "UPDATE memberships SET status = 'ended' WHERE account_number = ? AND issuer_id = ?",
                (gone, issuer_id),
            )
            ended.append(f"{issuer_id}:{number}")
        else:
            conn.execute(
                "UPDATE memberships SET account_number = ? WHERE account_number = ? AND issuer_id = ?",
                (kept, gone, issuer_id),
            )
            moved.append(f"{issuer_id}:{number}")
    return moved, ended


# Facility visits --------------------------------------------------------------------------


def record_visit(
    conn: sqlite3.Connection, issuer_id: str, number: str, now: dt.datetime
) -> tuple[dt.date, bool, int]:
    """Today's entry of a member: (the day, whether it is the first today, the day's count)."""
    day = ledger.business_date(now)
    inserted = conn.execute(
        "INSERT INTO facility_visits(issuer_id, day, membership_number, entered_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (issuer_id, day.isoformat(), number, ledger.iso(now)),
    ).rowcount
    return day, inserted == 1, visits_on(conn, issuer_id, day)


def visits_on(conn: sqlite3.Connection, issuer_id: str, day: dt.date) -> int:
    """Members who entered the facility on the day."""
    row = conn.execute(
        "SELECT COUNT(*) FROM facility_visits WHERE issuer_id = ? AND day = ?", (issuer_id, day.isoformat())
    ).fetchone()
    return int(row[0])


def visit_counts(
    conn: sqlite3.Connection, issuer_ids: list[str] | None, first: dt.date, last: dt.date
) -> list[tuple[str, str, int]]:
    """(facility, day, visits) from ``first`` to ``last``, of the given facilities (``None``: all)."""
    rows = conn.execute(
        "SELECT issuer_id, day, COUNT(*) FROM facility_visits WHERE day >= ? AND day <= ?"
        " GROUP BY issuer_id, day ORDER BY day, issuer_id",
        (first.isoformat(), last.isoformat()),
    ).fetchall()
    wanted = None if issuer_ids is None else set(issuer_ids)
    return [(r[0], r[1], int(r[2])) for r in rows if wanted is None or r[0] in wanted]


def facilities_of_city(conn: sqlite3.Connection, city_id: str) -> list[str]:
    """The facilities (and libraries) a city has registered."""
    rows = conn.execute("SELECT id FROM issuers WHERE city_id = ? ORDER BY id", (city_id,)).fetchall()
    return [r[0] for r in rows]
