"""Fixtures every test package may use: PostgreSQL (``pg_server``, ``pg_database``) from one plugin."""

pytest_plugins = ["tests.support.pg_fixtures"]
