"""What ``--db`` names: a SQLite file (a path or ``sqlite:///…``) or a PostgreSQL database (``postgresql://…``).

The one parser of ``--db`` for every verb (``serve``, ``check``, ``backup``, ``copy``...).
``sqlite:///mykey.db`` is relative to the working directory and ``sqlite:////var/lib/mykey.db``
absolute (SQLAlchemy's convention); a bare path is a SQLite file, as ``--db`` always took.
PostgreSQL URLs are libpq's, passed on untouched (several hosts, ``target_session_attrs``...).
"""

from __future__ import annotations

import pathlib
import re
import urllib.parse
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


def is_postgres_url(url: str | pathlib.Path) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(url, str) and url.startswith(POSTGRES_PREFIXES)


def parse_database_url(text: str | pathlib.Path) -> DatabaseUrl:
    """Parse ``--db``.

    Raises:
        ValueError: another scheme (``mysql://``, ``sqlite://`` without a path...).
    """
    if isinstance(text, pathlib.Path):
        return DatabaseUrl("sqlite", SQLITE_PREFIX + str(text), text)
    if is_postgres_url(text):
        return DatabaseUrl("postgresql", text)
    if text.startswith(SQLITE_PREFIX):
        path = pathlib.Path(urllib.parse.unquote(text[len(SQLITE_PREFIX) :]) or ".")
        return DatabaseUrl("sqlite", text, path)
    if "://" in text:
        raise ValueError(f"{redact(text)}: --db takes a file, sqlite:///PATH or postgresql://…")
    return DatabaseUrl("sqlite", SQLITE_PREFIX + text, pathlib.Path(text))


def sqlite_path(url: str | pathlib.Path) -> pathlib.Path:
    """The file of a SQLite location: a path, or a ``sqlite:///path`` URL (``sqlite:////abs`` too).

    Raises:
        ValueError: ``url`` is a PostgreSQL URL or another scheme.
    """
    parsed = parse_database_url(url)
    if parsed.path is None:
        raise ValueError(f"{redact(str(url))} is a PostgreSQL database, not a SQLite file")
    return parsed.path


def location(url: str | pathlib.Path) -> str | pathlib.Path:
    """``--db`` as given, normalised: a PostgreSQL URL as it is, anything else as a file path."""
    parsed = parse_database_url(url)
    return parsed.url if parsed.path is None else parsed.path


def redact(text: str) -> str:
    """``text`` with any password in a URL (``user:pw@`` or ``password=pw``) replaced by ``***``."""
    return re.sub(r"(://[^:/@,]+:)[^@]*@", r"\1***@", re.sub(r"(password=)[^&\s]+", r"\1***", text))
