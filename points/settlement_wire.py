"""Settlement's answers on the wire: claims, periods, payouts, reconciliation, statements, console sessions.

One definition for both ends: the server declares them as its endpoints' response models (so
the OpenAPI schema documents them and FastAPI checks them), and the settlement console's client
(:mod:`server.console.client`) parses the answers into them. Amounts are integer yen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ClaimState = Literal["submitted", "approved", "returned", "payment_approved"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Claim(_Out):
    """One merchant's claim for one issuing program and period (amounts in yen)."""

    id: str
    period_id: str
    chamber_id: str
    merchant_id: str
    merchant_name: str | None
    program_id: str
    city_id: str
    #: The names of the program (its ``name_ja``), the city and the chamber, for people to read.
    program_name: str = ""
    city_name: str = ""
    chamber_name: str = ""
    payout: Literal["city_direct", "via_chamber"]
    fee_share_permille: int
    redeemed_points: int
    redeemed_tickets: int
    voided: int
    disputed: int
    gross: int
    fee: int
    fee_remainder_permille: int
    #: The fraction of a yen dropped when rounding the fee down, e.g. ``0.500``.
    fee_remainder: str
    net: int
    transfer_count: int
    state: ClaimState
    return_reason: str | None
    chamber_approved_by: str | None
    city_approved_by: str | None
    created_at: str
    updated_at: str
    #: Online sales (a city's special site's order lines this merchant supplied, less cancels and
    #: refunds), included in ``gross``; ``online_fee`` is the program's online share of them
    #: (``online_fee_bp`` basis points), included in ``fee``.
    online: int = 0
    online_fee: int = 0
    online_fee_bp: int = 0


class ClaimLine(_Out):
    """A transfer a claim counted: a redemption, or a void of one (drill-down to the sale)."""

    transfer_id: int
    kind: str
    sale_id: str | None
    amount: int
    created_at: str
    ticket_serial: int | None
    receipt_no: int | None
    offline: int | None


class CloseResult(_Out):
    """What a close froze (or, for a closed period, had frozen)."""

    chamber_id: str
    period_id: str
    already_closed: bool
    claims: int
    transfers: int
    disputes: int
    gross: int
    net: int
    cutoff_at: str


class Reopened(_Out):
    """A reopened period and how many claims were withdrawn."""

    chamber_id: str
    period_id: str
    withdrawn_claims: int


class Period(_Out):
    """A chamber's period and its claims' totals."""

    chamber_id: str
    chamber_name: str = ""
    period_id: str
    state: Literal["open", "closed"]
    starts_at: str
    ends_at: str
    cutoff_at: str | None
    closed_at: str | None
    closed_by: str | None
    claims: int
    gross: int
    net: int


class Payment(_Out):
    """One transfer of a payout plan, or a payee held back (with ``why``)."""

    payee_kind: Literal["merchant", "chamber"]
    payee_id: str
    amount: int
    claims: int
    why: str | None = None


class PayoutCoverage(_Out):
    """How much of the period a payer's file pays (the Zengin download says the same in headers)."""

    #: True when the file leaves part of the period out: a claim not approved for payment yet, or a
    #: chamber that has not closed the period (its claims do not exist yet).
    partial: bool
    claims: int
    approved: int
    unapproved: int
    #: The net yen of the claims not approved for payment (not in the file).
    unapproved_net: int
    open_chambers: list[str]
    #: The same chambers by name, for the clerk.
    open_chamber_names: list[str]


class PayoutPlan(_Out):
    """What one payer pays for a period."""

    payer: str
    period_id: str
    total: int
    payments: list[Payment]
    held: list[Payment]
    coverage: PayoutCoverage


class NameFinding(_Out):
    """One thing the pre-check found: a name the file cannot hold as it is, or an account it refuses."""

    payee_id: str
    #: ``holder`` (受取人名, 30), ``requester`` (依頼人名, 40) or ``account``.
    field: Literal["holder", "requester", "account"]
    #: The name as stored in the payee's (or the payer's) record.
    name: str
    #: The form the file would hold; null when none can be proposed (fix the record).
    proposed: str | None
    #: ``too_long``, ``replaced``, ``lone_mark``, ``unencodable``, ``empty`` or an account error code.
    reasons: list[str]
    detail: str
    accepted: bool


