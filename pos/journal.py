"""The terminal's journal (仕訳帳): every sale on disk before the server hears of it.

A sale is written with its ULID, the request body and its item lines in state ``pending``
before the terminal asks the server; the server's answer moves it on:

```
pending ──answer──▶ accepted
   │   └─refusal──▶ refused
   └─unreachable──▶ offline ──sync──▶ synced
                       └──refusal──▶ refused  (offline=1: a disputed line for the end of day)
```

A sale made while the server is known to be down is written straight into ``offline``. Item
lines never leave this file (DESIGN.md: data minimisation). The used-ticket list lets the
terminal refuse a ticket it already took while offline.

Tables (SQLite, WAL, ``synchronous=FULL``; every write in one ``BEGIN IMMEDIATE`` transaction):

- ``entries``: ``seq`` (journal order), ``id`` (ULID), ``kind`` (``sale``/``award``), ``day``,
  ``created_at``, ``receipt_no``, ``state``, ``offline``, ``request`` (JSON), ``lines`` (JSON),
  ``answer`` (JSON), ``error_code``, ``error_message``, ``printed_at``, ``print_count``,
  ``recovered``, ``voided_at``, ``updated_at``.
- ``used_tickets``: ``serial``, ``sale_id``, ``used_at``.
- ``meta``: ``key``, ``value`` (the receipt counter, the day's change float ``float:<day>``).
- ``day_closes``: ``day``, ``z_no``, ``closed_at``, ``report`` (JSON): one Z close per business day.

A return (返品, ``kind = 'return'``) is an entry of its own: its id is the return id, its receipt
number the return receipt's, ``lines`` the item lines given back (empty when an amount per rate
was typed); ``entry_returns(return_id, sale_id)`` names the original sale. It goes ``pending`` →
``accepted`` or ``refused``; it is never queued offline (the server must know what earlier
returns gave back).

The file carries ``PRAGMA user_version``: opening applies the steps of :data:`MIGRATIONS` it
lacks, and refuses a journal of a newer release (:class:`JournalTooNew`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pathlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from points import calendar
from points.tax import Line, TaxRate
from points.wire import ErrorBody, EventAwardRequest, ReturnRequest, ReturnResult, SaleRequest, SaleResult


class EntryState(StrEnum):
    """Where a journal entry stands (see the module docstring for the transitions)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    OFFLINE = "offline"
    SYNCED = "synced"


class EntryKind(StrEnum):
    """What an entry records: a sale, an award at an award station, or a return of part of a sale."""

    SALE = "sale"
    AWARD = "award"
    #: 返品: part of a sale given back (its ``sale_id`` names the sale).
    RETURN = "return"


_NEXT: dict[EntryState, set[EntryState]] = {
    EntryState.PENDING: {EntryState.ACCEPTED, EntryState.REFUSED, EntryState.OFFLINE},
    EntryState.OFFLINE: {EntryState.SYNCED, EntryState.REFUSED},
}


