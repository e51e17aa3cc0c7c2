"""The wire schema between counter terminals and the settlement server (DESIGN.md §4).

Pydantic models shared by ``pos`` (which sends them) and ``server`` (which validates them).
Unknown fields are refused, amounts are strict ints within bounds, and a sale carries totals
per tax rate only: item lines stay in the shop's own journal.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from points.money import Amount, PositiveAmount
from points.programs import Program
from points.tax import TaxRate

#: A ULID in its canonical 26-character Crockford base32 form.
Ulid = Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
#: ``jpki:`` or ``uid:`` followed by a SHA-256 hex digest (DESIGN.md §3, card identity).
CardKey = Annotated[str, Field(pattern=r"^(jpki|uid):[0-9a-f]{64}$")]
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
ShortText = Annotated[str, Field(max_length=200)]


def _text_or_value(value: object) -> object:
    # JSON carries dates and times as ISO 8601 text: a number (a Unix time) or a flag is refused.
    if not isinstance(value, str | dt.date):
        raise ValueError("a date or time is ISO 8601 text")
    return value


def _exact_int(value: object) -> object:
    # An int enum's value is a JSON integer: "10", 10.0 and true are refused.
    if type(value) is not int and not isinstance(value, IntEnum):
        raise ValueError("an integer is a JSON number without a fraction")
    return value


# Strict on the wire, in both of pydantic's modes (the sale path validates the JSON bytes, other
# endpoints the parsed body): no "1", 1.0 or true for an integer, no 0 or "false" for a flag.
#: An integer field: a JSON integer only.
StrictInt = Annotated[int, Field(strict=True)]
#: A flag: a JSON ``true`` or ``false`` only.
StrictBool = Annotated[bool, Field(strict=True)]
#: A moment as ISO 8601 text (with its offset).
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_text_or_value)]
#: A day as ISO 8601 text (``YYYY-MM-DD``).
IsoDate = Annotated[dt.date, BeforeValidator(_text_or_value)]
#: A tax rate (10 or 8) as a JSON integer.
WireTaxRate = Annotated[TaxRate, BeforeValidator(_exact_int)]


class WireModel(BaseModel):
    """Base of every wire model: unknown fields are an error, not silently dropped.

    Each model's validator is built on its first use, not at import: the counter's first frame
    needs a few of these 60 models (``tui_start_ms``), the server builds its own at startup.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)


# Errors -------------------------------------------------------------------------------


class ErrorBody(WireModel):
    """Every 4xx/5xx answer: a stable machine ``code`` and a human ``message``."""

    code: str
    message: str
    detail: list[dict[str, object]] | None = None


# Terminal configuration ---------------------------------------------------------------


class TerminalMode(StrEnum):
    """What a terminal is for: shop sales, an award station, a ticket counter, an eligibility desk,
    a library desk (lending through the library's own system over SIP2), a facility's entrance desk
    (a community centre or gym: members' entries counted per day)."""

    SHOP = "shop"
    AWARD = "award"
    ISSUE = "issue"
    ENROLL = "enroll"
    LIBRARY = "library"
    FACILITY = "facility"


class Merchant(WireModel):
    """A shop as its receipts show it (the invoice registration number is ``T`` + 13 digits)."""

    id: Ident
    name: str = Field(min_length=1, max_length=80)
    address: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=20)
    invoice_number: str | None = Field(default=None, pattern=r"^T\d{13}$")
    category: str = Field(default="general", max_length=32)
    chamber_id: str | None = None


class EventInfo(WireModel):
    """An award station's current event (Toshima): which program and what kind of event."""

    event_id: Ident
    program_id: Ident
    kind: str = Field(min_length=1, max_length=32)
    name: str = Field(default="", max_length=80)


class TerminalConfig(WireModel):
    """What a terminal needs to work, also offline: its shop, programs and ticket keys."""

    terminal_id: Ident
    mode: TerminalMode = TerminalMode.SHOP
    merchant: Merchant
    programs: list[Program]
    #: Ticket public keys by key id, base64 of the raw 32-byte Ed25519 key.
    ticket_keys: dict[str, str]
    event: EventInfo | None = None
    server_time: IsoDateTime
    #: card keys blocked (lost cards, revoked certificates) as of ``server_time``: refused offline too;
    #: with ``block_list_since`` set, only the keys blocked since that version (a delta)
    blocked_keys: list[CardKey] = []
    #: changes whenever the block list does; every sync's answer carries the current one
    block_list_version: str = ""
    #: the version the delta starts from (the terminal's, sent as ``?block_list_since=``); empty when
    #: ``blocked_keys`` is the whole list (no version sent, or one too old or not of this server)
    block_list_since: str = ""
    #: with a delta: the keys unblocked since ``block_list_since`` (to drop from the terminal's list)
    unblocked_keys: list[CardKey] = []


