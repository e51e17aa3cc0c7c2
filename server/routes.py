"""The v1 endpoints but settlement's: health, config, cards, challenges, sales, tickets, awards, conversions.

Each endpoint names the roles it allows (:func:`server.auth.require`) and then checks that the
principal owns what it touches: a terminal its merchant's sales, a city its programs and
residents' tags, a partner the programs it funds. What belongs to another is ``not_found`` or
``forbidden``, never shown. Every endpoint is ``async`` and runs on the event loop (the read connection is
the loop's; FastAPI would run a plain ``def`` in a thread pool). Writes go through the group
commit (:meth:`Store.write`); stored
answers are sent back as they were stored, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

import server
from points.programs import Program
from points.tickets import public_key_to_text
from points.wire import (
    BatchItem,
    BatchRequest,
    BatchResult,
    CardKey,
    CardLookup,
    CardLookupRequest,
    Challenge,
    ConversionRequest,
    ConversionResult,
    EligibilityUpdate,
    ErrorBody,
    EventAwardRequest,
    EventAwardResult,
    Health,
    Merchant,
    SaleRequest,
    SaleResult,
    TerminalConfig,
    TerminalMode,
    TicketIssueRequest,
    TicketIssueResult,
    TicketStatus,
    Ulid,
    VoidRequest,
)
from server import cards, issuing, ledger, sales
from server.auth import Principal, require
from server.errors import ApiError
from server.store import Store

router = APIRouter(prefix="/v1")

_SHOP = require("terminal", modes=("shop",))
Shop = Annotated[Principal, Depends(_SHOP)]
SerialPath = Annotated[int, Path(ge=0, lt=10**12, description="the ticket's serial")]
SaleIdPath = Annotated[Ulid, Path(description="the sale's ULID")]


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _json(text: str, status: int = 200) -> Response:
    return Response(content=text, media_type="application/json", status_code=status)


def _note(request: Request, sale_id: str) -> None:
    request.scope.setdefault("state", {})["sale_id"] = sale_id


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


def _program(store: Store, program_id: str) -> Program:
    program = store.programs().get(program_id)
    if program is None:
        raise ApiError("unknown_program", program_id)
    return program


# The sale path first: FastAPI tries routes in order, and this is the one terminals call most.
@router.post(
    "/sales",
    response_model=SaleResult,
    tags=["sales"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SaleRequest"}}},
        },
        "security": [{"bearer": []}],
    },
)
async def post_sale(request: Request) -> Response:
    """One sale, applied atomically; the same sale id and body get the same answer."""
    # The hot path does by hand what FastAPI's dependency and body machinery would do (the same
    # Require check, one pydantic-core validation from the raw bytes): that machinery was a
    # quarter of a sale's time in the profile. The OpenAPI schema still documents both.
    principal = await _SHOP(request)
    body = await validated_body(request, SaleRequest)
    _note(request, body.sale_id)
    return _json(await _sale(_store(request), principal, body))


M = TypeVar("M", bound=BaseModel)


async def validated_body(request: Request, model: type[M]) -> M:
    """The request's JSON body as ``model``; invalid JSON or fields are ``invalid_request`` (422).

    Raises:
        RequestValidationError: the body is not valid JSON for ``model``.
    """
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        problems = [
            {"loc": ("body", *problem["loc"]), "msg": problem["msg"], "type": problem["type"]}
            for problem in error.errors(include_url=False)
        ]
        raise RequestValidationError(problems) from None


# Health and configuration -------------------------------------------------------------


@router.get("/health", response_model=Health, tags=["terminal"])
async def health(request: Request) -> Health:
    """The server is up and can read its database."""
    store = _store(request)
    store.reader.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
    return Health(version=server.__version__, time=store.clock())


@router.get("/terminal/config", response_model=TerminalConfig, tags=["terminal"])
async def terminal_config(
    request: Request, principal: Annotated[Principal, Depends(require("terminal"))]
) -> TerminalConfig:
    """The terminal's shop (or city desk), its programs and their rules, and the ticket keys."""
    store = _store(request)
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
        ticket_keys={store.signer.key_id: _public_key(store)},
        event=store.terminal_event(principal.terminal_id) if principal.mode == TerminalMode.AWARD else None,
        server_time=store.clock(),
    )


def _public_key(store: Store) -> str:
    return public_key_to_text(store.signer.public_key)


# Cards --------------------------------------------------------------------------------


def _lookup(store: Store, principal: Principal, card_key: str) -> CardLookup:
    today = ledger.business_date(store.clock())
    held = set(cards.programs_held(store.reader, card_key))
    programs = [p for p in visible_programs(store, principal) if p.id in held]
    city = (
        None
        if principal.is_admin or (principal.role == "terminal" and principal.merchant_id)
        else principal.city_id
    )
    return CardLookup(
        card_key=card_key,
        balances=[cards.balance_of(store.reader, card_key, p.id, today) for p in programs],
        eligibility=cards.tags_of(store.reader, card_key, city),
    )


