"""End-to-end fixtures: the server suite's own (demo data, a movable clock, the app over ASGI)."""

from __future__ import annotations

from tests.server.conftest import api, app, clock, demo

__all__ = ["api", "app", "clock", "demo"]
