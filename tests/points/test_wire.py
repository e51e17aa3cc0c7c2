"""The wire schema refuses what a server must never take: floats, unknown fields, bad ids."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from pydantic import ValidationError
from ulid import ULID

from points.wire import SaleRequest

CARD = "jpki:" + hashlib.sha256(b"certificate").hexdigest()


def sale(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "sale_id": str(ULID()),
        "terminal_time": dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC).isoformat(),
        "receipt_no": 1,
        "card_key": CARD,
        "totals": [{"rate": 10, "amount": 1_100}, {"rate": 8, "amount": 540}],
        "points": [{"program_id": "tenri-megumi", "points": 500}],
        "cash": 1_140,
    }
    body.update(changes)
    return body


def test_a_sale_carries_totals_per_rate_not_items() -> None:
    request = SaleRequest.model_validate(sale())
    assert request.total == 1_640
    assert "items" not in SaleRequest.model_fields


@pytest.mark.parametrize(
    "changes",
    [
        {"cash": 1.5},
        {"cash": "1140"},
        {"cash": -1},
        {"points": [{"program_id": "tenri-megumi", "points": 0}]},
        {"totals": [{"rate": 5, "amount": 100}]},
        {"totals": [{"rate": 10, "amount": 100}, {"rate": 10, "amount": 1}]},
        {"totals": []},
        {"sale_id": "not-a-ulid"},
        {"card_key": "1234-5678-9012"},
        {"card_key": None},
        {"items": [{"name": "弁当", "price": 540}]},
        {"tickets": [{"text": "MKT1AAAAAAAA"}, {"text": "mkt1aaaaaaaa"}]},
    ],
)
def test_malformed_sales_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SaleRequest.model_validate(sale(**changes))
