"""``mykey-server rank``: see :mod:`server.settlement.cli`."""

from server.settlement.cli import rank_main as main

__all__ = ["main"]
