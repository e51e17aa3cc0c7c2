"""PostgreSQL behind the ``sqlite3`` connection API the server is written to: the thin dialect layer.

The rules (ledger, sales, tickets, awards, settlement) are written once, as SQL in SQLite's
dialect run through a DB-API connection. On SQLite that connection is :class:`sqlite3.Connection`
itself (nothing in between: the embedded default keeps its speed). On PostgreSQL it is a
:class:`PgConnection`, which speaks the same subset of the API (``execute``, ``executemany``,
cursors with ``fetchone``/``fetchall``/``rowcount``/``lastrowid``, rows by name and by index,
``in_transaction``) and rewrites each statement once (cached) into PostgreSQL's dialect:

- placeholders ``?`` and ``:name`` become ``%s`` and ``%(name)s``;
- ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``;
- ``IS`` / ``IS NOT`` between values become ``IS [NOT] DISTINCT FROM``;
- ``BEGIN IMMEDIATE`` becomes ``BEGIN``, ``temp.`` becomes ``pg_temp.``; PRAGMAs that tune SQLite
  are no-ops;
- an ``INSERT`` into a table whose new row id callers read (``lastrowid``) gets ``RETURNING id``.

Two things make a sale cheaper here without changing a rule: the balance changes of accounts
without a floor (merchants, funders) are added up and written at ``COMMIT``
(:attr:`PgConnection.deferred`), so those rows, which every sale of a shop or a program touches, are
locked for the commit only; and a write whose answer nobody reads (:func:`server.db.send`) goes out
with the next write, as one statement (:data:`FUSE`: the held writes become that statement's
``WITH`` parts), or, where the database is far enough away for round trips to count
(:data:`PIPELINE`), is sent ahead in pipeline mode and answered with the next statement's.

What cannot be rewritten one statement at a time (JSON functions, a Python aggregate) is asked
for by :func:`server.db.is_postgres` at its one call site. Integrity violations are raised as
:class:`sqlite3.IntegrityError` (one translation point), so ``except`` clauses stay as they are.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg.types.numeric import NumericLoader

#: Tables whose callers read the new row's id (``cursor.lastrowid``): their INSERTs return it.
RETURNS_ID = frozenset({"accounts", "transfers", "lots"})
#: SQLSTATEs a transaction may simply be run again after: serialization failure, deadlock, lock timeout.
RETRYABLE = frozenset({"40001", "40P01", "55P03"})
#: How long one attempt to reach a database may take (seconds), unless the URL says otherwise: a
#: failover is waited out by trying again, not by one long connect.
CONNECT_TIMEOUT_S = 3
#: The most facts a session remembers (:attr:`PgConnection.memo`) before starting afresh.
MEMO_MAX = 100_000
#: Whether writes whose answer nobody reads are sent ahead in pipeline mode (``MYKEY_PG_PIPELINE=1``)
#: rather than run at once. Off by default: with the database on the same host a round trip costs
#: less than psycopg's pipeline does. Two servers and PostgreSQL on 2 cores, one writer session each
#: (bench_pg's spread load): 1,148 sales/s with it, 1,348 without; server CPU 1.16 and 0.96 ms a
#: sale. Across a network, where each round trip is a wait, it is worth measuring on.
PIPELINE = os.environ.get("MYKEY_PG_PIPELINE", "0") == "1"
#: Whether writes whose answer nobody reads wait, inside a transaction, to go out with the next write
#: on another table as one statement (its ``WITH`` parts), rather than each as a round trip of its own
#: (``MYKEY_PG_FUSE=0`` turns it off). A sale with points and an award: 14 statements without it, 9
#: with it (bench_pg's ``pg_sale_statements``).
FUSE = os.environ.get("MYKEY_PG_FUSE", "1") == "1"


class ConnectionLost(RuntimeError):
    """The session to PostgreSQL is gone (the primary died, a failover): its open transaction with it.

    What the transaction did is not stored, unless the loss came during its ``COMMIT`` (then nobody
    knows: the caller answers "try again" and the operation's id decides on the retry). The next
    statement outside a transaction connects again (a multi-host URL with
    ``target_session_attrs=read-write`` finds the new primary).
    """


class StatementFailed(RuntimeError):
    """A statement sent ahead (:meth:`PgConnection.send`) broke a database rule: a bug, not a refusal.

    Raised where its failure comes to light: with the next statement (whose own failure it never is)
    or at ``COMMIT``.
    """


class TransactionRolledBack(RuntimeError):
    """A ``COMMIT`` found its transaction failed (a statement sent ahead broke it) and rolled it back."""


class LooseInt(Dumper):
    """Python ints sent untyped, as SQLite takes them: PostgreSQL infers the column's type.

    psycopg types an int as ``int2``/``int8``; ``text_column = 5`` would then be an error, where
    SQLite (and the rules written for it) compare by affinity. Booleans go as 1/0 into the
    ``INTEGER`` flag columns.
    """

    oid = 0

    def dump(self, obj: Any) -> bytes:
        """The integer's decimal digits."""
        return str(int(obj)).encode()


class WholeNumeric(NumericLoader):
    """``numeric`` read as an int when it is whole: PostgreSQL's ``SUM(bigint)`` is numeric, SQLite's an int.

    Amounts are whole yen and points; the answers are written with :mod:`json`, which has no Decimal.
    A fraction is kept as the exact :class:`~decimal.Decimal` (never a float: money is never rounded
    here), so a query that produced one fails loudly where it is used rather than losing a yen.
    """

    def load(self, data: Any) -> Any:
        """The value, as an int when it has no fraction (else the Decimal itself)."""
        value = super().load(data)
        return int(value) if value == value.to_integral_value() else value


class Row(tuple[Any, ...]):
    """A result row by index and by column name, like :class:`sqlite3.Row`."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    # The names straight from the result (``cursor.description`` builds a column object for each).
    result = cursor.pgresult
    names = {} if result is None else {(result.fname(i) or b"").decode(): i for i in range(result.nfields)}
    return lambda values: Row(values, names)


def _has_rows(cursor: psycopg.Cursor[Any] | None) -> bool:
    result = None if cursor is None else cursor.pgresult
    return result is not None and result.status == pq.ExecStatus.TUPLES_OK


# Statements -----------------------------------------------------------------------------

_QUOTED = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_WRITE = re.compile(r"\s*(?:INSERT\s+(?:OR\s+IGNORE\s+)?INTO|UPDATE)\s+(\w+)\b", re.IGNORECASE)
_READS = re.compile(r"\b(?:SELECT|WITH)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def written_table(sql: str) -> str | None:
    """The table a plain write changes (``INSERT ... VALUES`` or ``UPDATE``), or ``None``.

    ``None`` too for a write that reads another statement's rows (a ``SELECT`` or ``WITH`` in it):
    only plain writes are joined into one statement (:data:`FUSE`), where none of the parts sees what
    another changed, and each changes a table of its own.
    """
    unquoted = _QUOTED.sub("''", sql)
    found = _WRITE.match(unquoted)
    return None if found is None or _READS.search(unquoted) else found.group(1).lower()


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, bool, bool]:
    """``sql`` (SQLite's dialect) in PostgreSQL's.

    Returns:
        The statement, whether it was made to return the new row's id, and whether its
        placeholders are numbered (``?1``: the parameters are then passed by name ``p1``).
    """
    parts = _QUOTED.split(sql)
    numbered = False
    for index in range(0, len(parts), 2):  # even parts are outside quotes
        text = parts[index].replace("%", "%%")
        if re.search(r"\?\d", text):
            numbered = True
            text = re.sub(r"\?(\d+)", r"%(p\1)s", text)
        text = text.replace("?", "%s")
        text = _NAMED.sub(r"%(\1)s", text)
        text = _IS_NOT.sub("IS DISTINCT FROM ", text)
        text = _IS.sub("IS NOT DISTINCT FROM ", text)
        text = re.sub(r"\btemp\.", "pg_temp.", text)
        text = re.sub(r"\bWITHOUT ROWID\b", "", text)
        # SQLite's CROSS JOIN ... ON fixes the join order; PostgreSQL's CROSS JOIN takes no ON.
        text = re.sub(r"\bCROSS JOIN(\s+\w+(?:\s+(?:AS\s+)?(?!ON\b)\w+)?\s+ON)\b", r"JOIN\1", text)
        # A parameter tested for NULL alone has no type PostgreSQL could infer.
        text = re.sub(r"(%\(\w+\)s|%s)(\s+IS\s+(?:NOT\s+)?NULL\b)", r"CAST(\1 AS TEXT)\2", text)
        # SQLite's unary plus that keeps the planner off an index: PostgreSQL has no ``+text``.
        text = re.sub(r"(?<=[\s(])\+(?=[A-Za-z_]\w*\.\w)", "", text)
        parts[index] = text
    out = "".join(parts).strip().rstrip(";")
    if re.match(r"BEGIN\s+IMMEDIATE\b", out, re.IGNORECASE):
        return "BEGIN", False, False
    returns_id = False
    insert = _INSERT.match(out)
    if insert is not None:
        has_returning = re.search(r"\bRETURNING\b", out, re.IGNORECASE) is not None
        if insert.group(1):
            out = out[: insert.start(1)] + out[insert.end(1) :]
            out += " ON CONFLICT DO NOTHING"
        if insert.group(2) in RETURNS_ID and not has_returning:
            out += " RETURNING id"
            returns_id = True
    return out, returns_id, numbered


def _params(params: Any, numbered: bool = False) -> Any:
    if isinstance(params, Mapping) or params is None:
        return params
    if numbered:
        return {f"p{index}": value for index, value in enumerate(params, start=1)}
    return tuple(params)


class Cursor:
    """The result of one statement: rows, ``rowcount`` and (for an INSERT) ``lastrowid``."""

    def __init__(self, cursor: psycopg.Cursor[Any] | None, lastrowid: int | None = None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = -1 if cursor is None else cursor.rowcount

    @property
    def description(self) -> Any:
        """The result's columns (as DB-API's ``cursor.description``), ``None`` for a command."""
        return None if self._cursor is None else self._cursor.description

    def fetchone(self) -> Any:
        """The next row, or ``None``."""
        if not _has_rows(self._cursor):
            return None
        assert self._cursor is not None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        if not _has_rows(self._cursor):
            return []
        assert self._cursor is not None
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


_EMPTY = Cursor(None)


#: :meth:`PgConnection.apply_deferred`'s one statement: the rows locked in ascending id (the
#: ledger's order), then changed. The lock is the one an ``UPDATE`` takes (``NO KEY``): ``FOR UPDATE``
#: would wait for the key-share locks that other sessions' transfers hold on the same rows (their
#: foreign keys), and they for it: a deadlock between every two groups.
_APPLY_DEFERRED = (
    "WITH locked AS MATERIALIZED (SELECT id FROM accounts WHERE id = ANY(CAST(? AS BIGINT[])) ORDER BY id"
    " FOR NO KEY UPDATE) UPDATE accounts SET balance = balance + change.delta FROM locked JOIN"
    " unnest(CAST(? AS BIGINT[]), CAST(? AS BIGINT[])) AS change(id, delta) ON change.id = locked.id"
    " WHERE accounts.id = change.id"
)


class PgConnection:
    """One PostgreSQL session with the :class:`sqlite3.Connection` subset the server uses.

    Autocommit at the protocol level, as the SQLite connections are (``isolation_level=None``):
    transactions are the explicit ``BEGIN``/``COMMIT`` of :func:`server.db.atomic`.

    Args:
        url: a libpq URL or conninfo string (several hosts and ``target_session_attrs`` included).
    """

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        #: Statements run on every new session (``SET default_transaction_read_only``...).
        self.session_setup: list[str] = []
        #: The session died inside a transaction: every statement but ROLLBACK/RELEASE is refused
        #: with :class:`ConnectionLost` until the caller ends that transaction.
        self.lost = False
        #: Facts read once and kept for the session (an account's id): a statement is a round trip
        #: here (~0.2 ms of CPU on the two cores), not a function call. Emptied on every ROLLBACK
        #: (or ROLLBACK TO) and when the session is lost, since a row this session made may be undone.
        self.memo: dict[tuple[str, ...], Any] = {}
        #: Balance changes of accounts without a floor (merchants, funders), added up and applied at
        #: ``COMMIT`` (:func:`server.ledger.post`): such a row is locked only for the commit, not from a
        #: sale's first transfer on, so the sales of one shop, or one program's funder, do not queue.
        self.deferred: dict[int, int] = {}
        self._savepoints: list[tuple[str, dict[int, int]]] = []
        #: Whether :meth:`send` sends ahead (pipeline mode) or runs the statement at once (:data:`PIPELINE`).
        self.pipelined = PIPELINE
        #: Statements sent ahead (:meth:`send`) whose answers are read with the next statement's.
        self._queued: list[psycopg.Cursor[Any]] = []
        #: Whether :meth:`send` holds a plain write for the next one (:data:`FUSE`).
        self.fuses = FUSE
        #: The writes held (:meth:`send`): each one's table, PostgreSQL text and parameters.
        self._held: list[tuple[str, str, tuple[Any, ...]]] = []
        #: Statements this session ran one at a time (:meth:`_run`); one with held writes joined to it
        #: counts once. The tests read it.
        self.round_trips = 0
        self._pipeline: Any = None
        self._pipe: psycopg.Pipeline | None = None
        #: Notifications had on the channels this connection listens on (:meth:`notifications`).
        self._notices = 0
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        timeout = {} if "connect_timeout" in self.url else {"connect_timeout": CONNECT_TIMEOUT_S}
        conn = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory, **timeout)
        conn.adapters.register_dumper(int, LooseInt)
        conn.adapters.register_dumper(bool, LooseInt)
        conn.adapters.register_loader("numeric", WholeNumeric)
        conn.add_notify_handler(self._notified)  # those that come in with a statement's answer
        for statement in self.session_setup:
            conn.execute(statement)
        self._notices += 1  # a new session: what was notified while none listened is not known
        return conn

    def _notified(self, _notify: psycopg.Notify) -> None:
        self._notices += 1

    def listen(self, channel: str) -> None:
        """``LISTEN`` on ``channel``, on this session and on every one after it (a reconnect)."""
        self.session_setup.append(f"LISTEN {channel}")
        self.execute(self.session_setup[-1])

    def notifications(self) -> int:
        """A count that changes whenever a channel this connection listens on was notified.

        Read from what the socket holds, without a round trip: a ``NOTIFY`` reaches a listening
        session when the notifier commits. A new session counts too (a notification sent while none
        listened is lost), and so does every call while the session is broken (nothing can be known).
        """
        pgconn = self._conn.pgconn
        readable = not (self.lost or self._conn.broken or self._conn.closed)
        try:
            if readable:
                # Twice: a session the server ended sends its last words first, and the end is read after.
                pgconn.consume_input()
                pgconn.consume_input()
        except psycopg.OperationalError:
            readable = False
        if not readable or pgconn.status != pq.ConnStatus.OK:
            self._notices += 1
        while readable and pgconn.notifies() is not None:
            self._notices += 1
        return self._notices

    def _reconnect(self) -> None:
        """A new session in place of a dead one (one attempt: the caller decides when to try again)."""
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
        try:
            self._conn = self._connect()
        except psycopg.OperationalError as error:
            raise ConnectionLost(f"no database to write to: {str(error).splitlines()[0]}") from error
        self.lost = False

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The psycopg connection underneath (for PostgreSQL-only work: COPY, advisory locks)."""
        self.sync()
        return self._conn

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (as :attr:`sqlite3.Connection.in_transaction`)."""
        if self.lost or self._conn.broken or self._conn.closed:
            return False  # the transaction died with the session: there is nothing to roll back
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def send(self, sql: str, params: Any = ()) -> None:
        """Send a statement whose answer nobody reads, without waiting for it (pipeline mode).

        Unless :attr:`pipelined`, it is simply run, as on SQLite. Inside a transaction it goes out at
        once and its answer is read with the next statement's (:meth:`execute`, or :meth:`sync`): a
        sale's writes cost one round trip together, not one each (a ``BEGIN`` too: it goes with the
        transaction's first statement).
        A failure is raised there: a broken rule of the database (a key, a check) as
        :class:`StatementFailed`, so that an ``except`` around that next statement never takes it for
        its own. Outside a transaction (but for ``BEGIN``) it is simply run.
        """
        if not self.pipelined:
            if self.fuses and self._hold(sql, params):
                return
            self.execute(sql, params)
            return
        opens = sql.lstrip()[:5].upper() == "BEGIN"
        if self.lost and not opens:
            raise ConnectionLost("the session to the database died inside this transaction")
        if self.lost or self._conn.broken or self._conn.closed or (not opens and not self.in_transaction):
            self.execute(sql, params)
            return
        if self.deferred or self._savepoints:
            self._track(sql, sql.lstrip()[:8].upper())
        statement, _returns_id, numbered = translate(sql)
        try:
            if self._pipeline is None:
                self._pipeline = self._conn.pipeline()
                self._pipe = self._pipeline.__enter__()
            self._queued.append(self._conn.execute(statement, _params(params, numbered) or None))
        except psycopg.Error as error:
            self._pipeline_failed(error, [])

    def sync(self) -> None:
        """Wait for the answers of the statements sent ahead; raise the first failure among them."""
        if self._held:
            self._flush_held()
        if self._queued or self._pipeline is not None:
            self._run_queued(None, None)

    def _hold(self, sql: str, params: Any) -> bool:
        """Keep a plain write to go out with the next write (:data:`FUSE`); ``False`` when it cannot wait.

        It cannot outside a transaction (it is a statement of its own), nor when it reads (a
        ``SELECT`` in it) or its parameters are named. Two held writes never change one table: the
        parts of one statement could otherwise change one row twice, which PostgreSQL leaves undefined.
        """
        if self.lost or isinstance(params, Mapping) or not self.in_transaction:
            return False
        statement, _returns_id, numbered = translate(sql)
        table = None if numbered else written_table(sql)
        if table is None:
            return False
        if self._holds(table):
            self._flush_held()
        self._held.append((table, statement, tuple(params)))
        return True

    def _holds(self, table: str) -> bool:
        """Whether a held write changes ``table``."""
        return any(held == table for held, _text, _params in self._held)

    def _with_held(self, statement: str, params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """``statement`` with the held writes as its ``WITH`` parts, and none held any more.

        The parts and the statement run as one: none of them sees what another changed, which is why
        only plain writes, each on a table of its own, are held (:meth:`_hold`).
        """
        held, self._held = self._held, []
        parts = ", ".join(f"held{index} AS ({text})" for index, (_table, text, _params) in enumerate(held))
        return f"WITH {parts} {statement}", tuple(p for *_rest, values in held for p in values) + params

    def _flush_held(self) -> None:
        """Run the held writes now, as one statement (the last one with the others as its parts)."""
        _table, statement, params = self._held.pop()
        if self._held:
            statement, params = self._with_held(statement, params)
        try:
            self._run(statement, params or None)
        except sqlite3.IntegrityError as error:
            raise StatementFailed(f"a statement sent ahead failed: {error}") from error

    def _end_pipeline(self) -> None:
        cm, self._pipeline, self._pipe = self._pipeline, None, None
        if cm is not None:
            with contextlib.suppress(psycopg.Error):
                cm.__exit__(None, None, None)

    def _run_queued(self, statement: str | None, params: Any) -> psycopg.Cursor[Any] | None:
        """Run ``statement`` behind the statements sent ahead and read every answer in one round trip.

        Leaving pipeline mode sends the one ``Sync`` and reads every answer up to it (an explicit
        ``Pipeline.sync()`` first would cost a second ``Sync`` and a second wait, for nothing).
        """
        queued, self._queued = self._queued, []
        cm, self._pipeline, self._pipe = self._pipeline, None, None
        try:
            cursor = None if statement is None else self._conn.execute(statement, params)
        except psycopg.Error as error:
            if cm is not None:
                with contextlib.suppress(psycopg.Error):
                    cm.__exit__(None, None, None)
            self._pipeline_failed(error, queued)
        if cm is not None:
            try:
                cm.__exit__(None, None, None)  # raises the first failure among the answers
            except psycopg.Error as error:
                self._pipeline_failed(error, queued)
        return cursor

    def _pipeline_failed(self, error: psycopg.Error, queued: list[psycopg.Cursor[Any]]) -> None:
        self._queued = []
        self._end_pipeline()
        if self._conn.broken or self._conn.closed:
            self.lost = True
            self.memo.clear()
            self.deferred.clear()
            raise ConnectionLost(f"the database went away: {str(error).splitlines()[0]}") from error
        ahead = not queued or any(cursor.pgresult is None for cursor in queued)
        if isinstance(error, psycopg.errors.IntegrityError):
            if ahead:
                raise StatementFailed(
                    f"a statement sent ahead failed: {str(error).splitlines()[0]}"
                ) from error
            raise sqlite3.IntegrityError(str(error).splitlines()[0]) from error
        raise error

    def _run(self, statement: str, params: Any) -> psycopg.Cursor[Any]:
        """Run a translated statement, connecting again first when the session died between transactions."""
        if self.lost:
            raise ConnectionLost("the session to the database died inside this transaction")
        if self._queued:
            cursor = self._run_queued(statement, params)
            assert cursor is not None
            return cursor
        if self._conn.broken or self._conn.closed:
            self._reconnect()
        idle = self._conn.info.transaction_status == pq.TransactionStatus.IDLE
        self.round_trips += 1
        try:
            return self._conn.execute(statement, params)
        except psycopg.errors.IntegrityError as error:
            raise sqlite3.IntegrityError(str(error).splitlines()[0]) from error
        except psycopg.OperationalError as error:
            if not (self._conn.broken or self._conn.closed):
                raise
            if idle:
                # A statement of its own (autocommit) on a session that died since the last one:
                # nothing of it ran, so it is run once more on a new session.
                self._reconnect()
                return self._conn.execute(statement, params)
            self.lost = not idle
            self.memo.clear()
            raise ConnectionLost(f"the database went away: {str(error).splitlines()[0]}") from error

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        """Run one statement written in SQLite's dialect.

        Raises:
            ConnectionLost: the session died (inside a transaction, or no database answers).
        """
        head = sql.lstrip()[:8].upper()
        if head[:6] == "PRAGMA":
            return _EMPTY  # SQLite's tuning (busy timeout, temp store, secure delete) has no meaning here
        if head == "ROLLBACK" or self.lost:
            self.memo.clear()
            self._held.clear()  # undone with the rest (a SAVEPOINT sends them: none is older than it)
        if self.lost:
            self.deferred.clear()
        if head == "ROLLBACK" and (self._queued or self._pipeline is not None):
            with contextlib.suppress(psycopg.Error, ConnectionLost, StatementFailed):
                self.sync()  # what was sent ahead is undone with the rest
            self._queued = []
            self._end_pipeline()
        if self.deferred or self._savepoints:
            self._track(sql, head)
        if self.deferred and reads_balance(sql):
            self.apply_deferred()
        if self.lost and sql.lstrip()[:5].upper() == "BEGIN":
            self.lost = False  # a new transaction: the caller has moved on from the dead one
        if self.lost and sql.lstrip()[:8].upper().startswith(("ROLLBACK", "RELEASE")):
            if sql.lstrip()[:11].upper() == "ROLLBACK":
                self.lost = False  # the caller ended the dead transaction: the next one reconnects
            return _EMPTY
        statement, returns_id, numbered = translate(sql)
        values = _params(params, numbered)
        joined: str | None = None  # this statement's table, when the held writes go with it
        if self._held:
            table = None if numbered or isinstance(values, Mapping) else written_table(sql)
            if table is None or self._holds(table):
                self._flush_held()  # this statement may read what they write, or write their table
            else:
                statement, values = self._with_held(statement, values or ())
                joined = table
        try:
            cursor = self._run(statement, values or None)
        except sqlite3.IntegrityError as error:
            # The rule broken is named with its table: this statement's own, or one of the held writes'.
            if (
                joined is not None
                and getattr(getattr(error.__cause__, "diag", None), "table_name", None) != joined
            ):
                raise StatementFailed(f"a statement sent ahead failed: {error}") from error
            raise
        except BaseException:
            if head[:6] == "COMMIT":
                self.memo.clear()  # the transaction is gone, and what it made with it
            raise
        if head[:6] == "COMMIT" and cursor.statusmessage == "ROLLBACK":
            # PostgreSQL ends a failed transaction's COMMIT with a ROLLBACK, and no error: never an answer.
            self.memo.clear()
            raise TransactionRolledBack("the transaction had failed: COMMIT rolled it back")
        if len(self.memo) > MEMO_MAX:
            self.memo.clear()
        if returns_id:
            row = cursor.fetchone()
            done = Cursor(None, None if row is None else int(row[0]))
            done.rowcount = cursor.rowcount
            return done
        return Cursor(cursor)

    def defer(self, account_id: int, delta: int) -> None:
        """Add ``delta`` to an account's balance at ``COMMIT`` (one without a floor: :attr:`deferred`)."""
        self.deferred[account_id] = self.deferred.get(account_id, 0) + delta

    def apply_deferred(self) -> None:
        """Write the deferred balance changes now, in ascending account id (the ledger's lock order)."""
        rows = sorted((account_id, delta) for account_id, delta in self.deferred.items() if delta)
        # The savepoints keep what was deferred when each was taken: a ROLLBACK TO one undoes this
        # UPDATE too when it ran after it, so those amounts are pending again.
        self.deferred.clear()
        if rows:
            # A group's shops and funders in one statement, not one each: each process's commit holds
            # these rows, shared by all, so the fewer round trips they are held for the better.
            ids = [row[0] for row in rows]
            self.send(_APPLY_DEFERRED, (ids, ids, [row[1] for row in rows]))

    def _track(self, sql: str, head: str) -> None:
        """Keep :attr:`deferred` in step with ``COMMIT``, ``ROLLBACK`` and savepoints."""
        del head
        words = sql.split()
        verb = words[0].upper() if words else ""
        if verb == "COMMIT":
            if self.deferred:
                self.apply_deferred()
            self._savepoints.clear()
        elif verb == "BEGIN":
            self.deferred.clear()
            self._savepoints.clear()
        elif verb == "SAVEPOINT" and len(words) > 1:
            self._savepoints.append((words[1], dict(self.deferred)))
        elif verb == "RELEASE" and len(words) > 1:
            name = words[-1]
            while self._savepoints and self._savepoints.pop()[0] != name:
                pass
        elif verb == "ROLLBACK":
            if len(words) > 1 and words[1].upper() == "TO":
                name = words[-1]
                while self._savepoints and self._savepoints[-1][0] != name:
                    self._savepoints.pop()
                if self._savepoints:
                    self.deferred = dict(self._savepoints[-1][1])
                    return
            self.deferred.clear()
            self._savepoints.clear()

    def executemany(self, sql: str, rows: Iterable[Any]) -> Cursor:
        """Run one statement for each parameter row."""
        statement, _returns_id, numbered = translate(sql)
        batch = [_params(row, numbered) for row in rows]
        if not batch:
            return _EMPTY
        if self._held:
            self._flush_held()
        if len(batch) == 1:
            return self.execute(sql, batch[0])  # one row: a plain statement, without the pipeline
        if self.lost:
            raise ConnectionLost("the session to the database died inside this transaction")
        self.sync()
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(statement, batch)
                return Cursor(None)
        except psycopg.errors.IntegrityError as error:
            raise sqlite3.IntegrityError(str(error).splitlines()[0]) from error
        except psycopg.OperationalError as error:
            if not (self._conn.broken or self._conn.closed):
                raise
            self.lost = self._conn.info.transaction_status != pq.TransactionStatus.IDLE
            self.memo.clear()
            raise ConnectionLost(f"the database went away: {str(error).splitlines()[0]}") from error

    def close(self) -> None:
        """Close the session (an open transaction is rolled back by the server)."""
        self._conn.close()


@functools.lru_cache(maxsize=4096)
def reads_balance(sql: str) -> bool:
    """Whether a statement may read an account's stored balance (deferred changes are written first).

    The ledger's own ``balance = balance + ?`` updates only add to it, in any order.
    """
    text = sql.lower()
    return "balance" in text and not re.match(
        r"\s*(update accounts set balance = balance [+-] \?|insert (or ignore )?into accounts\()", text
    )


def lock_wait_lost(error: BaseException) -> bool:
    """Whether ``error`` ended a wait for a lock: a deadlock (40P01) or ``lock_timeout`` (55P03)."""
    return isinstance(error, psycopg.Error) and getattr(error, "sqlstate", None) in ("40P01", "55P03")


def retryable(error: BaseException) -> bool:
    """Whether ``error`` says the transaction lost a race and may be run again as it was."""
    return isinstance(error, psycopg.Error) and getattr(error, "sqlstate", None) in RETRYABLE
