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

On PostgreSQL a statement is a round trip and a row another server process holds locked is waited
for, so the jobs run on :class:`ThreadedWriter`'s threads (one session each, group commit each)
instead, and the event loop goes on meanwhile; the jobs are the same functions.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import pathlib
import sqlite3
import threading
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
#: PostgreSQL: how many sessions of one server process write groups at once (:class:`ThreadedWriter`),
#: beside the one that runs a job alone after it lost a lock wait. One session makes the biggest
#: groups (fewest commits, fewest updates of a program's funder account) and leaves only the event
#: loop's thread to hand the GIL to. Two servers on 2 cores, bench_pg's spread load, same hour:
#: 1 session 1,348 sales/s (p99 59 ms); 2: 1,114 (106 ms). With the pipeline on (MYKEY_PG_PIPELINE)
#: an earlier sweep gave 6: 1,020; 4: 946; 3: 1,011-1,093; 2: 1,091; 1: 1,148. More sessions only
#: pay where the database is far enough away for a group to spend its time waiting on round trips.
WRITER_THREADS = int(os.environ.get("MYKEY_WRITER_THREADS", "1"))
#: PostgreSQL: how long a job in a group (of one or more) may wait for a row lock (ms) before it is
#: undone and run again in a transaction of its own, on the session that waits. Two groups can each
#: hold a card another of their jobs waits for; PostgreSQL only finds such a deadlock after
#: ``deadlock_timeout`` (1 s), and a counter waited seconds; and a row another session keeps locked
#: (a desk's change) would stop every group behind it. A job alone locks in the ledger's order and
#: waits as long as it must.
GROUP_LOCK_WAIT_MS = 50


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


