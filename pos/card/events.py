"""Card events and the thread-safe queue that carries them to the app.

Readers put events from their own thread (pyscard's, or the caller's for the simulated reader)
with :meth:`EventQueue.put`, which never blocks and never runs app code. The app takes them on
its own thread or event loop with :meth:`EventQueue.get` or ``await`` :meth:`EventQueue.aget`.

Two names are shared with :mod:`pos.card.errors` (``CardRemoved``, ``ReaderGone``): import the
modules (``from pos.card import errors, events``) and write ``events.CardRemoved``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CardEvent:
    """Base of every event: the reader it happened on and when (``time.monotonic()``)."""

    reader: str
    at: float = field(default_factory=time.monotonic, compare=False)


@dataclass(frozen=True)
class CardPresent(CardEvent):
    """A card arrived on ``reader``; ``atr`` is its answer-to-reset."""

    atr: bytes = b""


@dataclass(frozen=True)
class CardRemoved(CardEvent):
    """The card left ``reader``."""


@dataclass(frozen=True)
class ReaderGone(CardEvent):
    """``reader`` vanished; ``reason`` is ``"unplugged"`` or ``"pcsc_unavailable"`` (pcscd gone).

    With ``reader == ""`` it is about pcscd itself: it was not running when watching began.
    """

    reason: str = "unplugged"


@dataclass(frozen=True)
class ReaderBack(CardEvent):
    """``reader`` is available (again): plugged in, or pcscd came back."""


class EventQueue:
    """An unbounded, thread-safe FIFO of :class:`CardEvent` with sync and asyncio consumers."""

    def __init__(self) -> None:
        self._items: collections.deque[CardEvent] = collections.deque()
        self._cond = threading.Condition()
        self._wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def put(self, event: CardEvent) -> None:
        """Add ``event`` from any thread; never blocks beyond a short lock, never runs app code."""
        with self._cond:
            self._items.append(event)
            self._cond.notify_all()
            wakers, self._wakers = self._wakers, []
        for loop, waker in wakers:
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(waker.set)

    def get_nowait(self) -> CardEvent | None:
        """The oldest event, or ``None`` when there is none."""
        with self._cond:
            return self._items.popleft() if self._items else None

    def get(self, timeout: float | None = None) -> CardEvent | None:
        """Wait up to ``timeout`` seconds (forever with ``None``) for the oldest event.

        Returns:
            The event, or ``None`` when the time ran out.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._items.popleft()

    async def aget(self) -> CardEvent:
        """Wait on the running asyncio loop (e.g. Textual's) for the oldest event."""
        loop = asyncio.get_running_loop()
        while True:
            waker = asyncio.Event()
            with self._cond:
                if self._items:
                    return self._items.popleft()
                self._wakers.append((loop, waker))
            await waker.wait()

    def drain(self) -> list[CardEvent]:
        """Every event waiting, oldest first, leaving the queue empty."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            return items

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
