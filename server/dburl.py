"""What ``--db`` names: a SQLite file (a path or ``sqlite:///…``) or a PostgreSQL database (``postgresql://…``).

``sqlite:///mykey.db`` is relative to the working directory and ``sqlite:////var/lib/mykey.db``
absolute (SQLAlchemy's convention); a bare path is a SQLite file, as ``--db`` always took.
PostgreSQL URLs are libpq's, passed on untouched (several hosts, ``target_session_attrs``...).

Used by ``backup``, ``restore`` and ``copy`` until the server's own ``--db URL`` (the PostgreSQL
storage) lands; then this is its one parser.
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass
from typing import Literal

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed ``--db``: its kind, and the SQLite file's path or the PostgreSQL URL."""

    kind: Literal["sqlite", "postgresql"]
    url: str
    path: pathlib.Path | None = None


def parse_database_url(text: str) -> DatabaseUrl:
    """Parse ``--db``.

    Raises:
        ValueError: another scheme (``mysql://``, ``sqlite://`` without a path...).
    """
    if text.startswith(POSTGRES_PREFIXES):
        return DatabaseUrl("postgresql", text)
    if text.startswith(SQLITE_PREFIX):
        path = pathlib.Path(text[len(SQLITE_PREFIX) :])
        return DatabaseUrl("sqlite", text, path)
    if "://" in text:
        raise ValueError(f"{redact(text)}: --db takes a file, sqlite:///PATH or postgresql://…")
    return DatabaseUrl("sqlite", SQLITE_PREFIX + text, pathlib.Path(text))


def redact(text: str) -> str:
    """``text`` with any password in a URL replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(://[^:/@,]+:)[^@]*@", r"\1***@", re.sub(r"(password=)[^&\s]+", r"\1***", text))