@router.post("/cards/lookup", response_model=CardLookup, tags=["cards"])
async def card_lookup(
    request: Request,
    body: CardLookupRequest,
    principal: Annotated[Principal, Depends(require("terminal", "city", "admin"))],
) -> CardLookup:
    """A card's balances in the programs this principal works with, lots expiring within 30 days, and tags."""
    return _lookup(_store(request), principal, body.card_key)


@router.put("/cards/{card_key}/eligibility", response_model=CardLookup, tags=["cards"])
async def set_eligibility(
    request: Request,
    card_key: Annotated[CardKey, Path()],
    body: EligibilityUpdate,
    principal: Annotated[Principal, Depends(require("city", "terminal", modes=("enroll",)))],
) -> CardLookup:
    """Replace the card's tags of the principal's city (its desk checked the resident's papers)."""
    store = _store(request)
    city_id = principal.city_id
    if city_id is None or (principal.role == "terminal" and principal.merchant_id is not None):
        raise ApiError("forbidden", "only a city sets eligibility")
    now = store.clock()
    await store.write(lambda conn: cards.set_tags(conn, card_key, city_id, body.tags, principal.id, now))
    return _lookup(store, principal, card_key)


@router.post("/challenges", response_model=Challenge, tags=["sales"])
async def challenge(request: Request, principal: Shop) -> Challenge:
    """A one-time nonce for a sale above a program's no-PIN limit (the card signs it after its PIN)."""
    store = _store(request)
    assert principal.terminal_id is not None
    terminal_id, now = principal.terminal_id, store.clock()
    return await store.write(lambda conn: cards.new_challenge(conn, terminal_id, now))


# Sales --------------------------------------------------------------------------------


async def _sale(store: Store, principal: Principal, body: SaleRequest) -> str:
    """Apply one sale (or return its stored answer); raises the refusal."""
    fingerprint = sales.request_hash(principal.id, body)
    existing: str | ApiError | None = None
    if body.offline or body.pin_proof is not None:
        # A retry must get its stored answer even when its challenge has lapsed since, or its
        # refusal when it was an offline sale; a new online sale skips this (the writer checks).
        existing = sales.stored_answer(store.reader, body.sale_id, fingerprint)
    if existing is None:
        try:
            prepared = sales.prepare(store, principal, body, fingerprint)
        except ApiError as error:
            # A retry of a sale accepted earlier (a ticket expired since, a rule changed) gets its answer.
            stored = sales.stored_answer(store.reader, body.sale_id, fingerprint)
            if stored is not None:
                return _answer(stored)
            if body.offline:
                now, refusal = store.clock(), error
                await store.write(lambda conn: _refuse_once(conn, principal, body, fingerprint, refusal, now))
            raise
        existing = await store.write(lambda conn: sales.apply(conn, prepared))
    return _answer(existing)


def _answer(existing: str | ApiError) -> str:
    if isinstance(existing, ApiError):
        raise existing
    return existing


def _refuse_once(
    conn: sqlite3.Connection,
    principal: Principal,
    body: SaleRequest,
    fingerprint: str,
    error: ApiError,
    now: dt.datetime,
) -> None:
    # Checked again under the write lock: a parallel retry may have stored the sale meanwhile.
    if sales.stored_answer(conn, body.sale_id, fingerprint) is None:
        sales.record_refusal(conn, principal, body, fingerprint, error, now)


@router.post("/sales/batch", response_model=BatchResult, tags=["sales"])
async def post_batch(request: Request, body: BatchRequest, principal: Shop) -> BatchResult:
    """The offline queue in order: each sale applied or refused on its own (refusals are stored)."""
    store = _store(request)
    items: list[BatchItem] = []
    for sale in body.sales:
        try:
            text = await _sale(store, principal, sale)
        except ApiError as error:
            items.append(BatchItem(sale_id=sale.sale_id, error=ErrorBody.model_validate(error.body())))
        else:
            items.append(BatchItem(sale_id=sale.sale_id, result=SaleResult.model_validate_json(text)))
    return BatchResult(items=items)


