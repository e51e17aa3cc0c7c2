"""``mykey-server payout``: see :mod:`server.settlement.cli`."""

from server.settlement.cli import payout_main as main

__all__ = ["main"]
