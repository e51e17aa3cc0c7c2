"""The group-commit writer: jobs commit together, a failing job rolls back alone, other writers wait."""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
import threading

import pytest

from server import db, schema
from server.store import make_writer


@pytest.fixture
def path(database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> pathlib.Path | str:
    """A migrated, empty database: a SQLite file, or a new PostgreSQL database."""
    location: pathlib.Path | str = tmp_path / "writer.db"
    if database == "postgresql":
        location = request.getfixturevalue("pg_cluster").create()
    conn = db.connect(location)
    schema.create(conn)
    conn.close()
    return location


def insert(city: str):
    def job(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO cities(id, name, created_at) VALUES (?, ?, 'x')", (city, city))
        return city

    return job


def fail(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO cities(id, name, created_at) VALUES ('doomed', 'doomed', 'x')")
    raise RuntimeError("refused")


def cities(path: pathlib.Path | str) -> set[str]:
    return {row[0] for row in db.connect(path).execute("SELECT id FROM cities")}


async def test_jobs_queued_together_commit_together_and_a_failure_stays_alone(
    path: pathlib.Path | str,
) -> None:
    writer = make_writer(path)
    futures = [writer.submit(insert("tenri")), writer.submit(fail), writer.submit(insert("tsu"))]
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert results[0] == "tenri" and results[2] == "tsu"
    assert isinstance(results[1], RuntimeError)
    assert cities(path) == {"tenri", "tsu"}
    writer.close()


@pytest.mark.parametrize("database", ["postgresql"])
async def test_a_failure_in_a_group_run_without_savepoints_undoes_only_that_job(path: str) -> None:
    # PostgreSQL's writer runs a group without savepoints first; a failing job sends the group round
    # again with one savepoint a job. The others are committed once, the failure's rows never.
    writer = make_writer(path)
    started, busy = threading.Event(), threading.Event()
    runs: list[str] = []

    def counted(city: str):
        def job(conn: sqlite3.Connection) -> str:
            runs.append(city)
            return insert(city)(conn)

        return job

    try:
        blocker = writer.submit(lambda c: (started.set(), busy.wait(10)))
        assert await asyncio.to_thread(started.wait, 10)
        futures = [writer.submit(counted("tenri")), writer.submit(fail), writer.submit(counted("tsu"))]
        busy.set()  # the three were queued while the session was busy: they make one group
        await asyncio.wait_for(blocker, 10)
        results = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        writer.close()
    assert results[0] == "tenri" and results[2] == "tsu"
    assert isinstance(results[1], RuntimeError)
    assert cities(path) == {"tenri", "tsu"}
    assert runs == ["tenri", "tenri", "tsu"]  # tsu came after the failure: it ran once, with a savepoint


# SQLite's write lock (PostgreSQL's row locks: the test below).
@pytest.mark.parametrize("database", ["sqlite"])
async def test_a_write_lock_held_by_another_process_is_waited_for_without_failing(
    path: pathlib.Path | str,
) -> None:
    other = db.connect(path)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO cities(id, name, created_at) VALUES ('omuta', 'omuta', 'x')")
    writer = make_writer(path)
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    # The event loop stays free meanwhile: a ticker keeps running while the job waits for the lock.
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    assert await asyncio.wait_for(writer.submit(insert("oguni")), timeout=10) == "oguni"
    task.cancel()
    release.join()
    assert ticks >= 2
    assert cities(path) == {"omuta", "oguni"}
    writer.close()


# PostgreSQL's row locks (SQLite's write lock: the test above).
@pytest.mark.parametrize("database", ["postgresql"])
async def test_a_row_lock_held_by_another_session_is_waited_for_off_the_event_loop(
    path: pathlib.Path | str,
) -> None:
    setup = db.connect(path)
    setup.execute("INSERT INTO cities(id, name, created_at) VALUES ('omuta', 'omuta', 'x')")
    other = db.connect(path)
    other.execute("BEGIN")
    other.execute("UPDATE cities SET name = 'Omuta' WHERE id = 'omuta'")
    writer = make_writer(path)

    def rename(conn: sqlite3.Connection) -> str:
        conn.execute("UPDATE cities SET name = '大牟田' WHERE id = 'omuta'")  # waits for the other's commit
        return "renamed"

    release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    release.start()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    # A job queued meanwhile is applied on another session; the waiting one after the other's commit.
    waiting = writer.submit(rename)
    await asyncio.sleep(0.1)
    assert await asyncio.wait_for(writer.submit(insert("oguni")), timeout=10) == "oguni"
    assert not waiting.done()
    assert await asyncio.wait_for(waiting, timeout=10) == "renamed"
    task.cancel()
    release.join()
    assert ticks >= 20  # the loop ran all along (it stood still for the whole wait before)
    assert cities(path) == {"omuta", "oguni"}
    assert setup.execute("SELECT name FROM cities WHERE id = 'omuta'").fetchone()[0] == "大牟田"
    writer.close()
