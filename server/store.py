"""The running server's hold on its database: one writer with group commit, on the event loop.

Measured on the target machine (2 cores): a writer *thread* next to the event loop thread loses
most of its time waiting for the GIL (every SQLite call releases it and then waits up to the
5 ms switch interval to get it back while the loop parses requests): 440 sales/s. So the writer
runs on the event loop itself. :meth:`Writer.submit` queues a job and schedules one flush; the
flush takes every job queued meanwhile, runs each in its own savepoint inside one
``BEGIN IMMEDIATE`` transaction and commits once (group commit). A sale is acknowledged only
after the commit that holds it, so durability is unchanged, and a refused sale rolls back its
savepoint alone. A durable commit costs ~0.1 ms here, so the loop is not held up for long.

Other processes (``check``, ``expire``, settlement's period close, other ``--workers``) take
the write lock in turn: a flush waits for it at most :data:`LOCK_WAIT_MS` and, when it is still
taken, tries again a little later instead of blocking the event loop for long.

Reads (tokens, programs, balances) use a second connection on the same loop: in WAL mode they
never wait for a writer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import pathlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography import x509

from points.programs import Program
from points.tickets import TicketSigner
from points.wire import EventInfo, Merchant
from server import admin, auth, db, dburl, ledger, schema
from server.pg import ConnectionLost

T = TypeVar("T")

#: The most jobs one commit carries; bounds a group's latency when the queue is long.
MAX_GROUP = 256
#: How long cached tokens and programs are trusted before being read again (seconds): an admin
#: change made from the command line in another process takes effect within this time (a
#: token's revocation at once: :meth:`Store.principal`).
CACHE_SECONDS = 2.0
#: How long a flush may hold up the event loop waiting for another process's write lock (ms):
#: long enough for another worker's group commit, short enough not to stall requests.
LOCK_WAIT_MS = 20
#: How long a flush waits before asking again when the lock stays taken (a long batch job).
LOCK_RETRY_SECONDS = 0.010
#: How often a job that lost a race with another server process (PostgreSQL: a deadlock, a
#: serialization failure, an operation id registered meanwhile) is run again before its caller hears so.
MAX_RETRIES = 8
#: How often a flush tries to reach PostgreSQL again while its session is lost (a failover), and
#: how long a job waits for it before its caller hears "database unavailable" (seconds).
RECONNECT_SECONDS = 0.1
OUTAGE_SECONDS = 30.0


class Writer:
    """The one write connection, applying queued jobs in order and committing them in groups.

    The jobs of a group run on the event loop; their ``COMMIT`` (the fsync) runs on a helper
    thread, so the loop parses the next requests meanwhile (the fsync was ~9 % of the loop's
    time, more when the disk is busy). The next group starts once that commit is done.
    """

    def __init__(self, path: str | pathlib.Path) -> None:
        self._conn = db.connect(path)
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._retries: dict[asyncio.Future[Any], int] = {}
        self._outage_since: float | None = None
        self._scheduled = False
        self._committing = False
        self._fsync = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mykey-commit")

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue ``job(conn)``; the future resolves once the transaction holding it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((job, future))
        self._schedule(loop)
        return future

    def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` in its own transaction now, waiting for the lock (outside an event loop)."""
        with db.atomic(self._conn):
            return job(self._conn)

    def close(self) -> None:
        """Wait for a commit in flight, then close (queued jobs that were never flushed are cancelled)."""
        self._fsync.shutdown(wait=True)
        for _job, future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._conn.close()

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled and not self._committing:
            self._scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending or self._committing:
            return
        loop = asyncio.get_running_loop()
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except ConnectionLost as error:
            self._wait_for_database(loop, error)
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                # Another process holds the write lock: try again shortly, without blocking the loop.
                self._scheduled = True
                loop.call_later(LOCK_RETRY_SECONDS, self._flush)
                return
            # Anything else (a full disk, an I/O error): the waiting jobs hear it, none is applied.
            waiting, self._pending = self._pending, []
            for _job, future in waiting:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            conn.execute(f"PRAGMA busy_timeout={db.BUSY_TIMEOUT_MS}")
        self._outage_since = None
        group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        again: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        for job, future in group:
            if future.done():
                continue
            try:
                with db.savepoint(conn, "job"):
                    outcomes.append((future, job(conn), None))
            except ConnectionLost as error:
                # The session died before COMMIT: nothing of this group is stored, all of it is
                # run again on the next session (a failover's new primary) in the same order.
                self._pending[:0] = group
                conn.execute("ROLLBACK")
                self._wait_for_database(loop, error)
                return
            except Exception as error:
                tries = self._retries.get(future, 0)
                if db.retryable(error) and tries < MAX_RETRIES:
                    # Lost a race with another process: its savepoint is undone; run it in the next
                    # group, once this one's locks are released by the commit.
                    self._retries[future] = tries + 1
                    again.append((job, future))
                    continue
                outcomes.append((future, None, error))
        self._pending[:0] = again
        self._committing = True
        commit = loop.run_in_executor(self._fsync, conn.execute, "COMMIT")
        commit.add_done_callback(lambda done: self._committed(done, outcomes))

    def _wait_for_database(self, loop: asyncio.AbstractEventLoop, error: ConnectionLost) -> None:
        """Try again shortly; jobs waiting longer than :data:`OUTAGE_SECONDS` hear ``error``."""
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
        if now - self._outage_since > OUTAGE_SECONDS:
            waiting, self._pending = self._pending, []
            for _job, future in waiting:
                if not future.done():
                    future.set_exception(error)
            self._outage_since = None
        if self._pending:
            self._scheduled = True
            loop.call_later(RECONNECT_SECONDS, self._flush)

    def _committed(
        self,
        done: asyncio.Future[Any],
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]],
    ) -> None:
        self._committing = False
        failed = None if done.cancelled() else done.exception()
        if done.cancelled() or failed is not None:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            # Nothing of this group is stored: every job hears so, none is acknowledged.
            error = failed or RuntimeError("the commit was cancelled")
            for future, _result, _failure in outcomes:
                if not future.done():
                    future.set_exception(error)
        else:
            for future, result, failure in outcomes:
                self._retries.pop(future, None)
                if future.done():
                    continue
                if failure is None:
                    future.set_result(result)
                else:
                    future.set_exception(failure)
        if self._pending:
            self._schedule(asyncio.get_running_loop())


