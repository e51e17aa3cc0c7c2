"""``mykey-server backup`` and ``restore``: a consistent copy of a live database, and a new database from one.

- SQLite (a file path or ``sqlite:///…``): SQLite's online backup API
  (:meth:`sqlite3.Connection.backup`) in one step, so the copy is the database as of one
  moment while the server keeps writing (WAL: the backup's read transaction blocks no writer).
  The copy is checked (``PRAGMA integrity_check``), flushed, and only then renamed into place,
  so a half-written backup never carries the final name.
- PostgreSQL (``postgresql://…``, libpq syntax): ``pg_dump --format=custom`` (one snapshot, a
  repeatable-read transaction) and ``pg_restore --single-transaction`` into an empty database.

Neither backup holds the key-encryption key of the ticket-signing key (``<database>.key``,
``MYKEY_KEY``, ``MYKEY_KEY_FILE``): a backup that carried its own key would unseal itself. Keep
the key apart, as :mod:`server.keys` says, and give it to the restored database's server.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass

from server import db
from server.dburl import DatabaseUrl, parse_database_url, redact

#: Where Debian puts each PostgreSQL major version's client tools (the newest is used).
DEBIAN_PG_BIN = pathlib.Path("/usr/lib/postgresql")


class BackupError(RuntimeError):
    """A backup or restore cannot be made (no source, a target in the way, a tool that failed)."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup or restore wrote: the file or database, its size, and how long it took."""

    target: str
    size_bytes: int
    seconds: float
    schema_version: int | None = None


# SQLite -----------------------------------------------------------------------------------


def backup_sqlite(source: pathlib.Path, target: pathlib.Path) -> BackupReport:
    """Copy the live SQLite database ``source`` to the new file ``target`` as of one moment.

    Raises:
        BackupError: ``source`` does not exist, ``target`` does, or the copy fails its check.
    """
    if not source.exists():
        raise BackupError(f"no database at {source}")
    began = time.monotonic()
    # The source's own connection settings (WAL, busy timeout), so a writer holding the lock is waited for.
    src = db.connect(source)
    try:
        version = _copy_sqlite(src, target)
    finally:
        src.close()
    return BackupReport(str(target), target.stat().st_size, time.monotonic() - began, version)


def restore_sqlite(backup: pathlib.Path, target: pathlib.Path) -> BackupReport:
    """A new SQLite database ``target`` from the backup file ``backup`` (never over an existing one).

    Raises:
        BackupError: no backup, ``target`` exists, or the backup is damaged.
    """
    if not backup.exists():
        raise BackupError(f"no backup at {backup}")
    began = time.monotonic()
    src = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    try:
        version = _copy_sqlite(src, target)
    finally:
        src.close()
    return BackupReport(str(target), target.stat().st_size, time.monotonic() - began, version)


def _copy_sqlite(src: sqlite3.Connection, target: pathlib.Path) -> int:
    """Copy ``src`` into ``target`` through a ``.partial`` file; returns the copy's schema version."""
    for path in (target, target.with_name(target.name + "-wal")):
        if path.exists():
            raise BackupError(f"{path} exists: choose a new file (a backup never overwrites)")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    dst = sqlite3.connect(partial)
    try:
        # pages=-1 (the default): all in one step. Stepwise copying restarts whenever the server
        # writes, so under load it might never finish; one step reads one snapshot.
        src.backup(dst)
        problems = [row[0] for row in dst.execute("PRAGMA integrity_check").fetchall()]
        if problems != ["ok"]:
            raise BackupError(f"the copy fails its integrity check: {problems[:5]}")
        version = int(dst.execute("PRAGMA user_version").fetchone()[0])
        # The copy keeps the source's WAL mode; fold its WAL into the file so one file is the backup.
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dst.execute("PRAGMA journal_mode=DELETE")
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    dst.close()
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)
    return version