class ThreadedWriter:
    """PostgreSQL's writer: group commits on worker threads, each with its own session.

    A statement on PostgreSQL is a round trip, and a row another process holds locked is waited for;
    on the event loop either would hold up every other request. Here a job runs on one of
    :data:`WRITER_THREADS` threads (psycopg gives up the GIL while it waits): each takes every job
    queued when it is free, runs them inside one transaction and commits once, as :class:`Writer`
    does. The jobs run without savepoints (each is two round trips); should one fail, the group is
    rolled back and run again with a savepoint a job, so the failure undoes that job alone. A job
    of a group that waits for a row lock longer than :data:`GROUP_LOCK_WAIT_MS` is undone and handed
    to a thread of its own, which runs such jobs one at a time and waits as long as each must (a
    desk holding a card's row, another process's commit), while the groups go on. The answers are
    handed back to the event loop that submitted them; the rules are the same functions on the
    same kind of connection.
    """

    def __init__(self, path: str | pathlib.Path, threads: int | None = None) -> None:
        self._path = path
        count = threads or WRITER_THREADS
        self._conns = [db.connect(path) for _ in range(count + 1)]  # the last runs jobs alone
        for conn in self._conns[:-1]:
            # A group's session gives up a row-lock wait after GROUP_LOCK_WAIT_MS (kept on a reconnect).
            conn.session_setup.append(f"SET lock_timeout = {GROUP_LOCK_WAIT_MS}")
            conn.execute(conn.session_setup[-1])
        self._queue: collections.deque[_Queued] = collections.deque()
        self._alone_queue: collections.deque[_Queued] = collections.deque()
        lock = threading.Lock()  # the queues' one lock: a job moves between them under it
        self._ready = threading.Condition(lock)
        self._ready_alone = threading.Condition(lock)
        self._closed = False
        self._outage_since: float | None = None
        self._retries: dict[asyncio.Future[Any], int] = {}
        #: Jobs that lost a lock wait inside a group: they are run in a transaction of their own.
        self._alone: set[asyncio.Future[Any]] = set()
        self._sync_conn: Any = None
        self._sync_lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._work, args=(conn, n == count), name=f"mykey-writer-{n}", daemon=True
            )
            for n, conn in enumerate(self._conns)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue ``job(conn)``; the future resolves once the transaction holding it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._ready:
            self._queue.append((job, future, loop))
            self._ready.notify()
        return future

    def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` in its own transaction now, on a session of its own (outside an event loop)."""
        with self._sync_lock:
            if self._sync_conn is None:
                self._sync_conn = db.connect(self._path)
            with db.atomic(self._sync_conn):
                return job(self._sync_conn)

    def close(self) -> None:
        """Finish the groups under way, cancel queued jobs never started, close the sessions."""
        with self._ready:
            self._closed = True
            waiting = [*self._queue, *self._alone_queue]
            self._queue.clear()
            self._alone_queue.clear()
            self._ready.notify_all()
            self._ready_alone.notify_all()
        for _job, future, loop in waiting:
            _settle(loop, future, None, asyncio.CancelledError())
        for thread in self._threads:
            thread.join(timeout=OUTAGE_SECONDS)
        for conn in [*self._conns, *([self._sync_conn] if self._sync_conn is not None else [])]:
            with contextlib.suppress(Exception):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.close()

    def _work(self, conn: Any, alone: bool) -> None:
        queue, ready = (self._alone_queue, self._ready_alone) if alone else (self._queue, self._ready)
        while True:
            with ready:
                while not queue and not self._closed:
                    ready.wait()
                if self._closed:
                    return
                group = [queue.popleft()]
                while not alone and queue and len(group) < MAX_GROUP:
                    group.append(queue.popleft())
            try:
                self._run_group(conn, group, waits=alone)
            except Exception as error:
                for _job, future, loop in group:
                    _settle(loop, future, None, error)

    def _requeue(self, jobs: list[_Queued]) -> None:
        """Queue jobs again at the front: those that lost a lock wait in a group to be run alone."""
        with self._ready:
            alone = [job for job in jobs if job[1] in self._alone]
            grouped = [job for job in jobs if job[1] not in self._alone]
            self._alone_queue.extendleft(reversed(alone))
            self._queue.extendleft(reversed(grouped))
            if alone:
                self._ready_alone.notify()
            if grouped:
                self._ready.notify()

    def _lost(self, group: list[_Queued], error: ConnectionLost) -> None:
        """The session died: the group is run again on a new one, until :data:`OUTAGE_SECONDS` pass."""
        now = time.monotonic()
        with self._ready:
            if self._outage_since is None:
                self._outage_since = now
            gave_up = now - self._outage_since > OUTAGE_SECONDS
            if gave_up:
                self._outage_since = None
        if gave_up:
            for _job, future, loop in group:
                _settle(loop, future, None, error)
            return
        time.sleep(RECONNECT_SECONDS)
        self._requeue(group)

    def _run_group(self, conn: Any, group: list[_Queued], *, waits: bool, careful: bool = False) -> None:
        """Run a group in one transaction (``waits``: on the session that waits for row locks at length).

        The jobs run one after the other without savepoints first (two statements fewer a job, each a
        round trip); when one of them fails, the transaction is rolled back and the group run again
        ``careful``ly, each job in its own savepoint, so that the failure undoes that job alone.
        """
        alone = len(group) == 1
        try:
            db.send(conn, "BEGIN")  # answered with the first job's first statement
        except ConnectionLost as error:
            self._lost(group, error)
            return
        with self._ready:
            self._outage_since = None
        outcomes: list[tuple[_Queued, Any, BaseException | None]] = []
        again: list[_Queued] = []
        for queued in group:
            job = queued[0]
            try:
                if alone or not careful:
                    outcomes.append((queued, job(conn), None))
                else:
                    with db.savepoint(conn, "job"):
                        outcomes.append((queued, job(conn), None))
            except ConnectionLost as error:
                conn.execute("ROLLBACK")
                self._lost(group, error)
                return
            except Exception as error:
                if not (alone or careful):
                    conn.execute("ROLLBACK")
                    self._run_group(conn, group, waits=waits, careful=True)
                    return
                if alone:
                    conn.execute("ROLLBACK")
                tries = self._retries.get(queued[1], 0)
                if db.retryable(error) and tries < MAX_RETRIES:
                    self._retries[queued[1]] = tries + 1
                    if not waits and db.lock_wait_lost(error):
                        self._alone.add(queued[1])
                    again.append(queued)
                    continue
                outcomes.append((queued, None, error))
        failed: BaseException | None = None
        if conn.in_transaction:
            try:
                if not waits:
                    # The balance changes applied at COMMIT lock in ascending order: they may wait.
                    db.send(conn, "SET LOCAL lock_timeout = 0")
                conn.execute("COMMIT")
            except Exception as error:
                failed = error
                with contextlib.suppress(Exception):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
        if failed is not None and db.retryable(failed):
            # The commit lost a race (a deadlock found by a write sent ahead): the group is undone
            # whole, and its jobs are run again like a job that lost one itself.
            for queued, _result, _failure in outcomes:
                tries = self._retries.get(queued[1], 0)
                if tries < MAX_RETRIES:
                    self._retries[queued[1]] = tries + 1
                    again.append(queued)
                else:
                    self._alone.discard(queued[1])
                    _settle(queued[2], queued[1], None, failed)
            self._requeue(again)
            return
        for (_job, future, loop), result, failure in outcomes:
            self._retries.pop(future, None)
            self._alone.discard(future)
            _settle(loop, future, result, failed or failure)
        if again:
            self._requeue(again)


def make_writer(path: str | pathlib.Path) -> Writer | ThreadedWriter:
    """The writer for a database: :class:`Writer` on SQLite, :class:`ThreadedWriter` on PostgreSQL."""
    return ThreadedWriter(path) if dburl.is_postgres_url(path) else Writer(path)


_Queued = tuple[Callable[[Any], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any, error: BaseException | None
) -> None:
    """Hand a job's outcome to the event loop that waits for it (from a writer thread)."""

    def settle() -> None:
        if future.done():
            return
        if isinstance(error, asyncio.CancelledError):
            future.cancel()
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle)


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
        self.writer = make_writer(self.path)
        self.signer: TicketSigner = admin.ticket_signer(self.reader)
        pems = [*admin.trust_anchors(self.reader), *(trust_anchors or [])]
        self.trust_anchors: list[x509.Certificate] = [x509.load_pem_x509_certificate(p) for p in pems]
        self._tokens: dict[str, tuple[float, auth.Principal | None]] = {}
        self._tokens_revocations: str | int | None = None
        if db.is_postgres(self.reader):
            self.reader.listen(auth.REVOCATIONS)  # see _revocations
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
        (:func:`server.admin.revoke_tokens`), and on PostgreSQL notifies every server: a new value
        (:meth:`_revocations`) empties the cache.
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

    def _revocations(self) -> str | int | None:
        """What changes with every revocation, read on every call to :meth:`principal`.

        On SQLite the counter itself (one primary-key lookup, a few microseconds). On PostgreSQL that
        lookup is a round trip that holds up the event loop (measured: half the loop's time under
        load, 1,206 against 1,332 sales/s on two servers), so the reader listens for the revocation's
        ``NOTIFY`` and counts what its socket holds; a notification reaches it when the revoking
        transaction commits.
        """
        if db.is_postgres(self.reader):
            return self.reader.notifications()
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
