"""Japanese first: every word the counter shows goes through :func:`_` and a gettext catalog.

Message ids are English. ``pos/locale/ja/LC_MESSAGES/mykey-pos.po`` translates them into
Japanese (the default language); ``en`` keeps the ids. Babel does the catalog work: ``make
catalogs`` extracts the ids from ``pos/`` and ``printers/`` (``pybabel extract``, configured in
``pyproject.toml``) and merges them into the ``.po`` files; the install step of ``make`` compiles
each ``.po`` to the ``.mo`` that :func:`translations` loads with the standard library. When a
``.mo`` is missing or older than its ``.po`` (an install that never ran make, a ``.po`` edited or
merged since), the ``.po`` is compiled in memory with Babel instead, so the words shown are
always the ``.po``'s.

Errors that reach the shopkeeper (card, printer, server connection) carry an English message
id in ``text`` and its fields in ``params``; :func:`explain` is the one place they are put into
words. The printer package marks its ids with its own ``N_`` and never imports this module.
"""

from __future__ import annotations

import gettext
import io
import pathlib
from collections.abc import Mapping
from functools import cache
from typing import Protocol

DOMAIN = "mykey-pos"
LOCALE_DIR = pathlib.Path(__file__).with_name("locale")
LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"

_language = DEFAULT_LANGUAGE


class Explained(Protocol):
    """Something with a message for people: an English message id and the values it names."""

    @property
    def text(self) -> str:
        """The English message id."""

    @property
    def params(self) -> Mapping[str, object]:
        """The values of the id's ``{fields}``."""


def catalog_path(language: str, suffix: str = ".po") -> pathlib.Path:
    """Where the catalog of ``language`` lives (``.po`` source, ``.mo`` compiled)."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def compile_catalog(po: pathlib.Path, language: str) -> bytes:
    """The ``.mo`` bytes of a ``.po`` file, compiled by Babel (what ``pybabel compile`` writes)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


@cache
def translations(language: str) -> gettext.GNUTranslations:
    """The compiled catalog of ``language`` (the ``.mo``, or the ``.po`` compiled now if newer).

    Raises:
        FileNotFoundError: ``language`` has no catalog.
    """
    po, mo = catalog_path(language), catalog_path(language, ".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    if not po.exists():
        raise FileNotFoundError(f"no message catalog for language {language!r}: {po}")
    return gettext.GNUTranslations(io.BytesIO(compile_catalog(po, language)))


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


def translate(message: str, language: str | None = None, /, **params: object) -> str:
    """``message`` in ``language`` (default: the current one), its ``{fields}`` filled in."""
    text = translations(language or _language).gettext(message)
    return text.format(**params) if params else text


def explain(error: Explained, language: str | None = None) -> str:
    """The message of an error (card, printer, server connection) for the shopkeeper."""
    return translate(error.text, language, **error.params)
