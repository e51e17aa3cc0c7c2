"""The library family of errors: the library's system could not be asked, or its answer not read.

The socket layer and pysip2's codec are translated into these at one boundary
(:func:`pos.library.sip2.map_library_errors`), so the desk only ever catches :class:`LibraryError`.
Like the printer and card errors, each carries a stable ``code`` and an English message id in
``text`` that :func:`pos.i18n.explain` puts into the desk's language (Japanese first).

A refusal by the library (a blocked patron, an item on hold for someone else) is not an error: it is
an answer, returned as data with the library's own screen message.

``maybe_done`` says whether the request had left the desk when the fault happened: a checkout whose
answer was lost may have been recorded by the library, and the desk must say so rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping

from pos.i18n import N_, explain


class LibraryError(Exception):
    """Base of every library error: ``code`` for programs, ``text`` (a message id) for people."""

    code = "library_error"
    text = N_("The library system could not be asked. Please try again.")

    def __init__(self, detail: str = "", *, maybe_done: bool = False, **params: object) -> None:
        self.detail = detail
        self.maybe_done = maybe_done
        self.params: Mapping[str, object] = params
        super().__init__(f"{self.code}: {self.text.format(**params)}" + (f" ({detail})" if detail else ""))

    def message(self, language: str | None = None) -> str:
        """The message for the desk's screen in ``language`` (default: the counter's language)."""
        return explain(self, language)


# Reaching the library system --------------------------------------------------------


class LibraryDown(LibraryError):
    """The library system cannot be reached (refused, no route, the connection cut)."""

    code = "library_down"
    text = N_("The library system cannot be reached. Lending waits until it is back.")


class LibraryTimeout(LibraryError):
    """The library system did not answer within the time limit."""

    code = "library_timeout"
    text = N_("The library system did not answer in time. Lending waits until it is back.")


# The library's answer ---------------------------------------------------------------


class LibraryRefused(LibraryError):
    """The library system refused this desk (login refused, or it is offline for desks)."""

    code = "library_refused"
    text = N_("The library system refused this desk's login. Check the desk's SIP2 settings.")


class LibraryGarbled(LibraryError):
    """The answer could not be read: bad checksum, wrong sequence number, or not a SIP2 answer."""

    code = "library_garbled"
    text = N_("The library system's answer could not be read. Please try again.")
