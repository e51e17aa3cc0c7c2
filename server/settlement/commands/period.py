"""``mykey-server period``: see :mod:`server.settlement.cli`."""

from server.settlement.cli import period_main as main

__all__ = ["main"]
