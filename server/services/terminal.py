"""A terminal's configuration: its shop (or city desk), programs and their rules, ticket keys."""

from __future__ import annotations

from points.tickets import public_key_to_text
from points.wire import Merchant, TerminalConfig, TerminalMode
from server import residents
from server.auth import Principal
from server.errors import ApiError
from server.services.access import visible_programs
from server.store import Store


def config(store: Store, principal: Principal) -> TerminalConfig:
    """What a terminal needs to work, offline too (a terminal principal).

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
        blocked_keys=residents.blocked_keys(store.reader),
        block_list_version=residents.block_list_version(store.reader),
    )
