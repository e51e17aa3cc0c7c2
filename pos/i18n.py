"""Japanese first: every string on screen goes through :func:`_` and a gettext catalog.

Message ids are English; ``pos/locale/ja/LC_MESSAGES/mykey-pos.po`` translates them into
Japanese (the default language) and ``en`` keeps them. The ``.po`` files are read directly
(a small parser of the gettext text format), so a fresh ``pip install -e .`` needs no compile
step; the catalogs ship as package data.
"""

from __future__ import annotations

import ast
import gettext
import pathlib
from functools import cache

DOMAIN = "mykey-pos"
LOCALE_DIR = pathlib.Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "ja"

_language = DEFAULT_LANGUAGE


class PoTranslations(gettext.NullTranslations):
    """Translations read from a ``.po`` file (msgid/msgstr pairs, multi-line strings, comments)."""

    def __init__(self, catalog: dict[str, str]) -> None:
        super().__init__()
        self.catalog = catalog

    def gettext(self, message: str) -> str:
        """The translation of ``message``, or ``message`` itself when it has none."""
        return self.catalog.get(message) or message


def parse_po(text: str) -> dict[str, str]:
    """Read a ``.po`` file's msgid → msgstr pairs (the header entry and empty msgstrs left out)."""
    catalog: dict[str, str] = {}
    key: str | None = None
    current: list[str] | None = None
    msgid: list[str] = []
    msgstr: list[str] = []

    def flush() -> None:
        if msgid and "".join(msgid) and "".join(msgstr):
            catalog["".join(msgid)] = "".join(msgstr)

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr = [], []
            key, current = "msgid", msgid
            line = line[len("msgid ") :]
        elif line.startswith("msgstr "):
            key, current = "msgstr", msgstr
            line = line[len("msgstr ") :]
        if current is None or key is None or not line.startswith('"'):
            raise ValueError(f"not a .po line: {raw!r}")
        current.append(ast.literal_eval(line))
    flush()
    return catalog


@cache
def translations(language: str) -> PoTranslations:
    """The catalog of ``language`` (an empty one when there is no file: English ids stand)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    catalog = parse_po(path.read_text(encoding="utf-8")) if path.exists() else {}
    return PoTranslations(catalog)


def set_language(language: str) -> None:
    """Switch every later :func:`_` call to ``language`` (``ja`` or ``en``)."""
    global _language
    _language = language


def language() -> str:
    """The language strings are shown in now."""
    return _language


def _(message: str) -> str:
    """Translate ``message`` (an English id) into the current language."""
    return translations(_language).gettext(message)


def N_(message: str) -> str:
    """Mark a message id for the catalog where it is translated later (e.g. a table of labels)."""
    return message
