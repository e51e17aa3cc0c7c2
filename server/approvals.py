"""Online shops and card approvals: a resident signs in or pays on a city's site with the card (issue 15).

The device flow of RFC 8628, as ``docs/dev/online-api.md`` describes it: the site (an
``online_shop`` principal) asks for an approval and shows the resident its user code; the
resident's card helper looks the code up (no token), shows the site's name and origin and what
is asked, reads the card, asks the PIN itself and sends the card's signature over the approval's
own challenge; the site polls with the approval's device secret and sees the outcome. A signed
sign-in gives the site a resident session (its token shown once, stored hashed); a signed payment
is used once by the order that names it (:func:`take_payment`). The PIN never reaches the site
or the server: the card checks it and signs.

A user code is 8 characters of :data:`server.residents.ALPHABET` (no 0/O, 1/I/L), shown
``XXXX-XXXX``, single use and valid for :data:`APPROVAL_SECONDS`. Looking codes up and signing are
rate-limited per client address and per code (:class:`Limits`, in the server process's memory:
each worker of ``serve --workers N`` counts on its own).

Tables (:mod:`server.schema`, migration 10): ``online_shops``, ``online_shop_programs``,
``approvals``, ``resident_sessions``; an approval's challenge is a row of ``challenges`` whose
``terminal_id`` is ``approval:<approval_id>``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
import sqlite3
import time
from collections import deque
from dataclasses import dataclass, field

from cryptography import x509

from points.wire import PinProof
from server import cards, ledger, residents
from server.auth import RESIDENT_TOKEN_PREFIX, SESSION_LIFETIME, hash_token
from server.errors import ApiError

#: How long a user code may be looked up and signed, and a signed approval used (seconds).
APPROVAL_SECONDS = 300
#: How often the site should poll (seconds).
POLL_INTERVAL_S = 2
#: Per client address: at most this many look-ups and signatures a minute.
PER_ADDRESS_PER_MINUTE = 20
#: Per user code (right or wrong): at most this many look-ups and signatures in all (5 minutes).
PER_CODE = 10
_TYPED = re.compile(r"[\s\-]")


# Online shops -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnlineShop:
    """A site: who runs it, its city, its origin and the programs it accepts."""

    id: str
    name: str
    merchant_id: str
    city_id: str
    origin: str
    programs: tuple[str, ...]


def add_shop(
    conn: sqlite3.Connection,
    shop_id: str,
    name: str,
    *,
    merchant_id: str,
    city_id: str,
    origin: str,
    programs: list[str],
    now: dt.datetime,
) -> OnlineShop:
    """Register an online shop (``mykey-server shop create``); its programs replace any before.

    Raises:
        ValueError: the origin is not ``http(s)://host[:port]``, or a program is unknown.
    """
    if re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?", origin) is None:
        raise ValueError(f"origin {origin!r} is not scheme://host[:port]")
    for program_id in programs:
        if conn.execute("SELECT 1 FROM programs WHERE id = ?", (program_id,)).fetchone() is None:
            raise ValueError(f"unknown program {program_id}")
    conn.execute(
        "INSERT INTO online_shops(id, name, merchant_id, city_id, origin, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET name = excluded.name, merchant_id = excluded.merchant_id,"
        " city_id = excluded.city_id, origin = excluded.origin",
        (shop_id, name, merchant_id, city_id, origin, ledger.iso(now)),
    )
    conn.execute("DELETE FROM online_shop_programs WHERE shop_id = ?", (shop_id,))
    conn.executemany(
        "INSERT INTO online_shop_programs(shop_id, program_id) VALUES (?, ?)",
        [(shop_id, p) for p in programs],
    )
    shop = shop_of(conn, shop_id)
    assert shop is not None
    return shop


def shop_of(conn: sqlite3.Connection, shop_id: str) -> OnlineShop | None:
    """An online shop, or ``None``."""
    row = conn.execute(
        "SELECT id, name, merchant_id, city_id, origin FROM online_shops WHERE id = ?", (shop_id,)
    ).fetchone()
    if row is None:
        return None
    programs = conn.execute(
        "SELECT program_id FROM online_shop_programs WHERE shop_id = ? ORDER BY program_id", (shop_id,)
    ).fetchall()
    return OnlineShop(row[0], row[1], row[2], row[3], row[4], tuple(p[0] for p in programs))


# User codes ---------------------------------------------------------------------------


def new_user_code() -> str:
    """8 random characters without look-alikes (as stored: no hyphen)."""
    return "".join(secrets.choice(residents.ALPHABET) for _ in range(8))


def normal_code(text: str) -> str | None:
    """A user code as typed (spaces, hyphens, lower case allowed) in its stored form, or ``None``."""
    code = _TYPED.sub("", text).upper()
    if len(code) != 8 or any(c not in residents.ALPHABET for c in code):
        return None
    return code


def shown_code(code: str) -> str:
    """``ABCD-2345``."""
    return f"{code[:4]}-{code[4:]}"


# Rate limits --------------------------------------------------------------------------


@dataclass
class Limits:
    """Sliding-window counters of look-ups and signatures per client address and per user code."""

    per_address: int = PER_ADDRESS_PER_MINUTE
    per_code: int = PER_CODE
    _addresses: dict[str, deque[float]] = field(default_factory=dict)
    _codes: dict[str, deque[float]] = field(default_factory=dict)

    def check(self, address: str, code: str) -> None:
        """Count one attempt; refuse it when the address or the code had too many.

        Raises:
            ApiError: ``rate_limited`` (429).
        """
        now = time.monotonic()
        if len(self._addresses) > 100_000 or len(self._codes) > 100_000:
            self._forget(now)
        seen = self._addresses.setdefault(address, deque())
        while seen and seen[0] < now - 60:
            seen.popleft()
        tries = self._codes.setdefault(code, deque())
        while tries and tries[0] < now - APPROVAL_SECONDS:
            tries.popleft()
        if len(seen) >= self.per_address or len(tries) >= self.per_code:
            raise ApiError("rate_limited")
        seen.append(now)
        tries.append(now)

    def _forget(self, now: float) -> None:
        self._addresses = {a: q for a, q in self._addresses.items() if q and q[-1] >= now - 60}
        self._codes = {c: q for c, q in self._codes.items() if q and q[-1] >= now - APPROVAL_SECONDS}


# Approvals ----------------------------------------------------------------------------


def create(
    conn: sqlite3.Connection,
    shop: OnlineShop,
    approval_id: str,
    purpose: str,
    order_id: str | None,
    amount: int | None,
    now: dt.datetime,
) -> dict[str, object]:
    """Store a new approval with its challenge; the answer carries the device secret (shown once).

    Raises:
        ApiError: ``invalid_request`` (a payment without its order and amount, or a sign-in with
            them), ``idempotency_mismatch`` (the approval id was used before).
    """
    if (purpose == "payment") != (order_id is not None and amount is not None):
        raise ApiError("invalid_request", "a payment names its order_id and amount; a sign-in neither")
    if conn.execute("SELECT 1 FROM approvals WHERE approval_id = ?", (approval_id,)).fetchone():
        raise ApiError("idempotency_mismatch", "this approval id was used before: ask with a new one")
    challenge = cards.new_challenge(conn, "approval:" + approval_id, now)
    secret = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(seconds=APPROVAL_SECONDS)
    for _ in range(20):
        code = new_user_code()
        inserted = conn.execute(
            "INSERT INTO approvals(approval_id, shop_id, purpose, order_id, amount, user_code, secret_hash,"
            " challenge_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(user_code) DO NOTHING",
            (
                approval_id,
                shop.id,
                purpose,
                order_id,
                amount,
                code,
                hash_token(secret),
                challenge.challenge_id,
                ledger.iso(now),
                ledger.iso(expires),
            ),
        ).rowcount
        if inserted == 1:
            break
    else:  # pragma: no cover - 31**8 codes
        raise RuntimeError("no free user code in 20 draws")
    return {
        "approval_id": approval_id,
        "device_secret": secret,
        "user_code": shown_code(code),
        "site_name": shop.name,
        "origin": shop.origin,
        "expires_at": ledger.iso(expires),
        "interval_s": POLL_INTERVAL_S,
    }


_APPROVAL = (
    "SELECT a.approval_id, a.shop_id, a.purpose, a.order_id, a.amount, a.status, a.expires_at, a.signed_at,"
    " a.challenge_id, a.card_key, a.account_number, a.secret_hash, s.name, s.origin, c.nonce"
    " FROM approvals a JOIN online_shops s ON s.id = a.shop_id"
    " JOIN challenges c ON c.challenge_id = a.challenge_id"
)


@dataclass(frozen=True, slots=True)
class Approval:
    """One approval as stored, with its shop's name and origin and its challenge's nonce."""

    approval_id: str
    shop_id: str
    purpose: str
    order_id: str | None
    amount: int | None
    status: str
    expires_at: str
    signed_at: str | None
    challenge_id: str
    card_key: str | None
    account_number: str | None
    secret_hash: str
    site_name: str
    origin: str
    nonce: str

    def state(self, now: dt.datetime) -> str:
        """``pending``, ``signed``, ``used`` or ``expired`` at ``now``."""
        if self.status == "used":
            return "used"
        if self.status == "signed":
            assert self.signed_at is not None
            deadline = dt.datetime.fromisoformat(self.signed_at) + dt.timedelta(seconds=APPROVAL_SECONDS)
            return "signed" if now < deadline else "expired"
        return "pending" if now < dt.datetime.fromisoformat(self.expires_at) else "expired"


def _by_code(conn: sqlite3.Connection, user_code: str) -> Approval | None:
    code = normal_code(user_code)
    if code is None:
        return None
    row = conn.execute(_APPROVAL + " WHERE a.user_code = ?", (code,)).fetchone()
    return None if row is None else Approval(*tuple(row))


def _by_id(conn: sqlite3.Connection, approval_id: str) -> Approval | None:
    row = conn.execute(_APPROVAL + " WHERE a.approval_id = ?", (approval_id,)).fetchone()
    return None if row is None else Approval(*tuple(row))


def lookup(conn: sqlite3.Connection, user_code: str, now: dt.datetime) -> dict[str, object]:
    """What a pending code asks, for the card helper to show: the site, the purpose, the challenge.

    Raises:
        ApiError: ``approval_invalid`` (unknown, signed, used or expired).
    """
    approval = _by_code(conn, user_code)
    if approval is None or approval.state(now) != "pending":
        raise ApiError("approval_invalid")
    return {
        "approval_id": approval.approval_id,
        "site_name": approval.site_name,
        "origin": approval.origin,
        "purpose": approval.purpose,
        "amount": approval.amount,
        "challenge_id": approval.challenge_id,
        "nonce": approval.nonce,
        "expires_at": approval.expires_at,
    }


def card_key_of(proof: PinProof) -> str:
    """The card key (``jpki:`` + SHA-256 of the certificate) a proof is made with.

    Raises:
        ApiError: ``certificate_invalid`` when the certificate is not base64.
    """
    try:
        der = base64.b64decode(proof.certificate, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("certificate_invalid", "the certificate cannot be read") from None
    return "jpki:" + hashlib.sha256(der).hexdigest()


def sign(
    conn: sqlite3.Connection,
    user_code: str,
    proof: PinProof,
    anchors: list[x509.Certificate],
    now: dt.datetime,
) -> str:
    """Accept the card's signature over a pending approval's challenge; returns the account number.

    The checks of a PIN sale: the certificate hashes to the card key, chains to a trust anchor, is
    valid and not revoked, the key is neither blocked nor replaced, and the signature is over the
    approval's own nonce. A card never seen gets its resident account.

    Raises:
        ApiError: ``approval_invalid``, ``challenge_invalid``, ``certificate_invalid``,
            ``certificate_expired``, ``certificate_revoked``, ``signature_invalid``,
            ``card_blocked``, ``card_replaced``.
    """
    approval = _by_code(conn, user_code)
    if approval is None or approval.state(now) != "pending":
        raise ApiError("approval_invalid")
    if proof.challenge_id != approval.challenge_id:
        raise ApiError("challenge_invalid", "not this approval's challenge")
    card_key = card_key_of(proof)
    certificate = cards.verify_proof(
        conn,
        proof,
        card_key=card_key,
        terminal_id="approval:" + approval.approval_id,
        anchors=anchors,
        now=now,
    )
    number = residents.open_account(conn, card_key, now)
    residents.note_certificate(
        conn,
        card_key,
        cards.issuer_id(certificate.issuer),
        cards.serial_text(certificate.serial_number),
        certificate.not_valid_after_utc,
    )
    try:
        cards.use_challenge(conn, approval.challenge_id, approval.approval_id, now)
    except ApiError as error:
        # The approval's own challenge, used since it was read: another signature of the same code
        # committed first (PostgreSQL: both read it pending; this UPDATE waited for the other's commit).
        raise ApiError("approval_invalid", "signed meanwhile") from error
    updated = conn.execute(
        "UPDATE approvals SET status = 'signed', signed_at = ?, card_key = ?, account_number = ?"
        " WHERE approval_id = ? AND status = 'pending'",
        (ledger.iso(now), card_key, number, approval.approval_id),
    ).rowcount
    if updated != 1:
        raise ApiError("approval_invalid", "signed meanwhile")
    return number


def poll(
    conn: sqlite3.Connection, shop_id: str, approval_id: str, device_secret: str, now: dt.datetime
) -> dict[str, object]:
    """The approval's state for the shop that asked; a signed sign-in gives its session, once.

    Raises:
        ApiError: ``approval_invalid`` (not this shop's approval, or the wrong secret).
    """
    approval = _by_id(conn, approval_id)
    if (
        approval is None
        or approval.shop_id != shop_id
        or not secrets.compare_digest(approval.secret_hash, hash_token(device_secret))
    ):
        raise ApiError("approval_invalid")
    state = approval.state(now)
    answer: dict[str, object] = {"status": state}
    if state != "signed" or approval.purpose != "sign_in":
        return answer
    assert approval.account_number is not None
    used = conn.execute(
        "UPDATE approvals SET status = 'used', used_at = ?, used_by = 'session' WHERE approval_id = ?"
        " AND status = 'signed'",
        (ledger.iso(now), approval_id),
    ).rowcount
    if used != 1:
        return {"status": "used"}
    token = RESIDENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    conn.execute(
        "INSERT INTO resident_sessions(token_hash, account_number, shop_id, approval_id, created_at,"
        " last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            hash_token(token),
            approval.account_number,
            shop_id,
            approval_id,
            ledger.iso(now),
            ledger.iso(now),
            ledger.iso(expires),
        ),
    )
    return {
        "status": "signed",
        "resident_token": token,
        "account_number": approval.account_number,
        "expires_at": ledger.iso(expires),
    }


def take_payment(
    conn: sqlite3.Connection,
    approval_id: str,
    shop_id: str,
    order_id: str,
    amount: int,
    now: dt.datetime,
) -> tuple[str, str]:
    """Use a signed payment approval for an order (inside the order's transaction, under the write lock).

    Checks that the approval is this shop's, for a payment, for this order and this amount,
    signed, not used and not expired, and that the card may still be used (a block that came in
    since the signature counts); marks it used by the order. Returns ``(card_key,
    account_number)``: the card that signed and its resident account (whose ledger accounts pay).

    Raises:
        ApiError: ``approval_invalid`` (with what is wrong), ``card_blocked``,
            ``certificate_revoked``, ``card_replaced``, ``certificate_expired``.
    """
    approval = _by_id(conn, approval_id)
    if approval is None or approval.shop_id != shop_id:
        raise ApiError("approval_invalid", "no such approval of this shop")
    if approval.purpose != "payment":
        raise ApiError("approval_invalid", "not a payment approval")
    if approval.order_id != order_id or approval.amount != amount:
        raise ApiError("approval_invalid", "the approval is for another order or amount")
    state = approval.state(now)
    if state != "signed":
        raise ApiError("approval_invalid", f"the approval is {state}")
    assert approval.card_key is not None and approval.account_number is not None
    number = residents.account_of(conn, approval.card_key, now)
    if number is None:  # pragma: no cover - signing linked the key
        raise ApiError("approval_invalid", "the card has no account")
    used = conn.execute(
        "UPDATE approvals SET status = 'used', used_at = ?, used_by = ? WHERE approval_id = ?"
        " AND status = 'signed'",
        (ledger.iso(now), order_id, approval_id),
    ).rowcount
    if used != 1:
        raise ApiError("approval_invalid", "the approval was used meanwhile")
    return approval.card_key, number


def end_session(conn: sqlite3.Connection, token: str, now: dt.datetime) -> bool:
    """Sign a resident out (the session's token stops working at once); ``False`` when it had ended."""
    return (
        conn.execute(
            "UPDATE resident_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
            (ledger.iso(now), hash_token(token)),
        ).rowcount
        == 1
    )


def problems(conn: sqlite3.Connection) -> list[str]:
    """What ``check`` reports of approvals: a used payment approval names an order; sessions an account."""
    found: list[str] = []
    for approval_id, used_by in conn.execute(
        "SELECT approval_id, used_by FROM approvals WHERE purpose = 'payment' AND status = 'used'"
        " AND (used_by IS NULL OR used_by != order_id) ORDER BY approval_id"
    ):
        found.append(f"payment approval {approval_id} was used by {used_by}, not its order")
    return found
