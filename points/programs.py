"""Programs (自治体ポイントの事業) as data: who issues them, who funds them, where they are taken.

A program is loaded from TOML (or sent by the server in the terminal config) and is the only
place its rules live: award rate, rounding unit, minimum, cap, expiry, acceptance, eligibility,
tender kind, limits and fee share.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from points import awards
from points.money import Amount


class _Model(BaseModel):
    # Validators are built on first use, not at import (``tui_start_ms``; see points.wire.WireModel).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TenderKind(StrEnum):
    """Whether a program's points pay for a sale (支払手段) or discount it (値引き).

    A discount lowers the taxable amount on the receipt; a payment does not.
    """

    PAYMENT = "payment"
    DISCOUNT = "discount"


class PayoutChain(StrEnum):
    """Who pays a program's merchants: the city directly, or the chamber (商工会) once the city pays it."""

    CITY_DIRECT = "city_direct"
    VIA_CHAMBER = "via_chamber"


class FundingSource(_Model):
    """Where a program's points come from: a city budget or a partner company (conversions)."""

    kind: Literal["city", "partner"]
    id: str = Field(min_length=1, max_length=64)


class Acceptance(_Model):
    """Which merchants take a program: listed merchant ids, merchant categories, or everyone."""

    merchant_ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def accepts(self, merchant_id: str, category: str) -> bool:
        """True when the merchant may take this program's points and tickets."""
        if not self.merchant_ids and not self.categories:
            return True
        return merchant_id in self.merchant_ids or category in self.categories


class Expiry(_Model):
    """When awarded points expire: a number of days from the award, or a fixed date."""

    days: int | None = Field(default=None, gt=0, le=3660)
    fixed_date: dt.date | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Expiry:
        if (self.days is None) == (self.fixed_date is None):
            raise ValueError("expiry needs exactly one of days or fixed_date")
        return self

    def expires_on(self, awarded_on: dt.date) -> dt.date:
        """The last day points awarded on ``awarded_on`` can be spent."""
        if self.fixed_date is not None:
            return self.fixed_date
        assert self.days is not None
        return awarded_on + dt.timedelta(days=self.days)


class PercentAward(_Model):
    """A share of the receipt, rounded down to a unit (Tenri tickets, purchase awards)."""

    kind: Literal["percent"] = "percent"
    rate_permille: int = Field(ge=0, le=1000)
    unit: int = Field(default=1, gt=0)
    minimum_receipt: Amount = 0
    receipt_cap: Amount | None = None

    def points_for(self, amount: int) -> int:
        """Points for a receipt of ``amount`` yen."""
        return awards.percent_of_receipt(
            amount,
            rate_permille=self.rate_permille,
            unit=self.unit,
            minimum_receipt=self.minimum_receipt,
            receipt_cap=self.receipt_cap,
        )


class EventAward(_Model):
    """A fixed award per kind of event, once per card per event (Toshima)."""

    kind: Literal["event"] = "event"
    table: dict[str, Amount]

    def points_for(self, event_kind: str) -> int:
        """Points for one event of ``event_kind``."""
        return awards.fixed_for_event(event_kind, dict(self.table))


class ExchangeAward(_Model):
    """Vouchers for a balance at or above a threshold (Bungotakada)."""

    kind: Literal["exchange"] = "exchange"
    threshold: Amount
    voucher_value: Amount
    voucher_count: int = Field(gt=0, le=100)

    def exchange_for(self, balance: int) -> awards.Exchange | None:
        """The exchange a balance qualifies for, if any."""
        return awards.voucher_exchange(
            balance,
            threshold=self.threshold,
            voucher_value=self.voucher_value,
            voucher_count=self.voucher_count,
        )


AwardRule = Annotated[PercentAward | EventAward | ExchangeAward, Field(discriminator="kind")]


class Program(_Model):
    """One points program (e.g. 「小国町北里柴三郎ポイント」) and all of its rules."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name_ja: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=64)
    city: str = Field(min_length=1, max_length=64)
    funding: FundingSource
    tender_kind: TenderKind = TenderKind.PAYMENT
    # The two defaults are made without validating (their values are plain and valid): validating
    # them would build their validators at import, about 5 ms of the counter's start (tui_start_ms).
    accepted_by: Acceptance = Acceptance.model_construct()
    eligibility_tag: str | None = Field(default=None, max_length=32)
    expiry: Expiry = Expiry.model_construct(days=365)
    #: Points a sale may redeem without the resident's PIN and card signature.
    no_pin_limit: Amount = 3000
    #: Points a terminal may redeem while the server is unreachable (default none).
    offline_limit: Amount = 0
    #: The share of redeemed value the city keeps as an operating fee, in per mille (Miyakonojo).
    fee_share_permille: int = Field(default=0, ge=0, le=1000)
    #: False for vouchers that give no change (Bungotakada): a ticket worth more than what is due
    #: loses the rest.
    change_allowed: bool = True
    award_rule: AwardRule | None = None
    payout: PayoutChain = PayoutChain.CITY_DIRECT

    def display_name(self, language: str = "ja") -> str:
        """The program's name in ``language`` (``ja`` or ``en``)."""
        return self.name_ja if language == "ja" else self.name_en


class ProgramFile(_Model):
    """A TOML file of programs: ``[[program]]`` tables."""

    program: tuple[Program, ...]


def load_programs(text: str) -> tuple[Program, ...]:
    """Parse programs from TOML text.

    Raises:
        tomllib.TOMLDecodeError: the text is not TOML.
        pydantic.ValidationError: a program is missing a field or has a wrong type.
    """
    return ProgramFile.model_validate(tomllib.loads(text)).program
