"""A SIP2 client for the library desk: one TCP connection to one library's system, logged in.

The wire format (messages, fixed and variable fields, the ``AY``/``AZ`` trailer) is pysip2's codec
(``pysip2.encode_message`` / ``decode_message`` and its typed models): a maintained, strictly
validating implementation of SIP2 2.00. This module adds what a desk needs on top of it:

- the connection and its login (93/94) with the library's credentials, made again when the
  library closed an idle connection;
- every request sent with a sequence number (``AY``, 0-9 cycling) and a checksum (``AZ``), and every
  answer checked for both: a checksum that does not add up is asked for again once (97, *request ACS
  resend*), a 96 (*request SC resend*) is answered by sending the request again once;
- a time limit on every answer;
- one boundary, :func:`map_library_errors`, where socket and codec faults become the
  :mod:`pos.library.errors` family.

Answers are plain dataclasses. A patron's name (``AE``) is kept only in the answer object, for the
screen: it is left out of ``repr`` so it never reaches a log or a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import select
import socket
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from zoneinfo import ZoneInfo

import pysip2
from pysip2.errors import SIP2ChecksumError, SIP2Error

from pos.library.errors import LibraryDown, LibraryError, LibraryGarbled, LibraryRefused, LibraryTimeout

TOKYO = ZoneInfo("Asia/Tokyo")
#: SIP2 language code 015 is Japanese (the spec's table of languages).
JAPANESE = "015"
#: A frame longer than this is not a SIP2 answer (the spec caps fields at 255 characters).
MAX_FRAME = 64 * 1024

#: The 14 positions of the patron status field (``Y`` = true), in the spec's order.
PATRON_STATUS_FLAGS = (
    "charge_denied",
    "renewal_denied",
    "recall_denied",
    "hold_denied",
    "card_lost",
    "too_many_charged",
    "too_many_overdue",
    "too_many_renewals",
    "too_many_claims_returned",
    "too_many_lost",
    "excessive_fines",
    "excessive_fees",
    "recall_overdue",
    "too_many_billed",
)

R = TypeVar("R", bound=pysip2.SIPResponse)


@dataclass(frozen=True, slots=True)
class LibrarySystem:
    """Where one library's system listens and how this desk logs in to it.

    ``institution_id`` is the library's ``AO``; ``encoding`` is the bytes the system speaks (SIP2
    says ASCII; Japanese systems speak UTF-8 or Shift_JIS for titles and names).
    """

    institution_id: str
    host: str
    port: int
    login_user: str
    login_password: str = field(repr=False)
    name: str = ""
    location_code: str = ""
    terminal_password: str = field(default="", repr=False)
    encoding: str = "utf-8"
    timeout: float = 5.0


def system_from_url(url: str) -> LibrarySystem:
    """A library system from ``sip2://user:password@host:port/INSTITUTION[?name=…]`` (the desk's setting).

    Raises:
        ValueError: not a ``sip2://`` address with a user, a host and an institution id.
    """
    parts = urllib.parse.urlsplit(url)
    institution = urllib.parse.unquote(parts.path.strip("/"))
    if parts.scheme != "sip2" or not parts.hostname or not parts.username or not institution:
        raise ValueError("a library system is sip2://user:password@host:port/INSTITUTION")
    return LibrarySystem(
        institution_id=institution,
        host=parts.hostname,
        port=parts.port or 6001,
        login_user=urllib.parse.unquote(parts.username),
        login_password=urllib.parse.unquote(parts.password or ""),
        name=urllib.parse.parse_qs(parts.query).get("name", [""])[0],
    )


# Answers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AcsStatus:
    """The library system's status (98): may desks lend and take back now."""

    online: bool
    checkout_ok: bool
    checkin_ok: bool
    institution_id: str
    library_name: str
    supported_messages: str