class Store:
    """The database as the app sees it: the writer, a read connection, and small caches.

    Args:
        path: the database file (made by :func:`server.admin.init`; upgraded to
            :data:`server.schema.SCHEMA_VERSION` when older).
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
        self.path = dburl.location(path)
        self.clock = clock
        self.reader = db.connect(self.path)
        # An older database is upgraded before anything reads it; a newer one is refused here.
        schema.upgrade(self.reader)
        admin.seal_clear_ticket_key(self.reader)  # a release-0.1 database kept its key in the clear
        self.writer = Writer(self.path)
        self.signer: TicketSigner = admin.ticket_signer(self.reader)
        pems = [*admin.trust_anchors(self.reader), *(trust_anchors or [])]
        self.trust_anchors: list[x509.Certificate] = [x509.load_pem_x509_certificate(p) for p in pems]
        self._tokens: dict[str, tuple[float, auth.Principal | None]] = {}
        self._tokens_revocations: str | None = None
        self._merchants: dict[str, tuple[float, Merchant | None]] = {}
        self._programs: dict[str, Program] = {}
        self._programs_read = 0.0

    def close(self) -> None:
        """Close the writer's and the reader's connections."""
        self.writer.close()
        self.reader.close()

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` in the next group commit and wait (without blocking the event loop) for it."""
        return await self.writer.submit(job)

    def principal(self, token: str) -> auth.Principal | None:
        """The principal of a bearer token (cached for :data:`CACHE_SECONDS`, but never past a revocation).

        Every revocation, from any process, bumps a counter in ``meta``
        (:func:`server.admin.revoke_tokens`); it is read on every call (one primary-key lookup,
        a few microseconds against a sale's millisecond), and a new value empties the cache.
        """
        if token.startswith(auth.RESIDENT_TOKEN_PREFIX):
            # Never cached: a signed-out or idle session ends at once.
            return auth.resident_lookup(self.reader, token, self.clock())
        now = time.monotonic()
        revocations = self._revocations()
        if revocations != self._tokens_revocations:
            self._tokens.clear()
            self._tokens_revocations = revocations
        cached = self._tokens.get(token)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        principal = auth.lookup(self.reader, token)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[token] = (now, principal)
        return principal

    def _revocations(self) -> str | None:
        row = self.reader.execute("SELECT value FROM meta WHERE key = ?", (auth.REVOCATIONS,)).fetchone()
        return None if row is None else str(row[0])

    def programs(self) -> dict[str, Program]:
        """Every program by id (re-read at most every :data:`CACHE_SECONDS`, so CLI changes show)."""
        now = time.monotonic()
        if now - self._programs_read > CACHE_SECONDS:
            self._programs = {p.id: p for p in _load_programs(self.reader)}
            self._programs_read = now
        return self._programs

    def merchant(self, conn: sqlite3.Connection, merchant_id: str) -> Merchant | None:
        """A merchant as terminals and receipts show it (cached for :data:`CACHE_SECONDS` on the reader)."""
        now = time.monotonic()
        if conn is self.reader:
            cached = self._merchants.get(merchant_id)
            if cached is not None and now - cached[0] < CACHE_SECONDS:
                return cached[1]
        row = conn.execute(
            "SELECT id, name, address, phone, invoice_number, category, chamber_id FROM merchants WHERE id"
            " = ?",
            (merchant_id,),
        ).fetchone()
        merchant = None if row is None else Merchant(**{key: row[key] for key in row.keys()})  # noqa: SIM118
        if conn is self.reader:
            self._merchants[merchant_id] = (now, merchant)
        return merchant

    def terminal_event(self, terminal_id: str) -> EventInfo | None:
        """The event an award station is set up for, if any."""
        row = self.reader.execute("SELECT event FROM terminals WHERE id = ?", (terminal_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return EventInfo.model_validate(json.loads(row[0]))


def _load_programs(conn: sqlite3.Connection) -> list[Program]:
    return [Program.model_validate_json(row[0]) for row in conn.execute("SELECT definition FROM programs")]
