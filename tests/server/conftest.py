"""Server fixtures: demo data on disk, an in-process app with a movable clock, and a real server.

- ``demo`` — ``server.demo`` data in a tmp dir (``demo.tokens``, ``demo.cards``, ``demo.db_path``)
- ``clock`` — the app's clock; ``clock.advance(days=1)`` moves it
- ``api`` — ``api(principal)`` gives an ``httpx.AsyncClient`` over ASGI as that principal
- ``live_server`` — :func:`tests.support.server.running_server` (uvicorn subprocess on 127.0.0.1)
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from server import demo as demo_data
from server.app import create_app
from tests.support.server import RunningServer, running_server


@dataclass
class Demo:
    """Demo data written by :func:`server.demo.build`."""

    directory: pathlib.Path
    db_path: pathlib.Path
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
    directory: pathlib.Path, card_keys: list[str] | None = None, trust_ca: list[bytes] | None = None
) -> Demo:
    """Write demo data into ``directory``."""
    tokens = demo_data.build(directory, card_keys or [], trust_ca or [])
    return Demo(directory, directory / "mykey.db", tokens, json.loads((directory / "cards.json").read_text()))


@pytest.fixture
def demo(tmp_path: pathlib.Path) -> Demo:
    return build_demo(tmp_path / "demo")


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
