"""The counter's tests talk to the real server: ``real_server`` (and ``server_time`` to fix its day)."""

from __future__ import annotations

from tests.support.counter_server import real_server, server_time  # noqa: F401  (fixtures, by name)
