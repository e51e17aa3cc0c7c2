"""Throwaway PostgreSQL databases for the server's tests: one fresh database per test, from templates.

The cluster comes from ``MYKEY_TEST_PG`` (a libpq URL of a role that may create databases) or,
when that is unset, from the session fixture ``pg_server`` (:mod:`tests.support.postgres`: a
throwaway cluster on loopback) if it is installed; otherwise PostgreSQL tests are skipped, saying
why. Each test gets ``CREATE DATABASE ... TEMPLATE`` of a database migrated (and, for the server
tests, filled with the demo data) once per session: a copy of a few megabytes, far faster than
building it again.
"""

from __future__ import annotations

import base64
import os
import secrets
import urllib.parse
from collections.abc import Iterator

import psycopg
import pytest

from tests.support import postgres

ENV = "MYKEY_TEST_PG"
#: One key-encryption key for every PostgreSQL test database (their sealed keys are template copies).
KEK = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
SKIP_REASON = (
    f"no PostgreSQL for the tests: set {ENV}=postgresql://... (a role that may create databases),"
    " or install the pg_server session fixture (tests/support/postgres.py)"
)


def with_database(url: str, name: str) -> str:
    """``url`` naming the database ``name`` instead of its own."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class Cluster:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._count = 0
        self._prefix = f"mykey_t{os.getpid()}_{secrets.token_hex(3)}"
        self._made: list[str] = []

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, template: str | None = None) -> str:
        """A new, empty database (or a copy of ``template``); returns its URL."""
        self._count += 1
        name = f"{self._prefix}_{self._count}"
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self._made.append(name)
        return with_database(self.url, name)

    def name_of(self, url: str) -> str:
        """The database name in one of this cluster's URLs."""
        return urllib.parse.urlsplit(url).path.lstrip("/")

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`create` (its sessions are ended first)."""
        name = self.name_of(url)
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._made:
            self._made.remove(name)

    def drop_all(self) -> None:
        """Drop every database this session made."""
        for name in list(self._made):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.clear()


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> str:
    """A libpq URL of a PostgreSQL role that may create databases (skips when there is none)."""
    url = os.environ.get(ENV)
    if url:
        return url
    try:
        return str(request.getfixturevalue("pg_server"))
    except pytest.FixtureLookupError:
        postgres.missing(SKIP_REASON)


@pytest.fixture(scope="session")
def pg_cluster(pg_url: str) -> Iterator[Cluster]:
    """The cluster, with every database the session made dropped at its end."""
    cluster = Cluster(pg_url)
    yield cluster
    cluster.drop_all()


@pytest.fixture
def pg_kek(monkeypatch: pytest.MonkeyPatch) -> str:
    """The key-encryption key every PostgreSQL test database is sealed with, set as ``MYKEY_KEY``."""
    monkeypatch.setenv("MYKEY_KEY", KEK)
    return KEK
