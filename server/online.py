"""Online sales (issue 15): products of local merchants sold for points on a city's special site.

A product belongs to the merchant that supplies it and is sold on one site (``shop_id``); the
city of the site approves it before the catalogue shows it, and a changed name, description,
price or tax rate sends it back for approval (stock alone does not). An order is one transaction
(:func:`place_order`): the resident's signed payment approval is used
(:func:`server.approvals.take_payment`), stock is taken by a conditional ``UPDATE`` in product-id
order (never below zero; rows locked in one order on PostgreSQL), and the points are paid from the
site's programs, the soonest-expiring lots first, by ``order_points`` transfers to each
**supplying** merchant's receivable. The order id is registered as an operation of kind ``order``.

A cancel before any line ships reverses those transfers (``void``, operation ``order_cancel``,
the lots drawn restored) and puts the stock back, once: the order row's status changes by a
conditional ``UPDATE`` first, so a cancel sent ten times at once moves points once. A refund of a
shipped line gives points back (``order_return``, operation ``order_refund``) as a new lot
expiring when the latest lot the order drew in that program did, at most the line's amount in all,
each refund id once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from points import calendar
from points.settlement import online_fee
from server import db, ledger
from server.auth import Principal
from server.errors import ApiError

MAX_PHOTO_BYTES = 2 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png")
_MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


def fingerprint(principal_id: str, body: dict[str, Any]) -> str:
    """The idempotency fingerprint of a request body: its sender and its canonical JSON."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(principal_id.encode() + b"\n" + text.encode()).hexdigest()


# Shops --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shop:
    """An online shop (a site) as orders need it."""

    id: str
    name: str
    merchant_id: str
    city_id: str
    programs: tuple[str, ...]


def shop(conn: sqlite3.Connection, shop_id: str) -> Shop:
    """The online shop ``shop_id``.

    Raises:
        ApiError: ``not_found``.
    """
    row = conn.execute(
        "SELECT id, name, merchant_id, city_id FROM online_shops WHERE id = ?", (shop_id,)
    ).fetchone()
    if row is None:
        raise ApiError("not_found", f"shop {shop_id}")
    programs = tuple(
        r[0]
        for r in conn.execute(
            "SELECT program_id FROM online_shop_programs WHERE shop_id = ? ORDER BY program_id", (shop_id,)
        )
    )
    return Shop(row[0], row[1], row[2], row[3], programs)


def _shop_of(principal: Principal) -> str:
    shop_id = principal.shop_id
    if principal.role != "online_shop" or shop_id is None:
        raise ApiError("forbidden", "only an online shop")
    return str(shop_id)


def _account_of(principal: Principal) -> str:
    number = principal.account_number
    if principal.role != "resident" or number is None:
        raise ApiError("forbidden", "only a signed-in resident")
    return str(number)


# Products -----------------------------------------------------------------------------

_PRODUCT = (
    "SELECT p.product_id, p.shop_id, p.merchant_id, m.name, p.name, p.description, p.price, p.tax_rate,"
    " p.stock, p.status, p.updated_at, (SELECT COUNT(*) FROM shop_product_photos f"
    " WHERE f.product_id = p.product_id) FROM shop_products p JOIN merchants m ON m.id = p.merchant_id"
)


def _product(row: Any) -> dict[str, Any]:
    return {
        "product_id": row[0],
        "shop_id": row[1],
        "merchant_id": row[2],
        "merchant_name": row[3],
        "name": row[4],
        "description": row[5],
        "price": int(row[6]),
        "tax_rate": int(row[7]),
        "stock": int(row[8]),
        "status": row[9],
        "has_photo": bool(row[11]),
        "updated_at": row[10],
    }


def products(conn: sqlite3.Connection, principal: Principal) -> list[dict[str, Any]]:
    """The products a principal sees: a site its approved ones, a merchant its own, a city its shops'."""
    if principal.role == "online_shop":
        where, args = "p.shop_id = ? AND p.status = 'approved'", [_shop_of(principal)]
    elif principal.role == "merchant":
        where, args = "p.merchant_id = ?", [str(principal.merchant_id)]
    elif principal.role == "city":
        where = "p.shop_id IN (SELECT id FROM online_shops WHERE city_id = ?)"
        args = [str(principal.city_id)]
    elif principal.is_admin:
        where, args = "1 = 1", []
    else:
        raise ApiError("forbidden")
    rows = conn.execute(f"{_PRODUCT} WHERE {where} ORDER BY p.shop_id, p.product_id", args).fetchall()
    return [_product(r) for r in rows]


def product(conn: sqlite3.Connection, product_id: str) -> dict[str, Any] | None:
    """One product as stored, or ``None``."""
    row = conn.execute(f"{_PRODUCT} WHERE p.product_id = ?", (product_id,)).fetchone()
    return None if row is None else _product(row)


