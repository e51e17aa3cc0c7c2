"""Certificate revocation lists (失効リスト) of the JPKI user-authentication CA.

``mykey-server crl import FILE`` loads a DER CRL after checking that a trust anchor (the CA the
server trusts card certificates to, :func:`server.admin.trust_anchors` and ``--trust-ca``) issued
and signed it. Its entries go into ``revoked_certificates(issuer, serial, revoked_at,
imported_at)`` (issuer: SHA-256 of the CA's DER name; serial: lower-case hex); every linked key
whose certificate the server has seen with such a serial is then blocked like a lost card
(``block_code = 'certificate_revoked'``), and a revoked certificate presented later (a PIN sale, a
desk link) is refused and its key blocked. Entries are never removed: a revocation is final.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from cryptography import x509

from server import audit, cards, db, desk, ledger
from server.errors import ApiError


@dataclass(frozen=True, slots=True)
class CrlImport:
    """What an import did."""

    entries: int
    new: int
    blocked: int
    next_update: dt.datetime | None


def load(der: bytes, anchors: list[x509.Certificate]) -> x509.CertificateRevocationList:
    """Read a DER CRL and check its issuer is a trust anchor whose key signed it.

    Raises:
        ApiError: ``crl_invalid``.
    """
    try:
        crl = x509.load_der_x509_crl(der)
    except ValueError:
        raise ApiError("crl_invalid", "not a DER CRL") from None
    for anchor in anchors:
        if anchor.subject == crl.issuer and crl.is_signature_valid(anchor.public_key()):  # type: ignore[arg-type]
            return crl
    raise ApiError("crl_invalid", "no trusted CA issued and signed this CRL")


def import_crl(
    conn: sqlite3.Connection, der: bytes, anchors: list[x509.Certificate], actor: str, now: dt.datetime
) -> CrlImport:
    """Store a checked CRL's entries and block the keys of revoked certificates, in one transaction.

    Raises:
        ApiError: ``crl_invalid``.
    """
    crl = load(der, anchors)
    issuer = cards.issuer_id(crl.issuer)
    imported = ledger.iso(now)
    rows = [
        (issuer, cards.serial_text(entry.serial_number), ledger.iso(entry.revocation_date_utc), imported)
        for entry in crl
    ]
    with db.atomic(conn):
        before = int(
            conn.execute("SELECT COUNT(*) FROM revoked_certificates WHERE issuer = ?", (issuer,)).fetchone()[
                0
            ]
        )
        conn.executemany(
            "INSERT INTO revoked_certificates(issuer, serial, revoked_at, imported_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            rows,
        )
        after = int(
            conn.execute("SELECT COUNT(*) FROM revoked_certificates WHERE issuer = ?", (issuer,)).fetchone()[
                0
            ]
        )
        blocked = desk.block_revoked(conn, now)
        next_update = crl.next_update_utc
        # The newest CRL of the issuer decides until when its entries are current (never rolled back
        # by importing an older one).
        conn.execute(
            "INSERT INTO crl_status(issuer, this_update, next_update, imported_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(issuer) DO UPDATE SET this_update = excluded.this_update,"
            " next_update = excluded.next_update, imported_at = excluded.imported_at"
            " WHERE excluded.this_update >= crl_status.this_update",
            (
                issuer,
                ledger.iso(crl.last_update_utc),
                None if next_update is None else ledger.iso(next_update),
                imported,
            ),
        )
        audit.append(
            conn,
            actor,
            "crl_import",
            f"crl:{issuer[:16]}",
            entries=len(rows),
            new=after - before,
            blocked=blocked,
            next_update=None if next_update is None else ledger.iso(next_update),
        )
    return CrlImport(len(rows), after - before, blocked, next_update)
