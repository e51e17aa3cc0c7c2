"""The running server's hold on its database: one writer thread with group commit, and a reader.

Measured on the target machine (2 cores, this disk): one durable commit costs ~0.2 ms of fsync,
and a busy-timeout free-for-all between request threads spends most of its time waiting for the
lock. So every write goes through one :class:`Writer` thread and one connection. It takes the
jobs that are waiting (up to :data:`MAX_GROUP`), runs each in its own savepoint inside one
``BEGIN IMMEDIATE`` transaction and commits once: a sale is acknowledged only after the commit
that holds it, so durability is unchanged, and a refused sale rolls back its savepoint alone.
Other processes (``check``, ``expire``, settlement) still take the lock in turn through the
busy timeout.

Reads (tokens, programs, balances) run on the event loop's own connection: SQLite reads in WAL
mode never wait for the writer and take tens of microseconds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import pathlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography import x509

from points.programs import Program
from points.tickets import TicketSigner
from points.wire import EventInfo, Merchant
from server import admin, auth, db, ledger

T = TypeVar("T")

#: The most jobs one commit carries; bounds a group's latency when the queue is long.
MAX_GROUP = 128
#: How long cached tokens and programs are trusted before being read again (seconds): an admin
#: change made from the command line in another process takes effect within this time.
CACHE_SECONDS = 2.0


class Writer:
    """One thread that owns the write connection and applies jobs in order, committing in groups."""

    def __init__(self, path: str | pathlib.Path) -> None:
        self._conn = db.connect(path)
        self._queue: queue.Queue[
            tuple[Callable[[sqlite3.Connection], Any], concurrent.futures.Future[Any]] | None
        ]
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="mykey-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        """Queue ``job(conn)``; its future resolves once the transaction holding it is committed."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((job, future))
        return future

    def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Submit ``job`` and wait for it (for threads that may block)."""
        return self.submit(job).result()

    def close(self) -> None:
        """Finish the queued jobs, stop the thread and close the connection."""
        self._queue.put(None)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._apply(group)
            if stop:
                return

    def _apply(
        self, group: list[tuple[Callable[[sqlite3.Connection], Any], concurrent.futures.Future[Any]]]
    ) -> None:
        outcomes: list[tuple[concurrent.futures.Future[Any], Any, BaseException | None]] = []
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job, future in group:
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    with db.savepoint(conn, "job"):
                        outcomes.append((future, job(conn), None))
                except Exception as error:
                    outcomes.append((future, None, error))
            conn.execute("COMMIT")
        except Exception as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # Nothing of this group is stored: every job hears so, none is acknowledged.
            for _job, future in group:
                if future.running():
                    future.set_exception(error)
            return
        for future, result, error in outcomes:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)


@dataclass(frozen=True, slots=True)
class ProgramEntry:
    """A program as the server holds it: its rules and when they last changed."""

    program: Program
    updated_at: str


class Store:
    """The database as the app sees it: the writer, a read connection, and small caches.

    Args:
        path: the database file (made by :func:`server.admin.init`).
        clock: the server's clock (tests move it to check same-day voids and expiry).
        trust_anchors: extra CA certificates (PEM) card certificates may chain to, beside those
            remembered in the database.
    """

    def __init__(
        self,
        path: str | pathlib.Path,
        *,
        clock: Callable[[], dt.datetime] = ledger.utc_now,
        trust_anchors: list[bytes] | None = None,
    ) -> None:
        self.path = pathlib.Path(path)
        self.clock = clock
        self.reader = db.connect(self.path)
        self.writer = Writer(self.path)
        self.signer: TicketSigner = admin.ticket_signer(self.reader)
        pems = [*admin.trust_anchors(self.reader), *(trust_anchors or [])]
        self.trust_anchors: list[x509.Certificate] = [x509.load_pem_x509_certificate(p) for p in pems]
        self._tokens: dict[str, tuple[float, auth.Principal | None]] = {}
        self._programs: dict[str, ProgramEntry] = {}
        self._programs_read = 0.0

    def close(self) -> None:
        """Stop the writer and close both connections."""
        self.writer.close()
        self.reader.close()

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` on the writer thread and wait (without blocking the event loop) for its commit."""
        return await asyncio.wrap_future(self.writer.submit(job))

    def principal(self, token: str) -> auth.Principal | None:
        """The principal of a bearer token (cached for :data:`CACHE_SECONDS`)."""
        now = time.monotonic()
        cached = self._tokens.get(token)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        principal = auth.lookup(self.reader, token)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[token] = (now, principal)
        return principal

    def programs(self, conn: sqlite3.Connection | None = None) -> dict[str, Program]:
        """Every program by id (re-read when another process changed one, at most every few seconds).

        With ``conn`` (the writer's connection inside a job) the programs are read afresh there.
        """
        if conn is not None:
            return {p.id: p for p in _load_programs(conn)}
        now = time.monotonic()
        if now - self._programs_read > CACHE_SECONDS:
            self._programs = {p.id: ProgramEntry(p, "") for p in _load_programs(self.reader)}
            self._programs_read = now
        return {key: entry.program for key, entry in self._programs.items()}

    def merchant(self, conn: sqlite3.Connection, merchant_id: str) -> Merchant | None:
        """A merchant as terminals and receipts show it."""
        row = conn.execute(
            "SELECT id, name, address, phone, invoice_number, category, chamber_id FROM merchants WHERE id"
            " = ?",
            (merchant_id,),
        ).fetchone()
        if row is None:
            return None
        return Merchant(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (sqlite3.Row iterates values)

    def terminal_event(self, terminal_id: str) -> EventInfo | None:
        """The event an award station is set up for, if any."""
        row = self.reader.execute("SELECT event FROM terminals WHERE id = ?", (terminal_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return EventInfo.model_validate(json.loads(row[0]))


def _load_programs(conn: sqlite3.Connection) -> list[Program]:
    return [Program.model_validate_json(row[0]) for row in conn.execute("SELECT definition FROM programs")]