@router.get("/sales/{sale_id}", response_model=SaleResult, tags=["sales"])
async def get_sale(
    request: Request,
    sale_id: SaleIdPath,
    principal: Annotated[Principal, Depends(require("terminal", "merchant", "chamber", "admin"))],
) -> Response:
    """A stored sale's answer (a terminal whose answer was lost asks here)."""
    row = (
        _store(request)
        .reader.execute(
            "SELECT s.status, s.result, s.void_result, s.merchant_id, m.chamber_id FROM sales s"
            " JOIN merchants m ON m.id = s.merchant_id WHERE s.sale_id = ?",
            (sale_id,),
        )
        .fetchone()
    )
    if row is None or not principal.owns_merchant(row[3], row[4]):
        raise ApiError("sale_not_found", sale_id)
    return _json(row[2] if row[0] == "voided" else row[1])


@router.post("/sales/{sale_id}/void", response_model=SaleResult, tags=["sales"])
async def void_sale(request: Request, sale_id: SaleIdPath, body: VoidRequest, principal: Shop) -> Response:
    """Reverse a sale of the same day: points, tickets and awards go back (refused if awards were spent)."""
    _note(request, sale_id)
    store = _store(request)
    now = store.clock()
    return _json(await store.write(lambda conn: sales.void(conn, principal, sale_id, body.reason, now)))


# Tickets, awards and conversions ------------------------------------------------------


def _city_program(store: Store, principal: Principal, program_id: str) -> Program:
    """A program of the principal's own city (ticket counters and award stations act for a city)."""
    program = _program(store, program_id)
    if principal.city_id != program.city:
        raise ApiError("forbidden", f"{program.id} is not this city's program")
    return program


@router.post("/tickets/issue", response_model=TicketIssueResult, tags=["tickets"])
async def issue_tickets(
    request: Request,
    body: TicketIssueRequest,
    principal: Annotated[Principal, Depends(require("city", "terminal", modes=("issue",)))],
) -> Response:
    """Tickets for shop receipts under the program's rule (Tenri); a receipt counts once."""
    _note(request, body.issue_id)
    store = _store(request)
    program = _city_program(store, principal, body.program_id)
    fingerprint = sales.request_hash(principal.id, body)
    now = store.clock()
    text = await store.write(
        lambda conn: issuing.issue_tickets(conn, principal, body, program, store.signer, fingerprint, now)
    )
    return _json(text)


@router.get("/tickets/{serial}", response_model=TicketStatus, tags=["tickets"])
async def ticket(
    request: Request,
    serial: SerialPath,
    principal: Annotated[Principal, Depends(require("terminal", "merchant", "city", "admin"))],
) -> TicketStatus:
    """What the server knows of a ticket: issued, redeemed (when, by whom) or expired."""
    store = _store(request)
    issuer_side = principal.is_admin or principal.role == "city" or principal.mode == TerminalMode.ISSUE
    # A shop counter gets the signed text of a ticket it can still take, so a resident with a torn
    # QR code can have the printed serial typed in (serials are random: typing one means holding it).
    shop_side = principal.mode == TerminalMode.SHOP
    status = issuing.ticket_status(
        store.reader,
        serial,
        ledger.business_date(store.clock()),
        with_text=issuer_side,
        text_if_redeemable=shop_side,
    )
    if status is None:
        raise ApiError("not_found", f"ticket {serial}")
    if principal.role == "city" and _program(store, status.program_id).city != principal.city_id:
        raise ApiError("not_found", f"ticket {serial}")
    return status


@router.post("/awards", response_model=EventAwardResult, tags=["awards"])
async def award(
    request: Request,
    body: EventAwardRequest,
    principal: Annotated[Principal, Depends(require("city", "terminal", modes=("award",)))],
) -> Response:
    """An event or volunteer award (Toshima), once per card per event."""
    _note(request, body.award_id)
    store = _store(request)
    program = _city_program(store, principal, body.program_id)
    if principal.role == "terminal":
        assert principal.terminal_id is not None
        event = store.terminal_event(principal.terminal_id)
        if event is not None and (event.event_id, event.program_id) != (body.event_id, body.program_id):
            raise ApiError("forbidden", "this award station is set up for another event")
    fingerprint = sales.request_hash(principal.id, body)
    now = store.clock()
    return _json(
        await store.write(lambda conn: issuing.event_award(conn, principal, body, program, fingerprint, now))
    )


@router.post("/conversions", response_model=ConversionResult, tags=["conversions"])
async def convert(
    request: Request, body: ConversionRequest, principal: Annotated[Principal, Depends(require("partner"))]
) -> Response:
    """Partner points converted into a program the partner funds (one way; idempotent by the partner's id)."""
    _note(request, body.conversion_id)
    store = _store(request)
    program = _program(store, body.program_id)
    if program.funding.kind != "partner" or program.funding.id != principal.partner_id:
        raise ApiError("forbidden", f"{program.id} is not funded by this partner")
    fingerprint = sales.request_hash(principal.id, body)
    now = store.clock()
    return _json(
        await store.write(lambda conn: issuing.conversion(conn, principal, body, program, fingerprint, now))
    )