@dataclass(frozen=True, slots=True)
class PatronStatus:
    """A patron's standing (24): valid or not, the library's flags, fines, its screen messages."""

    patron_id: str
    valid: bool | None
    flags: frozenset[str]
    fee_amount: int | None
    screen_messages: tuple[str, ...]
    #: Shown on the desk's screen, never stored or logged (hence no repr).
    name: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class PatronInformation:
    """A patron's details (64): counts and limits, the items charged and held, fines and limit."""

    patron_id: str
    valid: bool | None
    flags: frozenset[str]
    fee_amount: int | None
    fee_limit: int | None
    charged_count: int
    overdue_count: int
    hold_count: int
    charged_limit: int | None
    overdue_limit: int | None
    charged_items: tuple[str, ...]
    screen_messages: tuple[str, ...]
    #: Shown on the desk's screen, never stored or logged (hence no repr).
    name: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Loan:
    """The answer to a checkout (12): lent or not, the title and when it is due."""

    ok: bool
    item_id: str
    title: str
    due_date: dt.date | None
    due_text: str
    screen_messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Return:
    """The answer to a checkin (10): taken back or not, the title, where the item belongs."""

    ok: bool
    item_id: str
    title: str
    permanent_location: str
    alert: bool
    screen_messages: tuple[str, ...]


# Field helpers ------------------------------------------------------------------------


def sip_datetime(moment: dt.datetime) -> str:
    """``YYYYMMDDZZZZHHMMSS`` in local time (the spec's preferred form: four blanks for the zone)."""
    return f"{moment:%Y%m%d}    {moment:%H%M%S}"


def parse_due_date(text: str) -> dt.date | None:
    """The date of a due-date field when it starts ``YYYYMMDD`` (the usual form); else ``None``."""
    head = text.strip()[:8]
    if len(head) != 8 or not head.isdigit():
        return None
    try:
        return dt.date(int(head[:4]), int(head[4:6]), int(head[6:]))
    except ValueError:
        return None


def _flags(status: str) -> frozenset[str]:
    return frozenset(name for name, mark in zip(PATRON_STATUS_FLAGS, status, strict=False) if mark == "Y")


def _yen(amount: str | None) -> int | None:
    """A fee amount (``BV``/``CC``) in whole yen, or ``None`` when absent or not a number."""
    if amount is None or not amount.strip():
        return None
    try:
        return int(Decimal(amount.strip()))
    except InvalidOperation:
        return None


