"""Request bodies for server tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ulid import ULID

SHOP = "yamato-bakery-t1"
OTHER_SHOP = "sakura-books-t1"
TENRI = "tenri-megumi"


def sale(
    card_key: str | None = None,
    *,
    total: int = 1000,
    points: dict[str, int] | None = None,
    tickets: list[str] | None = None,
    cash: int | None = None,
    awards: list[str] | None = None,
    sale_id: str | None = None,
    offline: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A sale body: pays the rest in cash unless ``cash`` is given."""
    points = points or {}
    body: dict[str, Any] = {
        "sale_id": sale_id or str(ULID()),
        "terminal_time": dt.datetime.now(dt.UTC).isoformat(),
        "receipt_no": 1,
        "totals": [{"rate": 10, "amount": total}],
        "points": [{"program_id": p, "points": n} for p, n in points.items()],
        "tickets": [{"text": t} for t in tickets or []],
        "cash": max(0, total - sum(points.values())) if cash is None else cash,
        "award_programs": awards or [],
        "offline": offline,
        **extra,
    }
    if card_key is not None:
        body["card_key"] = card_key
    return body


def issue(amounts: list[int], *, merchant: str = "yamato-bakery", receipt_base: int = 0) -> dict[str, Any]:
    """A ticket issuing request for receipts of ``amounts`` yen (numbered from ``receipt_base``)."""
    return {
        "issue_id": str(ULID()),
        "program_id": TENRI,
        "receipts": [
            {"merchant_id": merchant, "receipt_no": str(receipt_base + n), "date": "2026-11-01", "amount": a}
            for n, a in enumerate(amounts)
        ],
    }


def resident_account(conn: Any, card_key: str, program_id: str) -> int | None:
    """The ledger account of the card's resident account in a program (``None``: none yet)."""
    from server import ledger, residents

    state = residents.key_state(conn, card_key)
    return None if state is None else ledger.find_account(conn, "resident", state.account_number, program_id)