# Cards --------------------------------------------------------------------------------


class CardLookupRequest(WireModel):
    """Ask for one card's balances."""

    card_key: CardKey


class Lot(WireModel):
    """Points that expire together."""

    points: Amount
    expires_on: IsoDate


class Balance(WireModel):
    """A card's balance in one program and its lots expiring soon (within 30 days)."""

    program_id: Ident
    points: Amount
    expiring: list[Lot] = []


class EligibilityTag(WireModel):
    """A tag the city set after checking papers at its desk (e.g. ``age65``), and until when."""

    tag: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]
    valid_until: IsoDate


class CardLookup(WireModel):
    """A card's balances per program and its eligibility tags. Never personal data."""

    card_key: CardKey
    #: the resident account the card is linked to (8 characters, printed on balance slips), if any
    account_number: str | None = Field(default=None, pattern=r"^[2-9A-HJKMNP-Z]{8}$")
    balances: list[Balance]
    eligibility: list[EligibilityTag] = []


class EligibilityUpdate(WireModel):
    """Set a card's tags (city only); replaces the tags it had."""

    tags: list[EligibilityTag] = Field(max_length=16)


# Challenges and PIN proofs -------------------------------------------------------------


class Challenge(WireModel):
    """A one-time nonce the card signs for a sale above the no-PIN limit."""

    challenge_id: Ulid
    nonce: str  # base64, 32 random bytes
    expires_at: IsoDateTime


class PinProof(WireModel):
    """The card's signature over a challenge and the certificate to check it with."""

    challenge_id: Ulid
    #: base64 of the RSA PKCS#1 v1.5 signature over SHA-256(nonce).
    signature: str = Field(max_length=2048)
    #: base64 of the user-authentication certificate (DER) whose hash is the card key.
    certificate: str = Field(max_length=8192)


# The city desk (市役所の窓口): resident accounts and their cards -----------------------

#: A resident account number as stored: 8 characters without look-alikes (no 0, O, 1, I, L).
AccountNumber = Annotated[str, Field(pattern=r"^[2-9A-HJKMNP-Z]{8}$")]


class DeskCard(WireModel):
    """A card on the desk's reader: its key, and for a My Number Card the PIN-verified signature."""

    card_key: CardKey
    pin_proof: PinProof | None = None


class LinkRequest(WireModel):
    """Link a new (renewed, replacement) card to a resident's account.

    The account is the old card's (``old``, on the reader, its key then retired) or, for a lost
    card, the number the resident quotes after the clerk checked their papers (``account_number``).
    """

    new: DeskCard
    old: DeskCard | None = None
    #: as the resident quotes it (``ABCD-EFGH`` or without the hyphen); its check character is checked
    account_number: str | None = Field(default=None, min_length=8, max_length=12)

    @model_validator(mode="after")
    def _one_account(self) -> LinkRequest:
        if (self.old is None) == (self.account_number is None):
            raise ValueError("name the account by the old card or by its number, one of them")
        return self


class MergeRequest(WireModel):
    """Merge the account of ``source`` (a UID point card) into that of ``target`` (a My Number Card)."""

    source: DeskCard
    target: DeskCard


class BlockRequest(WireModel):
    """Block (or unblock) an account's card keys: one of them, or every usable one, with a reason."""

    account_number: str = Field(min_length=8, max_length=12)
    card_key: CardKey | None = None
    reason: str = Field(min_length=1, max_length=200)


class DeskLookupRequest(WireModel):
    """Find a card's account at the desk (blocked and retired cards too)."""

    card_key: CardKey


class LinkedCard(WireModel):
    """One card key of a resident account and its state."""

    card_key: CardKey
    linked_at: IsoDateTime
    retired_at: IsoDateTime | None = None
    blocked_at: IsoDateTime | None = None
    block_code: str | None = None
    block_reason: str | None = None


