"""Zengin files only for approved payouts, dated on a future bank business day (issue 12, finding 10)."""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points import bank_days
from server import db
from server.settlement import zengin
from tests.settlement.demo_server import DEC, Demo, make_demo, sell


@pytest.fixture
def month(tmp_path: pathlib.Path) -> Iterator[Demo]:
    d = make_demo(tmp_path)
    yield d
    d.app.state.store.close()


async def closed_november(month: Demo) -> str:
    """A November sale, closed and approved by the chamber (not yet by the city); the claim's id."""
    await sell(month, "yamato-bakery", "sato", 1000)
    month.clock[0] = DEC
    async with month.client("tenri-cci") as chamber:
        await chamber.post("/v1/periods/2026-11/close")
        (claim,) = (await chamber.get("/v1/claims", params={"period": "2026-11"})).json()
        assert (await chamber.post(f"/v1/claims/{claim['id']}/approve")).status_code == 200
    return str(claim["id"])


async def test_no_zengin_file_before_the_city_approves_payment(month: Demo) -> None:
    claim = await closed_november(month)
    for who in ("tenri-cci", "tenri"):
        async with month.client(who) as clerk:
            answer = await clerk.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-10"})
        assert (answer.status_code, answer.json()["code"]) == (409, "payout_not_approved"), who
    async with month.client("tenri") as city:
        await city.post(f"/v1/claims/{claim}/approve")
        assert (
            await city.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-10"})
        ).status_code == 200


async def test_the_transfer_date_defaults_to_the_next_bank_business_day(month: Demo) -> None:
    claim = await closed_november(month)
    month.clock[0] = dt.datetime(2026, 12, 30, 1, 0, tzinfo=dt.UTC)  # 12/30 in Japan: banks shut till 1/4
    async with month.client("tenri") as city:
        await city.post(f"/v1/claims/{claim}/approve")
        answer = await city.get("/v1/payouts/2026-11/zengin")
    assert answer.status_code == 200, answer.text
    assert zengin.read(answer.content, 2027).transfer_date == dt.date(2027, 1, 4)


async def test_a_payee_without_a_bank_account_is_named_not_called_unapproved(month: Demo) -> None:
    claim = await closed_november(month)
    conn = db.connect(month.path)
    conn.execute("UPDATE merchants SET bank_code = NULL WHERE id = 'yamato-bakery'")
    conn.close()
    async with month.client("tenri") as city, month.client("tenri-cci") as chamber:
        await city.post(f"/v1/claims/{claim}/approve")
        # Tenri pays the chamber, which pays the shops (via_chamber): the chamber's file pays the bakery.
        answer = await chamber.get("/v1/payouts/2026-11/zengin", params={"date": "2026-12-10"})
    body = answer.json()
    assert (answer.status_code, body["code"]) == (409, "payee_without_account")
    assert "やまとベーカリー (yamato-bakery)" in body["message"]
    bakery = {"payee_kind": "merchant", "payee_id": "yamato-bakery", "payee_name": "やまとベーカリー"}
    assert body["detail"] == [{**bakery, "amount": 1000}]


@pytest.mark.parametrize(
    ("day", "code"),
    [
        ("2026-12-02", "transfer_date_past"),  # today
        ("2026-11-30", "transfer_date_past"),
        ("2026-12-05", "transfer_date_closed"),  # a Saturday
        ("2026-12-31", "transfer_date_closed"),
        ("2027-01-11", "transfer_date_closed"),  # 成人の日
    ],
)
async def test_a_transfer_date_banks_cannot_take_is_refused(month: Demo, day: str, code: str) -> None:
    claim = await closed_november(month)
    async with month.client("tenri") as city:
        await city.post(f"/v1/claims/{claim}/approve")
        answer = await city.get("/v1/payouts/2026-11/zengin", params={"date": day})
    assert (answer.status_code, answer.json()["code"]) == (422, code)


def test_bank_holidays_come_from_the_holiday_calendar() -> None:
    assert bank_days.closed_because(dt.date(2026, 11, 23)) == "祝日（勤労感謝の日）"
    assert bank_days.closed_because(dt.date(2026, 9, 22)) is not None  # 国民の休日 between two holidays
    assert bank_days.closed_because(dt.date(2026, 1, 2)) == "年末年始"  # a Friday
    assert bank_days.is_bank_business_day(dt.date(2026, 12, 1))


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2060, 12, 31)))
def test_the_next_bank_business_day_is_the_first_open_day_after(day: dt.date) -> None:
    following = bank_days.next_bank_business_day(day)
    assert following > day and bank_days.is_bank_business_day(following)
    skipped = (day + dt.timedelta(days=n) for n in range(1, (following - day).days))
    assert not any(bank_days.is_bank_business_day(d) for d in skipped)
