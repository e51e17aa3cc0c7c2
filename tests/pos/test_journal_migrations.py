"""A terminal journal of release 0.1 opens with today's code: every entry, state and ticket kept.

``tests/fixtures/release-0.1/journal.db`` holds one sale in each state (accepted and printed,
offline, refused, pending), the used-ticket list, the receipt counter and a saved config.
"""

from __future__ import annotations

import pathlib
import shutil
import sqlite3

import pytest

from pos.journal import JOURNAL_VERSION, EntryState, Journal, JournalTooNew

RELEASE_0_1 = pathlib.Path(__file__).parents[1] / "fixtures" / "release-0.1" / "journal.db"


def rows(path: pathlib.Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in rowid order (plain sqlite3; the committed file is left as it is)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: conn.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall() for name in names}
    finally:
        conn.close()


def version(path: pathlib.Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def old_journal(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of release 0.1's journal."""
    target = tmp_path / "journal.db"
    shutil.copy(RELEASE_0_1, target)
    return target


def test_the_fixture_has_no_version_and_one_entry_per_state() -> None:
    assert version(RELEASE_0_1) == 0
    assert sorted(r[6] for r in rows(RELEASE_0_1)["entries"]) == ["accepted", "offline", "pending", "refused"]


def test_opening_keeps_every_row_and_sets_the_version(old_journal: pathlib.Path) -> None:
    before = rows(old_journal)
    Journal(old_journal).close()
    after = rows(old_journal)
    assert {table: after[table] for table in before} == before
    assert all(not after[table] for table in set(after) - set(before))  # later steps' tables start empty
    assert version(old_journal) == JOURNAL_VERSION


def test_the_entries_read_back_in_their_states(old_journal: pathlib.Path) -> None:
    journal = Journal(old_journal)
    try:
        assert [e.state for e in journal.pending()] == [EntryState.PENDING]
        assert [e.offline for e in journal.offline_queue()] == [True]
        (accepted,) = journal.in_state(EntryState.ACCEPTED)
        assert accepted.printed_at is not None and accepted.answer is not None
        (refused,) = journal.in_state(EntryState.REFUSED)
        assert refused.error_code == "insufficient_points"
        assert [len(e.lines) for e in journal.of_day(accepted.day)] == [2, 2, 2, 2]
        assert journal.ticket_used(1001) and not journal.ticket_used(1003)
        assert journal.get_meta("terminal_config") == '{"note": "saved config of release 0.1"}'
        assert journal.next_receipt_no() == 5
    finally:
        journal.close()


def test_a_second_opening_changes_nothing(old_journal: pathlib.Path) -> None:
    Journal(old_journal).close()
    before = rows(old_journal)
    Journal(old_journal).close()
    assert rows(old_journal) == before


def test_a_new_journal_is_shaped_like_an_upgraded_one(
    old_journal: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    Journal(old_journal).close()
    Journal(tmp_path / "new.db").close()

    def shape(path: pathlib.Path) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(path)
        try:
            names = conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
            return [(*n, conn.execute(f"PRAGMA table_info({n[1]})").fetchall()) for n in names]
        finally:
            conn.close()

    assert shape(old_journal) == shape(tmp_path / "new.db")
    assert version(tmp_path / "new.db") == JOURNAL_VERSION


def test_a_journal_of_a_newer_release_is_refused_untouched(old_journal: pathlib.Path) -> None:
    conn = sqlite3.connect(old_journal)
    conn.execute(f"PRAGMA user_version = {JOURNAL_VERSION + 1}")
    conn.close()
    before = rows(old_journal)
    with pytest.raises(JournalTooNew, match="newer release"):
        Journal(old_journal)
    assert rows(old_journal) == before


def test_a_day_closes_once_and_a_reopened_journal_remembers(tmp_path: pathlib.Path) -> None:
    import datetime as dt

    from pos.journal import DayAlreadyClosed

    day = dt.date(2026, 12, 1)
    journal = Journal(tmp_path / "j.db")
    first = journal.close_day(day, {"sales": 3})
    journal.close()
    journal = Journal(tmp_path / "j.db")
    try:
        with pytest.raises(DayAlreadyClosed) as refused:
            journal.close_day(day, {"sales": 4})
        assert refused.value.first == first and first.z_no == 1 and first.report == {"sales": 3}
        assert journal.close_day(day + dt.timedelta(days=1), {}).z_no == 2
    finally:
        journal.close()
