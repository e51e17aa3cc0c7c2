"""Which programs a principal sees and may work with (what belongs to another is not shown)."""

from __future__ import annotations

from points.programs import Program
from server.auth import Principal
from server.errors import ApiError
from server.store import Store


def visible_programs(store: Store, principal: Principal) -> list[Program]:
    """The programs a principal may see balances of and (for terminals) work with."""
    programs = list(store.programs().values())
    if principal.is_admin:
        return programs
    if principal.role == "terminal" and principal.merchant_id is not None:
        merchant = store.merchant(store.reader, principal.merchant_id)
        if merchant is None:
            return []
        return [p for p in programs if p.accepted_by.accepts(merchant.id, merchant.category)]
    if principal.city_id is not None and principal.role in ("terminal", "city"):
        return [p for p in programs if p.city == principal.city_id]
    return []


def program(store: Store, program_id: str) -> Program:
    """A program by id.

    Raises:
        ApiError: ``unknown_program``.
    """
    found = store.programs().get(program_id)
    if found is None:
        raise ApiError("unknown_program", program_id)
    return found


def city_program(store: Store, principal: Principal, program_id: str) -> Program:
    """A program of the principal's own city (ticket counters and award stations act for a city).

    Raises:
        ApiError: ``unknown_program``, or ``forbidden`` for another city's program.
    """
    found = program(store, program_id)
    if principal.city_id != found.city:
        raise ApiError("forbidden", f"{found.id} is not this city's program")
    return found
