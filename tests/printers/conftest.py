"""Fixtures for printer tests: a real TCP printer on 127.0.0.1 (see tests/support/tcp_printer.py)."""

from __future__ import annotations

from tests.support.tcp_printer import tcp_printer

__all__ = ["tcp_printer"]