#: The journal's history, oldest first: step ``n`` brings a file to ``PRAGMA user_version = n``.
#: Plain SQL, never edited once released (a change is a new step at the end).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: release 0.1's tables (IF NOT EXISTS: its journals set no version and start at 0).
    (
        """CREATE TABLE IF NOT EXISTS entries (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            day TEXT NOT NULL,
            created_at TEXT NOT NULL,
            receipt_no INTEGER NOT NULL,
            state TEXT NOT NULL,
            offline INTEGER NOT NULL DEFAULT 0,
            request TEXT NOT NULL,
            lines TEXT NOT NULL DEFAULT '[]',
            answer TEXT,
            error_code TEXT,
            error_message TEXT,
            printed_at TEXT,
            print_count INTEGER NOT NULL DEFAULT 0,
            recovered INTEGER NOT NULL DEFAULT 0,
            voided_at TEXT,
            updated_at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS entries_state ON entries(state, seq)",
        "CREATE INDEX IF NOT EXISTS entries_day ON entries(day, seq)",
        "CREATE TABLE IF NOT EXISTS used_tickets ("
        "serial INTEGER PRIMARY KEY, sale_id TEXT NOT NULL, used_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # 2: the Z close (精算), once per business day; its report is kept as it was printed.
    (
        "CREATE TABLE day_closes (day TEXT PRIMARY KEY, z_no INTEGER NOT NULL UNIQUE,"
        " closed_at TEXT NOT NULL, report TEXT NOT NULL)",
    ),
    # 3: returns (返品) are entries that name the sale they give part of back.
    (
        "CREATE TABLE entry_returns (return_id TEXT PRIMARY KEY REFERENCES entries(id),"
        " sale_id TEXT NOT NULL)",
        "CREATE INDEX entry_returns_sale ON entry_returns(sale_id)",
    ),
)
#: The version this code reads and writes.
JOURNAL_VERSION = len(MIGRATIONS)


class JournalError(RuntimeError):
    """A write the journal refuses: an unknown id, a wrong state change, a ticket used twice."""


class JournalTooNew(JournalError):
    """The journal file was written by a newer release than this program."""


class TicketAlreadyUsed(JournalError):
    """The terminal's own used list already has this ticket serial."""

    def __init__(self, serial: int) -> None:
        super().__init__(f"ticket {serial} already used on this terminal")
        self.serial = serial


@dataclass(frozen=True, slots=True)
class DayClose:
    """A business day's Z close (精算): its number, when, and the report's figures as printed."""

    day: dt.date
    z_no: int
    closed_at: dt.datetime
    report: dict[str, Any]


class DayAlreadyClosed(JournalError):
    """The day already has its Z close; ``first`` is that one."""

    def __init__(self, first: DayClose) -> None:
        super().__init__(f"{first.day} was closed already (Z {first.z_no})")
        self.first = first


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal row, decoded."""

    seq: int
    id: str
    kind: EntryKind
    day: dt.date
    created_at: dt.datetime
    receipt_no: int
    state: EntryState
    offline: bool
    request: dict[str, Any]
    lines: list[Line]
    answer: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    printed_at: dt.datetime | None
    print_count: int
    recovered: bool
    voided_at: dt.datetime | None
    #: The sale a return gives part of back (returns only).
    sale_id: str | None = None

    @property
    def sale_request(self) -> SaleRequest:
        """The request as a wire model (sales only)."""
        return SaleRequest.model_validate(self.request)

    @property
    def sale_result(self) -> SaleResult | None:
        """The server's answer as a wire model, when there is one (sales only)."""
        return None if self.answer is None else SaleResult.model_validate(self.answer)

    @property
    def total(self) -> int:
        """The sale's tax-inclusive total (0 for awards; the yen returned for a return)."""
        if self.kind is EntryKind.RETURN:
            return sum(int(a["amount"]) for a in self.request.get("amounts", []))
        return sum(int(t["amount"]) for t in self.request.get("totals", []))

    @property
    def return_request(self) -> ReturnRequest:
        """The request as a wire model (returns only)."""
        return ReturnRequest.model_validate(self.request)

    @property
    def return_result(self) -> ReturnResult | None:
        """The server's answer to a return, once accepted."""
        return None if self.answer is None else ReturnResult.model_validate(self.answer)

    @property
    def counts(self) -> bool:
        """True when the sale stands (made, not refused, not voided): it belongs in the day's totals."""
        return self.state in (EntryState.ACCEPTED, EntryState.OFFLINE, EntryState.SYNCED) and (
            self.voided_at is None
        )


def _now() -> dt.datetime:
    return calendar.now()


def _line_to_json(line: Line) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": line.name,
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "rate": int(line.rate),
    }
    # Written only when set, so lines of release 0.1 and plain lines read the same.
    if line.discount:
        data["discount"], data["discount_label"] = line.discount, line.discount_label
    if line.code:
        data["code"] = line.code
    return data


def _line_from_json(data: dict[str, Any]) -> Line:
    return Line(
        data["name"],
        int(data["unit_price"]),
        int(data["quantity"]),
        TaxRate(int(data["rate"])),
        discount=int(data.get("discount", 0)),
        discount_label=str(data.get("discount_label", "")),
        code=str(data.get("code", "")),
    )


