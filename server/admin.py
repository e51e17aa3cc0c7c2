"""Setting a database up: the schema, the ticket issuing key, cities, merchants, programs, terminals, tokens.

Used by ``mykey-server`` (``init``, ``demo-data``, the admin verbs) and by tests. Every function
takes a connection and runs inside the caller's transaction (:func:`server.db.atomic`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import pathlib
import sqlite3

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from points.banking import AccountType, BankAccount
from points.programs import Program
from points.tickets import TicketSigner
from points.wire import EventInfo, Merchant, TerminalMode
from server import audit, auth, db, keys, ledger, residents, schema


def now_text() -> str:
    """The current UTC time as stored."""
    return ledger.iso(ledger.utc_now())


def init(path: str | pathlib.Path) -> None:
    """Create the database at ``path`` (or complete a partial one) and its ticket issuing key.

    Running it again changes nothing: the schema is created only where missing and an existing
    issuing key is kept (tickets already printed must stay verifiable). The key is stored sealed
    with a key-encryption key from outside the database (:mod:`server.keys`): ``<path>.key`` is
    made beside it when neither ``MYKEY_KEY`` nor ``MYKEY_KEY_FILE`` is set.
    """
    conn = db.connect(path)
    try:
        schema.create(conn)
        if conn.execute("SELECT 1 FROM meta WHERE key = ?", (keys.META_KEY,)).fetchone() is None:
            kek = keys.kek_for(keys.database_file(conn), create=True)
            raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            with db.atomic(conn):
                conn.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                    (keys.META_KEY, keys.seal(raw, kek)),
                )
        seal_clear_ticket_key(conn)
    finally:
        conn.close()


def seal_clear_ticket_key(conn: sqlite3.Connection) -> bool:
    """Seal a ticket-signing key stored in the clear (release 0.1); returns whether it had to.

    The clear bytes are overwritten on disk (``secure_delete``), not just unlinked from the row.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (keys.META_KEY,)).fetchone()
    if row is None or keys.is_sealed(row[0]):
        return False
    kek = keys.kek_for(keys.database_file(conn), create=True)
    conn.execute("PRAGMA secure_delete=ON")
    try:
        with db.atomic(conn):
            stored = conn.execute("SELECT value FROM meta WHERE key = ?", (keys.META_KEY,)).fetchone()[0]
            if keys.is_sealed(stored):
                return False  # another process sealed it meanwhile
            raw = base64.b64decode(stored)
            conn.execute("UPDATE meta SET value = ? WHERE key = ?", (keys.seal(raw, kek), keys.META_KEY))
    finally:
        conn.execute("PRAGMA secure_delete=OFF")
    return True


def ticket_signer(conn: sqlite3.Connection) -> TicketSigner:
    """The server's ticket issuing key (made by :func:`init`), unsealed with the key-encryption key.

    Raises:
        RuntimeError: no key (``mykey-server init`` was not run).
        server.keys.KeyUnavailable: the key-encryption key is missing or another one.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (keys.META_KEY,)).fetchone()
    if row is None:
        raise RuntimeError("the database has no ticket issuing key: run `mykey-server init`")
    stored = str(row[0])
    if keys.is_sealed(stored):
        raw = keys.unseal(stored, keys.kek_for(keys.database_file(conn)))
    else:
        raw = base64.b64decode(stored)  # release 0.1, until :func:`seal_clear_ticket_key` runs
    return TicketSigner(Ed25519PrivateKey.from_private_bytes(raw))


def rewrap_ticket_key(conn: sqlite3.Connection, new_kek: bytes) -> str:
    """Seal the ticket-signing key with ``new_kek`` instead of the current one; returns the new KEK's id.

    Runs in its own transaction; the signing key (and so every printed ticket) stays the same.
    """
    old_kek = keys.kek_for(keys.database_file(conn))
    with db.atomic(conn):
        stored = conn.execute("SELECT value FROM meta WHERE key = ?", (keys.META_KEY,)).fetchone()[0]
        raw = keys.unseal(stored, old_kek) if keys.is_sealed(stored) else base64.b64decode(stored)
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (keys.seal(raw, new_kek), keys.META_KEY))
        log(conn, "cli", "key rewrap", keys.kek_id(new_kek))
    return keys.kek_id(new_kek)


#: The command line's name for :func:`server.audit.append` (an act and what it was done to).
log = audit.append


def add_city(conn: sqlite3.Connection, city_id: str, name: str) -> None:
    """Register a city (an issuer of programs)."""
    conn.execute("INSERT INTO cities(id, name, created_at) VALUES (?, ?, ?)", (city_id, name, now_text()))


def add_partner(conn: sqlite3.Connection, partner_id: str, name: str) -> None:
    """Register a partner company whose points residents convert into a program."""
    conn.execute(
        "INSERT INTO partners(id, name, created_at) VALUES (?, ?, ?)", (partner_id, name, now_text())
    )


def add_chamber(
    conn: sqlite3.Connection, chamber_id: str, name: str, city_id: str, bank: BankAccount | None = None
) -> None:
    """Register a chamber of commerce (商工会) of a city, with its bank account when it pays merchants."""
    conn.execute(
        "INSERT INTO chambers(id, name, city_id, bank_code, branch_code, account_type, account_number,"
        " account_holder_kana, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (chamber_id, name, city_id, *_bank_columns(bank), now_text()),
    )


def add_merchant(conn: sqlite3.Connection, merchant: Merchant, bank: BankAccount | None = None) -> None:
    """Register a merchant (shop) with its invoice number, category, chamber and bank account."""
    conn.execute(
        "INSERT INTO merchants(id, name, address, phone, invoice_number, category, chamber_id, bank_code,"
        " branch_code, account_type, account_number, account_holder_kana, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            merchant.id,
            merchant.name,
            merchant.address,
            merchant.phone,
            merchant.invoice_number,
            merchant.category,
            merchant.chamber_id,
            *_bank_columns(bank),
            now_text(),
        ),
    )


def _bank_columns(bank: BankAccount | None) -> tuple[str | int | None, ...]:
    if bank is None:
        return (None, None, None, None, None)
    # Stored as the Zengin code; the command line hands over the type's name (``ordinary``).
    kind = int(AccountType.parse(bank.account_type))
    return (bank.bank_code, bank.branch_code, kind, bank.number, bank.holder)


def put_program(conn: sqlite3.Connection, program: Program) -> None:
    """Create or replace a program's definition (its city must exist)."""
    now = now_text()
    conn.execute(
        "INSERT INTO programs(id, city_id, funding_kind, funding_id, tender_kind, payout, fee_share_permille,"
        " definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET city_id = excluded.city_id, funding_kind = excluded.funding_kind,"
        " funding_id = excluded.funding_id, tender_kind = excluded.tender_kind, payout = excluded.payout,"
        " fee_share_permille = excluded.fee_share_permille, definition = excluded.definition,"
        " updated_at = excluded.updated_at",
        (
            program.id,
            program.city,
            program.funding.kind,
            program.funding.id,
            program.tender_kind.value,
            program.payout.value,
            program.fee_share_permille,
            program.model_dump_json(),
            now,
            now,
        ),
    )
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('programs_changed', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (now,),
    )


