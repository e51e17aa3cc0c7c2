"""A terminal's configuration: its shop (or city desk), programs and their rules, ticket keys."""

from __future__ import annotations

from typing import Any

from points.tickets import public_key_to_text
from points.wire import Merchant, TerminalConfig, TerminalMode
from server import residents
from server.auth import Principal
from server.errors import ApiError
from server.services.access import visible_programs
from server.store import Store


def config(store: Store, principal: Principal, block_list_since: str | None = None) -> TerminalConfig:
    """What a terminal needs to work, offline too (a terminal principal).

    With ``block_list_since`` (the terminal's block list version) the block list is only what
    changed since, when that version is this server's and the changes are fewer than the list
    (:func:`server.residents.block_list_delta`); else the whole list.

    Raises:
        ApiError: ``unknown_merchant`` when the terminal's merchant is gone.
    """
    assert principal.terminal_id is not None
    if principal.merchant_id is not None:
        merchant = store.merchant(store.reader, principal.merchant_id)
        if merchant is None:
            raise ApiError("unknown_merchant")
    else:
        row = store.reader.execute(
            "SELECT id, name FROM cities WHERE id = ?", (principal.city_id,)
        ).fetchone()
        merchant = Merchant(id=row[0], name=row[1], category="city")
    return TerminalConfig(
        terminal_id=principal.terminal_id,
        mode=TerminalMode(principal.mode or TerminalMode.SHOP),
        merchant=merchant,
        programs=visible_programs(store, principal),
        ticket_keys={store.signer.key_id: public_key_to_text(store.signer.public_key)},
        event=store.terminal_event(principal.terminal_id) if principal.mode == TerminalMode.AWARD else None,
        server_time=store.clock(),
        **_block_list(store, block_list_since),
    )


def _block_list(store: Store, since: str | None) -> dict[str, Any]:
    # The version first: a change landing between the two reads is sent now and again next time
    # (applying a block or an unblock twice changes nothing), never lost.
    conn = store.reader
    version = residents.block_list_version(conn)
    delta = residents.block_list_delta(conn, since) if since else None
    if delta is None:
        return {"blocked_keys": residents.blocked_keys(conn), "block_list_version": version}
    blocked, unblocked = delta
    return {
        "blocked_keys": blocked,
        "unblocked_keys": unblocked,
        "block_list_version": version,
        "block_list_since": since,
    }
