"""``mykey-server payer``: see :mod:`server.settlement.cli`."""

from server.settlement.cli import payer_main as main

__all__ = ["main"]
