"""Server fixtures: demo data on disk, an in-process app with a movable clock, and a real server.

- ``demo`` — ``server.demo`` data in a tmp dir (``demo.tokens``, ``demo.cards``, ``demo.db_path``)
- ``clock`` — the app's clock; ``clock.advance(days=1)`` moves it
- ``api`` — ``api(principal)`` gives an ``httpx.AsyncClient`` over ASGI as that principal
- ``fresh_demo`` — ``fresh_demo(directory, card_keys, trust_ca)``: demo data of the test's own
  (extra cards, trusted CAs) on the test's database
- ``live_server`` — :func:`tests.support.server.running_server` (uvicorn subprocess on 127.0.0.1) on
  a SQLite file (the backup and copy tests read that file); ``live_server_on_each`` the same on each database

``demo`` (and so ``app`` and ``api``) runs each test on both databases: SQLite, and PostgreSQL
(a fresh copy of a demo database made once per session; skipped when no cluster is at hand,
see :mod:`tests.support.pgdb`).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from server import demo as demo_data
from server.app import create_app
from tests.support.pgdb import KEK, Cluster, pg_cluster, pg_kek, pg_url
from tests.support.server import RunningServer, running_server

__all__ = ["pg_cluster", "pg_kek", "pg_url"]  # fixtures, shared with the tests of this folder

#: The databases every test of the server's suite runs on.
DATABASES = ["sqlite", "postgresql"]


@dataclass
class Demo:
    """Demo data written by :func:`server.demo.build`."""

    directory: pathlib.Path
    #: the SQLite file, or the ``postgresql://`` URL of the test's own database
    db_path: pathlib.Path | str
    tokens: dict[str, str]
    cards: dict[str, dict[str, str | None]]

    def card(self, name: str = "sato") -> str:
        """A demo resident's card key."""
        key = self.cards[name]["card_key"]
        assert key is not None
        return key


class Clock:
    """A settable server clock (aware UTC)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward by a ``timedelta(**delta)``."""
        self.now += dt.timedelta(**delta)


def build_demo(
    directory: pathlib.Path,
    card_keys: list[str] | None = None,
    trust_ca: list[bytes] | None = None,
    *,
    db_url: str | None = None,
) -> Demo:
    """Write demo data into ``directory`` (or into the PostgreSQL database ``db_url``)."""
    tokens = demo_data.build(directory, card_keys or [], trust_ca or [], db_url=db_url)
    cards = json.loads((directory / "cards.json").read_text())
    return Demo(directory, db_url or directory / "mykey.db", tokens, cards)


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    """The database the test runs on: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture(scope="session")
def pg_demo_template(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo data in a PostgreSQL database, made once: each test gets a copy of it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MYKEY_KEY", KEK)
        return build_demo(tmp_path_factory.mktemp("pg-demo"), db_url=pg_cluster.create())


@pytest.fixture(scope="session")
def sqlite_demo_template(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo data on SQLite, made once: each test gets a copy of its files (as on PostgreSQL)."""
    return build_demo(tmp_path_factory.mktemp("sqlite-demo"))


#: What :func:`server.demo.build` writes on SQLite: the database, the key file that seals its
#: ticket-signing key (it travels with the database), the tokens and the cards.
SQLITE_DEMO_FILES = ("mykey.db", "mykey.db.key", "tokens.json", "cards.json")


@pytest.fixture
def demo(database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> Iterator[Demo]:
    if database == "sqlite":
        # A copy of a few hundred kilobytes instead of building the demo data again (~0.3 s a test).
        template: Demo = request.getfixturevalue("sqlite_demo_template")
        directory = tmp_path / "demo"
        directory.mkdir()
        for name in SQLITE_DEMO_FILES:
            shutil.copyfile(template.directory / name, directory / name)
        yield Demo(
            directory, directory / "mykey.db", dict(template.tokens), json.loads(json.dumps(template.cards))
        )
        return
    template: Demo = request.getfixturevalue("pg_demo_template")
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    request.getfixturevalue("pg_kek")
    url = cluster.create(template=cluster.name_of(str(template.db_path)))
    directory = tmp_path / "demo"
    directory.mkdir()
    for name in ("tokens.json", "cards.json"):
        (directory / name).write_text((template.directory / name).read_text())
    yield Demo(directory, url, template.tokens, template.cards)
    cluster.drop(url)


@pytest.fixture
def fresh_demo(database: str, request: pytest.FixtureRequest) -> Callable[..., Demo]:
    """``make(directory, card_keys=None, trust_ca=None)``: demo data built anew on the test's database.

    For demo data that differs from the shared one (extra cards, trusted CAs); on PostgreSQL a new
    empty database of the session's cluster (dropped when the session ends).
    """

    def make(
        directory: pathlib.Path, card_keys: list[str] | None = None, trust_ca: list[bytes] | None = None
    ) -> Demo:
        if database == "sqlite":
            return build_demo(directory, card_keys, trust_ca)
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        request.getfixturevalue("pg_kek")
        return build_demo(directory, card_keys, trust_ca, db_url=cluster.create())

    return make


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(demo: Demo, clock: Clock) -> AsyncIterator[FastAPI]:
    application = create_app(demo.db_path, clock=clock)
    yield application
    application.state.store.close()


@pytest.fixture
async def api(app: FastAPI, demo: Demo) -> AsyncIterator[Callable[[str | None], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(principal: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {demo.tokens[principal]}"} if principal else {}
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://server", headers=headers
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def live_server(tmp_path: pathlib.Path) -> Iterator[RunningServer]:
    with running_server(tmp_path / "live") as server:
        yield server


@pytest.fixture
def live_server_on_each(
    database: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    db_url = None
    if database == "postgresql":
        db_url = request.getfixturevalue("pg_cluster").create()
        request.getfixturevalue("pg_kek")  # the server processes inherit MYKEY_KEY
    with running_server(tmp_path / "live", db_url=db_url) as server:
        yield server
