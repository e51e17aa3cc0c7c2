"""The printer connection interface, and the deadline every connection kind keeps.

One small class per connection kind (as python-escpos cuts its own printers): network, USB,
serial, file and none. Each opens, writes one job and closes inside :meth:`Printer.send`, so a
printer that was switched off and on again just works on the next job, and nothing blocks the
counter app longer than the connection's ``timeout``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

#: Seconds a job may take, from connecting to the printer confirming it, unless the URL says.
DEFAULT_TIMEOUT = 5.0


class Deadline:
    """A point in time a job must finish by; hands out what is left of it to each blocking call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self, at_most: float | None = None) -> float:
        """Seconds left (never negative), capped at ``at_most``."""
        left = max(0.0, self._end - time.monotonic())
        return left if at_most is None else min(left, at_most)

    @property
    def expired(self) -> bool:
        """True once the time is up."""
        return time.monotonic() >= self._end


class Printer(ABC):
    """A receipt printer reached through one connection kind.

    Attributes:
        url: the printer's address as configured (``tcp://…``, ``usb://…``, ``serial://…``,
            ``file://…`` or ``none``).
        timeout: seconds one job may take in all.
    """

    url: str
    timeout: float

    @abstractmethod
    def send(self, data: bytes) -> None:
        """Deliver one job of ESC/POS bytes, within ``timeout`` seconds.

        Args:
            data: the job, e.g. from :func:`printers.render`.

        Raises:
            printers.errors.PrinterError: a subclass saying what went wrong (refused, timeout,
                disconnected mid-job, paper out, busy, permission, not found).
        """

    def check(self) -> None:
        """Reach the printer and ask its status without printing anything (an empty job).

        Raises:
            printers.errors.PrinterError: as :meth:`send` would.
        """
        self.send(b"")

    def describe(self) -> str:
        """The address as shown to people."""
        return self.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
