"""The city desk's acts as a principal may do them: a city clerk or the city's enrolment terminal."""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Callable

from cryptography import x509

from points.wire import BlockRequest, Challenge, DeskCard, LinkRequest, MergeRequest, ResidentAccount
from server import cards, desk, ledger, residents
from server.auth import Principal
from server.errors import ApiError
from server.services.access import visible_programs
from server.store import Store


def desk_id(principal: Principal) -> str:
    """Who signs challenges at this desk: the enrolment terminal, or the clerk's principal."""
    return principal.terminal_id or principal.id


def view(
    store: Store, principal: Principal, number: str, conn: sqlite3.Connection | None = None
) -> ResidentAccount:
    """The account as the desk shows it, with balances in the city's programs."""
    today = ledger.business_date(store.clock())
    programs = [p.id for p in visible_programs(store, principal)]
    return desk.account(conn or store.reader, number, programs, today)


def find(store: Store, principal: Principal, card_key: str) -> ResidentAccount:
    """The account of a card on the desk's reader (blocked and retired cards too).

    Raises:
        ApiError: ``account_not_found``.
    """
    state = residents.key_state(store.reader, card_key)
    if state is None:
        raise ApiError("account_not_found", "this card has no account yet")
    return view(store, principal, state.account_number)


def by_number(store: Store, principal: Principal, typed: str) -> ResidentAccount:
    """The account of a number the resident quotes (checked: its check character, not merged away)."""
    return view(store, principal, desk.number_of(store.reader, typed))


async def challenge(store: Store, principal: Principal) -> Challenge:
    """A one-time nonce for a card on the desk's reader to sign."""
    now, who = store.clock(), desk_id(principal)
    return await store.write(lambda conn: cards.new_challenge(conn, who, now))


async def link(store: Store, principal: Principal, body: LinkRequest) -> ResidentAccount:
    """Link a renewed or replacement card (see :func:`server.desk.link`)."""

    def job(conn: sqlite3.Connection) -> ResidentAccount:
        now = store.clock()  # under the write lock: a sale applied before this one is older (see check)
        number = desk.link(
            conn,
            new=body.new,
            old=body.old,
            typed_number=body.account_number,
            clerk=desk_id(principal),
            anchors=store.trust_anchors,
            now=now,
        )
        return view(store, principal, number, conn)

    return await _revoked_blocks(store, [body.new, *([body.old] if body.old else [])], job)


async def merge(store: Store, principal: Principal, body: MergeRequest) -> ResidentAccount:
    """Merge the source card's account into the target card's (see :func:`server.desk.merge`)."""

    def job(conn: sqlite3.Connection) -> ResidentAccount:
        now = store.clock()
        number = desk.merge(
            conn,
            source=body.source,
            target=body.target,
            clerk=desk_id(principal),
            anchors=store.trust_anchors,
            now=now,
        )
        return view(store, principal, number, conn)

    return await _revoked_blocks(store, [body.source, body.target], job)


async def block(
    store: Store, principal: Principal, body: BlockRequest, *, lift: bool = False
) -> ResidentAccount:
    """Block (``lift``: unblock) an account's card keys by its number, with the clerk's reason."""
    act = desk.unblock if lift else desk.block

    def job(conn: sqlite3.Connection) -> ResidentAccount:
        # The block's time is taken under the write lock (PostgreSQL: the keys' row locks, which a
        # sale takes too): a sale applied before it is older, and one applied after it sees the block
        # (``mykey-server check`` holds the two to each other).
        residents.lock_keys_of(conn, desk.number_of(conn, body.account_number))
        now = store.clock()
        number = act(conn, body.account_number, body.card_key, body.reason, desk_id(principal), now)
        return view(store, principal, number, conn)

    return await store.write(job)


async def _revoked_blocks(
    store: Store, presented: list[DeskCard], job: Callable[[sqlite3.Connection], ResidentAccount]
) -> ResidentAccount:
    # A certificate found revoked when presented blocks its key (in a transaction of its own: the
    # refused act's is undone).
    try:
        result: ResidentAccount = await store.write(job)
    except ApiError as error:
        if error.code == "certificate_revoked":
            now = store.clock()

            def blocks(conn: sqlite3.Connection) -> None:
                for card in presented:
                    if card.pin_proof is not None and cards_revoked(conn, card.pin_proof.certificate):
                        desk.block_revoked_key(conn, card.card_key, now)

            await store.write(blocks)
        raise
    return result


def cards_revoked(conn: sqlite3.Connection, certificate_b64: str) -> bool:
    """Is this (base64 DER) certificate on an imported CRL?"""
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(certificate_b64))
    except (ValueError, binascii.Error):
        return False
    return cards.revoked(conn, certificate)
