"""mykey-pos settlement server: ledger, sales, tickets, awards, conversions, roles (FastAPI + SQLite)."""

__version__ = "0.1.0"
