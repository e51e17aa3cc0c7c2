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
from typing import Any

import sqlite_utils

from server import pg
from server.dburl import is_postgres_url, sqlite_path
from server.pg import PgConnection

#: A connection to either database: SQLite's own, or the PostgreSQL one speaking its API.
Connection = sqlite3.Connection | PgConnection

#: How long a writer waits for another process's write lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)


def is_postgres(conn: Any) -> bool:
    """Whether ``conn`` is a PostgreSQL connection (for the few statements written per dialect)."""
    return isinstance(conn, PgConnection)


def row_lock(conn: Any, mode: str = "UPDATE", of: str = "") -> str:
    """The ``FOR UPDATE`` (or ``FOR SHARE``) clause a read ends with on PostgreSQL; nothing on SQLite.

    SQLite needs none: ``BEGIN IMMEDIATE`` lets one writer in at a time. On PostgreSQL several server
    processes write at once, and a row read to decide on is locked, so the decision still holds at
    the commit. ``of`` names the one table of a join whose rows are locked.
    """
    assert mode in ("UPDATE", "SHARE"), mode
    if not is_postgres(conn):
        return ""
    return f" FOR {mode} OF {of}" if of else f" FOR {mode}"


def connect(path: str | pathlib.Path, *, readonly: bool = False) -> Any:
    """Open the database at ``path`` (a file, ``sqlite:///…`` or ``postgresql://…``).

    A SQLite file gets the ledger's pragmas; transactions are explicit on both (see :func:`atomic`).

    Args:
        path: the database file (created if missing, unless ``readonly``) or a libpq URL.
        readonly: open with ``mode=ro`` (for readers that must never write); on PostgreSQL,
            a session whose transactions default to read-only.

    Returns:
        a :class:`sqlite3.Connection`, or a :class:`server.pg.PgConnection` for a PostgreSQL URL.
    """
    if is_postgres_url(path):
        conn = PgConnection(str(path))
        if readonly:
            conn.session_setup.append("SET default_transaction_read_only = on")  # kept on a reconnect
            conn.execute(conn.session_setup[-1])
        return conn
    path = sqlite_path(path)
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


def send(conn: Any, sql: str, params: Any = ()) -> None:
    """Run a write whose result nobody reads: on PostgreSQL it is sent without waiting for its answer.

    Its answer (and failure) comes with the next statement's (:meth:`server.pg.PgConnection.send`);
    on SQLite it is simply run (a statement is a function call there, not a round trip).
    """
    sender = getattr(conn, "send", None)
    if sender is None:
        conn.execute(sql, params)
    else:
        sender(sql, params)


def sync(conn: Any) -> None:
    """Wait for the writes sent ahead (:func:`send`) and raise their first failure (PostgreSQL)."""
    syncer = getattr(conn, "sync", None)
    if syncer is not None:
        syncer()


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str = "step") -> Iterator[sqlite3.Connection]:
    """A nested unit inside an open transaction: rolled back alone if the block raises.

    The writer applies many sales in one commit (group commit); each sale runs in its
    own savepoint so a refused sale leaves no trace while its neighbours are kept.
    """
    if is_postgres(conn) and not conn.in_transaction:
        # SQLite opens a transaction for a savepoint outside one; PostgreSQL refuses: open it here.
        with atomic(conn):
            yield conn
        return
    send(conn, f"SAVEPOINT {name}")
    try:
        yield conn
        sync(conn)  # a write sent ahead that failed fails this block, not the next one
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    else:
        send(conn, f"RELEASE {name}")


class Retry(RuntimeError):
    """The operation lost a race with another server process and is to be run again as it was."""


def retryable(error: BaseException) -> bool:
    """Whether the writer may run the job that raised ``error`` again in its next transaction.

    A :class:`Retry`, or on PostgreSQL a serialization failure, a deadlock or a lock timeout.
    """
    return isinstance(error, Retry) or pg.retryable(error)


def lock_wait_lost(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL giving up a lock wait (a deadlock found, a lock timeout)."""
    return pg.lock_wait_lost(error)


# Schema versions ----------------------------------------------------------------------


class SchemaTooNew(RuntimeError):
    """The database was written by a newer release than this code: opening it could lose data."""


#: The advisory lock key migrations take on PostgreSQL (one step at a time, across processes).
MIGRATION_LOCK = 0x6D796B6579  # "mykey"


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of a database's history: plain SQL statements, applied in one transaction.

    Attributes:
        version: the version the database has once this step is applied (SQLite's
            ``PRAGMA user_version``, PostgreSQL's ``schema_version`` table).
        why: one line saying what the step changes and why (shown by ``upgrade``'s callers).
        sql: statements separated by ``;`` at the end of a line (no triggers, so no ``;`` inside one).
        rebuilds: the step rebuilds tables other tables point to (SQLite cannot alter a column in
            place): foreign keys are switched off around it and checked once before the commit.
        postgres: the same step in PostgreSQL's dialect (types, ``ALTER ... TYPE`` where SQLite
            rebuilds a table); empty when the step is the same SQL on both.
    """

    version: int
    why: str
    sql: str
    rebuilds: bool = False
    postgres: str = ""

    def statements(self, postgres: bool = False) -> list[str]:
        """The step's statements in order (in PostgreSQL's dialect when ``postgres``)."""
        sql = (self.postgres or self.sql) if postgres else self.sql
        return [part.strip() for part in sql.split(";\n") if part.strip().strip(";")]


def schema_version(conn: Any) -> int:
    """The database's schema version (0 for a new database or a file of release 0.1).

    SQLite keeps it in ``PRAGMA user_version``; PostgreSQL in the one-row table ``schema_version``.
    """
    if is_postgres(conn):
        row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        found = conn.execute("SELECT version FROM schema_version").fetchone()
        return 0 if found is None else int(found[0])
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def upgrade(conn: Any, migrations: Sequence[Migration], what: str = "database") -> list[int]:
    """Apply every migration newer than the database, oldest first, each in its own transaction.

    Safe to call from several processes at once: the version is read again under the write lock
    (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock), so a step is applied once. Call it
    outside a transaction.

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
            " it was written by a newer release; upgrade the program (the database is left untouched)"
        )
    applied: list[int] = []
    for migration in migrations[found:]:
        applied_now = _apply_postgres(conn, migration) if is_postgres(conn) else _apply(conn, migration, what)
        if applied_now:
            applied.append(migration.version)
    return applied


def _apply_postgres(conn: Any, migration: Migration) -> bool:
    with atomic(conn):
        conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        if schema_version(conn) >= migration.version:
            return False  # another process applied it while this one waited for the lock
        for statement in migration.statements(postgres=True):
            conn.execute(statement)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version(version) VALUES (?)", (migration.version,))
    return True


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
