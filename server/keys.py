"""The ticket-signing key at rest: sealed in the database with a key that lives outside it.

The Ed25519 key that signs point tickets is stored in ``meta`` only sealed (AES-256-GCM) with a
**key-encryption key** (KEK) the database does not hold, so a copy of the database file (a
backup, a stolen disk image) cannot forge tickets. The KEK is, in this order:

1. ``MYKEY_KEY`` — the environment: URL-safe base64 of 32 random bytes (a secret manager, systemd
   ``LoadCredential``, a container secret);
2. ``MYKEY_KEY_FILE`` — a file holding the same (put it on another volume than the database);
3. ``<database>.key`` beside the database (``mykey.db.key``, mode 0600): made by ``mykey-server
   init`` and ``demo-data`` when neither is set, so the demo and tests work with no set-up. It
   keeps backups of the database apart from the key only if it is backed up apart.

Sealed form: ``aesgcm1:<kek id>:<nonce>:<ciphertext>`` (base64), the KEK's id the first 4 bytes
of its SHA-256, so a wrong KEK is named rather than reported as corruption.

Rotating the KEK (``mykey-server key rewrap --to NEW_FILE``): the signing key is unsealed with the
current KEK and sealed with the new one in one transaction, then ``MYKEY_KEY_FILE`` (or
``MYKEY_KEY``) is pointed at the new KEK and the old one destroyed. The signing key itself is
unchanged, so printed tickets and terminals' public keys stay valid. A database of release 0.1
(its key in the clear) is sealed the first time this code opens it, with the KEK found as above
(``<database>.key`` made when none is set), and the clear bytes are overwritten (``secure_delete``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import pathlib
import secrets
import sqlite3

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: The ``meta`` key of the sealed signing key.
META_KEY = "ticket_signing_key"
ENV_KEY = "MYKEY_KEY"
ENV_KEY_FILE = "MYKEY_KEY_FILE"
_PREFIX = "aesgcm1"
_CONTEXT = b"mykey-pos ticket signing key v1"


class KeyUnavailable(RuntimeError):
    """The ticket-signing key cannot be unsealed: no key-encryption key, or not the one it was sealed with."""


def database_file(conn: sqlite3.Connection) -> pathlib.Path | None:
    """The file of the connection's main database (``None`` on PostgreSQL: no file to keep a key beside)."""
    if not isinstance(conn, sqlite3.Connection):
        return None
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return pathlib.Path(file)
    raise KeyUnavailable("the ticket-signing key needs a database file (not an in-memory database)")


def default_key_file(database: pathlib.Path) -> pathlib.Path:
    """Where the key-encryption key lives when neither variable is set: ``<database>.key``."""
    return database.with_name(database.name + ".key")


def new_kek_text() -> str:
    """A fresh key-encryption key as stored in a file or ``MYKEY_KEY``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def write_kek_file(path: pathlib.Path) -> bytes:
    """Make a new key-encryption key file (readable by its owner only) and return the key."""
    text = new_kek_text()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")
    return _parse(text, str(path))


def kek_for(database: pathlib.Path | None, *, create: bool = False) -> bytes:
    """The key-encryption key for ``database`` (see the module's order).

    Args:
        database: the database file.
        create: make ``<database>.key`` when no key is set anywhere (``init``, a release-0.1 file).

    Raises:
        KeyUnavailable: none is set (and ``create`` is false), or what is set is not 32 bytes.
    """
    if os.environ.get(ENV_KEY):
        return _parse(os.environ[ENV_KEY], ENV_KEY)
    if os.environ.get(ENV_KEY_FILE):
        path = pathlib.Path(os.environ[ENV_KEY_FILE])
        if not path.exists() and create and database is None:
            return write_kek_file(path)  # PostgreSQL's init makes the file the variable names
        if not path.exists():
            raise KeyUnavailable(f"{ENV_KEY_FILE} names {path}, which does not exist")
        return _parse(path.read_text(), str(path))
    if database is None:
        raise KeyUnavailable(
            f"a PostgreSQL database keeps no key file beside it: set {ENV_KEY} or {ENV_KEY_FILE}"
            f" for every process (`init` makes the file {ENV_KEY_FILE} names when it does not exist yet)"
        )
    path = default_key_file(database)
    if path.exists():
        return _parse(path.read_text(), str(path))
    if create:
        return write_kek_file(path)
    raise KeyUnavailable(
        f"no key-encryption key for the ticket-signing key: set {ENV_KEY} or {ENV_KEY_FILE},"
        f" or restore {path}"
    )


def kek_from_file(path: pathlib.Path) -> bytes:
    """A key-encryption key read from a file."""
    return _parse(path.read_text(), str(path))


def kek_id(kek: bytes) -> str:
    """A key-encryption key's short public id."""
    return hashlib.sha256(kek).hexdigest()[:8]


def seal(secret: bytes, kek: bytes) -> str:
    """``secret`` sealed with ``kek`` in the stored form."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(kek).encrypt(nonce, secret, _CONTEXT)
    encode = base64.urlsafe_b64encode
    return ":".join((_PREFIX, kek_id(kek), encode(nonce).decode(), encode(sealed).decode()))


def is_sealed(stored: str) -> bool:
    """Whether a stored value is sealed (release 0.1 stored the raw key in base64)."""
    return stored.startswith(_PREFIX + ":")


def unseal(stored: str, kek: bytes) -> bytes:
    """The secret of a sealed value.

    Raises:
        KeyUnavailable: sealed with another key-encryption key, or changed.
    """
    try:
        _prefix, sealed_by, nonce, sealed = stored.split(":")
    except ValueError:
        raise KeyUnavailable("the stored ticket-signing key is not in the sealed form") from None
    if sealed_by != kek_id(kek):
        raise KeyUnavailable(
            f"the ticket-signing key is sealed with key-encryption key {sealed_by}, but this server has"
            f" {kek_id(kek)} ({ENV_KEY}, {ENV_KEY_FILE} or <database>.key)"
        )
    try:
        return AESGCM(kek).decrypt(
            base64.urlsafe_b64decode(nonce), base64.urlsafe_b64decode(sealed), _CONTEXT
        )
    except (InvalidTag, ValueError):
        raise KeyUnavailable("the sealed ticket-signing key does not open: it was changed") from None


def _parse(text: str, source: str) -> bytes:
    try:
        kek = base64.urlsafe_b64decode(text.strip())
    except ValueError:
        kek = b""
    if len(kek) != 32:
        raise KeyUnavailable(f"the key-encryption key in {source} is not base64 of 32 bytes")
    return kek