class ResidentAccount(WireModel):
    """A resident account as the desk sees it: its number, cards and balances. No personal data."""

    account_number: AccountNumber
    merged_into: AccountNumber | None = None
    cards: list[LinkedCard]
    balances: list[Balance]


# Sales --------------------------------------------------------------------------------


class RateAmount(WireModel):
    """The tax-inclusive total of one tax rate on a sale, before points."""

    rate: WireTaxRate
    amount: Amount


class PointTender(WireModel):
    """Points of one program used on a sale (as payment or discount, by the program's kind)."""

    program_id: Ident
    points: PositiveAmount


class TicketTender(WireModel):
    """A point ticket used on a sale, by its signed text (as scanned)."""

    text: str = Field(min_length=8, max_length=400)


class ExternalKind(StrEnum):
    """Other tenders the shop's own terminals charge (no integration here): recorded by kind."""

    #: クレジットカード
    CREDIT = "credit"
    #: QRコード決済 (PayPay, d払い, …)
    QR = "qr"
    #: 交通系IC (Suica, ICOCA, …) and other e-money
    IC = "ic"


class ExternalTender(WireModel):
    """An amount paid by another tender (credit, QR, IC): the shop's money, never in a claim."""

    kind: ExternalKind
    amount: PositiveAmount


class SaleRequest(WireModel):
    """One sale as the terminal sends it; ``sale_id`` is chosen by the terminal (idempotency key)."""

    sale_id: Ulid
    terminal_time: IsoDateTime
    receipt_no: StrictInt = Field(ge=0, le=10**9)
    card_key: CardKey | None = None
    totals: list[RateAmount] = Field(min_length=1, max_length=2)
    points: list[PointTender] = Field(default=[], max_length=16)
    tickets: list[TicketTender] = Field(default=[], max_length=50)
    cash: Amount = 0
    #: Other tenders (credit, QR, IC), paid after points and tickets, before cash.
    external: list[ExternalTender] = Field(default=[], max_length=8)
    #: Programs that award points on this purchase (where the program has a percent rule).
    award_programs: list[Ident] = Field(default=[], max_length=8)
    pin_proof: PinProof | None = None
    #: True when the sale was made while the server was unreachable.
    offline: StrictBool = False

    @model_validator(mode="after")
    def _consistent(self) -> SaleRequest:
        rates = [t.rate for t in self.totals]
        if len(set(rates)) != len(rates):
            raise ValueError("each tax rate appears at most once in totals")
        if (self.points or self.award_programs) and self.card_key is None:
            raise ValueError("points and awards need a card_key")
        programs = [p.program_id for p in self.points]
        if len(set(programs)) != len(programs):
            raise ValueError("each program appears at most once in points")
        texts = [t.text.strip().upper() for t in self.tickets]
        if len(set(texts)) != len(texts):
            raise ValueError("the same ticket appears twice")
        return self

    @property
    def total(self) -> int:
        """The sale's tax-inclusive total before points."""
        return sum(t.amount for t in self.totals)

    @property
    def external_total(self) -> int:
        """What other tenders (credit, QR, IC) paid."""
        return sum(t.amount for t in self.external)


class AwardLine(WireModel):
    """Points a sale or an event awarded."""

    program_id: Ident
    points: Amount
    expires_on: IsoDate | None = None


class RedeemedTicket(WireModel):
    """A ticket as the server took it: its value applied and any value lost (no change)."""

    serial: StrictInt
    program_id: Ident
    value: Amount
    applied: Amount


class SaleStatus(StrEnum):
    """Where a sale stands on the server."""

    ACCEPTED = "accepted"
    VOIDED = "voided"


class SaleResult(WireModel):
    """The server's answer to a sale: stored under the sale id and returned again on retry."""

    sale_id: Ulid
    status: SaleStatus
    accepted_at: IsoDateTime
    total: Amount
    points: list[PointTender] = []
    tickets: list[RedeemedTicket] = []
    cash: Amount = 0
    change: Amount = 0
    awards: list[AwardLine] = []
    balances: list[Balance] = []


class VoidRequest(WireModel):
    """Reverse a sale of the same day."""

    reason: str = Field(default="", max_length=200)


