"""mykey-pos settlement server: ledger, sales, tickets, awards, conversions, roles (FastAPI + SQLite)."""

from points import wire as _wire

__version__ = "0.1.0"

# The wire models build their validators on first use (quick start of the counter app); the server
# builds them all before any of its routes is defined (see points.wire.build_all).
_wire.build_all()