class _Db:
    """The few calls the journal makes on its connection (plain ``sqlite3``: importing
    sqlite-utils was a tenth of the counter app's start-up)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))


class Journal:
    """The journal file of one terminal. Thread-safe: the app writes from worker threads.

    Args:
        path: the SQLite file (created with its tables when missing, upgraded when older).

    Raises:
        JournalTooNew: the file was written by a newer release.
    """

    def __init__(self, path: str | pathlib.Path) -> None:
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10)
        self.db = _Db(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged sale must survive a power cut, not just a crash of the app.
        self.db.execute("PRAGMA synchronous=FULL")
        self._lock = threading.RLock()
        self._create()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self.db.conn.close()

    def _create(self) -> None:
        # Bring the file to JOURNAL_VERSION: each missing step in one transaction, then
        # PRAGMA user_version; a journal written by a newer release is refused, never rewritten.
        found = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if found > JOURNAL_VERSION:
            self.db.conn.close()
            raise JournalTooNew(
                f"the journal {self.path} is at version {found}, but this program knows versions up to"
                f" {JOURNAL_VERSION}: it was written by a newer release; upgrade the program"
            )
        for version, statements in enumerate(MIGRATIONS[found:], start=found + 1):
            with self._write() as conn:
                if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= version:
                    continue  # another process upgraded it while this one waited
                for statement in statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half-way
        # on an upgrade from reader to writer; the Python lock orders this process's threads.
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # Writing ---------------------------------------------------------------------------

    def next_receipt_no(self) -> int:
        """Take the next receipt number (レシート番号), counting from 1, never reused."""
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'receipt_no'").fetchone()
            number = (int(row[0]) if row else 0) + 1
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('receipt_no', ?)", (str(number),))
        return number

    def get_meta(self, key: str) -> str | None:
        """A saved value (e.g. the last terminal config, for starting offline)."""
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Save a value under ``key``."""
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def begin_sale(
        self,
        request: SaleRequest,
        lines: list[Line],
        ticket_serials: Sequence[int] = (),
        *,
        offline: bool = False,
    ) -> Entry:
        """Write a sale before the server is asked (``pending``), or queue it (``offline``).

        The sale's tickets go on the used list in the same transaction, so a crash can never
        leave a sale without its tickets or tickets without their sale.

        Raises:
            TicketAlreadyUsed: a ticket is already on this terminal's used list.
            JournalError: the sale id is already in the journal.
        """
        state = EntryState.OFFLINE if offline else EntryState.PENDING
        now = _now()
        try:
            with self._write() as conn:
                for serial in ticket_serials:
                    used = conn.execute("SELECT 1 FROM used_tickets WHERE serial = ?", (serial,)).fetchone()
                    if used:
                        raise TicketAlreadyUsed(serial)
                    conn.execute(
                        "INSERT INTO used_tickets (serial, sale_id, used_at) VALUES (?, ?, ?)",
                        (serial, request.sale_id, now.isoformat()),
                    )
                self._insert(
                    conn,
                    EntryKind.SALE,
                    request.sale_id,
                    request.receipt_no,
                    state,
                    offline,
                    request.model_dump(mode="json"),
                    lines,
                    now,
                )
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"sale {request.sale_id} is already in the journal") from exc
        return self.get(request.sale_id)

    def begin_award(self, request: EventAwardRequest, *, offline: bool = False) -> Entry:
        """Write an event award before the server is asked (or queue it when offline)."""
        state = EntryState.OFFLINE if offline else EntryState.PENDING
        try:
            with self._write() as conn:
                payload = request.model_dump(mode="json")
                self._insert(conn, EntryKind.AWARD, request.award_id, 0, state, offline, payload, [], _now())
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"award {request.award_id} is already in the journal") from exc
        return self.get(request.award_id)

    def begin_return(self, request: ReturnRequest, sale_id: str, lines: list[Line]) -> Entry:
        """Write a return before the server is asked (``pending``); returns are never queued offline.

        Raises:
            JournalError: the return id is already in the journal.
        """
        try:
            with self._write() as conn:
                payload = request.model_dump(mode="json")
                self._insert(
                    conn,
                    EntryKind.RETURN,
                    request.return_id,
                    request.receipt_no,
                    EntryState.PENDING,
                    False,
                    payload,
                    lines,
                    _now(),
                )
                conn.execute(
                    "INSERT INTO entry_returns (return_id, sale_id) VALUES (?, ?)",
                    (request.return_id, sale_id),
                )
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"return {request.return_id} is already in the journal") from exc
        return self.get(request.return_id)

    def returns_of(self, sale_id: str) -> list[Entry]:
        """The returns of a sale, oldest first (every state: refused ones say so)."""
        return self._select("kind = 'return' AND r.sale_id = ?", (sale_id,))

    def find_sale(self, text: str) -> Entry | None:
        """The sale a receipt names: by its receipt number (レシート番号) or its sale id (as printed)."""
        import unicodedata

        # Full-width digits typed in kana mode read as digits; anything else is a sale id or nothing.
        wanted = unicodedata.normalize("NFKC", text).strip().upper()
        if wanted.isascii() and wanted.isdigit() and len(wanted) <= 10:
            found = self._select("kind = 'sale' AND receipt_no = ?", (int(wanted),), 1)
        elif len(wanted) == 26 and wanted.isascii() and wanted.isalnum():
            found = self._select("kind = 'sale' AND id = ?", (wanted,), 1)
        else:
            found = []
        return found[0] if found else None

    @staticmethod
    def _insert(
        conn: sqlite3.Connection,
        kind: EntryKind,
        entry_id: str,
        receipt_no: int,
        state: EntryState,
        offline: bool,
        request: dict[str, Any],
        lines: list[Line],
        now: dt.datetime,
    ) -> None:
        conn.execute(
            "INSERT INTO entries (id, kind, day, created_at, receipt_no, state, offline, request, lines,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry_id,
                kind.value,
                _register_day(conn, now).isoformat(),
                now.isoformat(),
                receipt_no,
                state.value,
                int(offline),
                json.dumps(request, ensure_ascii=False),
                json.dumps([_line_to_json(line) for line in lines], ensure_ascii=False),
                now.isoformat(),
            ),
        )

    def _move(self, entry_id: str, to: EntryState, **columns: Any) -> Entry:
        with self._write() as conn:
            row = conn.execute("SELECT state FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                raise JournalError(f"no entry {entry_id}")
            current = EntryState(row[0])
            if current is to is EntryState.ACCEPTED:
                # Answered twice: the background sync resent a sale still being sent at the counter
                # (same id, so the server gave the same answer). The first answer stands.
                return self.get(entry_id)
            if to not in _NEXT.get(current, set()):
                raise JournalError(f"entry {entry_id} cannot go from {current} to {to}")
            columns |= {"state": to.value, "updated_at": _now().isoformat()}
            assignments = ", ".join(f"{name} = ?" for name in columns)
            conn.execute(f"UPDATE entries SET {assignments} WHERE id = ?", (*columns.values(), entry_id))
            if to is EntryState.REFUSED and current is EntryState.PENDING:
                # Refused at the counter: the tickets were not taken and go back to the resident.
                conn.execute("DELETE FROM used_tickets WHERE sale_id = ?", (entry_id,))
        return self.get(entry_id)

    def accept(self, entry_id: str, answer: BaseModel | dict[str, Any]) -> Entry:
        """Record the server's answer to a pending entry (``accepted``)."""
        return self._move(entry_id, EntryState.ACCEPTED, answer=_answer_json(answer))

    def refuse(self, entry_id: str, error: ErrorBody) -> Entry:
        """Record a refusal: at the counter (tickets released) or on sync (a disputed line)."""
        return self._move(entry_id, EntryState.REFUSED, error_code=error.code, error_message=error.message)

    def go_offline(self, entry_id: str, request: dict[str, Any]) -> Entry:
        """Queue a pending entry the server never received (the connection failed before sending).

        Its body may change (``offline: true``) only because the server never saw the first one.
        """
        return self._move(
            entry_id, EntryState.OFFLINE, offline=1, request=json.dumps(request, ensure_ascii=False)
        )

    def synced(self, entry_id: str, answer: BaseModel | dict[str, Any]) -> Entry:
        """Record the server's answer to a queued offline entry (``synced``)."""
        return self._move(entry_id, EntryState.SYNCED, answer=_answer_json(answer))

    def settle_batch(self, outcomes: Sequence[tuple[str, BaseModel | ErrorBody]]) -> None:
        """Record a whole sync batch in one transaction: each queued entry synced or refused.

        One commit per batch rather than per sale keeps a 10,000-sale queue quick to sync.
        """
        now = _now().isoformat()
        with self._write() as conn:
            for entry_id, outcome in outcomes:
                if isinstance(outcome, ErrorBody):
                    conn.execute(
                        "UPDATE entries SET state = 'refused', error_code = ?, error_message = ?,"
                        " updated_at = ? WHERE id = ? AND state = 'offline'",
                        (outcome.code, outcome.message, now, entry_id),
                    )
                else:
                    conn.execute(
                        "UPDATE entries SET state = 'synced', answer = ?, updated_at = ?"
                        " WHERE id = ? AND state = 'offline'",
                        (_answer_json(outcome), now, entry_id),
                    )

    def mark_printed(self, entry_id: str) -> Entry:
        """Note that the entry's receipt came out of the printer (once more for a reprint)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE entries SET printed_at = COALESCE(printed_at, ?), print_count = print_count + 1"
                " WHERE id = ?",
                (_now().isoformat(), entry_id),
            )
        return self.get(entry_id)

    def mark_recovered(self, entry_id: str) -> Entry:
        """Note that the entry was finished after a restart (the receipt says so)."""
        with self._write() as conn:
            conn.execute("UPDATE entries SET recovered = 1 WHERE id = ?", (entry_id,))
        return self.get(entry_id)

    def mark_voided(self, entry_id: str, answer: BaseModel | dict[str, Any] | None = None) -> Entry:
        """Note that the server voided the sale (取消)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE entries SET voided_at = ?, answer = COALESCE(?, answer) WHERE id = ?",
                (_now().isoformat(), None if answer is None else _answer_json(answer), entry_id),
            )
        return self.get(entry_id)

    def set_change_float(self, day: dt.date, yen: int) -> None:
        """The change float (釣銭準備金) put in the drawer at the start of ``day``."""
        self.set_meta(f"float:{day.isoformat()}", str(int(yen)))

    def change_float(self, day: dt.date) -> int | None:
        """The change float of ``day``, or ``None`` when none was entered."""
        value = self.get_meta(f"float:{day.isoformat()}")
        return None if value is None else int(value)

    def close_day(self, day: dt.date, report: dict[str, Any]) -> DayClose:
        """Record the Z close of ``day`` (numbered from 1 on this terminal).

        Raises:
            DayAlreadyClosed: ``day`` has its Z already (the first one is kept, never replaced).
        """
        now = _now()
        with self._write() as conn:
            first = conn.execute("SELECT 1 FROM day_closes WHERE day = ?", (day.isoformat(),)).fetchone()
            if first is None:
                number = int(conn.execute("SELECT COALESCE(MAX(z_no), 0) + 1 FROM day_closes").fetchone()[0])
                conn.execute(
                    "INSERT INTO day_closes (day, z_no, closed_at, report) VALUES (?, ?, ?, ?)",
                    (day.isoformat(), number, now.isoformat(), json.dumps(report, ensure_ascii=False)),
                )
        closed = self.day_close(day)
        assert closed is not None
        if first is not None:
            raise DayAlreadyClosed(closed)
        return closed

    def since_last_close(self, day: dt.date) -> list[Entry]:
        """The entries the next Z of ``day`` holds: ``day``'s own, and every one booked after the
        last Z before it (a late sale booked to a day the shop stayed closed, or a day without a
        Z). A journal that never had a Z holds ``day``'s alone: a shop that does not close its
        days is never shown all of its past."""
        with self._lock:
            last = self.db.execute(
                "SELECT MAX(day) FROM day_closes WHERE day < ?", (day.isoformat(),)
            ).fetchone()[0]
        if last is None:
            return self.of_day(day)
        return self._select("day > ? AND day <= ?", (last, day.isoformat()))

    def register_day(self, now: dt.datetime | None = None) -> dt.date:
        """The day the register books what happens at ``now`` to (its 営業日); see :func:`_register_day`."""
        with self._lock:
            return _register_day(self.db, now or _now())

    def next_z_no(self) -> int:
        """The number the next Z close will get."""
        with self._lock:
            return int(self.db.execute("SELECT COALESCE(MAX(z_no), 0) + 1 FROM day_closes").fetchone()[0])

    def day_close(self, day: dt.date) -> DayClose | None:
        """The Z close of ``day``, if it was closed."""
        with self._lock:
            row = self.db.execute(
                "SELECT day, z_no, closed_at, report FROM day_closes WHERE day = ?", (day.isoformat(),)
            ).fetchone()
        if row is None:
            return None
        return DayClose(
            dt.date.fromisoformat(row[0]), int(row[1]), dt.datetime.fromisoformat(row[2]), json.loads(row[3])
        )

    # Reading ---------------------------------------------------------------------------

    def get(self, entry_id: str) -> Entry:
        """The entry with this id.

        Raises:
            JournalError: no such entry.
        """
        found = self._select("id = ?", (entry_id,))
        if not found:
            raise JournalError(f"no entry {entry_id}")
        return found[0]

    def _select(self, where: str, params: tuple[Any, ...] = (), limit: int | None = None) -> list[Entry]:
        # A return names its sale in entry_returns (one row per return; none for other entries).
        sql = (
            "SELECT entries.*, r.sale_id AS sale_id FROM entries"
            f" LEFT JOIN entry_returns r ON r.return_id = entries.id WHERE {where} ORDER BY seq"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            return [_entry(row) for row in self.db.query(sql, params)]

    def in_state(self, state: EntryState, limit: int | None = None) -> list[Entry]:
        """Entries in ``state``, oldest first."""
        return self._select("state = ?", (state.value,), limit)

    def pending(self) -> list[Entry]:
        """Entries whose answer is not known yet: to be resumed before any new sale."""
        return self.in_state(EntryState.PENDING)

    def offline_queue(self, limit: int | None = None) -> list[Entry]:
        """Entries made offline and not yet synced, in journal order."""
        return self.in_state(EntryState.OFFLINE, limit)

    def unprinted(self) -> list[Entry]:
        """Sales and returns that stand but whose receipt never came out (a crash before the print)."""
        return self._select(
            "kind IN ('sale', 'return') AND printed_at IS NULL AND state IN ('accepted', 'offline', 'synced')"
        )

    def count(self, state: EntryState) -> int:
        """How many entries are in ``state``."""
        with self._lock:
            return int(
                self.db.execute("SELECT count(*) FROM entries WHERE state = ?", (state.value,)).fetchone()[0]
            )

    def of_day(self, day: dt.date) -> list[Entry]:
        """Every entry of a business day (Japan time), oldest first: history and end of day."""
        return self._select("day = ?", (day.isoformat(),))

    def refused_on_sync(self, day: dt.date | None = None) -> list[Entry]:
        """Offline entries the server refused when they were synced (for the end-of-day screen)."""
        if day is None:
            return self._select("state = 'refused' AND offline = 1")
        return self._select("state = 'refused' AND offline = 1 AND day = ?", (day.isoformat(),))

    def ticket_used(self, serial: int) -> bool:
        """True when this terminal already took the ticket."""
        with self._lock:
            return (
                self.db.execute("SELECT 1 FROM used_tickets WHERE serial = ?", (serial,)).fetchone()
                is not None
            )


def _register_day(conn: Any, now: dt.datetime) -> dt.date:
    """The Japan date of ``now``, or the first day after it without a Z close.

    Once a day is closed with its Z (精算), the register has moved on to the next day, as a shop
    register's 営業日 does: a sale made that evening is counted in the next day's X and Z rather
    than in none (the Z printed is never changed).
    """
    day = calendar.business_date(now)
    while conn.execute("SELECT 1 FROM day_closes WHERE day = ?", (day.isoformat(),)).fetchone():
        day += dt.timedelta(days=1)
    return day


def _answer_json(answer: BaseModel | dict[str, Any]) -> str:
    data = answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer
    return json.dumps(data, ensure_ascii=False)


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _entry(row: dict[str, Any]) -> Entry:
    created = dt.datetime.fromisoformat(row["created_at"])
    return Entry(
        seq=row["seq"],
        id=row["id"],
        kind=EntryKind(row["kind"]),
        day=dt.date.fromisoformat(row["day"]),
        created_at=created,
        receipt_no=row["receipt_no"],
        state=EntryState(row["state"]),
        offline=bool(row["offline"]),
        request=json.loads(row["request"]),
        lines=[_line_from_json(item) for item in json.loads(row["lines"])],
        answer=None if row["answer"] is None else json.loads(row["answer"]),
        error_code=row["error_code"],
        error_message=row["error_message"],
        printed_at=_time(row["printed_at"]),
        print_count=row["print_count"],
        recovered=bool(row["recovered"]),
        voided_at=_time(row["voided_at"]),
        sale_id=row.get("sale_id"),
    )