class ReturnRequest(WireModel):
    """A return (返品) of part of a sale; ``return_id`` is chosen by the terminal (idempotency key).

    The returned part is said by tax-inclusive yen per rate (the server knows a sale's totals per
    rate only); the refund adds up to it: points back to the sale's card per program, other
    tenders by kind, and the rest in cash (:func:`points.returns.check_return`).
    """

    return_id: Ulid
    terminal_time: IsoDateTime
    #: The return receipt's own number (the original's is the sale's).
    receipt_no: StrictInt = Field(ge=0, le=10**9)
    amounts: list[RateAmount] = Field(min_length=1, max_length=2)
    #: The card tapped for a points refund: it must be the sale's card.
    card_key: CardKey | None = None
    points: list[PointTender] = Field(default=[], max_length=16)
    external: list[ExternalTender] = Field(default=[], max_length=8)
    cash: Amount = 0
    reason: ShortText = ""

    @model_validator(mode="after")
    def _consistent(self) -> ReturnRequest:
        rates = [a.rate for a in self.amounts]
        if len(set(rates)) != len(rates):
            raise ValueError("each tax rate appears at most once in amounts")
        programs = [p.program_id for p in self.points]
        if len(set(programs)) != len(programs):
            raise ValueError("each program appears at most once in points")
        if self.points and self.card_key is None:
            raise ValueError("a points refund needs the card_key of the sale's card")
        return self

    @property
    def total(self) -> int:
        """The yen returned (tax-inclusive)."""
        return sum(a.amount for a in self.amounts)

    @property
    def external_total(self) -> int:
        """Yen refunded through other tenders."""
        return sum(t.amount for t in self.external)


class ReturnResult(WireModel):
    """The server's answer to a return: stored under the return id and returned again on retry."""

    return_id: Ulid
    sale_id: Ulid
    accepted_at: IsoDateTime
    amounts: list[RateAmount]
    points: list[PointTender] = []
    external: list[ExternalTender] = []
    cash: Amount = 0
    #: Points of the sale's awards taken back by this return (in proportion, rounded down).
    awards_taken_back: list[AwardLine] = []
    #: The card's balances after the return, in the programs it moved.
    balances: list[Balance] = []
    #: Yen of the sale returned by every return so far, this one included.
    sale_returned: Amount = 0
    sale_total: Amount = 0


class BatchRequest(WireModel):
    """The offline queue, oldest first."""

    sales: list[SaleRequest] = Field(min_length=1, max_length=500)


class BatchItem(WireModel):
    """One sale's outcome in a batch: its result, or the error that refused it."""

    sale_id: Ulid
    result: SaleResult | None = None
    error: ErrorBody | None = None


class BatchResult(WireModel):
    """Outcomes in the order the sales were sent."""

    items: list[BatchItem]
    #: the block list's version now: a terminal whose configuration has another fetches it again
    block_list_version: str = ""


# Tickets ------------------------------------------------------------------------------


class ReceiptForTickets(WireModel):
    """A shop receipt brought to the ticket counter (Tenri)."""

    merchant_id: Ident
    receipt_no: Annotated[str, Field(min_length=1, max_length=32)]
    date: IsoDate
    amount: PositiveAmount
    #: The mykey-pos sale this receipt is (its QR code), checked against the server's sale.
    sale_id: Ulid | None = None


class TicketIssueRequest(WireModel):
    """Issue tickets for receipts under a program's percent rule; ``issue_id`` makes it idempotent."""

    issue_id: Ulid
    program_id: Ident
    card_key: CardKey | None = None
    receipts: list[ReceiptForTickets] = Field(min_length=1, max_length=50)


class IssuedTicket(WireModel):
    """A ticket as printed: the signed text for the QR code and the human serial."""

    serial: StrictInt
    human_serial: str
    program_id: Ident
    value: PositiveAmount
    expires_on: IsoDate
    text: str


class TicketIssueResult(WireModel):
    """The tickets issued for a set of receipts (none when they earn nothing)."""

    issue_id: Ulid
    points: Amount
    tickets: list[IssuedTicket]


class TicketState(StrEnum):
    """A ticket's life: issued, redeemed once, past its last day, or cancelled with its receipt's sale."""

    ISSUED = "issued"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    #: The sale whose receipt earned it was voided before it was used.
    CANCELLED = "cancelled"


class TicketStatus(WireModel):
    """What the server knows of a ticket."""

    serial: StrictInt
    human_serial: str
    program_id: Ident
    value: Amount
    expires_on: IsoDate
    state: TicketState
    redeemed_at: IsoDateTime | None = None
    redeemed_by: str | None = None
    text: str | None = None


