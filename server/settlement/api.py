"""Settlement's HTTP endpoints (DESIGN.md §4), every one role-checked.

A merchant sees its own claims and statements only, a chamber its merchants', a city the claims
of its programs, an admin everything. Claims out of a principal's reach answer ``404`` as if
they did not exist. Each request opens its own connection to the database (settlement's writes
take the write lock in turn with the server's writer thread, through the busy timeout) and runs
in FastAPI's thread pool, so a month-end close never blocks the event loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Iterator
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from points import bank_days
from points import settlement_wire as models
from points.programs import Program
from server import audit, db
from server.auth import Principal, require
from server.errors import ApiError
from server.ledger import business_date
from server.settlement import (
    claims,
    console_sessions,
    namecheck,
    payouts,
    periods,
    ranking,
    statements,
    store,
)
from server.settlement.claims import Scope
from server.settlement.errors import SettlementError

router = APIRouter(tags=["settlement"])

CSV = "text/csv; charset=utf-8"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReturnRequest(_Body):
    """Why a chamber returns a claim (the merchant sees it)."""

    reason: str = Field(min_length=1, max_length=400)


class ReopenRequest(_Body):
    """An admin's reopening of a chamber's period, with the reason that is logged."""

    chamber_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=400)


class AcceptName(_Body):
    """A clerk accepts the form the pre-check proposes for one payee's name (logged)."""

    payee_id: str = Field(min_length=1, max_length=64)
    field: Literal["holder", "requester"]
    #: Exactly the proposed form the clerk saw (a changed record needs a new look).
    proposed: str = Field(min_length=1, max_length=40)


class HolderName(_Body):
    """A payee's account holder name (口座名義) as the bank has it, in katakana."""

    holder_kana: str = Field(min_length=1, max_length=60)


class BankCharset(_Body):
    """Which character set a paying bank takes in names: ``strict`` (default) or ``zengin``."""

    charset: str = Field(min_length=1, max_length=32)


class RankingRequest(_Body):
    """A ranking round: holders with at least ``threshold`` points, the top ``top_k``."""

    threshold: int = Field(strict=True, ge=0, le=100_000_000)
    top_k: int = Field(strict=True, gt=0, le=100_000)


def connection(request: Request) -> Iterator[sqlite3.Connection]:
    """A connection of its own for this request, with settlement's tables in place."""
    conn = db.connect(request.app.state.store.path)
    try:
        yield store.ensure(conn)
    finally:
        conn.close()


