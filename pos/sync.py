"""The sync client: the terminal's only way to the settlement server (httpx).

httpx's own errors are translated at one boundary (:func:`map_exceptions`) into a small family
that says what the counter must do about them:

- :class:`ServerUnreachable` — the request never reached the server: safe to sell offline.
- :class:`AnswerLost` — it may have reached the server but no answer came back: retry the
  *same* sale id with the *same* body until the answer is known, never ring it up again.
  :class:`DatabaseUnavailable` is one: the server answered that its database is out of reach (a
  failover, an outage), so a sale's fate is as unknown, and the counter works offline meanwhile.
- :class:`ServerRefused` — the server answered no (a 4xx with a stable ``code``).
- :class:`ServerFailed` — the server answered with an error of its own (5xx, garbage).

:class:`Syncer` sends the journal's open entries: pending sales first (one by one, same id),
then the offline queue with ``POST /v1/sales/batch`` in journal order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from points import calendar
from points.wire import (
    BatchRequest,
    BatchResult,
    BlockRequest,
    CardLookup,
    CardLookupRequest,
    Challenge,
    DeskLookupRequest,
    EligibilityTag,
    EligibilityUpdate,
    ErrorBody,
    EventAwardRequest,
    EventAwardResult,
    Health,
    IssuerInfo,
    LinkRequest,
    Membership,
    MembershipAnswer,
    MembershipLinkRequest,
    MembershipLookupRequest,
    MembershipStatusChange,
    MergeRequest,
    ResidentAccount,
    ReturnRequest,
    ReturnResult,
    SaleRequest,
    SaleResult,
    TerminalConfig,
    TicketIssueRequest,
    TicketIssueResult,
    TicketStatus,
    Visit,
    VisitCounts,
    VisitRequest,
    VoidRequest,
)
from pos._http import httpx
from pos.i18n import N_, explain, translate
from pos.journal import Entry, EntryKind, Journal

M = TypeVar("M", bound=BaseModel)

#: Sales per ``POST /v1/sales/batch`` (the wire schema allows 500).
BATCH_SIZE = 500


# The server's refusals ----------------------------------------------------------------

#: Every code the server can refuse with: code → (the HTTP status it comes with, the message id
#: the counter shows for it through its own catalog, ``pos/locale/*/LC_MESSAGES/mykey-pos.po``).
#: The server's catalog is :func:`server.errors.catalog`; ``tests/pos/test_error_contract.py``
#: holds the two to each other (same codes, same statuses).
REFUSALS: dict[str, tuple[int, str]] = {
    "invalid_request": (422, N_("The server could not read the request. Update the terminal software.")),
    "unauthorized": (401, N_("The terminal token is not accepted. Check the settings.")),
    "forbidden": (403, N_("This terminal may not do that. Check its settings with the city or chamber.")),
    "not_found": (404, N_("The server does not know this.")),
    "method_not_allowed": (
        405,
        N_("The server does not allow this operation. Update the terminal software."),
    ),
    "internal_error": (500, N_("The server had an error. Will resend shortly.")),
    "idempotency_mismatch": (
        409,
        N_("This sale number was already sent with different contents. Call support."),
    ),
    "unknown_program": (404, N_("The server does not know this point program.")),
    "program_not_accepted": (400, N_("This shop does not accept these points.")),
    "not_eligible": (409, N_("This card is not eligible for these points.")),
    "insufficient_points": (409, N_("Not enough points on the card.")),
    "out_of_stock": (409, N_("Not enough of this product is left in stock.")),
    "order_shipped": (409, N_("Part of this order has shipped: it can no longer be cancelled.")),
    "order_cancelled": (409, N_("This order was cancelled.")),
    "order_not_shipped": (409, N_("This line has not shipped: cancel the order instead of refunding.")),
    "refund_exceeds_line": (409, N_("The refunds would be more than the line's amount.")),
    "points_exceed_total": (400, N_("The points exceed the amount due.")),
    "underpaid": (400, N_("The tenders do not cover the total.")),
    "external_exceeds_due": (400, N_("Card, QR and IC payments exceed the amount due.")),
    "no_award_rule": (400, N_("These points have no award rule for this.")),
    "pin_required": (409, N_("This amount needs the resident's PIN on the card.")),
    "challenge_invalid": (409, N_("The PIN check timed out. Enter the PIN again.")),
    "signature_invalid": (400, N_("The card's signature could not be verified. Tap the card again.")),
    "certificate_invalid": (
        400,
        N_("The card's certificate is not trusted. The resident should ask at city hall."),
    ),
    "offline_limit_exceeded": (409, N_("More points than may be used offline.")),
    "ticket_garbled": (400, N_("The ticket cannot be read.")),
    "ticket_unknown_key": (400, N_("The ticket's issuer is unknown.")),
    "ticket_bad_signature": (400, N_("The ticket's signature does not match.")),
    "ticket_invalid": (400, N_("The ticket is not valid.")),
    "ticket_expired": (409, N_("The ticket has expired.")),
    "ticket_already_redeemed": (409, N_("This ticket has already been used.")),
    "ticket_not_needed": (400, N_("This ticket is not needed to pay this sale.")),
    "receipt_already_used": (409, N_("This receipt was already exchanged for tickets.")),
    "unknown_merchant": (404, N_("The server does not know this shop.")),
    "void_not_same_day": (409, N_("Only today's sales can be voided, once.")),
    "award_spent": (409, N_("The points this sale awarded were already spent: it cannot be voided.")),
    "already_awarded": (409, N_("Already awarded for this event.")),
    "sale_not_found": (404, N_("The server does not know this sale.")),
    "terminal_mode": (403, N_("This terminal's mode does not allow that.")),
    "bad_period": (422, N_("The period is not valid (YYYY-MM).")),
    "period_not_closed": (409, N_("This period is not closed yet.")),
    "period_not_started": (409, N_("This period has not started yet, so it cannot be closed.")),
    "period_paid": (409, N_("This period is paid and cannot be reopened.")),
    "reason_required": (422, N_("Enter a reason.")),
    "claim_not_found": (404, N_("The server does not know this claim.")),
    "claim_state": (409, N_("The claim's state does not allow that.")),
    "no_chamber": (422, N_("Name the chamber of commerce.")),
    "no_payer": (409, N_("The paying city or chamber has no bank account registered.")),
    "payout_invalid": (409, N_("The transfer file cannot be written.")),
    "payout_precheck": (
        409,
        N_("Some payees' bank names must be fixed or accepted before the transfer file."),
    ),
    "name_not_acceptable": (409, N_("This bank name cannot be accepted as proposed.")),
    "name_not_found": (404, N_("The pre-check has no such bank name finding.")),
    "unknown_payee": (404, N_("Unknown payee.")),
    "signin_failed": (401, N_("The token is wrong or has been revoked.")),
    "signin_paused": (429, N_("Too many failed sign-ins from this address: sign-in is paused.")),
    "signin_role": (403, N_("This token cannot use the settlement console.")),
    "ranking_invalid": (422, N_("The ranking parameters are not valid.")),
    "operation_id_taken": (
        409,
        N_("This id already names another kind of operation. Update the terminal software."),
    ),
    "receipt_mismatch": (409, N_("The receipt does not match the sale the server holds.")),
    "receipt_sale_unknown": (404, N_("The server holds no sale for this receipt.")),
    "receipt_sale_voided": (409, N_("The sale on this receipt was voided.")),
    "ticket_cancelled": (409, N_("This ticket was cancelled: the sale on its receipt was voided.")),
    "tickets_would_be_expired": (409, N_("These tickets would already be past their last day.")),
    "payout_not_approved": (409, N_("No claim is approved for payment yet: no transfer file.")),
    "payee_without_account": (409, N_("Some payees have no bank account registered: no transfer file.")),
    "transfer_date_past": (422, N_("The transfer date must be a bank business day after today.")),
    "transfer_date_closed": (422, N_("Banks are closed on that transfer date.")),
    "return_empty": (400, N_("Enter an amount to return.")),
    "return_exceeds_sale": (409, N_("The return is more than what is left of this sale at that tax rate.")),
    "refund_points_exceed_sale": (
        409,
        N_("More points than this sale used (less earlier returns) cannot go back to the card."),
    ),
    "refund_mismatch": (400, N_("The refund does not add up to the amount returned.")),
    "return_card_mismatch": (409, N_("Points go back only to the card the sale was paid with.")),
    "return_of_voided_sale": (409, N_("This sale was voided: it cannot be returned.")),
    "sale_has_returns": (409, N_("This sale has returns: it cannot be voided.")),
    "return_award_spent": (
        409,
        N_("The points this sale awarded were spent: this return cannot take them back. Return less."),
    ),
    "database_unavailable": (
        503,
        N_("The server cannot reach its database just now. The sale is kept and sent again."),
    ),
    "card_blocked": (409, N_("This card is blocked. The resident should go to the city desk.")),
    "certificate_expired": (
        409,
        N_("The card's certificate has expired. After renewing it, have the points moved at the city desk."),
    ),
    "certificate_revoked": (
        409,
        N_("The card's certificate is revoked. The resident should go to the city desk."),
    ),
    "crl_out_of_date": (
        409,
        N_(
            "The server's list of revoked cards is out of date, so PIN sales are refused for now."
            " Ask the administrator to import the current list."
        ),
    ),
    "card_replaced": (409, N_("This card was replaced by a new one. Use the new card.")),
    "card_already_linked": (409, N_("This card already belongs to an account. Merge the accounts instead.")),
    "account_not_found": (404, N_("No account has this number. Check the number.")),
    "account_merged": (409, N_("This account was merged into another one.")),
    "card_not_blocked": (409, N_("This card is not blocked.")),
    "not_a_member": (
        404,
        N_("This card is not registered as a member here. Link the member's number first."),
    ),
    "membership_suspended": (
        409,
        N_("The membership here is suspended. Please ask at this library's or facility's office."),
    ),
    "membership_already_linked": (
        409,
        N_("This card already carries another member number here. Ask the library or facility office."),
    ),
    "membership_number_taken": (
        409,
        N_("This member number is linked to another resident's card. Check the number."),
    ),
    "crl_invalid": (400, N_("The revocation list cannot be read or is not from the trusted CA.")),
    "approval_invalid": (
        404,
        N_("This code is wrong, used or expired. Ask the site for a new code."),
    ),
    "rate_limited": (429, N_("Too many attempts. Wait a minute and try again.")),
}


def refusal_text(code: str, language: str | None = None) -> str:
    """The counter's words for a server refusal ``code`` in ``language`` (the code itself added).

    The server's own message is not shown: the counter speaks for itself, by code.
    """
    known = REFUSALS.get(code)
    msgid = known[1] if known else N_("The server refused the request.")
    return f"{translate(msgid, language)} ({code})"


# Errors -------------------------------------------------------------------------------


class SyncError(Exception):
    """Something between the terminal and the server went wrong; ``code`` is stable."""

    code = "sync_error"
    text = N_("Something went wrong talking to the server.")
    params: Mapping[str, object] = {}

    def message(self, language: str | None = None) -> str:
        """The message for the shopkeeper in ``language`` (default: the counter's language)."""
        return explain(self, language)


class ServerUnreachable(SyncError):
    """The request never reached the server (refused, no route, connect timeout)."""

    code = "server_unreachable"
    text = N_("Cannot reach the server. Working offline.")


class AnswerLost(SyncError):
    """The request may have reached the server but its answer was lost: retry with the same id."""

    code = "answer_lost"
    text = N_("No answer from the server. Resending the same sale.")


class DatabaseUnavailable(AnswerLost):
    """The server answered 503 ``database_unavailable``: it is up, its database is not.

    A sale may have been stored before the database went (its commit's answer lost): it is resent
    with the same id, as after a lost answer. Nothing else can be done there meanwhile, so the counter
    goes offline (balances unknown, points up to each program's offline limit) until an answer comes.
    """

    code = "database_unavailable"
    text = N_("The server cannot reach its database just now. The sale is kept and sent again.")


class ServerFailed(SyncError):
    """The server answered with an error of its own (5xx or an unreadable body)."""

    code = "server_failed"
    text = N_("The server had an error. Will resend shortly.")


class ServerRefused(SyncError):
    """The server refused the request (a 4xx); ``error`` carries its code and message."""

    code = "server_refused"
    text = N_("The server refused the request.")

    def __init__(self, status: int, error: ErrorBody) -> None:
        super().__init__(f"{status} {error.code}: {error.message}")
        self.status = status
        self.error = error
        self.code = error.code

    def message(self, language: str | None = None) -> str:
        """The counter's own text for the refusal's code (:func:`refusal_text`)."""
        return refusal_text(self.error.code, language)


class NotAuthorized(ServerRefused):
    """The terminal's token is wrong (401) or its principal may not do that (403): a setting to fix."""


@contextlib.contextmanager
def map_exceptions() -> Iterator[None]:
    """Translate httpx's transport errors into :class:`SyncError` (the one boundary)."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as exc:
        raise ServerUnreachable(str(exc)) from exc
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        # Read/write timeouts and dropped connections: the server may have applied the request.
        raise AnswerLost(str(exc)) from exc
    except httpx.HTTPError as exc:
        raise ServerFailed(str(exc)) from exc


def _error_code(response: httpx.Response) -> str | None:
    """The ``code`` of an error answer's JSON body, or ``None`` when it has none."""
    try:
        return str(ErrorBody.model_validate(response.json()).code)
    except (ValueError, ValidationError):
        return None


# The client ---------------------------------------------------------------------------


def _tls_context(base_url: str) -> ssl.SSLContext | bool:
    """How the client checks the server's certificate: the system's CAs for ``https``.

    A plain ``http`` server needs no CAs, and loading them is a good part of the counter's start
    (``tui_start_ms``): it gets a context that trusts nothing, so a TLS connection it should ever
    make fails rather than going unchecked.
    """
    if base_url.lower().startswith("https:"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class ServerClient:
    """Typed calls to the v1 API for one terminal token; tracks whether the server is reachable.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000``.
        token: the terminal's bearer token.
        timeout: seconds per request (connect and read).
        transport: an httpx transport for tests (``httpx.MockTransport``); the network by default.
    """

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
            verify=_tls_context(self.base_url),
        )
        #: ``None`` until the first request, then whether the last request got an answer.
        self.online: bool | None = None
        self.listeners: list[Callable[[bool], None]] = []

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _set_online(self, online: bool) -> None:
        changed = online != self.online
        self.online = online
        if changed:
            for listener in list(self.listeners):
                listener(online)

    def _call(self, method: str, path: str, model: type[M], body: BaseModel | None = None) -> M:
        return model.model_validate(self._json(method, path, body))

    def _json(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        content = None if body is None else body.model_dump_json().encode()
        headers = {"Content-Type": "application/json"} if content is not None else {}
        try:
            with map_exceptions():
                response = self._http.request(method, path, content=content, headers=headers)
        except (ServerUnreachable, AnswerLost):
            self._set_online(False)
            raise
        if response.status_code == 503 and _error_code(response) == "database_unavailable":
            self._set_online(False)
            raise DatabaseUnavailable(f"503 database_unavailable from {path}")
        self._set_online(True)
        if response.status_code >= 500:
            raise ServerFailed(f"{response.status_code} from {path}")
        try:
            data = response.json()
        except ValueError as exc:
            raise ServerFailed(f"unreadable answer from {path}") from exc
        if response.status_code >= 400:
            try:
                error = ErrorBody.model_validate(data)
            except ValidationError:
                error = ErrorBody(code=f"http_{response.status_code}", message=str(data)[:200])
            kind = NotAuthorized if response.status_code in (401, 403) else ServerRefused
            raise kind(response.status_code, error)
        return data

    def _checked(self, method: str, path: str, model: type[M], body: BaseModel | None = None) -> M:
        try:
            return self._call(method, path, model, body)
        except ValidationError as exc:
            raise ServerFailed(f"the answer from {path} does not match the schema") from exc

    def health(self) -> Health:
        """``GET /v1/health``."""
        return self._checked("GET", "/v1/health", Health)

    def terminal_config(self, block_list_since: str = "") -> TerminalConfig:
        """``GET /v1/terminal/config``: merchant, programs, ticket keys, mode.

        With ``block_list_since`` (the block list version the terminal holds) the answer may carry
        only the block list's changes since (:func:`apply_block_list`).
        """
        path = "/v1/terminal/config"
        if block_list_since:
            path += "?block_list_since=" + urllib.parse.quote(block_list_since, safe="")
        return self._checked("GET", path, TerminalConfig)

    def lookup(self, card_key: str) -> CardLookup:
        """``POST /v1/cards/lookup``: balances and eligibility of one card."""
        return self._checked("POST", "/v1/cards/lookup", CardLookup, CardLookupRequest(card_key=card_key))

    def challenge(self) -> Challenge:
        """``POST /v1/challenges``: a nonce for the card to sign."""
        return self._checked("POST", "/v1/challenges", Challenge)

    def post_sale(self, sale: SaleRequest) -> SaleResult:
        """``POST /v1/sales``: idempotent by ``sale.sale_id``."""
        return self._checked("POST", "/v1/sales", SaleResult, sale)

    def void(self, sale_id: str, reason: str = "") -> SaleResult:
        """``POST /v1/sales/{id}/void``."""
        return self._checked("POST", f"/v1/sales/{sale_id}/void", SaleResult, VoidRequest(reason=reason))

    def post_return(self, sale_id: str, request: ReturnRequest) -> ReturnResult:
        """``POST /v1/sales/{id}/returns``: idempotent by ``request.return_id``."""
        return self._checked("POST", f"/v1/sales/{sale_id}/returns", ReturnResult, request)

    def batch(self, sales: list[SaleRequest]) -> BatchResult:
        """``POST /v1/sales/batch``: outcomes in the order sent."""
        return self._checked("POST", "/v1/sales/batch", BatchResult, BatchRequest(sales=sales))

    def award(self, award: EventAwardRequest) -> EventAwardResult:
        """``POST /v1/awards``: once per card per event."""
        return self._checked("POST", "/v1/awards", EventAwardResult, award)

    def issue_tickets(self, issue: TicketIssueRequest) -> TicketIssueResult:
        """``POST /v1/tickets/issue``: tickets for receipts (the ticket counter)."""
        return self._checked("POST", "/v1/tickets/issue", TicketIssueResult, issue)

    def ticket(self, serial: int) -> TicketStatus:
        """``GET /v1/tickets/{serial}``."""
        return self._checked("GET", f"/v1/tickets/{serial}", TicketStatus)

    # The city desk (an enrolment terminal): resident accounts and their cards.

    def desk_challenge(self) -> Challenge:
        """``POST /v1/desk/challenges``: a nonce for a card on the desk's reader to sign."""
        return self._checked("POST", "/v1/desk/challenges", Challenge)

    def desk_lookup(self, card_key: str) -> ResidentAccount:
        """``POST /v1/desk/accounts/lookup``: the account of the card on the reader (any state)."""
        return self._checked(
            "POST", "/v1/desk/accounts/lookup", ResidentAccount, DeskLookupRequest(card_key=card_key)
        )

    def desk_account(self, number: str) -> ResidentAccount:
        """``GET /v1/desk/accounts/{number}``: the account of a number the resident quotes."""
        typed = "".join(c for c in number if c.isascii() and c.isalnum()).upper()  # never a path of its own
        return self._checked("GET", f"/v1/desk/accounts/{typed}", ResidentAccount)

    def desk_link(self, link: LinkRequest) -> ResidentAccount:
        """``POST /v1/desk/link``: a renewed or replacement card onto the old card's (or a quoted) account."""
        return self._checked("POST", "/v1/desk/link", ResidentAccount, link)

    def desk_merge(self, merge: MergeRequest) -> ResidentAccount:
        """``POST /v1/desk/merge``: a point card's account into a My Number Card's."""
        return self._checked("POST", "/v1/desk/merge", ResidentAccount, merge)

    def desk_block(self, block: BlockRequest, *, lift: bool = False) -> ResidentAccount:
        """``POST /v1/desk/block`` (``lift``: ``/v1/desk/unblock``) by the account number, with a reason."""
        path = "/v1/desk/unblock" if lift else "/v1/desk/block"
        return self._checked("POST", path, ResidentAccount, block)

    def set_eligibility(self, card_key: str, tags: list[EligibilityTag]) -> CardLookup:
        """``PUT /v1/cards/{card_key}/eligibility`` (the city's enrol desk)."""
        return self._checked(
            "PUT", f"/v1/cards/{card_key}/eligibility", CardLookup, EligibilityUpdate(tags=tags)
        )

    # A library's or facility's desk (its own token): memberships and visits.

    def own_issuer(self) -> IssuerInfo:
        """``GET /v1/memberships/issuer``: the token's own library or facility (its name)."""
        return self._checked("GET", "/v1/memberships/issuer", IssuerInfo)

    def membership_status(self, change: MembershipStatusChange) -> Membership:
        """``POST /v1/memberships/status``: suspend one of this issuer's members, or lift it."""
        return self._checked("POST", "/v1/memberships/status", Membership, change)

    def membership_lookup(self, card_key: str) -> MembershipAnswer:
        """``POST /v1/memberships/lookup``: this issuer's membership of a tapped card."""
        return self._checked(
            "POST", "/v1/memberships/lookup", MembershipAnswer, MembershipLookupRequest(card_key=card_key)
        )

    def membership_link(self, link: MembershipLinkRequest) -> Membership:
        """``POST /v1/memberships``: a first visit links the resident's number here, once."""
        return self._checked("POST", "/v1/memberships", Membership, link)

    def visit(self, card_key: str) -> Visit:
        """``POST /v1/visits``: a member's entry at a facility today."""
        return self._checked("POST", "/v1/visits", Visit, VisitRequest(card_key=card_key))

    def visits_today(self) -> VisitCounts:
        """``GET /v1/visits``: today's entries at the token's facility (the desk's count)."""
        return self._checked("GET", "/v1/visits", VisitCounts)

    def statement(self, merchant_id: str, period: str) -> Any:
        """``GET /v1/statements/{merchant}/{period}``: the merchant's statement (明細) as JSON."""
        return self._json("GET", f"/v1/statements/{merchant_id}/{period}")


class ServerMemberships:
    """The library desk's memberships, asked of the server with the library's own token.

    Implements :class:`pos.library.desk.MembershipLookup`: the server knows the library from the
    token, so a desk of another institution id than the token's is refused here, before any
    number is shown. A refusal (a blocked card: ``card_blocked``) or an unreachable server is a
    :class:`LookupError` carrying the text the desk shows; nothing is linked behind the desk's back.
    """

    def __init__(self, client: ServerClient) -> None:
        self.client = client

    def issuer_name(self) -> str:
        """The library's name as the server registered it (the token's own issuer).

        Raises:
            LookupError: the server could not be asked, or refused the token.
        """
        try:
            return self.client.own_issuer().name
        except SyncError as error:
            raise LookupError(error.message()) from error

    def patron_number(self, card_key: str, institution_id: str) -> str | None:
        """The library's patron number of the card (``None``: not a member here, a first visit)."""
        try:
            answer = self.client.membership_lookup(card_key)
        except SyncError as error:
            raise LookupError(error.message()) from error
        self._check(answer.issuer_id, institution_id)
        membership = answer.membership
        if membership is None or membership.status == "ended":
            return None
        if membership.status == "suspended":
            # The library suspended the link: said in words, never taken for a first visit.
            raise LookupError(refusal_text("membership_suspended"))
        return membership.number

    def link(self, card_key: str, institution_id: str, patron_number: str) -> None:
        """Save the first visit's link on the server (once; the same number again is fine)."""
        try:
            saved = self.client.membership_link(
                MembershipLinkRequest(card_key=card_key, number=patron_number)
            )
        except SyncError as error:
            raise LookupError(error.message()) from error
        self._check(saved.issuer_id, institution_id)

    @staticmethod
    def _check(issuer_id: str, institution_id: str) -> None:
        if issuer_id != institution_id:
            raise LookupError(translate(WRONG_LIBRARY_TOKEN, token=issuer_id, library=institution_id))


WRONG_LIBRARY_TOKEN = N_("The server token is library {token}'s, not {library}'s. Check the settings.")


# Syncing the journal ------------------------------------------------------------------


@dataclass
class SyncReport:
    """What one sync pass did."""

    synced: list[str] = field(default_factory=list)
    refused: list[tuple[str, ErrorBody]] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    remaining: int = 0
    error: SyncError | None = None
    #: the server's block list version in the last batch answer (``None``: no batch was sent)
    block_list_version: str | None = None


class Syncer:
    """Sends the journal's open entries to the server, oldest first, same ids.

    Args:
        journal: the terminal's journal.
        client: the server client.
        progress: called with ``(done, total)`` after each batch (the app's progress bar).
    """

    def __init__(
        self, journal: Journal, client: ServerClient, progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.journal = journal
        self.client = client
        self.progress = progress

    def resolve(self, entry: Entry) -> Entry:
        """Ask the server again for one pending entry, same id and body, and record the answer.

        Raises:
            SyncError: still no answer (the entry stays pending), except a refusal, which is recorded.
        """
        try:
            if entry.kind is EntryKind.AWARD:
                result: Any = self.client.award(EventAwardRequest.model_validate(entry.request))
            elif entry.kind is EntryKind.RETURN:
                assert entry.sale_id is not None
                result = self.client.post_return(entry.sale_id, entry.return_request)
            else:
                result = self.client.post_sale(entry.sale_request)
        except ServerRefused as exc:
            return self.journal.refuse(entry.id, exc.error)
        return self.journal.accept(entry.id, result)

    def sync(self) -> SyncReport:
        """Resolve pending entries, then send the offline queue in journal order.

        Stops at the first transport error (the report carries it); what is left stays queued.
        """
        report = SyncReport()
        try:
            for entry in self.journal.pending():
                self.resolve(entry)
                report.resolved.append(entry.id)
            self._send_queue(report)
        except SyncError as exc:
            report.error = exc
        report.remaining = len(self.journal.offline_queue())
        return report

    def _send_queue(self, report: SyncReport) -> None:
        total = len(self.journal.offline_queue())
        done = 0
        while True:
            queue = self.journal.offline_queue(limit=BATCH_SIZE)
            if not queue:
                return
            # Sales go in batches; an award in the queue is sent on its own, keeping journal order.
            run: list[Entry] = []
            for entry in queue:
                if entry.kind is EntryKind.SALE:
                    run.append(entry)
                    continue
                break
            if run:
                self._send_batch(run, report)
                done += len(run)
            else:
                self._send_award(queue[0], report)
                done += 1
            if self.progress is not None:
                self.progress(done, total)

    def _send_batch(self, run: list[Entry], report: SyncReport) -> None:
        result = self.client.batch([entry.sale_request for entry in run])
        report.block_list_version = result.block_list_version
        if [item.sale_id for item in result.items] != [entry.id for entry in run]:
            raise ServerFailed("the batch answer does not list the sales sent, in order")
        outcomes: list[tuple[str, SaleResult | ErrorBody]] = []
        for item in result.items:
            if item.result is not None:
                outcomes.append((item.sale_id, item.result))
                report.synced.append(item.sale_id)
            else:
                error = item.error or ErrorBody(code="refused", message="refused without a reason")
                outcomes.append((item.sale_id, error))
                report.refused.append((item.sale_id, error))
        self.journal.settle_batch(outcomes)

    def _send_award(self, entry: Entry, report: SyncReport) -> None:
        try:
            result = self.client.award(EventAwardRequest.model_validate(entry.request))
        except ServerRefused as exc:
            self.journal.refuse(entry.id, exc.error)
            report.refused.append((entry.id, exc.error))
            return
        self.journal.synced(entry.id, result.model_dump(mode="json"))
        report.synced.append(entry.id)


def local_now() -> dt.datetime:
    """The terminal's clock, timezone-aware (sent as ``terminal_time``)."""
    return calendar.now().astimezone()


def apply_block_list(answer: TerminalConfig, held: TerminalConfig | None) -> TerminalConfig:
    """The configuration with its whole block list: ``answer``'s, or ``held``'s with its delta applied.

    A delta (``block_list_since`` set) applies only to the list of that version; anything else is
    refused (:class:`ServerFailed`), and the caller asks for the whole list.

    Raises:
        ServerFailed: a delta from a version the terminal does not hold.
    """
    if not answer.block_list_since:
        return answer
    if held is None or held.block_list_version != answer.block_list_since:
        raise ServerFailed("a block list delta from a version this terminal does not hold")
    dropped = set(answer.unblocked_keys) | set(answer.blocked_keys)
    keys = [key for key in held.blocked_keys if key not in dropped] + list(answer.blocked_keys)
    return answer.model_copy(update={"blocked_keys": keys, "unblocked_keys": [], "block_list_since": ""})