def _fsync(path: pathlib.Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# PostgreSQL -------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client tool (``$MYKEY_PG_BIN``, Debian's newest, or ``$PATH``).

    Raises:
        BackupError: the tool is not installed.
    """
    candidates = []
    if os.environ.get("MYKEY_PG_BIN"):
        candidates.append(pathlib.Path(os.environ["MYKEY_PG_BIN"]) / name)
    versions = sorted(
        (p for p in DEBIAN_PG_BIN.glob(f"*/bin/{name}")),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    candidates.extend(reversed(versions))
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def backup_postgres(url: str, target: pathlib.Path) -> BackupReport:
    """``pg_dump --format=custom`` of the database ``url`` to the new file ``target``.

    Raises:
        BackupError: ``target`` exists or ``pg_dump`` failed (its message is kept).
    """
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file (a backup never overwrites)")
    began = time.monotonic()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _run([pg_tool("pg_dump"), f"--dbname={url}", "--format=custom", f"--file={partial}"], url)
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)
    return BackupReport(str(target), target.stat().st_size, time.monotonic() - began)


def restore_postgres(backup: pathlib.Path, url: str) -> BackupReport:
    """``pg_restore`` of ``backup`` into the existing, empty database ``url``, all or nothing.

    Raises:
        BackupError: no backup, the target database has tables, or ``pg_restore`` failed.
    """
    import psycopg

    if not backup.exists():
        raise BackupError(f"no backup at {backup}")
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    if tables is not None and tables[0]:
        raise BackupError(f"{redact(url)} has {tables[0]} table(s): restore into a new, empty database")
    began = time.monotonic()
    _run(
        [pg_tool("pg_restore"), f"--dbname={url}", "--single-transaction", "--exit-on-error", "--no-owner",
         str(backup)],
        url,
    )  # fmt: skip
    return BackupReport(redact(url), backup.stat().st_size, time.monotonic() - began)


def _run(command: list[str], url: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shown = [redact(part) if url in part else part for part in command]
        raise BackupError(f"{' '.join(shown)} failed ({result.returncode}): {result.stderr.strip()}")


# The verbs --------------------------------------------------------------------------------


def backup(location: DatabaseUrl, target: pathlib.Path) -> BackupReport:
    """A backup of the database at ``location`` (SQLite or PostgreSQL) in the new file ``target``."""
    if location.kind == "sqlite":
        assert location.path is not None
        return backup_sqlite(location.path, target)
    return backup_postgres(location.url, target)


def restore(backup_file: pathlib.Path, location: DatabaseUrl) -> BackupReport:
    """A new database at ``location`` from ``backup_file`` (made by :func:`backup` of the same kind)."""
    if location.kind == "sqlite":
        assert location.path is not None
        return restore_sqlite(backup_file, location.path)
    return restore_postgres(backup_file, location.url)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` and ``restore`` to ``mykey-server``."""
    default_db = os.environ.get("MYKEY_DB", "mykey.db")
    sub = verbs.add_parser(
        "backup", help="a consistent copy of the live database (SQLite online backup; pg_dump)"
    )
    sub.add_argument("--db", default=default_db, help="a file, sqlite:///PATH or postgresql://… (libpq)")
    sub.add_argument("--to", type=pathlib.Path, required=True, help="the backup file to write (must be new)")
    sub.set_defaults(run=_backup_verb)
    sub = verbs.add_parser("restore", help="a new database from a backup (never over an existing one)")
    sub.add_argument("--from", dest="source", type=pathlib.Path, required=True, help="the backup file")
    sub.add_argument(
        "--db", required=True, help="the new database: a new file, or an empty PostgreSQL database"
    )
    sub.set_defaults(run=_restore_verb)


def _backup_verb(args: argparse.Namespace) -> int:
    try:
        report = backup(parse_database_url(args.db), args.to)
    except BackupError as exc:
        print(f"バックアップできません / backup failed: {exc}", file=sys.stderr)
        return 1
    version = "" if report.schema_version is None else f", schema version {report.schema_version}"
    print(
        f"backed up {redact(args.db)} to {report.target}: {report.size_bytes} bytes in"
        f" {report.seconds:.2f} s{version}; the key-encryption key is not in it (keep it apart)"
    )
    return 0


def _restore_verb(args: argparse.Namespace) -> int:
    try:
        report = restore(args.source, parse_database_url(args.db))
    except BackupError as exc:
        print(f"復元できません / restore failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"restored {args.source} into {report.target} in {report.seconds:.2f} s; run `mykey-server check"
        f" --db {report.target}`, and give its server the key-encryption key of the original"
    )
    return 0