Conn = Annotated[sqlite3.Connection, Depends(connection)]
Reader = Annotated[Principal, Depends(require("merchant", "chamber", "city", "admin"))]
Clerk = Annotated[Principal, Depends(require("chamber", "city", "admin"))]
ChamberOrAdmin = Annotated[Principal, Depends(require("chamber", "admin"))]
CityOrAdmin = Annotated[Principal, Depends(require("city", "admin"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def scope_of(principal: Principal) -> Scope:
    """What a principal may see of settlement (a shop terminal sees what its merchant sees)."""
    if principal.role == "terminal" and principal.merchant_id is not None:
        return Scope(role="merchant", merchant_id=principal.merchant_id)
    return Scope(
        role=principal.role,
        merchant_id=principal.merchant_id,
        chamber_id=principal.chamber_id,
        city_id=principal.city_id,
    )


def _now(request: Request) -> dt.datetime:
    moment: dt.datetime = request.app.state.store.clock()
    return moment


def _chamber_for(principal: Principal, chamber_id: str | None) -> str:
    if principal.role == "chamber":
        if chamber_id not in (None, principal.chamber_id) or principal.chamber_id is None:
            raise ApiError("forbidden", "a chamber closes its own periods")
        return principal.chamber_id
    if not chamber_id:
        raise SettlementError("no_chamber")
    return chamber_id


# Periods ------------------------------------------------------------------------------


@router.post(
    "/v1/periods/{period}/close",
    summary="Close a period for a chamber (締め)",
    response_model=models.CloseResult,
)
def close_period(
    period: str, request: Request, principal: ChamberOrAdmin, conn: Conn, chamber: str | None = None
) -> dict[str, Any]:
    """Freeze the chamber's claims for the period; closing a closed period changes nothing."""
    chamber_id = _chamber_for(principal, chamber)
    return periods.close(
        conn, chamber_id, periods.parse_period(period), principal.id, now=_now(request)
    ).model_dump()


@router.post(
    "/v1/periods/{period}/reopen",
    summary="Reopen a closed period (admin, with a reason)",
    response_model=models.Reopened,
)
def reopen_period(period: str, body: ReopenRequest, principal: Admin, conn: Conn) -> dict[str, Any]:
    """Withdraw the period's claims so it can be closed again; logged with the reason."""
    before = periods.reopen(conn, body.chamber_id, periods.parse_period(period), principal.id, body.reason)
    return {"chamber_id": body.chamber_id, "period_id": period, "withdrawn_claims": before.claims}


@router.get("/v1/periods", summary="Periods and their totals", response_model=list[models.Period])
def list_periods(principal: Clerk, conn: Conn) -> list[dict[str, Any]]:
    """A chamber's periods; a city or an admin sees every chamber's."""
    return periods.list_periods(conn, principal.chamber_id if principal.role == "chamber" else None)


# Claims -------------------------------------------------------------------------------


@router.get("/v1/claims", summary="Claims the principal may see", response_model=list[models.Claim])
def list_claims(
    principal: Reader,
    conn: Conn,
    period: str | None = None,
    state: str | None = None,
    merchant: str | None = None,
    program: str | None = None,
) -> list[dict[str, Any]]:
    """Claims filtered by period, state, merchant and program."""
    return claims.list_claims(
        conn, scope_of(principal), period_id=period, state=state, merchant_id=merchant, program_id=program
    )


@router.get("/v1/claims/{claim_id}", summary="One claim", response_model=models.Claim)
def get_claim(claim_id: str, principal: Reader, conn: Conn) -> dict[str, Any]:
    """One claim, with its return reason when the chamber returned it."""
    return claims.get_claim(conn, scope_of(principal), claim_id)


@router.get(
    "/v1/claims/{claim_id}/lines",
    summary="The transfers a claim counted (drill-down)",
    response_model=list[models.ClaimLine],
)
def claim_lines(claim_id: str, principal: Reader, conn: Conn) -> list[dict[str, Any]]:
    """Each redemption and void the claim counted, with its sale id and receipt number."""
    return claims.claim_lines(conn, scope_of(principal), claim_id)


@router.post(
    "/v1/claims/{claim_id}/approve",
    summary="Approve a claim (chamber) or its payment (city)",
    response_model=models.Claim,
)
def approve_claim(
    claim_id: str, principal: Annotated[Principal, Depends(require("chamber", "city"))], conn: Conn
) -> dict[str, Any]:
    """The chamber approves a checked claim; the city then approves paying it."""
    return claims.approve(conn, scope_of(principal), claim_id, principal.id)


@router.post(
    "/v1/claims/{claim_id}/return",
    summary="Return a claim to its merchant with a reason",
    response_model=models.Claim,
)
def return_claim(
    claim_id: str,
    body: ReturnRequest,
    principal: Annotated[Principal, Depends(require("chamber"))],
    conn: Conn,
) -> dict[str, Any]:
    """The merchant sees the reason on its claim and statement."""
    return claims.return_claim(conn, scope_of(principal), claim_id, principal.id, body.reason)


# Payouts ------------------------------------------------------------------------------


def _payer_for(principal: Principal, payer: str | None) -> str:
    if principal.role == "city":
        return f"city:{principal.city_id}"
    if principal.role == "chamber":
        return f"chamber:{principal.chamber_id}"
    if not payer or payer.partition(":")[0] not in ("city", "chamber"):
        raise SettlementError("no_payer", "name the payer: city:<id> or chamber:<id>")
    return payer


@router.get(
    "/v1/payouts/{period}",
    summary="What the principal (city or chamber) pays for a period",
    response_model=models.PayoutPlan,
)
def payout_plan(period: str, principal: Clerk, conn: Conn, payer: str | None = None) -> dict[str, Any]:
    """Transfers per payee and payees held back (no bank account, nothing positive to pay)."""
    periods.parse_period(period)
    who = _payer_for(principal, payer)
    plan = payouts.plan(conn, period, who)

    def public(line: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in line.items() if key != "account"}

    return {
        "payer": plan.payer,
        "period_id": period,
        "total": plan.total,
        "payments": [public(p) for p in plan.payments],
        "held": plan.held,
        "coverage": payouts.coverage(conn, period, who).as_json(),
    }


def coverage_headers(coverage: payouts.Coverage) -> dict[str, str]:
    """The Zengin download's ``X-Payout-*`` headers: how much of the period the file pays.

    ``X-Payout-Partial: true`` when a claim is not approved for payment or a chamber has not closed;
    the chamber ids are percent-encoded (no request value reaches a header as it is).
    """
    return {
        "X-Payout-Partial": "true" if coverage.partial else "false",
        "X-Payout-Claims": str(coverage.claims),
        "X-Payout-Approved": str(coverage.approved),
        "X-Payout-Unapproved-Net": str(coverage.unapproved_net),
        "X-Payout-Open-Chambers": ",".join(quote(c, safe="") for c in coverage.open_chambers),
    }


@router.get(
    "/v1/payouts/{period}/zengin",
    summary="The Zengin 総合振込 file for a period",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def payout_zengin(
    period: str,
    request: Request,
    principal: Clerk,
    conn: Conn,
    transfer_date: Annotated[dt.date | None, Query(alias="date")] = None,
    payer: str | None = None,
) -> Response:
    """120-byte cp932 records, read back and checked before it is sent.

    The ``X-Payout-*`` headers say whether the file pays only part of the period (claims not yet
    approved for payment, chambers that have not closed): see :func:`coverage_headers`.
    """
    periods.parse_period(period)
    who = _payer_for(principal, payer)
    # Banks need the file before the day: the default is the next bank business day.
    today = business_date(_now(request))
    day = transfer_date or bank_days.next_bank_business_day(today)
    data = payouts.zengin_file(conn, period, who, day, today=today)
    covered = payouts.coverage(conn, period, who)
    subject = f"payout:{who}:{period}"
    audit.append(
        conn, principal.id, "zengin", subject, bytes=len(data), date=day.isoformat(), partial=covered.partial
    )
    name = f"zengin-{who.replace(':', '-')}-{period}.txt"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": attachment(name), **coverage_headers(covered)},
    )


def _precheck_body(check: payouts.Precheck) -> dict[str, Any]:
    return {
        "payer": check.payer,
        "period_id": check.period_id,
        "bank_code": check.bank_code,
        "charset": check.charset,
        "ready": not check.unresolved,
        "findings": [dataclasses.asdict(f) for f in check.findings],
        "report": namecheck.describe(check.findings),
    }


@router.get(
    "/v1/payouts/{period}/precheck",
    summary="The names pre-check of the Zengin file (before it is written)",
    response_model=models.Precheck,
)
def payout_precheck(period: str, principal: Clerk, conn: Conn, payer: str | None = None) -> dict[str, Any]:
    """Every payee whose name would not fit or holds a character the bank refuses, with the proposed form."""
    periods.parse_period(period)
    return _precheck_body(payouts.precheck(conn, period, _payer_for(principal, payer)))


@router.post(
    "/v1/payouts/{period}/precheck/accept",
    summary="Accept the proposed form of one name (logged)",
    response_model=models.NameFinding,
)
def payout_accept_name(
    period: str, body: AcceptName, principal: Clerk, conn: Conn, payer: str | None = None
) -> dict[str, Any]:
    """The clerk accepts what the pre-check proposes; it holds while the record and the proposal stay so."""
    periods.parse_period(period)
    who = _payer_for(principal, payer)
    finding = payouts.accept_name(conn, period, who, body.payee_id, body.field, body.proposed, principal.id)
    return dataclasses.asdict(finding)


def _may_fix(conn: sqlite3.Connection, principal: Principal, kind: str, payee_id: str) -> bool:
    # A chamber fixes its own and its merchants' records; a city those it pays (its claims').
    if principal.role == "admin":
        return True
    if principal.role == "chamber":
        if kind == "chamber":
            return payee_id == principal.chamber_id
        row = conn.execute("SELECT chamber_id FROM merchants WHERE id = ?", (payee_id,)).fetchone()
        return row is not None and row[0] == principal.chamber_id
    column = "merchant_id" if kind == "merchant" else "chamber_id"
    row = conn.execute(
        f"SELECT 1 FROM claims WHERE {column} = ? AND city_id = ? LIMIT 1", (payee_id, principal.city_id)
    ).fetchone()
    return row is not None


@router.put(
    "/v1/payees/{kind}/{payee_id}/holder",
    summary="Fix a payee's account holder name (口座名義) in its record (logged)",
)
def set_payee_holder(
    kind: Literal["merchant", "chamber"], payee_id: str, body: HolderName, principal: Clerk, conn: Conn
) -> dict[str, Any]:
    """Store the name as the bank has it; the next pre-check reads it."""
    if not _may_fix(conn, principal, kind, payee_id):
        raise SettlementError("unknown_payee", f"{kind}:{payee_id}")
    holder = namecheck.set_holder(conn, kind, payee_id, body.holder_kana, principal.id)
    return {"kind": kind, "payee_id": payee_id, "holder_kana": holder}


@router.put(
    "/v1/settings/bank-charsets/{bank_code}",
    summary="Which character set a paying bank takes in names (admin)",
)
def set_bank_charset(bank_code: str, body: BankCharset, principal: Admin, conn: Conn) -> dict[str, Any]:
    """``strict`` (the default: no ｰ ｦ , / \\) or ``zengin`` (the full Zengin half-width set)."""
    namecheck.set_bank_charset(conn, bank_code, body.charset, principal.id)
    return {"bank_code": bank_code, "charset": body.charset, "table": namecheck.bank_charsets(conn)}


@router.get(
    "/v1/reconciliation/{period}",
    summary="Claims = receivables moved = transfers to pay + fees",
    response_model=models.Reconciliation,
)
def reconciliation(period: str, principal: Clerk, conn: Conn) -> dict[str, Any]:
    """The three sums that must agree for the principal's claims of a period."""
    periods.parse_period(period)
    return payouts.reconcile(conn, scope_of(principal), period)


# Statements ---------------------------------------------------------------------------


def attachment(name: str) -> str:
    """A ``Content-Disposition`` for a download named ``name`` (RFC 6266, with RFC 5987 for non-ASCII).

    The plain ``filename`` keeps only safe ASCII (others become ``_``); ``filename*`` carries the
    name percent-encoded as UTF-8. No request text reaches the header as it was sent.
    """
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _csv(data: bytes, name: str) -> Response:
    return Response(data, media_type=CSV, headers={"Content-Disposition": attachment(name)})


@router.get(
    "/v1/statements/{merchant}/{period}",
    summary="A merchant's statement (明細) for a period, JSON or CSV",
    response_model=None,
    responses={200: {"model": models.Statement, "content": {"application/json": {}, "text/csv": {}}}},
)
def statement(
    merchant: str,
    period: str,
    principal: Annotated[Principal, Depends(require("terminal", "merchant", "chamber", "city", "admin"))],
    conn: Conn,
    format: str = "json",
) -> Response | dict[str, Any]:
    """JSON (for the counter app's slip) or ``?format=csv`` (UTF-8 with BOM, for Excel).

    A shop terminal may fetch its own merchant's statement, to print it at the counter.
    """
    periods.parse_period(period)
    scope = scope_of(principal)
    row = conn.execute("SELECT chamber_id FROM merchants WHERE id = ?", (merchant,)).fetchone()
    # A city sees the statement's lines for its own programs only (the scope filters them).
    visible = principal.role == "city" or principal.owns_merchant(merchant, row[0] if row else None)
    if row is None or not visible:
        raise ApiError("unknown_merchant", merchant)
    doc = statements.statement(conn, scope, merchant, period)
    if format == "csv":
        return _csv(statements.statement_csv(doc), f"statement-{merchant}-{period}.csv")
    if format != "json":
        raise ApiError("invalid_request", "format is json or csv")
    return models.Statement.model_validate(doc).model_dump()


@router.get("/v1/summaries/{period}", summary="A chamber's or city's summary CSV for a period")
def summary(period: str, principal: Clerk, conn: Conn) -> Response:
    """One row per claim in the principal's reach and a total row (UTF-8 with BOM)."""
    periods.parse_period(period)
    who = principal.chamber_id or principal.city_id or "all"
    return _csv(statements.summary_csv(conn, scope_of(principal), period), f"summary-{who}-{period}.csv")


@router.get(
    "/v1/partners/{period}",
    summary="Partner-funded points per partner (for billing partners)",
    response_model=list[models.PartnerLine],
)
def partners(
    period: str, principal: Annotated[Principal, Depends(require("city", "partner", "admin"))], conn: Conn
) -> list[dict[str, Any]]:
    """Points each partner's conversions put on cards, and what claims counted of partner-funded programs."""
    lines = statements.partner_report(conn, period, principal.city_id if principal.role == "city" else None)
    if principal.role == "partner":
        lines = [line for line in lines if line["partner_id"] == principal.partner_id]
    return lines


@router.get(
    "/v1/log",
    summary="The settlement log (closes, reopens, approvals, files)",
    response_model=list[models.LogLine],
)
def settlement_log(principal: Clerk, conn: Conn) -> list[dict[str, Any]]:
    """An admin sees everything; a chamber or city the lines about its own periods and payouts."""
    lines = audit.lines(conn)
    if principal.role == "admin":
        return lines
    mine = principal.chamber_id if principal.role == "chamber" else principal.city_id
    return [line for line in lines if f":{mine}:" in f"{line['subject']}:" or line["actor"] == principal.id]


# Ranking ------------------------------------------------------------------------------


def _program(request: Request, principal: Principal, program_id: str) -> Program:
    program: Program | None = request.app.state.store.programs().get(program_id)
    if program is None or not principal.owns_city(program.city):
        raise ApiError("unknown_program", program_id)
    return program


@router.get(
    "/v1/ranking/{program_id}",
    summary="The top holders of a program (preview)",
    response_model=list[models.RankingLine],
)
def ranking_preview(
    program_id: str,
    request: Request,
    principal: CityOrAdmin,
    conn: Conn,
    threshold: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    top_k: Annotated[int, Query(gt=0, le=100_000)] = 200,
) -> list[dict[str, Any]]:
    """Who a round would reach, without moving anything."""
    _program(request, principal, program_id)
    return ranking.ranking(conn, program_id, threshold, top_k)


@router.post("/v1/ranking/{program_id}/{round_id}", summary="Run a ranking round (idempotent per round)")
def ranking_run(
    program_id: str, round_id: str, body: RankingRequest, request: Request, principal: CityOrAdmin, conn: Conn
) -> dict[str, Any]:
    """Exchange the top holders' points for voucher tickets; the same round again returns the same result."""
    program = _program(request, principal, program_id)
    if not 0 < len(round_id) <= 32:
        raise SettlementError("ranking_invalid", "round")
    store_ = request.app.state.store
    return ranking.run(
        conn, program, round_id, body.threshold, body.top_k, store_.signer, _now(request), principal.id
    )


# The settlement console's sign-in (its own module) ------------------------------------

router.include_router(console_sessions.router)
