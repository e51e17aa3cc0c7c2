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

The tables are created and upgraded by the ordered migrations of :mod:`server.schema` (:func:`upgrade`,
``PRAGMA user_version``); their columns are listed in :mod:`server.ledger`.
"""

from __future__ import annotations

import pathlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

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


# Schema versions ----------------------------------------------------------------------


class SchemaTooNew(RuntimeError):
    """The database was written by a newer release than this code: opening it could lose data."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of a database's history: plain SQL statements, applied in one transaction.

    Attributes:
        version: the ``PRAGMA user_version`` the database has once this step is applied.
        why: one line saying what the step changes and why (shown by ``upgrade``'s callers).
        sql: statements separated by ``;`` at the end of a line (no triggers, so no ``;`` inside one).
        rebuilds: the step rebuilds tables other tables point to (SQLite cannot alter a column in
            place): foreign keys are switched off around it and checked once before the commit.
    """

    version: int
    why: str
    sql: str
    rebuilds: bool = False

    def statements(self) -> list[str]:
        """The step's statements in order."""
        return [part.strip() for part in self.sql.split(";\n") if part.strip().strip(";")]


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version`` (0 for a new file or one of release 0.1)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def upgrade(conn: sqlite3.Connection, migrations: Sequence[Migration], what: str = "database") -> list[int]:
    """Apply every migration newer than the database, oldest first, each in its own transaction.

    Safe to call from several processes at once: the version is read again under the write lock,
    so a step is applied once. Call it outside a transaction.

    Args:
        conn: a connection made by :func:`connect` (or any with ``isolation_level=None``).
        migrations: the database's whole history, versions 1, 2, 3, ... in order.
        what: the database's name in error messages.

    Returns:
        The versions applied now (empty when the database was current).

    Raises:
        SchemaTooNew: the database's version is above the last migration's.
    """
    latest = migrations[-1].version if migrations else 0
    assert [m.version for m in migrations] == list(range(1, latest + 1)), "migrations must be 1, 2, 3, ..."
    found = schema_version(conn)
    if found > latest:
        raise SchemaTooNew(
            f"the {what} is at schema version {found}, but this program knows versions up to {latest}:"
            " it was written by a newer release; upgrade the program (the file is left untouched)"
        )
    applied: list[int] = []
    for migration in migrations[found:]:
        if _apply(conn, migration, what):
            applied.append(migration.version)
    return applied


def _apply(conn: sqlite3.Connection, migration: Migration, what: str) -> bool:
    foreign_keys = int(conn.execute("PRAGMA foreign_keys").fetchone()[0])
    if migration.rebuilds:
        # A no-op inside a transaction, so it is switched before BEGIN and back after COMMIT.
        conn.execute("PRAGMA foreign_keys=OFF")
    try:
        with atomic(conn):
            if schema_version(conn) >= migration.version:
                return False  # another process applied it while this one waited for the lock
            for statement in migration.statements():
                conn.execute(statement)
            if migration.rebuilds:
                broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"{what} migration {migration.version} breaks foreign keys: {broken[:5]}"
                    )
            # PRAGMA takes no parameters; the version is an int from the code, never from input.
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        return True
    finally:
        if migration.rebuilds:
            conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