def _count(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def _yes(flag: str | None) -> bool | None:
    return None if flag is None else flag == "Y"


# The boundary -------------------------------------------------------------------------


@contextlib.contextmanager
def map_library_errors(*, sent: bool) -> Iterator[None]:
    """Translate socket and codec faults into :mod:`pos.library.errors` (the one place it is done).

    ``sent`` says whether the request has left the desk: a fault after that may hide a done deed.
    """
    try:
        yield
    except LibraryError:
        raise
    except TimeoutError as error:
        raise LibraryTimeout(str(error), maybe_done=sent) from error
    except SIP2Error as error:
        raise LibraryGarbled(str(error), maybe_done=sent) from error
    except (UnicodeError, ValueError) as error:
        raise LibraryGarbled(str(error), maybe_done=sent) from error
    except OSError as error:
        raise LibraryDown(str(error) or type(error).__name__, maybe_done=sent) from error


class Sip2Client:
    """One desk's connection to one library's system; connects and logs in on first use.

    Not thread-safe: a desk asks one thing at a time, as SIP2 does.
    """

    def __init__(self, system: LibrarySystem, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.system = system
        self._clock = clock or (lambda: dt.datetime.now(TOKYO))
        self._socket: socket.socket | None = None
        self._buffer = b""
        self._sequence = 0

    # Connection -------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection and log in (93/94).

        Raises:
            LibraryDown: nothing listens at the library's address.
            LibraryTimeout: the library did not answer the login in time.
            LibraryRefused: the library refused the login.
        """
        self.close()
        with map_library_errors(sent=False):
            self._socket = socket.create_connection(
                (self.system.host, self.system.port), timeout=self.system.timeout
            )
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        login = pysip2.LoginRequest(
            uid_algorithm="0",
            pwd_algorithm="0",
            login_user_id=self.system.login_user,
            login_password=self.system.login_password,
            location_code=self.system.location_code or None,
        )
        try:
            answer = self._exchange(login, pysip2.LoginResponse)
        except LibraryError:
            self.close()
            raise
        if answer.ok != "1":
            self.close()
            raise LibraryRefused(f"login refused for {self.system.login_user!r}")

    def close(self) -> None:
        """Close the connection (the next request connects and logs in again)."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        self._socket = None
        self._buffer = b""

    def __enter__(self) -> Sip2Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _stale(self) -> bool:
        """True when an idle connection cannot be trusted with the next request.

        An idle connection has nothing to read: readable means the library closed it, or sent
        something no request asked for (a late answer) that would be taken for the next answer.
        """
        sock = self._socket
        if sock is None or self._buffer:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    # Requests ---------------------------------------------------------------------

    def status(self) -> AcsStatus:
        """The library system's status (99 → 98)."""
        answer = self._request(
            pysip2.SCStatusRequest(status_code="0", max_print_width="048", protocol_version="2.00"),
            pysip2.ACSStatusResponse,
        )
        return AcsStatus(
            online=answer.online_status == "Y",
            checkout_ok=answer.checkout_ok == "Y",
            checkin_ok=answer.checkin_ok == "Y",
            institution_id=answer.institution_id,
            library_name=answer.library_name or "",
            supported_messages=answer.supported_messages,
        )

    def patron_status(self, patron_id: str) -> PatronStatus:
        """A patron's standing (23 → 24)."""
        answer = self._request(
            pysip2.PatronStatusRequest(
                language=JAPANESE,
                transaction_date=self._now(),
                institution_id=self.system.institution_id,
                patron_identifier=patron_id,
                terminal_password=self.system.terminal_password,
                patron_password="",
            ),
            pysip2.PatronStatusResponse,
        )
        return PatronStatus(
            patron_id=answer.patron_identifier,
            valid=_yes(answer.valid_patron),
            flags=_flags(answer.patron_status),
            fee_amount=_yen(answer.fee_amount),
            screen_messages=answer.screen_message,
            name=answer.personal_name,
        )

    def patron_information(self, patron_id: str) -> PatronInformation:
        """A patron's details with the items charged to them (63 → 64)."""
        answer = self._request(
            pysip2.PatronInformationRequest(
                language=JAPANESE,
                transaction_date=self._now(),
                summary="  Y       ",  # the third position asks for the charged items (AU)
                institution_id=self.system.institution_id,
                patron_identifier=patron_id,
                terminal_password=self.system.terminal_password,
                start_item="1",
                end_item="100",
            ),
            pysip2.PatronInformationResponse,
        )
        return PatronInformation(
            patron_id=answer.patron_identifier,
            valid=_yes(answer.valid_patron),
            flags=_flags(answer.patron_status),
            fee_amount=_yen(answer.fee_amount),
            fee_limit=_yen(answer.fee_limit),
            charged_count=_count(answer.charged_items_count) or 0,
            overdue_count=_count(answer.overdue_items_count) or 0,
            hold_count=_count(answer.hold_items_count) or 0,
            charged_limit=_count(answer.charged_items_limit),
            overdue_limit=_count(answer.overdue_items_limit),
            charged_items=answer.charged_items,
            screen_messages=answer.screen_message,
            name=answer.personal_name,
        )

    def checkout(self, patron_id: str, item_id: str) -> Loan:
        """Lend one item to a patron (11 → 12); a refusal is an answer with ``ok`` false."""
        now = self._now()
        answer = self._request(
            pysip2.CheckoutRequest(
                sc_renewal_policy="N",
                no_block="N",
                transaction_date=now,
                nb_due_date=now,
                institution_id=self.system.institution_id,
                patron_identifier=patron_id,
                item_identifier=item_id,
                terminal_password=self.system.terminal_password,
            ),
            pysip2.CheckoutResponse,
        )
        return Loan(
            ok=answer.ok == "1",
            item_id=answer.item_identifier,
            title=answer.title_identifier,
            due_date=parse_due_date(answer.due_date) if answer.ok == "1" else None,
            due_text=answer.due_date,
            screen_messages=answer.screen_message,
        )

    def checkin(self, item_id: str) -> Return:
        """Take one item back (09 → 10); a refusal is an answer with ``ok`` false."""
        now = self._now()
        answer = self._request(
            pysip2.CheckinRequest(
                no_block="N",
                transaction_date=now,
                return_date=now,
                current_location=self.system.location_code,
                institution_id=self.system.institution_id,
                item_identifier=item_id,
                terminal_password=self.system.terminal_password,
            ),
            pysip2.CheckinResponse,
        )
        return Return(
            ok=answer.ok == "1",
            item_id=answer.item_identifier,
            title=answer.title_identifier or "",
            permanent_location=answer.permanent_location,
            alert=answer.alert == "Y",
            screen_messages=answer.screen_message,
        )

    # The exchange -----------------------------------------------------------------

    def _now(self) -> str:
        return sip_datetime(self._clock())

    def _request(self, message: pysip2.SIPRequest, expected: type[R]) -> R:
        """Send ``message`` on a logged-in connection (made again if the library closed it)."""
        if self._stale():
            try:
                self.connect()
            except LibraryError as error:
                error.maybe_done = False  # the request itself never left the desk
                raise
        try:
            return self._exchange(message, expected)
        except LibraryError:
            self.close()  # after a fault the connection's state is unknown: start afresh next time
            raise

    def _exchange(self, message: pysip2.SIPRequest, expected: type[R]) -> R:
        sequence = self._sequence
        self._sequence = (sequence + 1) % 10
        frame = pysip2.encode_message(
            message, sequence_number=sequence, checksum=True, encoding=self.system.encoding
        )
        self._send(frame, sent=False)
        resent = asked_again = False
        while True:
            raw = self._receive()
            with map_library_errors(sent=True):
                try:
                    decoded = pysip2.decode_message(raw, encoding=self.system.encoding)
                except SIP2ChecksumError:
                    if asked_again:
                        raise
                    asked_again = True  # a garbled line: ask the library to send its answer again
                    self._send(pysip2.encode_message(pysip2.RequestACSResend(), checksum=True), sent=True)
                    continue
            answer = decoded.message
            if isinstance(answer, pysip2.RequestSCResend):
                if resent:
                    raise LibraryGarbled("the library asked twice for the request again", maybe_done=False)
                resent = True  # the library could not read our request: send it again, same sequence
                self._send(frame, sent=False)
                continue
            if decoded.checksum is None or decoded.sequence_number != sequence:
                raise LibraryGarbled(
                    f"answer without checksum or with sequence {decoded.sequence_number}, not {sequence}",
                    maybe_done=True,
                )
            if not isinstance(answer, expected):
                raise LibraryGarbled(
                    f"{type(answer).__name__} answered, not {expected.__name__}", maybe_done=True
                )
            return answer

    def _send(self, frame: bytes, *, sent: bool) -> None:
        if self._socket is None:
            raise LibraryDown("not connected", maybe_done=sent)
        with map_library_errors(sent=sent):
            self._socket.sendall(frame)

    def _receive(self) -> bytes:
        """One frame up to its carriage return (a line feed some systems add after it is dropped)."""
        sock = self._socket
        if sock is None:
            raise LibraryDown("not connected", maybe_done=True)
        with map_library_errors(sent=True):
            while b"\r" not in self._buffer:
                if len(self._buffer) > MAX_FRAME:
                    raise LibraryGarbled("no end of message", maybe_done=True)
                chunk = sock.recv(4096)
                if not chunk:
                    raise LibraryDown("the library closed the connection", maybe_done=True)
                self._buffer = (self._buffer + chunk).lstrip(b"\n")
            frame, _, self._buffer = self._buffer.partition(b"\r")
            self._buffer = self._buffer.lstrip(b"\n")
            return frame + b"\r"
