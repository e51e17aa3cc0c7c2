"""Fixtures every test package may use: PostgreSQL (``pg_server``, ``pg_database``) from one plugin.

Under pytest-xdist (``make test`` runs ``-n``), every test that needs pcscd goes to one worker
(``xdist_group("pcscd")``, with ``--dist loadgroup``): there is one pcscd per machine, held
under a machine-wide lock for a module at a time, so card tests spread over workers would only
wait for each other, and a worker waiting holds up the rest of its queue.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.support.pg_fixtures"]

#: The fixtures that start pcscd (tests/support/pcscd.py) and what depends on them.
PCSCD_FIXTURES = {"pcscd", "empty_readers", "vcards", "watcher"}


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        # python-escpos writes its capabilities pickle on first import, unguarded: let the controller
        # write it before the xdist workers start, so that no worker reads another's half-written one.
        import escpos.capabilities  # noqa: F401


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put every pcscd test in one xdist group (one worker runs them all, one after another)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("pcscd") or PCSCD_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("pcscd"))
