"""Cards on the server: balances and expiring lots, eligibility tags, challenges and PIN proofs.

The server never learns who a resident is: a card is its key (``jpki:``/``uid:`` + SHA-256),
linked to a resident account (:mod:`server.residents`) that holds the balances and tags;
eligibility is a tag with a date set by the city, and a PIN is checked by the card itself; the
server only checks the card's signature over its challenge (DESIGN.md §3). Balances and tags are
asked for by account number: callers resolve the card key first.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import secrets
import sqlite3

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from ulid import ULID

from points.programs import Program
from points.wire import Balance, Challenge, EligibilityTag, Lot, PinProof
from server import ledger
from server.errors import ApiError

#: How long a challenge may be signed and used.
CHALLENGE_SECONDS = 300
#: Lots expiring within this many days are listed with a balance.
EXPIRING_DAYS = 30


def balance_of(
    conn: sqlite3.Connection,
    number: str | None,
    program_id: str,
    today: dt.date,
    *,
    account_id: int | None = None,
) -> Balance:
    """A resident account's spendable points in one program and its lots expiring within 30 days.

    ``account_id`` (the ledger account) saves looking it up when the caller has it.
    """
    if account_id is None and number is not None:
        account_id = ledger.find_account(conn, "resident", number, program_id)
    if account_id is None:
        return Balance(program_id=program_id, points=0)
    rows = conn.execute(
        "SELECT expires_on, SUM(remaining) FROM lots WHERE account_id = ? AND remaining > 0 AND expires_on"
        " >= ?"
        " GROUP BY expires_on ORDER BY expires_on",
        (account_id, today.isoformat()),
    ).fetchall()
    horizon = today + dt.timedelta(days=EXPIRING_DAYS)
    expiring = [
        Lot(points=int(points), expires_on=dt.date.fromisoformat(day))
        for day, points in rows
        if dt.date.fromisoformat(day) <= horizon
    ]
    return Balance(program_id=program_id, points=sum(int(r[1]) for r in rows), expiring=expiring)


def programs_held(conn: sqlite3.Connection, number: str | None) -> list[str]:
    """The programs a resident account has (or had) points in."""
    rows = conn.execute(
        "SELECT program_id FROM accounts WHERE kind = 'resident' AND owner = ? ORDER BY program_id",
        (number,),
    ).fetchall()
    return [row[0] for row in rows]


def tags_of(conn: sqlite3.Connection, number: str | None, city_id: str | None = None) -> list[EligibilityTag]:
    """A resident account's eligibility tags (of one city, or of all), including lapsed ones."""
    if number is None:
        return []
    sql = "SELECT tag, MAX(valid_until) FROM eligibility WHERE account_number = ?"
    args: tuple[str, ...] = (number,)
    if city_id is not None:
        sql += " AND city_id = ?"
        args = (number, city_id)
    rows = conn.execute(sql + " GROUP BY tag ORDER BY tag", args).fetchall()
    return [EligibilityTag(tag=tag, valid_until=dt.date.fromisoformat(until)) for tag, until in rows]


def check_eligible(conn: sqlite3.Connection, number: str | None, program: Program, today: dt.date) -> None:
    """Refuse a resident account (``None``: a card with none yet) the program's tag does not cover today.

    Raises:
        ApiError: ``not_eligible``.
    """
    if program.eligibility_tag is None:
        return
    row = conn.execute(
        "SELECT 1 FROM eligibility WHERE account_number = ? AND city_id = ? AND tag = ? AND valid_until >= ?",
        (number, program.city, program.eligibility_tag, today.isoformat()),
    ).fetchone()
    if row is None:
        raise ApiError("not_eligible", f"{program.id} needs the tag {program.eligibility_tag}")


def set_tags(
    conn: sqlite3.Connection,
    number: str,
    city_id: str,
    tags: list[EligibilityTag],
    set_by: str,
    now: dt.datetime,
) -> None:
    """Replace a resident account's tags of one city (the city's desk checked the resident's papers)."""
    conn.execute("DELETE FROM eligibility WHERE account_number = ? AND city_id = ?", (number, city_id))
    conn.executemany(
        "INSERT INTO eligibility(account_number, city_id, tag, valid_until, set_by, set_at) VALUES (?, ?, ?,"
        " ?, ?, ?)"
        " ON CONFLICT(account_number, city_id, tag) DO UPDATE SET valid_until = CASE"
        " WHEN excluded.valid_until > eligibility.valid_until THEN excluded.valid_until"
        " ELSE eligibility.valid_until END",
        [(number, city_id, t.tag, t.valid_until.isoformat(), set_by, ledger.iso(now)) for t in tags],
    )


# Challenges and PIN proofs -------------------------------------------------------------