def add_terminal(
    conn: sqlite3.Connection,
    terminal_id: str,
    mode: TerminalMode,
    *,
    merchant_id: str | None = None,
    city_id: str | None = None,
    event: EventInfo | None = None,
) -> None:
    """Register a terminal: a shop's (``merchant_id``) or the city's (``city_id``: award, issue, enroll)."""
    conn.execute(
        "INSERT INTO terminals(id, mode, merchant_id, city_id, event, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            terminal_id,
            mode.value,
            merchant_id,
            city_id,
            None if event is None else event.model_dump_json(),
            now_text(),
        ),
    )


def add_principal(
    conn: sqlite3.Connection,
    principal_id: str,
    role: auth.Role,
    *,
    terminal_id: str | None = None,
    merchant_id: str | None = None,
    chamber_id: str | None = None,
    city_id: str | None = None,
    partner_id: str | None = None,
    issuer_id: str | None = None,
    shop_id: str | None = None,
) -> str:
    """Register a principal and return its first token (shown once; only its hash is stored)."""
    conn.execute(
        "INSERT INTO principals(id, role, terminal_id, merchant_id, chamber_id, city_id, partner_id,"
        " issuer_id, shop_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            principal_id,
            role,
            terminal_id,
            merchant_id,
            chamber_id,
            city_id,
            partner_id,
            issuer_id,
            shop_id,
            now_text(),
        ),
    )
    return auth.create_token(conn, principal_id, now_text())


def revoke_tokens(conn: sqlite3.Connection, principal_id: str) -> int:
    """Revoke every token of a principal; returns how many were live.

    Running servers, in any process, see the revocation on their next request: the counter
    :data:`server.auth.REVOCATIONS` they read each time changes in the same transaction (on
    PostgreSQL they listen for the ``NOTIFY`` it sends at commit instead of reading it).
    """
    cursor = conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE principal_id = ? AND revoked_at IS NULL",
        (now_text(), principal_id),
    )
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, '1')"
        " ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)",
        (auth.REVOCATIONS,),
    )
    if db.is_postgres(conn):
        conn.execute(f"NOTIFY {auth.REVOCATIONS}")
    return cursor.rowcount


def grant(
    conn: sqlite3.Connection, card_key: str, program: Program, points: int, now: dt.datetime | None = None
) -> None:
    """Give a card points from the program's funder (demo balances, admin corrections), as a lot."""
    moment = now or ledger.utc_now()
    funding = ledger.account(
        conn, "funding", ledger.funding_owner(program.funding.kind, program.funding.id), program.id
    )
    number = residents.open_account(conn, card_key, moment)
    resident = ledger.account(conn, "resident", number, program.id)
    ledger.earn(
        conn,
        kind="grant",
        program_id=program.id,
        debit=funding,
        resident=resident,
        amount=points,
        expires_on=program.expiry.expires_on(ledger.business_date(moment)),
        now=moment,
    )


def add_trust_anchor(conn: sqlite3.Connection, pem: bytes) -> str:
    """Remember a CA certificate that card certificates must chain to; returns its SHA-256 fingerprint."""
    certificate = x509.load_pem_x509_certificate(pem)
    fingerprint = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    conn.execute(
        "INSERT OR IGNORE INTO trust_anchors(fingerprint, pem, added_at) VALUES (?, ?, ?)",
        (fingerprint, pem.decode(), now_text()),
    )
    return fingerprint


def trust_anchors(conn: sqlite3.Connection) -> list[bytes]:
    """The CA certificates (PEM) this database remembers."""
    return [row[0].encode() for row in conn.execute("SELECT pem FROM trust_anchors ORDER BY added_at")]
