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

What cannot be rewritten one statement at a time (JSON functions, a Python aggregate) is asked
for by :func:`server.db.is_postgres` at its one call site. Integrity violations are raised as
:class:`sqlite3.IntegrityError` (one translation point), so ``except`` clauses stay as they are.
"""

from __future__ import annotations

import functools
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
    """

    def load(self, data: Any) -> Any:
        """The value, as an int when it has no fraction."""
        value = super().load(data)
        return int(value) if value == value.to_integral_value() else float(value)


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
    names = {column.name: index for index, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


# Statements -----------------------------------------------------------------------------

_QUOTED = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)


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
        self.description = None if cursor is None else cursor.description

    def fetchone(self) -> Any:
        """The next row, or ``None``."""
        if self._cursor is None or self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        if self._cursor is None or self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


_EMPTY = Cursor(None)


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
        self._conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
        self._conn.adapters.register_dumper(int, LooseInt)
        self._conn.adapters.register_dumper(bool, LooseInt)
        self._conn.adapters.register_loader("numeric", WholeNumeric)

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The psycopg connection underneath (for PostgreSQL-only work: COPY, advisory locks)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (as :attr:`sqlite3.Connection.in_transaction`)."""
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        """Run one statement written in SQLite's dialect."""
        if sql.lstrip()[:6].upper() == "PRAGMA":
            return _EMPTY  # SQLite's tuning (busy timeout, temp store, secure delete) has no meaning here
        statement, returns_id, numbered = translate(sql)
        try:
            cursor = self._conn.execute(statement, _params(params, numbered) or None)
        except psycopg.errors.IntegrityError as error:
            raise sqlite3.IntegrityError(str(error).splitlines()[0]) from error
        if returns_id:
            row = cursor.fetchone()
            done = Cursor(None, None if row is None else int(row[0]))
            done.rowcount = cursor.rowcount
            return done
        return Cursor(cursor)

    def executemany(self, sql: str, rows: Iterable[Any]) -> Cursor:
        """Run one statement for each parameter row."""
        statement, _returns_id, numbered = translate(sql)
        batch = [_params(row, numbered) for row in rows]
        if not batch:
            return _EMPTY
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(statement, batch)
                return Cursor(None)
        except psycopg.errors.IntegrityError as error:
            raise sqlite3.IntegrityError(str(error).splitlines()[0]) from error

    def close(self) -> None:
        """Close the session (an open transaction is rolled back by the server)."""
        self._conn.close()


def retryable(error: BaseException) -> bool:
    """Whether ``error`` says the transaction lost a race and may be run again as it was."""
    return isinstance(error, psycopg.Error) and getattr(error, "sqlstate", None) in RETRYABLE