# Memberships: libraries and facilities (issue 16) ----------------------------------------

#: A library's patron number or a facility's member number, as its own system spells it.
MembershipNumber = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class MembershipStatus(StrEnum):
    """Whether the issuer still counts the membership."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class IssuerInfo(WireModel):
    """The desk's own library or facility as the server registered it (its name for the screen)."""

    id: Ident
    kind: Literal["library", "facility"]
    name: ShortText


class MembershipLookupRequest(WireModel):
    """A card tapped at a library or facility desk: which membership does it carry here?"""

    card_key: CardKey


class Membership(WireModel):
    """One membership of a resident account at one issuer (no name, no address)."""

    issuer_id: Ident
    number: MembershipNumber
    since: IsoDate
    status: MembershipStatus = MembershipStatus.ACTIVE


class NetworkRegistration(WireModel):
    """The resident is registered at another library of the caller's network.

    ``number`` is that library's number only when the network's setting shows numbers to members.
    """

    issuer_id: Ident
    name: ShortText
    number: MembershipNumber | None = None


class MembershipAnswer(WireModel):
    """This issuer's membership of the card (``None``: not a member here yet, a first visit)."""

    issuer_id: Ident
    membership: Membership | None = None
    #: registrations at other members of the caller's network, when the network lets members see them
    elsewhere: list[NetworkRegistration] = []


class MembershipLinkRequest(WireModel):
    """First visit: link the resident's existing number at this issuer to the card's account, once."""

    card_key: CardKey
    number: MembershipNumber
    #: when the issuer registered the resident (default: today)
    since: IsoDate | None = None


class MembershipStatusChange(WireModel):
    """A library or facility suspends one of its own members' links, or lifts the suspension.

    The issuer names the member by its own number (it does not know the card); ``suspended``
    makes the desk refuse the card here in words, ``active`` lifts it.
    """

    number: MembershipNumber
    status: Literal[MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED]
    reason: ShortText = ""


class VisitRequest(WireModel):
    """A card tapped at a facility's entrance."""

    card_key: CardKey


class Visit(WireModel):
    """Today's entry at a facility: the member number and the day's count (no personal data)."""

    issuer_id: Ident
    number: MembershipNumber
    day: IsoDate
    #: False when the member had already entered today (counted once a day)
    first_today: StrictBool
    visits_today: StrictInt


class VisitCount(WireModel):
    """Members who entered one facility on one day."""

    issuer_id: Ident
    day: IsoDate
    visits: StrictInt


class VisitCounts(WireModel):
    """Visit counts per facility per day, for the city's statistics."""

    counts: list[VisitCount]


# Awards and conversions ---------------------------------------------------------------


class EventAwardRequest(WireModel):
    """An award at an event or for volunteering, once per card per event."""

    award_id: Ulid
    card_key: CardKey
    program_id: Ident
    event_id: Ident
    kind: Annotated[str, Field(min_length=1, max_length=32)]


class EventAwardResult(WireModel):
    """The points awarded and the card's balance after."""

    award_id: Ulid
    award: AwardLine
    balance: Balance


class ConversionRequest(WireModel):
    """Partner points converted into a program (地域経済応援ポイント), funded by the partner."""

    conversion_id: Annotated[str, Field(min_length=1, max_length=64)]
    card_key: CardKey
    program_id: Ident
    points: PositiveAmount


class ConversionResult(WireModel):
    """The converted points and the card's balance after."""

    conversion_id: str
    award: AwardLine
    balance: Balance


class Health(WireModel):
    """The server is up and can read its database."""

    status: Literal["ok"] = "ok"
    version: str
    time: IsoDateTime
    #: the block list's version (:attr:`TerminalConfig.block_list_version`): a cheap freshness check
    block_list_version: str = ""


def build_all() -> None:
    """Build the validators of every model here and in :mod:`points.programs` now, and stop
    deferring them: what the server does before it defines its routes.

    They build on first use otherwise (:class:`WireModel`), and so would FastAPI's request-body
    adapters, each on its endpoint's first request (with a warning that its ``alias`` has no effect).
    """
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__ in (__name__, Program.__module__):
            model.model_config["defer_build"] = False
            if not model.__pydantic_complete__:
                model.model_rebuild()
