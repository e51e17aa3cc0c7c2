"""The "none" printer: jobs go nowhere (a terminal without a printer; the preview still works)."""

from __future__ import annotations

from printers.connections.base import DEFAULT_TIMEOUT, Printer


class NullPrinter(Printer):
    """Accepts every job and keeps only the last one, for the on-screen preview."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = "none"
        self.timeout = timeout
        self.last_job: bytes | None = None

    def send(self, data: bytes) -> None:
        """Keep ``data`` as :attr:`last_job`; nothing is printed."""
        self.last_job = bytes(data)
