"""A sale's way through the server: its stored answer, its refusal, the offline batch, the void.

The rules of one sale (what each tender covers, PIN limits, tickets) are :func:`server.sales.prepare`'s;
this module decides the order of things around it: a retry gets the answer stored under its id,
an offline sale's refusal is stored once (it lands in the claim as disputed), and a prepared
sale is applied in the next group commit.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from points.wire import BatchItem, BatchResult, ErrorBody, ReturnRequest, SaleRequest, SaleResult
from server import desk, ledger, residents, returns, sales
from server.auth import Principal
from server.errors import ApiError
from server.store import Store


async def sell(store: Store, principal: Principal, body: SaleRequest) -> str:
    """Apply one sale (or find its stored answer) and return the answer's JSON text.

    Raises:
        ApiError: the sale's refusal (the same one again for a retry of a refused offline sale).
    """
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
            if error.code == "certificate_revoked" and body.card_key is not None:
                # A revoked certificate's key is blocked like a lost card (its CRL came before its serial).
                key, now = body.card_key, store.clock()
                await store.write(lambda conn: desk.block_revoked_key(conn, key, now))
            raise
        existing = await store.write(lambda conn: sales.apply(conn, prepared))
    return _answer(existing)


async def sell_batch(store: Store, principal: Principal, queue: list[SaleRequest]) -> BatchResult:
    """The offline queue in order: each sale applied or refused on its own (refusals are stored)."""
    items: list[BatchItem] = []
    for sale in queue:
        try:
            text = await sell(store, principal, sale)
        except ApiError as error:
            items.append(BatchItem(sale_id=sale.sale_id, error=ErrorBody.model_validate(error.body())))
        else:
            items.append(BatchItem(sale_id=sale.sale_id, result=SaleResult.model_validate_json(text)))
    return BatchResult(items=items, block_list_version=residents.block_list_version(store.reader))


def stored_sale(store: Store, principal: Principal, sale_id: str) -> str:
    """A stored sale's answer (its void's, once voided) for a principal that owns its merchant.

    Raises:
        ApiError: ``sale_not_found``, also for another merchant's sale.
    """
    row = store.reader.execute(
        "SELECT s.status, s.result, s.void_result, s.merchant_id, m.chamber_id FROM sales s"
        " JOIN merchants m ON m.id = s.merchant_id WHERE s.sale_id = ?",
        (sale_id,),
    ).fetchone()
    if row is None or not principal.owns_merchant(row[3], row[4]):
        raise ApiError("sale_not_found", sale_id)
    text: str = row[2] if row[0] == "voided" else row[1]
    return text


async def void(store: Store, principal: Principal, sale_id: str, reason: str) -> str:
    """Reverse a sale of the same business day; returns the void's answer text."""
    now = store.clock()
    return await store.write(lambda conn: sales.void(conn, principal, sale_id, reason, now))


async def return_part(store: Store, principal: Principal, sale_id: str, body: ReturnRequest) -> str:
    """Apply a return (返品) of part of a sale (or find its stored answer); returns the answer's text.

    The whole return runs in the writer (returns are rare, and each depends on the ones before).

    Raises:
        ApiError: the return's refusal (nothing is stored for it: a retry is checked afresh).
    """
    # The sale id is part of the fingerprint: the same return id sent for another sale is a mismatch.
    fingerprint = sales.request_hash(f"{principal.id}\n{sale_id}", body)
    existing = returns.stored_answer(store.reader, body.return_id, fingerprint)
    if existing is not None:
        return existing
    now = store.clock()

    def job(conn: sqlite3.Connection) -> str:
        try:
            return returns.apply(conn, principal, sale_id, body, fingerprint, now)
        except ledger.LedgerError as error:
            raise ApiError(error.code, str(error)) from None

    return await store.write(job)


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
