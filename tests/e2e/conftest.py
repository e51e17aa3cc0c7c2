"""End-to-end fixtures: the server suite's own (demo data on each database, a clock, the app over ASGI)."""

from __future__ import annotations

from tests.server.conftest import api, app, clock, database, demo, pg_demo_template, sqlite_demo_template
from tests.support.pgdb import pg_cluster, pg_kek, pg_url

__all__ = [
    "api",
    "app",
    "clock",
    "database",
    "demo",
    "pg_cluster",
    "pg_demo_template",
    "pg_kek",
    "pg_url",
    "sqlite_demo_template",
]
