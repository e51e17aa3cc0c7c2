"""An in-process stand-in for the settlement server, for fast counter-app tests (httpx.MockTransport).

It keeps the rules the terminal relies on (idempotent sale ids, balances never below zero,
a ticket redeemed once, the PIN above the no-PIN limit, once per card per event) so the app's
tests can fail for the right reasons. The real server is used in ``tests/e2e`` and the
journal-recovery test.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ulid import ULID

from points import tickets
from points.programs import Acceptance, EventAward, FundingSource, PercentAward, Program
from points.wire import (
    AwardLine,
    Balance,
    BatchItem,
    BatchRequest,
    BatchResult,
    CardLookup,
    CardLookupRequest,
    Challenge,
    EligibilityTag,
    EligibilityUpdate,
    ErrorBody,
    EventAwardRequest,
    EventAwardResult,
    EventInfo,
    Health,
    IssuedTicket,
    Lot,
    Merchant,
    PointTender,
    RedeemedTicket,
    SaleRequest,
    SaleResult,
    SaleStatus,
    TerminalConfig,
    TerminalMode,
    TicketIssueRequest,
    TicketIssueResult,
    TicketState,
    TicketStatus,
)
from pos.card.apdu import uid_card_key
from pos.card.simulated import DEMO_UIDS, demo_credentials

CITY = FundingSource(kind="city", id="tenri")
PROGRAMS = [
    Program(
        id="tenri-megumi",
        name_ja="天理めぐみめぐるポイント",
        name_en="Tenri Megumi Meguru",
        city="tenri",
        funding=CITY,
        no_pin_limit=3000,
        award_rule=PercentAward(rate_permille=100, unit=100, minimum_receipt=1000, receipt_cap=50_000),
    ),
    Program(
        id="health-walk",
        name_ja="健康ウォークポイント",
        name_en="Health Walk Points",
        city="tenri",
        funding=CITY,
        tender_kind="discount",
        offline_limit=500,
        change_allowed=False,
        accepted_by=Acceptance(),
        award_rule=EventAward(table={"volunteer": 200, "event": 100, "walk": 500}),
    ),
]
MERCHANT = Merchant(
    id="m-sakura",
    name="さくら商店",
    address="奈良県天理市川原城町1-1",
    phone="0743-00-0000",
    invoice_number="T1234567890123",
    category="grocery",
)
#: The simulated reader's demo cards: two UID cards and the demo My Number Card (PIN 1234).
ALICE = uid_card_key(bytes.fromhex(DEMO_UIDS[0]))
BOB = uid_card_key(bytes.fromhex(DEMO_UIDS[1]))
CAROL = demo_credentials().card_key
NONCE = b"fake server nonce"


class FakeServer:
    """The v1 endpoints the counter app calls, in memory; ``down``/``lose_answers`` inject faults."""

    def __init__(self, mode: TerminalMode = TerminalMode.SHOP, today: dt.date | None = None) -> None:
        self.today = today or dt.date.today()
        self.signer = tickets.TicketSigner(Ed25519PrivateKey.generate())
        self.mode = mode
        self.balances: dict[str, dict[str, int]] = {
            ALICE: {"tenri-megumi": 5000, "health-walk": 800},
            BOB: {"tenri-megumi": 100},
            CAROL: {"tenri-megumi": 10_000},
        }
        self.eligibility: dict[str, list[EligibilityTag]] = {}
        self.sales: dict[str, tuple[str, SaleResult]] = {}
        self.redeemed: set[int] = set()
        self.awarded: set[tuple[str, str]] = set()
        self.challenges: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.down = False
        self.lose_answers = False
        self._serial = 1000
        self.values: dict[int, int] = {}
        self.texts: dict[int, str] = {}
        #: The answer to ``GET /v1/statements/...`` (the settlement server's schema), if any.
        self.statement: dict[str, Any] | None = None

    @property
    def transport(self) -> httpx.MockTransport:
        """An httpx transport that routes requests here."""
        return httpx.MockTransport(self.handle)

    def ticket(self, value: int, program_id: str = "tenri-megumi", days: int = 30) -> str:
        """Issue a signed ticket text as the server would."""
        self._serial += 1
        self.values[self._serial] = value
        text = self.signer.issue(self._serial, program_id, value, self.today + dt.timedelta(days=days))
        self.texts[self._serial] = text
        return text

    def config(self) -> TerminalConfig:
        event = EventInfo(
            event_id="clean-up-0601", program_id="health-walk", kind="volunteer", name="清掃活動"
        )
        return TerminalConfig(
            terminal_id="t-sakura-1",
            mode=self.mode,
            merchant=MERCHANT,
            programs=PROGRAMS,
            ticket_keys={self.signer.key_id: tickets.public_key_to_text(self.signer.public_key)},
            event=event if self.mode is TerminalMode.AWARD else None,
            server_time=dt.datetime.now(dt.UTC),
        )

    # Routing -------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        status, body = self.route(request)
        if self.lose_answers:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(status, json=body)

    def route(self, request: httpx.Request) -> tuple[int, Any]:
        path, method = request.url.path, request.method
        data = json.loads(request.content) if request.content else None
        try:
            if path == "/v1/health":
                return 200, Health(version="fake", time=dt.datetime.now(dt.UTC)).model_dump(mode="json")
            if path == "/v1/terminal/config":
                return 200, self.config().model_dump(mode="json")
            if path == "/v1/cards/lookup":
                return 200, self.lookup(CardLookupRequest.model_validate(data).card_key).model_dump(
                    mode="json"
                )
            if path == "/v1/challenges":
                cid = str(ULID())
                self.challenges.add(cid)
                expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
                return 200, Challenge(
                    challenge_id=cid, nonce=base64.b64encode(NONCE).decode(), expires_at=expires
                ).model_dump(mode="json")
            if path == "/v1/sales" and method == "POST":
                return 200, self.sale(SaleRequest.model_validate(data)).model_dump(mode="json")
            if path == "/v1/sales/batch":
                return 200, self.batch(BatchRequest.model_validate(data)).model_dump(mode="json")
            if path.startswith("/v1/sales/") and path.endswith("/void"):
                return 200, self.void(path.split("/")[3]).model_dump(mode="json")
            if path == "/v1/awards":
                return 200, self.award(EventAwardRequest.model_validate(data)).model_dump(mode="json")
            if path == "/v1/tickets/issue":
                return 200, self.issue(TicketIssueRequest.model_validate(data)).model_dump(mode="json")
            if path.startswith("/v1/statements/"):
                if self.statement is None:
                    raise Refusal(404, "statement_not_found", "no closed period")
                return 200, self.statement
            if path.startswith("/v1/tickets/") and method == "GET":
                return 200, self.ticket_status(int(path.rsplit("/", 1)[1])).model_dump(mode="json")
            if path.startswith("/v1/cards/") and path.endswith("/eligibility"):
                card_key = path.split("/")[3]
                self.eligibility[card_key] = EligibilityUpdate.model_validate(data).tags
                return 200, self.lookup(card_key).model_dump(mode="json")
        except Refusal as refusal:
            return refusal.status, ErrorBody(code=refusal.code, message=refusal.message).model_dump()
        return 404, {"code": "not_found", "message": path}

    # Endpoints ------------------------------------------------------------------------

    def lookup(self, card_key: str) -> CardLookup:
        balances = [
            Balance(
                program_id=program,
                points=points,
                expiring=[Lot(points=min(points, 300), expires_on=self.today + dt.timedelta(days=10))]
                if program == "health-walk" and points
                else [],
            )
            for program, points in self.balances.get(card_key, {}).items()
        ]
        return CardLookup(
            card_key=card_key, balances=balances, eligibility=self.eligibility.get(card_key, [])
        )

    def sale(self, sale: SaleRequest) -> SaleResult:
        body = sale.model_dump_json()
        if sale.sale_id in self.sales:
            stored, result = self.sales[sale.sale_id]
            if stored != body:
                raise Refusal(409, "sale_id_conflict", "the same sale id with a different body")
            return result
        programs = {p.id: p for p in PROGRAMS}
        wallet = self.balances.get(sale.card_key or "", {})
        for tender in sale.points:
            if wallet.get(tender.program_id, 0) < tender.points:
                raise Refusal(409, "insufficient_balance", "not enough points")
            if tender.points > programs[tender.program_id].no_pin_limit and sale.pin_proof is None:
                raise Refusal(403, "pin_required", "a PIN proof is needed above the no-PIN limit")
        if sale.pin_proof is not None:
            self.check_proof(sale)
        redeemed = []
        remainder = sale.total - sum(p.points for p in sale.points)
        for ticket_tender in sale.tickets:
            try:
                ticket = tickets.verify(
                    ticket_tender.text, {self.signer.key_id: self.signer.public_key}, self.today
                )
            except tickets.TicketError as exc:
                raise Refusal(422, exc.code, str(exc)) from None
            if ticket.serial in self.redeemed:
                raise Refusal(409, "ticket_redeemed", "ticket already redeemed")
            applied = min(ticket.value, max(remainder, 0))
            remainder -= applied
            redeemed.append(
                RedeemedTicket(
                    serial=ticket.serial, program_id=ticket.program_id, value=ticket.value, applied=applied
                )
            )
        if sale.cash < max(remainder, 0):
            raise Refusal(422, "underpaid", "tenders do not cover the total")
        for tender in sale.points:
            wallet[tender.program_id] -= tender.points
        self.redeemed.update(t.serial for t in redeemed)
        awards = []
        for program_id in sale.award_programs:
            rule = programs[program_id].award_rule
            if isinstance(rule, PercentAward) and sale.card_key:
                points = rule.points_for(sale.total)
                if points:
                    self.balances.setdefault(sale.card_key, {}).setdefault(program_id, 0)
                    self.balances[sale.card_key][program_id] += points
                    awards.append(
                        AwardLine(
                            program_id=program_id,
                            points=points,
                            expires_on=self.today + dt.timedelta(days=365),
                        )
                    )
        result = SaleResult(
            sale_id=sale.sale_id,
            status=SaleStatus.ACCEPTED,
            accepted_at=dt.datetime.now(dt.UTC),
            total=sale.total,
            points=[PointTender(program_id=p.program_id, points=p.points) for p in sale.points],
            tickets=redeemed,
            cash=sale.cash,
            change=sale.cash - max(remainder, 0),
            awards=awards,
            balances=self.lookup(sale.card_key).balances if sale.card_key else [],
        )
        self.sales[sale.sale_id] = (body, result)
        return result

    def ticket_status(self, serial: int) -> TicketStatus:
        """A ticket's state; like the real server, the signed text to a shop only while redeemable."""
        if not 1000 < serial <= self._serial:
            raise Refusal(404, "ticket_not_found", "no such ticket")
        state = TicketState.REDEEMED if serial in self.redeemed else TicketState.ISSUED
        return TicketStatus(
            serial=serial,
            human_serial=tickets.format_human_serial(serial),
            program_id="tenri-megumi",
            value=self.values.get(serial, 0),
            expires_on=self.today,
            state=state,
            text=self.texts.get(serial) if state is TicketState.ISSUED else None,
        )

    def check_proof(self, sale: SaleRequest) -> None:
        """The card's signature over SHA-256(nonce), by the certificate whose hash is the card key."""
        proof = sale.pin_proof
        assert proof is not None
        if proof.challenge_id not in self.challenges:
            raise Refusal(403, "challenge_unknown", "unknown challenge")
        der = base64.b64decode(proof.certificate)
        if "jpki:" + hashlib.sha256(der).hexdigest() != sale.card_key:
            raise Refusal(403, "certificate_mismatch", "the certificate is not this card's")
        key = x509.load_der_x509_certificate(der).public_key()
        try:
            key.verify(base64.b64decode(proof.signature), NONCE, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
        except InvalidSignature:
            raise Refusal(403, "bad_signature", "the card's signature does not match") from None
        self.challenges.discard(proof.challenge_id)

    def batch(self, batch: BatchRequest) -> BatchResult:
        items = []
        for sale in batch.sales:
            try:
                items.append(BatchItem(sale_id=sale.sale_id, result=self.sale(sale)))
            except Refusal as refusal:
                error = ErrorBody(code=refusal.code, message=refusal.message)
                items.append(BatchItem(sale_id=sale.sale_id, error=error))
        return BatchResult(items=items)

    def void(self, sale_id: str) -> SaleResult:
        if sale_id not in self.sales:
            raise Refusal(404, "sale_not_found", "no such sale")
        body, result = self.sales[sale_id]
        if result.status is SaleStatus.VOIDED:
            raise Refusal(409, "already_voided", "already voided")
        sale = SaleRequest.model_validate_json(body)
        for tender in sale.points:
            self.balances[sale.card_key or ""][tender.program_id] += tender.points
        self.redeemed.difference_update(t.serial for t in result.tickets)
        voided = result.model_copy(update={"status": SaleStatus.VOIDED})
        self.sales[sale_id] = (body, voided)
        return voided

    def award(self, award: EventAwardRequest) -> EventAwardResult:
        if (award.card_key, award.event_id) in self.awarded:
            raise Refusal(409, "already_awarded", "this card already got this event's award")
        program = {p.id: p for p in PROGRAMS}[award.program_id]
        assert isinstance(program.award_rule, EventAward)
        points = program.award_rule.points_for(award.kind)
        self.awarded.add((award.card_key, award.event_id))
        wallet = self.balances.setdefault(award.card_key, {})
        wallet[award.program_id] = wallet.get(award.program_id, 0) + points
        return EventAwardResult(
            award_id=award.award_id,
            award=AwardLine(program_id=award.program_id, points=points),
            balance=Balance(program_id=award.program_id, points=wallet[award.program_id]),
        )

    def issue(self, issue: TicketIssueRequest) -> TicketIssueResult:
        program = {p.id: p for p in PROGRAMS}[issue.program_id]
        assert isinstance(program.award_rule, PercentAward)
        points = sum(program.award_rule.points_for(r.amount) for r in issue.receipts)
        issued = []
        # Tenri prints 100-point tickets.
        for _ in range(points // 100):
            text = self.ticket(100, issue.program_id, days=180)
            ticket = tickets.decode(text)
            issued.append(
                IssuedTicket(
                    serial=ticket.serial,
                    human_serial=ticket.human_serial,
                    program_id=ticket.program_id,
                    value=ticket.value,
                    expires_on=ticket.expires_on,
                    text=text,
                )
            )
        return TicketIssueResult(issue_id=issue.issue_id, points=points, tickets=issued)


class Refusal(Exception):
    """A 4xx answer with a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
