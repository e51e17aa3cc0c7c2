"""``mykey-server copy --from sqlite:///… --to postgresql://…``: move a town's database to the shared cloud.

The steps, each refusing rather than guessing:

1. **Snapshot.** An online backup of the live SQLite file (:func:`server.backup.backup_sqlite`)
   into a temporary file: the copy reads one moment of the ledger while the town's server keeps
   running. (For the cut-over itself stop the town's server first, or sales after the snapshot
   stay behind.) The snapshot is brought to this release's schema version (it is a copy, so
   upgrading it touches nothing live) and must pass ``check``: an inconsistent ledger is not
   carried into the cloud.
2. **Target.** The PostgreSQL database must be empty (a row in any table refuses the copy: two
   towns are never merged by accident), then gets this release's schema from the migrations both
   databases share (:func:`prepare_target`).
3. **Copy.** Table by table in migration order, a table after those its foreign keys point to,
   rows in their original order (a reversal after the transfer it reverses), by ``COPY``, all in
   one transaction: the target has everything or nothing. Sequences behind id columns are moved
   past the copied ids.
4. **Compare.** Row counts per table, and every account's stored balance and its balance from
   the transfers, on both sides: the same numbers, summing to zero, or the copy is rolled back.
"""

from __future__ import annotations

import argparse
import graphlib
import pathlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server import db, ledger, schema
from server.backup import BackupError, backup_sqlite
from server.dburl import parse_database_url, redact

#: Every account's stored balance beside its balance recomputed from the transfers. Plain SQL that
#: SQLite and PostgreSQL both run, so both sides of a copy are measured by the same query.
BALANCES_SQL = """
SELECT a.id, a.balance, COALESCE(c.total, 0) - COALESCE(d.total, 0)
FROM accounts a
LEFT JOIN (SELECT credit_account_id AS id, SUM(amount) AS total FROM transfers GROUP BY credit_account_id) c
    ON c.id = a.id
LEFT JOIN (SELECT debit_account_id AS id, SUM(amount) AS total FROM transfers GROUP BY debit_account_id) d
    ON d.id = a.id
ORDER BY a.id
"""


class CopyError(RuntimeError):
    """The copy was refused or undone: a non-empty target, a schema mismatch, an unequal result."""


class Rows(Protocol):
    """What both sqlite3 and psycopg connections offer: ``execute(sql)`` giving iterable rows."""

    def execute(self, query: Any, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied: rows per table (in copy order), accounts compared, and the time taken."""

    rows: dict[str, int]
    accounts: int
    balance_total: int
    seconds: float


def copy_order(conn: sqlite3.Connection) -> list[str]:
    """The tables in migration order (creation order), each after the tables its foreign keys name."""
    created = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        )
    ]
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for table in created:
        parents = {row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{table}")')} - {table}
        sorter.add(table, *sorted(parents & set(created)))
    # Stable: among tables ready at once, the older one first.
    rank = {table: n for n, table in enumerate(created)}
    order: list[str] = []
    sorter.prepare()
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=rank.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return order


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The columns of a SQLite table, in their order."""
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def balances(conn: Rows) -> list[tuple[int, int, int]]:
    """``(account id, stored balance, balance from transfers)`` for every account, by id."""
    return [(int(r[0]), int(r[1]), int(r[2])) for r in conn.execute(BALANCES_SQL)]


# The PostgreSQL end -------------------------------------------------------------------------


def prepare_target(target_url: str, tables: Sequence[str]) -> None:
    """Give the empty PostgreSQL database ``target_url`` this release's schema, then check it has ``tables``.

    The schema comes from the one ordered list of migrations both databases share
    (:func:`server.schema.upgrade`), so the copy lands in the tables the PostgreSQL server runs on.
    A target with rows in any table is refused before anything is written to it (two towns are
    never merged by accident); one already migrated and empty is taken as it is.

    Raises:
        CopyError: the target has rows, is newer than this release, or lacks a table of the source.
    """
    conn = db.connect(target_url)
    try:
        _refuse_non_empty(conn, _tables(conn))
        try:
            schema.upgrade(conn)
        except db.SchemaTooNew as exc:
            raise CopyError(str(exc)) from exc
        missing = [table for table in tables if table not in _tables(conn)]
        if missing:
            raise CopyError(
                f"the target's schema (version {schema.SCHEMA_VERSION}) lacks {len(missing)} table(s) of"
                f" the source ({', '.join(missing[:5])}...): is the source from a newer release?"
            )
    finally:
        conn.close()


def _tables(conn: Any) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ]


def _refuse_non_empty(conn: Any, tables: Iterable[str]) -> None:
    # Names come from the catalogue, quoted as identifiers; the version table is the schema's own.
    busy = [
        t
        for t in tables
        if t != "schema_version"
        and conn.execute('SELECT 1 FROM "{}" LIMIT 1'.format(t.replace('"', '""'))).fetchone()
    ]
    if busy:
        raise CopyError(
            f"the target is not empty ({', '.join(busy[:5])} have rows): copy into a new database"
        )


