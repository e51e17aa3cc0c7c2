"""Resident accounts' figures, against a real server on loopback (SQLite).

- ``crl_import_s``: ``crl.import_crl`` of a 100,000-entry DER CRL (signature check, entries
  stored, the 100,000 linked keys whose certificates it lists blocked), one transaction.
- ``lookup_blocked_100k_ms``: median ``POST /v1/cards/lookup`` of a live card with 100,000
  blocked keys and the 100,000-entry CRL loaded; baseline ``lookup_roundtrip_ms`` measured on
  the same server before they were (the issue asks for it unchanged).
- ``config_blocked_100k_ms``: ``GET /v1/terminal/config`` carrying the 100,000-key block list
  (what a counter with no list, or one too old, fetches);
- ``config_block_delta_ms``: the same with ``block_list_since`` after one more block (a delta of
  one key: what a counter holding the list fetches after its block list changed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib
import statistics
import sys
import tempfile
import time

from _figures import record
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pos.sync import ServerClient
from server import admin, cards, crl, db, ledger, residents
from tests.support.server import running_server

TERMINAL = "yamato-bakery-t1"
COUNT = 100_000


def lookups(client: ServerClient, card_key: str, n: int = 50) -> float:
    for _ in range(10):  # warm: the token and program caches, the connection
        client.lookup(card_key)
    times = []
    for _ in range(n):
        begin = time.perf_counter()
        client.lookup(card_key)
        times.append((time.perf_counter() - begin) * 1000)
    return round(statistics.median(times), 2)


def make_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench JPKI CA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name, running_server(pathlib.Path(tmp_name) / "srv") as server:
        client = ServerClient(server.url, server.tokens[TERMINAL])
        card_key = str(server.cards["sato"]["card_key"])
        base = lookups(client, card_key)
        record("lookup_roundtrip_ms", base, "baseline: no blocked keys, no CRL")
        key, ca = make_ca()
        issuer = cards.issuer_id(ca.subject)
        conn = db.connect(server.db_path)
        now = ledger.utc_now()
        stamp = ledger.iso(now)
        serials = list(range(10_000, 10_000 + COUNT))
        with db.atomic(conn):
            admin.add_trust_anchor(conn, ca.public_bytes(serialization.Encoding.PEM))
            conn.executemany(
                "INSERT INTO resident_accounts(number, created_at) VALUES (?, ?)",
                [(f"B{n:07d}", stamp) for n in range(COUNT)],
            )
            conn.executemany(
                "INSERT INTO card_keys(card_key, account_number, linked_at, certificate_issuer,"
                " certificate_serial, certificate_expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    ("jpki:" + hashlib.sha256(str(s).encode()).hexdigest(), f"B{n:07d}", stamp, issuer,
                     cards.serial_text(s), "2099-01-01T00:00:00+00:00")
                    for n, s in enumerate(serials)
                ],
            )  # fmt: skip
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.subject)
            .last_update(now - dt.timedelta(hours=1))
            .next_update(now + dt.timedelta(days=1))
        )
        for serial in serials:
            entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            builder = builder.add_revoked_certificate(entry)
        der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        begin = time.perf_counter()
        done = crl.import_crl(conn, der, [ca], "bench", ledger.utc_now())
        took = round(time.perf_counter() - begin, 2)
        assert done.entries == COUNT and done.blocked == COUNT, done
        record("crl_import_s", took, f"{COUNT:,} entries, {done.blocked:,} keys blocked; {len(der):,} bytes")
        conn.close()
        loaded = lookups(client, card_key)
        record("lookup_blocked_100k_ms", loaded, f"{loaded / base:.2f}x the lookup without them")
        begin = time.perf_counter()
        config = client.terminal_config()
        fetch = round((time.perf_counter() - begin) * 1000, 1)
        assert len(config.blocked_keys) == COUNT
        record("config_blocked_100k_ms", fetch, "the terminal configuration with the 100,000-key block list")
        # One more lost card: a counter holding the list fetches only that change (issue 14's deltas).
        conn = db.connect(server.db_path)
        with db.atomic(conn):
            conn.execute(
                "UPDATE card_keys SET blocked_at = ? WHERE card_key = ?", (ledger.iso(now), card_key)
            )
            residents.note_block_changes(conn, [card_key], True, now)
        conn.close()
        begin = time.perf_counter()
        delta = client.terminal_config(config.block_list_version)
        fetch_delta = round((time.perf_counter() - begin) * 1000, 1)
        assert delta.block_list_since == config.block_list_version and delta.blocked_keys == [card_key]
        record(
            "config_block_delta_ms",
            fetch_delta,
            f"the configuration with one change since the terminal's list ({len(delta.model_dump_json()):,}"
            f" bytes; the whole list {len(config.model_dump_json()):,})",
        )


if __name__ == "__main__":
    sys.exit(main())