class Precheck(_Out):
    """The names pre-check of a payer's Zengin file: ``ready`` once every finding is resolved."""

    payer: str
    period_id: str
    bank_code: str
    #: The paying bank's character set (``strict`` unless the settings say otherwise).
    charset: str
    ready: bool
    findings: list[NameFinding]
    #: The findings as a clerk reads them, one line each.
    report: list[str]


class Reconciliation(_Out):
    """The sums that must agree for a period (computed by the server's payouts module)."""

    period_id: str
    claims: int
    claims_gross: int
    receivables_moved: int
    fees: int
    claims_net: int
    net_to_pay: int
    fees_of_paid: int
    pending: int
    uncounted: int
    balanced: bool


class DisputedLine(_Out):
    """A sale refused on sync, listed apart from the claim."""

    sale_id: str
    line_no: int
    merchant_id: str
    program_id: str | None
    amount: int
    error_code: str
    message: str
    terminal_time: str
    accepted_at: str
    #: The program's name (empty for a program the server does not know).
    program_name: str = ""


class StatementMerchant(_Out):
    """The merchant a statement is for."""

    id: str
    name: str
    invoice_number: str | None
    chamber_id: str | None


class StatementLine(_Out):
    """One claim on a statement."""

    claim_id: str
    program_id: str
    program_name: str
    city_id: str
    city_name: str = ""
    payout: str
    #: Who pays the merchant, in words (e.g. 「天理商工会議所（天理市から）」).
    payer_name: str = ""
    redeemed_points: int
    redeemed_tickets: int
    voided: int
    #: How many redemptions, tickets, voids and disputed sales the amounts above are made of.
    redeemed_points_count: int = 0
    redeemed_tickets_count: int = 0
    voided_count: int = 0
    disputed_count: int = 0
    #: Online sales (オンライン販売) apart from the counter's: their amount and count, the program's
    #: online fee share of them (basis points) and that fee, and the counter's fee; both fees are in ``fee``.
    online: int = 0
    online_count: int = 0
    online_fee_bp: int = 0
    online_fee: int = 0
    counter_fee: int = 0
    gross: int
    fee_share_permille: int
    fee: int
    fee_remainder: str
    fee_remainder_permille: int = 0
    net: int
    disputed: int
    state: ClaimState
    state_ja: str
    return_reason: str | None


class StatementTotals(_Out):
    """A statement's totals."""

    gross: int
    fee: int
    net: int
    disputed: int
    voided: int
    redeemed_points: int = 0
    redeemed_tickets: int = 0
    fee_remainder_permille: int = 0
    redeemed_points_count: int = 0
    redeemed_tickets_count: int = 0
    voided_count: int = 0
    disputed_count: int = 0
    online: int = 0
    online_count: int = 0
    online_fee: int = 0
    counter_fee: int = 0


class Statement(_Out):
    """A merchant's statement (明細) for a period: what the counter app prints as a slip."""

    merchant: StatementMerchant
    period_id: str
    #: ``open`` until the chamber closes the period (未締め: its ¥0 is not a final amount), then ``closed``.
    period_state: Literal["open", "closed"] = "closed"
    period_state_ja: str = "締め済み"
    claims: list[StatementLine]
    disputed: list[DisputedLine]
    totals: StatementTotals


class PartnerLine(_Out):
    """Partner-funded points of one program in a period."""

    partner_id: str
    program_id: str
    city_id: str
    converted: int
    redeemed: int


class LogLine(_Out):
    """One line of the settlement log."""

    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, object]


class RankingLine(_Out):
    """One holder in a ranking (the card shown by a short prefix)."""

    rank: int
    card: str
    balance: int


class ConsoleSession(_Out):
    """A settlement console session signed in: who the token belongs to, from which browser address."""

    #: Ties the sign-in and sign-out lines of the audit log together; not a credential.
    session_id: str
    principal_id: str
    role: Literal["chamber", "city", "admin"]
    chamber_id: str | None
    city_id: str | None
    remote: str
