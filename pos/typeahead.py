"""Keys typed ahead of the screen: held until the key before them has done what it does.

Textual hands each key to the widget focused *when the key arrives*. A key such as F10 or Enter
changes the screen or the focus only later (its binding runs when the key has bubbled back to
the app; ``focus()`` and a new screen's mount go through the message queues), so ``1000`` typed
right after F10 went to the items field still focused and the Enter to the payment screen's
first field: the first Enter in お預かり did not register (``make demo`` on a busy machine).

:class:`KeyHold` holds the keys that arrive after a non-printable key until that key's effects
have settled (every queue from the focused widget up to the app drained twice, screen and focus
unchanged), then lets them through in order. Printable keys after printable keys pass at once,
so typing into a field is not slowed. The hold ends after :data:`MOST_SECONDS` whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING

from textual import events

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump

#: The longest keys are held (a handler waiting on the network must not make the keys seem dead).
MOST_SECONDS = 3.0


class KeyHold:
    """The app's key gate: ``admit(key)`` says whether to handle a key now; held keys come back later."""

    def __init__(self, app: App[object]) -> None:
        self.app = app
        self.held: deque[events.Key] = deque()
        self.settling = False
        self.task: asyncio.Task[None] | None = None

    def admit(self, key: events.Key) -> bool:
        """True: handle the key now. False: it is held and will be posted to the app again."""
        if self.settling:
            self.held.append(key)
            return False
        return True

    def handled(self, key: events.Key) -> None:
        """The app passed ``key`` on: after a non-printable key, hold what follows until it settled."""
        if key.is_printable or self.settling:
            return
        self.settling = True
        self.task = asyncio.create_task(self.settle())

    async def drained(self, pump: MessagePump, deadline: float) -> bool:
        """Wait until ``pump`` handled what it had queued; True if its queue was empty already."""
        was_empty = pump._message_queue.empty()
        done = asyncio.Event()
        if not pump.call_later(done.set):
            return True  # closed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(0.0, deadline - time.monotonic()))
        return was_empty

    async def settle(self) -> None:
        """Wait for the key's effects (bubbling, bindings, messages, a new screen, focus), then release."""
        app = self.app
        deadline = time.monotonic() + MOST_SECONDS
        quiet = 0
        try:
            while quiet < 2 and time.monotonic() < deadline:
                screen, focused = app.screen, app.focused
                chain: list[MessagePump] = list(focused.ancestors_with_self) if focused else [screen, app]
                calm = True
                for pump in chain:
                    calm = await self.drained(pump, deadline) and calm
                if app.screen is not screen or app.focused is not focused or not screen.is_mounted:
                    calm = False
                quiet = quiet + 1 if calm else 0
        except Exception:  # the app is closing (no screen left): nothing to wait for
            pass
        finally:
            self.settling = False
            self.task = None
            held, self.held = self.held, deque()
            for key in held:
                # A fresh event: the held one was never forwarded, but messages are not reused.
                app.post_message(events.Key(key.key, key.character))
