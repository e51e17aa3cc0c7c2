"""``mykey-server issuer|network|membership``: the administrator's verbs for libraries and facilities.

- ``issuer add ID NAME --kind library|facility [--network N] [--city C]`` registers a library (its id
  is its SIP2 institution id) or a facility; its desk's token is then ``token create --role library
  --id ID`` (the principal is named after its issuer). ``issuer list`` shows each with its active
  memberships.
- ``network add ID NAME [--members-see nothing|registered|numbers]`` registers a network of
  libraries (the Ariake six); ``network join NETWORK LIBRARY`` / ``network leave LIBRARY`` change its
  members; ``network set NETWORK --members-see …`` what members see of each other's registrations:
  ``nothing``, ``registered`` (that the resident is registered at another member, and where) or
  ``numbers`` (the other library's number too). ``network list`` shows each with its members.
- ``membership suspend|resume ISSUER NUMBER [--reason …]``: what a library's own desk can do with
  ``POST /v1/memberships/status``, from the command line.

Every change is one transaction with its audit line (actor ``cli``).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Callable

from server import audit, db, memberships
from server.errors import ApiError

#: ``--members-see`` → (members_see_registered, members_see_numbers).
VISIBILITY = {"nothing": (False, False), "registered": (True, False), "numbers": (True, True)}


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``issuer``, ``network`` and ``membership`` to ``mykey-server``."""
    default_db = os.environ.get("MYKEY_DB", "mykey.db")

    def action(
        group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=text)
        sub.add_argument("--db", default=default_db, help="a SQLite file or a postgresql:// URL")
        return sub

    issuer = _group(verbs, "issuer", "libraries and facilities (membership issuers): add, list", _issuer)
    add = action(issuer, "add", "register a library (id = its SIP2 institution id) or a facility")
    add.add_argument("id")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=["library", "facility"])
    add.add_argument("--network", help="the library's network")
    add.add_argument("--city", help="the city whose statistics count the facility's visits")
    action(issuer, "list", "every issuer, its network and its active memberships")

    network = _group(verbs, "network", "networks of libraries: add, join, leave, set, list", _network)
    add = action(network, "add", "register a network of libraries")
    add.add_argument("id")
    add.add_argument("name")
    add.add_argument("--members-see", choices=sorted(VISIBILITY), default="nothing")
    join = action(network, "join", "make a library a member of the network")
    join.add_argument("network")
    join.add_argument("library")
    leave = action(network, "leave", "take a library out of its network")
    leave.add_argument("library")
    setting = action(network, "set", "what the members see of each other's registrations")
    setting.add_argument("network")
    setting.add_argument("--members-see", choices=sorted(VISIBILITY), required=True)
    action(network, "list", "every network, its setting and its members")

    membership = _group(verbs, "membership", "a member's link at an issuer: suspend, resume", _membership)
    for name, text in (("suspend", "the desk refuses the card there"), ("resume", "lift a suspension")):
        sub = action(membership, name, text)
        sub.add_argument("issuer")
        sub.add_argument("number", help="the issuer's own membership number")
        sub.add_argument("--reason", default="")


def _group(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    text: str,
    run: Callable[[argparse.Namespace], int],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    group = verbs.add_parser(name, help=text)
    group.set_defaults(run=run)
    return group.add_subparsers(dest="action", required=True)


def _apply(args: argparse.Namespace, change: Callable[[sqlite3.Connection], str], *, log: bool = True) -> int:
    """Run one change with its audit line (unless it writes its own); print what was done, or why not."""
    conn = db.connect(args.db)
    try:
        with db.atomic(conn):
            done = change(conn)
            if log:
                audit.append(conn, "cli", f"{args.verb} {args.action}", done, **_detail(args))
    except ApiError as error:
        print(f"{args.verb} {args.action}: {error.message}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    print(done)
    return 0


def _detail(args: argparse.Namespace) -> dict[str, object]:
    skip = {"db", "run", "verb", "action"}
    return {key: value for key, value in vars(args).items() if key not in skip and value is not None}


def _issuer(args: argparse.Namespace) -> int:
    if args.action == "list":
        conn = db.connect(args.db)
        try:
            for found, active in memberships.issuers(conn):
                fields = (found.id, found.kind, found.name, found.network_id or "-", found.city_id or "-")
                print("\t".join((*fields, f"{active} active")))
        finally:
            conn.close()
        return 0

    def add(conn: sqlite3.Connection) -> str:
        if memberships.issuer(conn, args.id) is not None:
            raise ApiError("invalid_request", f"{args.id} exists already")
        if args.network is not None and args.kind != "library":
            raise ApiError("invalid_request", "networks are of libraries")
        if args.network is not None and memberships.network(conn, args.network) is None:
            raise ApiError("not_found", f"no network {args.network}")
        if (
            args.city is not None
            and conn.execute("SELECT 1 FROM cities WHERE id = ?", (args.city,)).fetchone() is None
        ):
            raise ApiError("not_found", f"no city {args.city}")
        memberships.add_issuer(
            conn, args.id, args.kind, args.name, network_id=args.network, city_id=args.city
        )
        token = f"mykey-server token create --role {args.kind} --id {args.id}"
        return f"added {args.kind} {args.id} ({args.name}); its desk's token: {token}"

    return _apply(args, add)


def _network(args: argparse.Namespace) -> int:
    if args.action == "list":
        conn = db.connect(args.db)
        try:
            for net, members in memberships.networks(conn):
                see = next(
                    k
                    for k, v in VISIBILITY.items()
                    if v == (net.members_see_registered, net.members_see_numbers)
                )
                print("\t".join((net.id, net.name, f"members see {see}", ",".join(members) or "-")))
        finally:
            conn.close()
        return 0

    def change(conn: sqlite3.Connection) -> str:
        if args.action == "add":
            if memberships.network(conn, args.id) is not None:
                raise ApiError("invalid_request", f"{args.id} exists already")
            registered, numbers = VISIBILITY[args.members_see]
            memberships.add_network(
                conn, args.id, args.name, members_see_registered=registered, members_see_numbers=numbers
            )
            return f"added network {args.id} ({args.name}), members see {args.members_see}"
        if args.action == "join":
            memberships.join_network(conn, args.library, args.network)
            return f"{args.library} is a member of {args.network}"
        if args.action == "leave":
            memberships.join_network(conn, args.library, None)
            return f"{args.library} is in no network"
        if memberships.network(conn, args.network) is None:
            raise ApiError("not_found", f"no network {args.network}")
        registered, numbers = VISIBILITY[args.members_see]
        memberships.set_network_visibility(
            conn, args.network, members_see_registered=registered, members_see_numbers=numbers
        )
        return f"members of {args.network} see {args.members_see}"

    return _apply(args, change)


def _membership(args: argparse.Namespace) -> int:
    status = "suspended" if args.action == "suspend" else "active"

    def change(conn: sqlite3.Connection) -> str:
        memberships.set_status(conn, args.issuer, args.number, status, "cli", args.reason)
        return f"member {args.number} at {args.issuer}: {status}"

    return _apply(args, change, log=False)  # set_status writes the membership's own audit line