def _copy_table(source: sqlite3.Connection, target: Any, table: str) -> int:
    from psycopg import sql

    names = columns(source, table)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    selected = ", ".join(f'"{n}"' for n in names)
    count = 0
    with target.cursor() as cursor, cursor.copy(statement) as copy:
        for row in source.execute(f'SELECT {selected} FROM "{table}" ORDER BY rowid'):
            copy.write_row(tuple(row))
            count += 1
    return count


def _move_sequences(conn: Any, tables: Iterable[str], names_of: dict[str, list[str]]) -> None:
    """Set each serial or identity sequence past the largest copied id (or new rows would collide)."""
    from psycopg import sql

    for table in tables:
        for column in names_of[table]:
            found = conn.execute("SELECT pg_get_serial_sequence(%s, %s)", (table, column)).fetchone()
            if found is None or found[0] is None:
                continue
            conn.execute(
                sql.SQL(
                    "SELECT setval(%s, m) FROM (SELECT max({}) AS m FROM {}) AS t WHERE m IS NOT NULL"
                ).format(sql.Identifier(column), sql.Identifier(table)),
                (found[0],),
            )


def _count(conn: Any, table: str) -> int:
    from psycopg import sql

    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0])


# The whole copy ---------------------------------------------------------------------------


def copy_sqlite_to_postgres(source: pathlib.Path, target_url: str) -> CopyReport:
    """Copy the live SQLite database ``source`` into the empty PostgreSQL database ``target_url``.

    Raises:
        CopyError: the source is inconsistent, the target is not empty or lacks the schema, or
            the copy did not compare equal (then nothing was committed).
        server.backup.BackupError: the source cannot be read.
    """
    import psycopg

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mykey-copy-") as folder:
        snapshot_path = pathlib.Path(folder) / "snapshot.db"
        backup_sqlite(source, snapshot_path)
        snapshot = db.connect(snapshot_path)
        try:
            schema.upgrade(snapshot)
            problems = ledger.check(snapshot)
            if problems:
                raise CopyError(
                    f"the source ledger is inconsistent ({problems[0]}...): fix it before moving it"
                )
            order = copy_order(snapshot)
            names_of = {table: columns(snapshot, table) for table in order}
            expected = balances(snapshot)
            prepare_target(target_url, order)
            with psycopg.connect(target_url) as target, target.transaction():
                # Refused again inside the copy's transaction: a writer may have come in between.
                _refuse_non_empty(target, order)
                copied = {table: _copy_table(snapshot, target, table) for table in order}
                _move_sequences(target, order, names_of)
                counted = {table: _count(target, table) for table in order}
                if counted != copied:
                    raise CopyError(f"row counts differ after the copy: {counted} != {copied}")
                found = balances(target)
                if found != expected:
                    raise CopyError("balances differ between the source and the copy: nothing was committed")
                drifted = [account for account, stored, computed in found if stored != computed]
                if drifted or sum(r[1] for r in found) != 0:
                    raise CopyError("the copy's balances do not follow from its transfers")
        finally:
            snapshot.close()
    return CopyReport(copied, len(expected), sum(r[1] for r in expected), time.monotonic() - began)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``copy`` to ``mykey-server``."""
    sub = verbs.add_parser("copy", help="copy a live SQLite database into an empty PostgreSQL database")
    sub.add_argument(
        "--from", dest="source", required=True, help="the SQLite database (a file or sqlite:///…)"
    )
    sub.add_argument("--to", dest="target", required=True, help="the PostgreSQL database (postgresql://…)")
    sub.set_defaults(run=_copy_verb)


def _copy_verb(args: argparse.Namespace) -> int:
    source, target = parse_database_url(args.source), parse_database_url(args.target)
    if source.kind != "sqlite" or target.kind != "postgresql":
        print("copy goes from SQLite (--from) to PostgreSQL (--to)", file=sys.stderr)
        return 2
    assert source.path is not None
    try:
        report = copy_sqlite_to_postgres(source.path, target.url)
    except (CopyError, BackupError) as exc:
        print(f"コピーできません / copy refused: {exc}", file=sys.stderr)
        return 1
    for table, count in report.rows.items():
        print(f"{table}\t{count}")
    print(
        f"copied {sum(report.rows.values())} rows of {len(report.rows)} tables into {redact(target.url)}"
        f" in {report.seconds:.2f} s; {report.accounts} account balances equal on both sides, summing to"
        f" {report.balance_total}. Give the PostgreSQL server the key-encryption key of {source.path}"
        " (MYKEY_KEY_FILE): the ticket-signing key was copied sealed."
    )
    return 0