def _check_product_body(body: dict[str, Any]) -> None:
    name, description = body.get("name"), body.get("description", "")
    price, rate, stock = body.get("price"), body.get("tax_rate"), body.get("stock")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise ApiError("invalid_request", "name: 1 to 100 characters")
    if not isinstance(description, str) or len(description) > 2000:
        raise ApiError("invalid_request", "description: at most 2000 characters")
    for label, value, low, high in (("price", price, 1, 10_000_000), ("stock", stock, 0, 1_000_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ApiError("invalid_request", f"{label}: an integer from {low} to {high}")
    if rate not in (8, 10) or isinstance(rate, bool):
        raise ApiError("invalid_request", "tax_rate: 8 or 10")
    if not isinstance(body.get("shop_id"), str):
        raise ApiError("invalid_request", "shop_id")


def put_product(
    conn: sqlite3.Connection, principal: Principal, product_id: str, body: dict[str, Any], now: dt.datetime
) -> tuple[dict[str, Any], bool]:
    """Create or edit a merchant's own product; True when it is new.

    Raises:
        ApiError: ``forbidden`` (not a merchant, or another merchant's product, or a shop of another
            city than ...), ``not_found`` (unknown shop), ``invalid_request``.
    """
    if principal.role != "merchant" or principal.merchant_id is None:
        raise ApiError("forbidden", "only the supplying merchant")
    _check_product_body(body)
    shop(conn, body["shop_id"])
    stamp = ledger.iso(now)
    row = conn.execute(
        "SELECT merchant_id, shop_id, name, description, price, tax_rate, status FROM shop_products"
        " WHERE product_id = ?",
        (product_id,),
    ).fetchone()
    fields = (body["name"].strip(), body.get("description", ""), body["price"], body["tax_rate"])
    if row is None:
        inserted = conn.execute(
            "INSERT OR IGNORE INTO shop_products(product_id, shop_id, merchant_id, name, description, price,"
            " tax_rate, stock, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " 'pending', ?, ?)",
            (product_id, body["shop_id"], principal.merchant_id, *fields, body["stock"], stamp, stamp),
        ).rowcount
        if inserted == 0:
            raise db.Retry(f"product {product_id} was made meanwhile")
        found = product(conn, product_id)
        assert found is not None
        return found, True
    if row[0] != principal.merchant_id:
        raise ApiError("forbidden", "another merchant's product")
    if row[1] != body["shop_id"]:
        raise ApiError("invalid_request", "a product stays on its shop")
    changed = tuple(row[2:6]) != fields
    status = "pending" if changed else row[6]
    conn.execute(
        "UPDATE shop_products SET name = ?, description = ?, price = ?, tax_rate = ?, stock = ?, status = ?,"
        " updated_at = ? WHERE product_id = ?",
        (*fields, body["stock"], status, stamp, product_id),
    )
    found = product(conn, product_id)
    assert found is not None
    return found, False


def put_photo(
    conn: sqlite3.Connection, principal: Principal, product_id: str, content_type: str, data: bytes,
    now: dt.datetime,
) -> None:  # fmt: skip
    """Store a product's photo (JPEG or PNG, at most 2 MB), the merchant's own product only.

    Raises:
        ApiError: ``forbidden``, ``not_found``, ``invalid_request`` (type, size or content).
    """
    owner = conn.execute(
        "SELECT merchant_id FROM shop_products WHERE product_id = ?", (product_id,)
    ).fetchone()
    if owner is None:
        raise ApiError("not_found", f"product {product_id}")
    if principal.role != "merchant" or owner[0] != principal.merchant_id:
        raise ApiError("forbidden", "another merchant's product")
    if content_type not in PHOTO_TYPES or not data.startswith(_MAGIC[content_type]):
        raise ApiError("invalid_request", "a photo is a JPEG or PNG image")
    if len(data) > MAX_PHOTO_BYTES:
        raise ApiError("invalid_request", "a photo is at most 2 MB")
    conn.execute(
        "INSERT INTO shop_product_photos(product_id, content_type, data, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(product_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,"
        " updated_at = excluded.updated_at",
        (product_id, content_type, base64.b64encode(data).decode(), ledger.iso(now)),
    )


def photo(conn: sqlite3.Connection, product_id: str) -> tuple[str, bytes] | None:
    """A product's photo (type and bytes), or ``None``."""
    row = conn.execute(
        "SELECT content_type, data FROM shop_product_photos WHERE product_id = ?", (product_id,)
    ).fetchone()
    return None if row is None else (str(row[0]), base64.b64decode(row[1]))


def review(
    conn: sqlite3.Connection, principal: Principal, product_id: str, approve: bool, now: dt.datetime
) -> dict[str, Any]:
    """The city of the product's shop approves or rejects it.

    Raises:
        ApiError: ``not_found``, ``forbidden`` (another city's shop).
    """
    row = conn.execute(
        "SELECT s.city_id FROM shop_products p JOIN online_shops s ON s.id = p.shop_id WHERE"
        " p.product_id = ?",
        (product_id,),
    ).fetchone()
    if row is None:
        raise ApiError("not_found", f"product {product_id}")
    if not (principal.role in ("city", "admin") and principal.owns_city(row[0])):
        raise ApiError("forbidden", "another city's shop")
    conn.execute(
        "UPDATE shop_products SET status = ?, reviewed_by = ?, updated_at = ? WHERE product_id = ?",
        ("approved" if approve else "rejected", principal.id, ledger.iso(now), product_id),
    )
    found = product(conn, product_id)
    assert found is not None
    return found


# Orders -------------------------------------------------------------------------------


def _order(conn: sqlite3.Connection, order_id: str, merchant_id: str | None = None) -> dict[str, Any]:
    row = conn.execute(
        "SELECT order_id, shop_id, status, placed_at, total, points, account_number FROM shop_orders"
        " WHERE order_id = ?",
        (order_id,),
    ).fetchone()
    lines = conn.execute(
        "SELECT l.line_no, l.product_id, l.merchant_id, m.name, l.name, l.quantity, l.unit_price, l.amount,"
        " l.tax_rate, l.status, l.tracking_number, l.refunded FROM shop_order_lines l"
        " JOIN merchants m ON m.id = l.merchant_id WHERE l.order_id = ? ORDER BY l.line_no",
        (order_id,),
    ).fetchall()
    keys = (
        "line_no", "product_id", "merchant_id", "merchant_name", "name", "quantity", "unit_price", "amount",
        "tax_rate", "status", "tracking_number", "refunded",
    )  # fmt: skip
    return {
        "order_id": row[0],
        "shop_id": row[1],
        "status": row[2],
        "placed_at": row[3],
        "total": int(row[4]),
        "points": json.loads(row[5]),
        "lines": [
            dict(zip(keys, tuple(line), strict=True))
            for line in lines
            if merchant_id is None or line[2] == merchant_id
        ],
    }


def _visible(conn: sqlite3.Connection, principal: Principal, order_id: str) -> dict[str, Any]:
    """An order the principal may see (a merchant only its own lines).

    Raises:
        ApiError: ``not_found`` for an unknown order or one the principal has nothing to do with.
    """
    row = conn.execute(
        "SELECT shop_id, account_number FROM shop_orders WHERE order_id = ?", (order_id,)
    ).fetchone()
    if row is None:
        raise ApiError("not_found", f"order {order_id}")
    shop_id, number = row
    role = principal.role
    if role == "resident" and number == principal.account_number:
        return _order(conn, order_id)
    if role == "online_shop" and shop_id == principal.shop_id:
        return _order(conn, order_id)
    if role == "merchant":
        mine = conn.execute(
            "SELECT 1 FROM shop_order_lines WHERE order_id = ? AND merchant_id = ? LIMIT 1",
            (order_id, principal.merchant_id),
        ).fetchone()
        if mine:
            return _order(conn, order_id, principal.merchant_id)
    if role in ("city", "admin"):
        city = conn.execute("SELECT city_id FROM online_shops WHERE id = ?", (shop_id,)).fetchone()
        if city is not None and principal.owns_city(city[0]):
            return _order(conn, order_id)
    raise ApiError("not_found", f"order {order_id}")


def order(conn: sqlite3.Connection, principal: Principal, order_id: str) -> dict[str, Any]:
    """One order as the principal may see it."""
    return _visible(conn, principal, order_id)


def orders(conn: sqlite3.Connection, principal: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """The orders a principal sees, newest first."""
    if principal.role == "resident":
        sql, args = "SELECT order_id FROM shop_orders WHERE account_number = ?", [_account_of(principal)]
    elif principal.role == "online_shop":
        sql, args = "SELECT order_id FROM shop_orders WHERE shop_id = ?", [_shop_of(principal)]
    elif principal.role == "merchant":
        sql = (
            "SELECT order_id FROM shop_orders WHERE order_id IN"
            " (SELECT order_id FROM shop_order_lines WHERE merchant_id = ?)"
        )
        args = [str(principal.merchant_id)]
    elif principal.role == "city":
        sql = (
            "SELECT order_id FROM shop_orders"
            " WHERE shop_id IN (SELECT id FROM online_shops WHERE city_id = ?)"
        )
        args = [str(principal.city_id)]
    elif principal.is_admin:
        sql, args = "SELECT order_id FROM shop_orders WHERE 1 = 1", []
    else:
        raise ApiError("forbidden")
    ids = [
        r[0] for r in conn.execute(f"{sql} ORDER BY placed_at DESC, order_id DESC LIMIT ?", [*args, limit])
    ]
    merchant = principal.merchant_id if principal.role == "merchant" else None
    return [_order(conn, i, merchant) for i in ids]


def _lines_of(body: dict[str, Any]) -> list[tuple[str, int]]:
    lines = body.get("lines")
    if not isinstance(lines, list) or not 1 <= len(lines) <= 50:
        raise ApiError("invalid_request", "lines: 1 to 50")
    out: list[tuple[str, int]] = []
    for line in lines:
        if not isinstance(line, dict):
            raise ApiError("invalid_request", "a line is {product_id, quantity}")
        product_id, quantity = line.get("product_id"), line.get("quantity")
        if not isinstance(product_id, str) or isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ApiError("invalid_request", "a line is {product_id, quantity}")
        if not 1 <= quantity <= 99:
            raise ApiError("invalid_request", "quantity: 1 to 99")
        out.append((product_id, quantity))
    return out


def quote(conn: sqlite3.Connection, shop_id: str, body: dict[str, Any]) -> int:
    """The total of an order's lines at today's prices (what the payment approval must be for).

    Raises:
        ApiError: ``invalid_request``, ``not_found`` (a product not approved on this shop).
    """
    total = 0
    for product_id, quantity in _lines_of(body):
        row = conn.execute(
            "SELECT price FROM shop_products WHERE product_id = ? AND shop_id = ? AND status = 'approved'",
            (product_id, shop_id),
        ).fetchone()
        if row is None:
            raise ApiError("not_found", f"product {product_id}")
        total += int(row[0]) * quantity
    return total


def place_order(
    conn: sqlite3.Connection, principal: Principal, body: dict[str, Any], now: dt.datetime
) -> tuple[dict[str, Any], bool]:
    """Place an order in one transaction (the writer's savepoint undoes a refusal); True when new.

    Raises:
        ApiError: ``idempotency_mismatch``, ``not_found``, ``out_of_stock``, ``insufficient_points``,
            ``approval_invalid`` and the approval's refusals, ``invalid_request``.
    """
    shop_id = _shop_of(principal)
    order_id, approval_id = body.get("order_id"), body.get("approval_id")
    if not isinstance(order_id, str) or not isinstance(approval_id, str):
        raise ApiError("invalid_request", "order_id and approval_id")
    hashed = fingerprint(principal.id, body)
    known = conn.execute("SELECT request_hash FROM shop_orders WHERE order_id = ?", (order_id,)).fetchone()
    if known is not None:
        if known[0] != hashed:
            raise ApiError("idempotency_mismatch", f"order {order_id}")
        return _order(conn, order_id), False
    wanted = _lines_of(body)
    site = shop(conn, shop_id)
    ledger.register_operation(conn, "order", order_id, shop_id, now)
    lines: list[dict[str, Any]] = []
    per_product: dict[str, int] = {}
    for line_no, (product_id, quantity) in enumerate(wanted, start=1):
        row = conn.execute(
            "SELECT merchant_id, name, price, tax_rate FROM shop_products"
            " WHERE product_id = ? AND shop_id = ? AND status = 'approved'",
            (product_id, shop_id),
        ).fetchone()
        if row is None:
            raise ApiError("not_found", f"product {product_id}")
        lines.append(
            {"line_no": line_no, "product_id": product_id, "merchant_id": row[0], "name": row[1],
             "quantity": quantity, "unit_price": int(row[2]), "amount": int(row[2]) * quantity,
             "tax_rate": int(row[3])}
        )  # fmt: skip
        per_product[product_id] = per_product.get(product_id, 0) + quantity
    total = sum(line["amount"] for line in lines)
    from server import approvals  # the card approvals (device flow), built beside this module

    _card_key, number = approvals.take_payment(conn, approval_id, shop_id, order_id, total, now)
    # Stock first, in product-id order: two orders lock the same rows in the same order.
    for product_id in sorted(per_product):
        taken = conn.execute(
            "UPDATE shop_products SET stock = stock - ? WHERE product_id = ? AND stock >= ?",
            (per_product[product_id], product_id, per_product[product_id]),
        ).rowcount
        if taken != 1:
            raise ApiError("out_of_stock", f"product {product_id}")
    paid = _pay(conn, site, str(number), order_id, lines, total, now)
    stamp = ledger.iso(now)
    conn.execute(
        "INSERT INTO shop_orders(order_id, shop_id, account_number, approval_id, request_hash, status, total,"
        " points, placed_at) VALUES (?, ?, ?, ?, ?, 'paid', ?, ?, ?)",
        (order_id, shop_id, number, approval_id, hashed, total, json.dumps(paid), stamp),
    )
    conn.executemany(
        "INSERT INTO shop_order_lines(order_id, line_no, product_id, merchant_id, name, quantity, unit_price,"
        " amount, tax_rate, points, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'paid')",
        [
            (order_id, x["line_no"], x["product_id"], x["merchant_id"], x["name"], x["quantity"],
             x["unit_price"], x["amount"], x["tax_rate"], json.dumps(x["points"]))
            for x in lines
        ],
    )  # fmt: skip
    return _order(conn, order_id), True


def _pay(
    conn: sqlite3.Connection,
    site: Shop,
    number: str,
    order_id: str,
    lines: list[dict[str, Any]],
    total: int,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Pay ``total`` from the site's programs, soonest-expiring lots first; each line's share noted."""
    if not site.programs:
        raise ApiError("insufficient_points", "the shop accepts no program")
    today = ledger.business_date(now)
    residents = {p: ledger.account(conn, "resident", number, p) for p in site.programs}
    merchants = {
        (p, m): ledger.account(conn, "merchant", m, p)
        for p in site.programs
        for m in sorted({x["merchant_id"] for x in lines})
    }
    ledger.lock_accounts(conn, [*residents.values(), *merchants.values()])
    marks = ", ".join("?" * len(residents))
    lots = conn.execute(
        f"SELECT l.account_id, l.remaining FROM lots l WHERE l.account_id IN ({marks}) AND l.remaining > 0"
        f" AND l.expires_on >= ? ORDER BY l.expires_on, l.id",
        [*residents.values(), today.isoformat()],
    ).fetchall()
    program_of = {a: p for p, a in residents.items()}
    plan: dict[str, int] = {}  # program → points, in the order its first lot expires
    left = total
    for account_id, remaining in lots:
        if left == 0:
            break
        take = min(left, int(remaining))
        plan[program_of[account_id]] = plan.get(program_of[account_id], 0) + take
        left -= take
    if left > 0:
        raise ApiError("insufficient_points", f"{total - left} of {total} points")
    # Lines take the programs in that order: each (program, supplying merchant) is one transfer.
    chunks = [[p, n] for p, n in plan.items()]
    moves: dict[tuple[str, str], int] = {}
    index = 0
    for line in lines:
        due, share = line["amount"], []
        while due > 0:
            program_id, available = chunks[index]
            take = min(due, available)
            share.append({"program_id": program_id, "points": take})
            key = (program_id, line["merchant_id"])
            moves[key] = moves.get(key, 0) + take
            chunks[index][1] = available - take
            due -= take
            if chunks[index][1] == 0:
                index += 1
        line["points"] = share
    for (program_id, merchant_id), points in moves.items():
        ledger.spend(
            conn,
            kind="order_points",
            program_id=program_id,
            resident=residents[program_id],
            credit=merchants[program_id, merchant_id],
            amount=points,
            now=now,
            sale_id=order_id,
            merchant_id=merchant_id,
            op_kind="order",
        )
    return [{"program_id": p, "points": n} for p, n in plan.items()]


def cancel(conn: sqlite3.Connection, principal: Principal, order_id: str, now: dt.datetime) -> dict[str, Any]:
    """Cancel an order before any line ships: points back once, stock released (again: the same answer).

    Raises:
        ApiError: ``not_found``, ``forbidden``, ``order_shipped``.
    """
    row = conn.execute(
        "SELECT shop_id, account_number, status FROM shop_orders WHERE order_id = ?", (order_id,)
    ).fetchone()
    if row is None:
        raise ApiError("not_found", f"order {order_id}")
    owner = (principal.role == "resident" and principal.account_number == row[1]) or (
        principal.role == "online_shop" and principal.shop_id == row[0]
    )
    if not owner:
        raise ApiError("not_found", f"order {order_id}")
    # The status changes first, by a conditional UPDATE: it locks the order's row, so of ten cancels at
    # once one moves the points and the others find it cancelled.
    changed = conn.execute(
        "UPDATE shop_orders SET status = 'cancelled', cancelled_at = ?, cancelled_by = ?"
        " WHERE order_id = ? AND status = 'paid'"
        " AND NOT EXISTS (SELECT 1 FROM shop_order_lines WHERE order_id = ? AND status = 'shipped')",
        (ledger.iso(now), principal.id, order_id, order_id),
    ).rowcount
    if changed != 1:
        status = conn.execute("SELECT status FROM shop_orders WHERE order_id = ?", (order_id,)).fetchone()[0]
        if status == "cancelled":
            return _order(conn, order_id)
        raise ApiError("order_shipped", f"order {order_id}")
    originals = ledger.transfers_of(conn, order_id, "order")
    ledger.lock_accounts(conn, [a for t in originals for a in (t.debit_account_id, t.credit_account_id)])
    for transfer in originals:
        ledger.reverse(conn, transfer, now, op_kind="order_cancel")
    quantities: dict[str, int] = {}
    for product_id, quantity in conn.execute(
        "SELECT product_id, quantity FROM shop_order_lines WHERE order_id = ?", (order_id,)
    ):
        quantities[product_id] = quantities.get(product_id, 0) + int(quantity)
    for product_id in sorted(quantities):
        conn.execute(
            "UPDATE shop_products SET stock = stock + ? WHERE product_id = ?",
            (quantities[product_id], product_id),
        )
    conn.execute("UPDATE shop_order_lines SET status = 'cancelled' WHERE order_id = ?", (order_id,))
    return _order(conn, order_id)


def _merchant_line(conn: sqlite3.Connection, principal: Principal, order_id: str, line_no: int) -> Any:
    row = conn.execute(
        "SELECT merchant_id, status, tracking_number, amount, refunded, points FROM shop_order_lines"
        " WHERE order_id = ? AND line_no = ?",
        (order_id, line_no),
    ).fetchone()
    if row is None or principal.role != "merchant" or row[0] != principal.merchant_id:
        raise ApiError("not_found", f"order {order_id} line {line_no}")
    return row


def _lock_order(conn: sqlite3.Connection, order_id: str) -> str:
    # Ship, accept and cancel take the order's row first (PostgreSQL: a row lock), so a cancel and a
    # ship never both succeed.
    conn.execute("UPDATE shop_orders SET status = status WHERE order_id = ?", (order_id,))
    return str(conn.execute("SELECT status FROM shop_orders WHERE order_id = ?", (order_id,)).fetchone()[0])


def accept(
    conn: sqlite3.Connection, principal: Principal, order_id: str, line_no: int, now: dt.datetime
) -> dict[str, Any]:
    """The line's merchant accepts it (again: the same answer).

    Raises:
        ApiError: ``not_found``, ``order_cancelled``.
    """
    row = _merchant_line(conn, principal, order_id, line_no)
    if _lock_order(conn, order_id) == "cancelled":
        raise ApiError("order_cancelled", f"order {order_id}")
    if row[1] == "paid":
        conn.execute(
            "UPDATE shop_order_lines SET status = 'accepted' WHERE order_id = ? AND line_no = ? AND"
            " status = 'paid'",
            (order_id, line_no),
        )
    return _order(conn, order_id, principal.merchant_id)


def ship(
    conn: sqlite3.Connection, principal: Principal, order_id: str, line_no: int, tracking: str,
    now: dt.datetime,
) -> dict[str, Any]:  # fmt: skip
    """The line's merchant ships it with a tracking number; the order is then partly shipped or shipped.

    Raises:
        ApiError: ``not_found``, ``order_cancelled``, ``invalid_request`` (tracking number).
    """
    if not isinstance(tracking, str) or not 1 <= len(tracking.strip()) <= 64:
        raise ApiError("invalid_request", "tracking_number: 1 to 64 characters")
    row = _merchant_line(conn, principal, order_id, line_no)
    if _lock_order(conn, order_id) == "cancelled":
        raise ApiError("order_cancelled", f"order {order_id}")
    if row[1] != "shipped":
        conn.execute(
            "UPDATE shop_order_lines SET status = 'shipped', tracking_number = ?, shipped_at = ?"
            " WHERE order_id = ? AND line_no = ?",
            (tracking.strip(), ledger.iso(now), order_id, line_no),
        )
        left = conn.execute(
            "SELECT COUNT(*) FROM shop_order_lines WHERE order_id = ? AND status != 'shipped'", (order_id,)
        ).fetchone()[0]
        conn.execute(
            "UPDATE shop_orders SET status = ? WHERE order_id = ?",
            ("shipped" if left == 0 else "partly_shipped", order_id),
        )
    return _order(conn, order_id, principal.merchant_id)


def refund(
    conn: sqlite3.Connection,
    principal: Principal,
    order_id: str,
    line_no: int,
    body: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    """A partial refund of a shipped line, once per refund id, at most the line's amount in all.

    Raises:
        ApiError: ``not_found``, ``idempotency_mismatch``, ``refund_exceeds_line``,
            ``order_not_shipped``, ``invalid_request``.
    """
    refund_id, amount = body.get("refund_id"), body.get("amount")
    if not isinstance(refund_id, str) or not 1 <= len(refund_id) <= 64:
        raise ApiError("invalid_request", "refund_id")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ApiError("invalid_request", "amount: a positive integer")
    line = conn.execute(
        "SELECT l.merchant_id, l.status, l.amount, l.points, o.shop_id, o.account_number FROM"
        " shop_order_lines l"
        " JOIN shop_orders o ON o.order_id = l.order_id WHERE l.order_id = ? AND l.line_no = ?",
        (order_id, line_no),
    ).fetchone()
    if line is None:
        raise ApiError("not_found", f"order {order_id} line {line_no}")
    merchant_id, status, line_amount, line_points, shop_id, number = line
    if not (
        (principal.role == "merchant" and principal.merchant_id == merchant_id)
        or (principal.role == "online_shop" and principal.shop_id == shop_id)
    ):
        raise ApiError("not_found", f"order {order_id} line {line_no}")
    view = principal.merchant_id if principal.role == "merchant" else None
    hashed = fingerprint(f"{order_id}/{line_no}", body)
    # The refund id is claimed first (a unique key: ten at once wait on it, one inserts).
    claimed = conn.execute(
        "INSERT OR IGNORE INTO shop_refunds(refund_id, order_id, line_no, amount, points, request_hash,"
        " refunded_by, created_at) VALUES (?, ?, ?, ?, '[]', ?, ?, ?)",
        (refund_id, order_id, line_no, amount, hashed, principal.id, ledger.iso(now)),
    ).rowcount
    if claimed != 1:
        known = conn.execute(
            "SELECT request_hash FROM shop_refunds WHERE refund_id = ?", (refund_id,)
        ).fetchone()
        if known is None:
            raise db.Retry(f"refund {refund_id} was claimed and rolled back meanwhile")
        if known[0] != hashed:
            raise ApiError("idempotency_mismatch", f"refund {refund_id}")
        return _order(conn, order_id, view)
    if status != "shipped":
        raise ApiError("order_not_shipped", f"order {order_id} line {line_no}")
    grown = conn.execute(
        "UPDATE shop_order_lines SET refunded = refunded + ? WHERE order_id = ? AND line_no = ?"
        " AND refunded + ? <= amount",
        (amount, order_id, line_no, amount),
    ).rowcount
    if grown != 1:
        raise ApiError("refund_exceeds_line", f"at most {line_amount} yen in all")
    # What this line's earlier refunds gave back per program; this one takes from what is left.
    given: dict[str, int] = {}
    for (text,) in conn.execute(
        "SELECT points FROM shop_refunds WHERE order_id = ? AND line_no = ? AND refund_id != ?",
        (order_id, line_no, refund_id),
    ):
        for part in json.loads(text):
            given[part["program_id"]] = given.get(part["program_id"], 0) + int(part["points"])
    parts: list[dict[str, Any]] = []
    due = amount
    for part in json.loads(line_points):
        left = int(part["points"]) - given.get(part["program_id"], 0)
        take = min(due, left)
        if take > 0:
            parts.append({"program_id": part["program_id"], "points": take})
            due -= take
    assert due == 0, "a line's refunds never exceed its points"
    today = ledger.business_date(now)
    accounts = {
        p["program_id"]: (
            ledger.account(conn, "merchant", merchant_id, p["program_id"]),
            ledger.account(conn, "resident", number, p["program_id"]),
        )
        for p in parts
    }
    ledger.lock_accounts(conn, [a for pair in accounts.values() for a in pair])
    for part in parts:
        program_id = part["program_id"]
        debit, resident = accounts[program_id]
        ledger.earn(
            conn,
            kind="order_return",
            program_id=program_id,
            debit=debit,
            resident=resident,
            amount=part["points"],
            expires_on=_refund_expiry(conn, order_id, resident, today),
            now=now,
            sale_id=order_id,
            merchant_id=merchant_id,
            op_kind="order_refund",
        )
    conn.execute("UPDATE shop_refunds SET points = ? WHERE refund_id = ?", (json.dumps(parts), refund_id))
    return _order(conn, order_id, view)


def _refund_expiry(conn: sqlite3.Connection, order_id: str, account_id: int, today: dt.date) -> dt.date:
    # The latest lot the order drew in this program: the points were the resident's until then.
    row = conn.execute(
        "SELECT MAX(l.expires_on) FROM transfers t JOIN lot_draws d ON d.transfer_id = t.id"
        " JOIN lots l ON l.id = d.lot_id WHERE t.sale_id = ? AND t.op_kind = 'order' AND"
        " t.debit_account_id = ?",
        (order_id, account_id),
    ).fetchone()
    found = dt.date.fromisoformat(row[0]) if row and row[0] else today
    return max(found, today)


# What a merchant will be paid ---------------------------------------------------------


def payable(conn: sqlite3.Connection, principal: Principal, period_id: str) -> dict[str, Any]:
    """A merchant's online sales of a month per program: gross, the program's fee share, net.

    Raises:
        ApiError: ``forbidden`` (not a merchant), ``invalid_request`` (not ``YYYY-MM``).
    """
    if principal.role != "merchant" or principal.merchant_id is None:
        raise ApiError("forbidden", "only a merchant")
    period = _month(period_id)
    rows = conn.execute(
        "SELECT t.program_id, p.online_fee_bp, SUM(CASE WHEN t.kind = 'order_points' THEN t.amount"
        " ELSE -t.amount END) FROM transfers t JOIN programs p ON p.id = t.program_id"
        " WHERE t.merchant_id = ? AND t.op_kind IN ('order', 'order_cancel', 'order_refund')"
        " AND t.created_at >= ? AND t.created_at < ? GROUP BY t.program_id, p.online_fee_bp ORDER"
        " BY t.program_id",
        (principal.merchant_id, period.starts_at, period.ends_at),
    ).fetchall()
    return _fee_statement(period, rows, ("program_id",))


def fees(conn: sqlite3.Connection, principal: Principal, period_id: str) -> dict[str, Any]:
    """A city's online sales of a month per supplying merchant and program: gross, its fee share, net.

    Raises:
        ApiError: ``forbidden`` (not a city), ``invalid_request`` (not ``YYYY-MM``).
    """
    if principal.role != "city" or principal.city_id is None:
        raise ApiError("forbidden", "only a city")
    period = _month(period_id)
    rows = conn.execute(
        "SELECT t.merchant_id, m.name, t.program_id, p.online_fee_bp,"
        " SUM(CASE WHEN t.kind = 'order_points' THEN t.amount ELSE -t.amount END)"
        " FROM transfers t JOIN programs p ON p.id = t.program_id JOIN merchants m ON m.id = t.merchant_id"
        " WHERE p.city_id = ? AND t.op_kind IN ('order', 'order_cancel', 'order_refund')"
        " AND t.created_at >= ? AND t.created_at < ?"
        " GROUP BY t.merchant_id, m.name, t.program_id, p.online_fee_bp ORDER BY t.merchant_id, t.program_id",
        (principal.city_id, period.starts_at, period.ends_at),
    ).fetchall()
    return _fee_statement(period, rows, ("merchant_id", "merchant_name", "program_id"))


def _month(period_id: str) -> calendar.Period:
    try:
        return calendar.parse_period(period_id)
    except calendar.PeriodError:
        raise ApiError("invalid_request", "period: YYYY-MM") from None


def _fee_statement(period: calendar.Period, rows: list[Any], keys: tuple[str, ...]) -> dict[str, Any]:
    # Each row is its ``keys`` columns, then the program's fee share (basis points) and the month's gross;
    # no fee is taken on a gross below zero.
    lines = []
    for *named, fee_bp, gross in rows:
        fee = online_fee(max(int(gross), 0), int(fee_bp)).yen
        lines.append(
            {**dict(zip(keys, named, strict=True)),
             "fee_bp": int(fee_bp), "gross": int(gross), "fee": fee, "net": int(gross) - fee}
        )  # fmt: skip
    return {
        "period": period.id,
        "gross": sum(x["gross"] for x in lines),
        "fee": sum(x["fee"] for x in lines),
        "net": sum(x["net"] for x in lines),
        "lines": lines,
    }


def problems(conn: sqlite3.Connection) -> list[str]:
    """Each order's transfers against the order (for :func:`server.ledger.check`; empty: consistent).

    An order's ``order_points`` move its total; a cancelled order's are all reversed, another's none;
    its ``order_return`` transfers move what its refunds say; no line is refunded beyond its amount.
    """
    found: list[str] = []
    for order_id, total, status, moved, reversed_count, count in conn.execute(
        "SELECT o.order_id, o.total, o.status, COALESCE(SUM(t.amount), 0),"
        " SUM(CASE WHEN EXISTS (SELECT 1 FROM transfers v WHERE v.reverses_id = t.id) THEN 1 ELSE 0 END),"
        " COUNT(t.id) FROM shop_orders o LEFT JOIN transfers t ON t.sale_id = o.order_id AND"
        " t.op_kind = 'order'"
        " GROUP BY o.order_id, o.total, o.status ORDER BY o.order_id"
    ):
        if int(moved) != int(total):
            found.append(f"order {order_id} is of {total} points but its transfers move {moved}")
        expected = count if status == "cancelled" else 0
        if int(reversed_count or 0) != int(expected):
            found.append(
                f"order {order_id} is {status} but {reversed_count} of its {count} transfers are reversed"
            )
    for order_id, refunded, moved in conn.execute(
        "SELECT r.order_id, r.refunded, COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.sale_id ="
        " r.order_id AND t.op_kind = 'order_refund'), 0) FROM (SELECT order_id, SUM(amount) AS refunded"
        " FROM shop_refunds GROUP BY order_id) r ORDER BY r.order_id"
    ):
        if int(refunded) != int(moved):
            found.append(f"order {order_id} refunded {refunded} but its transfers give back {moved}")
    return found
