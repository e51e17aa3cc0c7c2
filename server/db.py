"""The server's SQLite database: connections with the ledger's pragmas, and atomic writes.

Every connection runs in WAL mode with ``synchronous=FULL`` (an acknowledged sale survives a
power cut), ``foreign_keys=ON`` and a busy timeout, so a second process (``mykey-server
check``, ``expire``, the settlement engineer's period close) waits its turn instead of failing
with "database is locked". Python's own transaction handling is off (``isolation_level=None``):
every write goes through :func:`atomic`, which opens ``BEGIN IMMEDIATE`` and commits or rolls
back as one unit (sqlite-utils 4's ``with db.conn:`` is not atomic).

sqlite-utils serves introspection and reports (:func:`open_database`; ``mykey-server check``
counts rows with it). The ledger's writes are plain SQL inside :func:`atomic`: sqlite-utils'
table methods wrap each write in ``with conn:``, which would commit the surrounding
``BEGIN IMMEDIATE`` transaction half-way through a sale.

The tables are created by :mod:`server.schema`; their columns are listed in :mod:`server.ledger`.
"""

from __future__ import annotations

import pathlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

#: How long a writer waits for another process's write lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)


def connect(path: str | pathlib.Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open ``path`` with the ledger's pragmas; transactions are explicit (see :func:`atomic`).

    Args:
        path: the database file (created if missing, unless ``readonly``).
        readonly: open with ``mode=ro`` (for readers that must never write).
    """
    if readonly:
        uri = pathlib.Path(path).resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        if readonly and pragma.startswith("PRAGMA journal_mode"):
            continue
        conn.execute(pragma)
    return conn


def open_database(path: str | pathlib.Path) -> sqlite_utils.Database:
    """A sqlite-utils :class:`~sqlite_utils.Database` on a connection made by :func:`connect`."""
    return sqlite_utils.Database(connect(path))


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one ``BEGIN IMMEDIATE`` transaction: all of it is committed, or none.

    ``IMMEDIATE`` takes the write lock up front, so two writers never both read a balance and
    then both spend it; the busy timeout makes the second one wait rather than fail.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str = "step") -> Iterator[sqlite3.Connection]:
    """A nested unit inside an open transaction: rolled back alone if the block raises.

    The writer applies many sales in one commit (group commit); each sale runs in its
    own savepoint so a refused sale leaves no trace while its neighbours are kept.
    """
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    else:
        conn.execute(f"RELEASE {name}")
