"""PostgreSQL fixtures for every test package (registered in ``tests/conftest.py``).

- ``pg_server`` (session) — a libpq URL of a superuser, ``postgresql://postgres@127.0.0.1:PORT/postgres``:
  a throwaway cluster started once per session (:class:`tests.support.postgres.Cluster`), or
  the server ``$MYKEY_TEST_PG`` names, used as it is (never stopped by us)
- ``pg_database`` — the URL of a new, empty database on ``pg_server`` for one test, dropped after
- ``pg_database_from(template)`` — the same, cloned from a template database the caller built
  once (a migrated schema), through :func:`tests.support.postgres.create_database`

A test using them is marked ``postgres`` here (``-m "not postgres"`` leaves them out); without
PostgreSQL binaries and without ``MYKEY_TEST_PG`` it is skipped with the reason, or fails under ``make test``,
which installs Debian's ``postgresql`` and sets ``$MYKEY_REQUIRE_PG``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.postgres import Cluster, PostgresUnavailable, create_database, drop_database, missing

ENV_URL = "MYKEY_TEST_PG"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs PostgreSQL ``postgres``."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL superuser URL for this session (``$MYKEY_TEST_PG`` or a throwaway cluster)."""
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        try:
            cluster = stack.enter_context(Cluster.throwaway())
        except PostgresUnavailable as exc:
            missing(str(exc))
        print(f"\nthrowaway PostgreSQL on port {cluster.port} up in {time.monotonic() - began:.2f} s")
        yield cluster.url


@pytest.fixture
def pg_database_from(pg_server: str, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """``make(template)`` gives the URL of a new database cloned from ``template``; dropped after."""
    made: list[str] = []
    base = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:40].lower()

    def make(template: str = "template1") -> str:
        name = f"{base}_{os.getpid()}_{len(made)}"
        drop_database(pg_server, name)  # a leftover of a killed run on a shared $MYKEY_TEST_PG
        url = create_database(pg_server, name, template)
        made.append(name)
        return url

    yield make
    for name in made:
        drop_database(pg_server, name)


@pytest.fixture
def pg_database(pg_database_from: Callable[[str], str]) -> str:
    """The URL of a new, empty database for this test (cloned from ``template1``)."""
    return pg_database_from("template1")