def new_challenge(conn: sqlite3.Connection, terminal_id: str, now: dt.datetime) -> Challenge:
    """Store a fresh one-time nonce for ``terminal_id``."""
    nonce = base64.b64encode(secrets.token_bytes(32)).decode()
    challenge_id = str(ULID())
    expires = now + dt.timedelta(seconds=CHALLENGE_SECONDS)
    conn.execute(
        "INSERT INTO challenges(challenge_id, nonce, terminal_id, created_at, expires_at) VALUES (?, ?, ?,"
        " ?, ?)",
        (challenge_id, nonce, terminal_id, ledger.iso(now), ledger.iso(expires)),
    )
    return Challenge(challenge_id=challenge_id, nonce=nonce, expires_at=expires)


def verify_proof(
    conn: sqlite3.Connection,
    proof: PinProof,
    *,
    card_key: str,
    terminal_id: str,
    anchors: list[x509.Certificate],
    now: dt.datetime,
    allow_expired: bool = False,
) -> x509.Certificate:
    """Check a PIN proof: a fresh challenge of this terminal, signed by the card's own certificate.

    The certificate must hash to the card key, be issued by a trust anchor, be within its
    validity (unless ``allow_expired``: the city desk moves an expired card's points to its
    successor) and not be on an imported CRL; the signature is RSA PKCS#1 v1.5 over SHA-256 of the
    nonce's bytes. Whether the challenge is unused is checked again when the sale is applied
    (:func:`use_challenge`), under the write lock. Returns the certificate.

    Raises:
        ApiError: ``challenge_invalid``, ``certificate_invalid``, ``certificate_expired``,
            ``certificate_revoked``, ``crl_out_of_date`` or ``signature_invalid``.
    """
    row = conn.execute(
        "SELECT nonce, terminal_id, expires_at, used_at FROM challenges WHERE challenge_id = ?",
        (proof.challenge_id,),
    ).fetchone()
    if row is None or row[1] != terminal_id or row[3] is not None:
        raise ApiError("challenge_invalid")
    if dt.datetime.fromisoformat(row[2]) < now:
        raise ApiError("challenge_invalid", "the challenge has expired")
    try:
        der = base64.b64decode(proof.certificate, validate=True)
        signature = base64.b64decode(proof.signature, validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise ApiError("certificate_invalid", "the certificate cannot be read") from None
    if "jpki:" + hashlib.sha256(der).hexdigest() != card_key:
        raise ApiError("certificate_invalid", "the certificate is not this card's")
    if not _chains_to(certificate, anchors):
        raise ApiError("certificate_invalid", "the certificate is not issued by a trusted CA")
    if now < certificate.not_valid_before_utc:
        raise ApiError("certificate_invalid", "the certificate is not valid yet")
    if now > certificate.not_valid_after_utc and not allow_expired:
        raise ApiError("certificate_expired")
    if revoked(conn, certificate):
        raise ApiError("certificate_revoked")
    check_crl_current(conn, certificate.issuer, now)
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ApiError("certificate_invalid", "the certificate's key is not RSA")
    try:
        public_key.verify(signature, base64.b64decode(row[0]), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise ApiError("signature_invalid") from None
    return certificate


def issuer_id(name: x509.Name) -> str:
    """How an issuer is named in ``revoked_certificates`` and ``card_keys``: SHA-256 of its DER name."""
    return hashlib.sha256(name.public_bytes()).hexdigest()


def serial_text(serial: int) -> str:
    """A certificate serial as stored: lower-case hex."""
    return format(serial, "x")


def check_crl_current(conn: sqlite3.Connection, issuer: x509.Name, now: dt.datetime) -> None:
    """Refuse when the issuer's newest imported CRL is past its next update (its list may miss revocations).

    An issuer with no CRL imported yet is not refused (the server then knows no revocation at
    all, as before CRLs were imported); a CRL without a next update never goes out of date.

    Raises:
        ApiError: ``crl_out_of_date``, naming the next update that passed.
    """
    row = conn.execute("SELECT next_update FROM crl_status WHERE issuer = ?", (issuer_id(issuer),)).fetchone()
    if row is not None and row[0] is not None and dt.datetime.fromisoformat(row[0]) < now:
        raise ApiError("crl_out_of_date", f"next update {row[0]}")


def revoked(conn: sqlite3.Connection, certificate: x509.Certificate) -> bool:
    """Is the certificate on an imported CRL of its issuer?"""
    row = conn.execute(
        "SELECT 1 FROM revoked_certificates WHERE issuer = ? AND serial = ?",
        (issuer_id(certificate.issuer), serial_text(certificate.serial_number)),
    ).fetchone()
    return row is not None


def _chains_to(certificate: x509.Certificate, anchors: list[x509.Certificate]) -> bool:
    for anchor in anchors:
        if anchor.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def use_challenge(conn: sqlite3.Connection, challenge_id: str, sale_id: str, now: dt.datetime) -> None:
    """Mark a challenge used by a sale; refuse it when it was used already (under the write lock).

    Raises:
        ApiError: ``challenge_invalid``.
    """
    cursor = conn.execute(
        "UPDATE challenges SET used_at = ?, used_by_sale = ? WHERE challenge_id = ? AND used_at IS NULL",
        (ledger.iso(now), sale_id, challenge_id),
    )
    if cursor.rowcount != 1:
        raise ApiError("challenge_invalid", "the challenge was already used")
