"""The business calendar (営業日と精算期間): Japan-time business dates, claim periods and their cutoffs.

One rule, used by the counter, its journal, the server's ledger, settlement and the console:

- **The business date** of a moment is its date in Japan time (Asia/Tokyo, no daylight saving),
  whatever the clock of the machine says. A terminal whose clock is set to UTC still puts a
  08:30 sale on today's Japanese date, so "void only today's sales", the end of day and the
  server's ``void_not_same_day`` agree. A naive datetime is refused: its zone is a guess.
- **A period** (精算期間) has a name and a span of Japan-time days, ``starts_on`` inclusive and
  ``ends_on`` exclusive. Its names, ASCII digits only and matched as a whole string:
  ``2026-11`` (a month, the canonical form and the default), ``2026-11a`` / ``2026-11b`` (the
  1st to the 15th, the 16th to the month's end) and ``2026-W48`` (an ISO week, Monday first).
- **Years 2000 to 2199** only: the scheme began in 2017, and a bound keeps every period's
  arithmetic inside what ``datetime`` can hold (``9999-W52`` ends in year 10000; ``0001-01``
  starts before year 1 in UTC), so a far-off name is refused rather than computed.
- **The cutoff** of a period closed at some moment is the period's end (midnight Japan time
  after its last day) or the moment of closing, whichever is earlier: a sale accepted after the
  cutoff waits for the next close.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

#: The years a period may fall in (see the module docstring).
FIRST_YEAR, LAST_YEAR = 2000, 2199

#: Japan time. Every business date and period bound is taken here.
JST = ZoneInfo("Asia/Tokyo")

# ``[0-9]`` rather than ``\d``: ``\d`` also matches full-width and other scripts' digits, and
# ``int()`` reads them, so 「２０２６-11」 would name a period. ``fullmatch`` so no trailing newline.
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})([ab]?)")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")


class PeriodError(ValueError):
    """A text that is not a period name; ``code`` is the server's ``bad_period``."""

    code = "bad_period"


# Business dates -----------------------------------------------------------------------


def business_date(moment: dt.datetime) -> dt.date:
    """The Japan-time date of an aware moment.

    Raises:
        ValueError: ``moment`` is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a business date needs an aware datetime")
    return moment.astimezone(JST).date()


def now() -> dt.datetime:
    """The present moment, aware (UTC): the one clock the counter reads (tests stop it here)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's business date (Japan time), whatever zone this machine's clock is set to."""
    return business_date(now())


def japan_time(moment: dt.datetime) -> dt.datetime:
    """An aware moment shown in Japan time (for receipts and screens)."""
    return moment.astimezone(JST)


def start_of(day: dt.date) -> dt.datetime:
    """The first instant of a business date (midnight Japan time), aware."""
    return dt.datetime.combine(day, dt.time(), JST)


def stored_text(moment: dt.datetime) -> str:
    """An aware moment as the server stores and compares it: UTC ISO 8601 text."""
    return moment.astimezone(dt.UTC).isoformat()


def display_text(stored: str) -> str:
    """Stored ISO 8601 text (any offset) shown as Japan time to the minute: ``2026-12-01 00:00``.

    Text that is not a moment is returned as it is (a screen shows what it was given).
    """
    try:
        moment = dt.datetime.fromisoformat(stored)
    except ValueError:
        return stored
    if moment.tzinfo is None:
        return stored
    return japan_time(moment).strftime("%Y-%m-%d %H:%M")


# Periods ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A named span of Japan-time days: ``starts_on`` inclusive, ``ends_on`` exclusive."""

    id: str
    starts_on: dt.date
    ends_on: dt.date

    @property
    def last_day(self) -> dt.date:
        """The period's last business date (for statements: 「11月1日〜11月30日」)."""
        return self.ends_on - dt.timedelta(days=1)

    @property
    def start(self) -> dt.datetime:
        """The first instant of the period, aware (Japan time)."""
        return start_of(self.starts_on)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period, aware (Japan time)."""
        return start_of(self.ends_on)

    @property
    def starts_at(self) -> str:
        """The first instant, as the server stores it (UTC ISO text)."""
        return stored_text(self.start)

    @property
    def ends_at(self) -> str:
        """The first instant after the period, as the server stores it (UTC ISO text)."""
        return stored_text(self.end)

    def contains(self, moment: dt.datetime) -> bool:
        """True when an aware moment's business date is in the period."""
        return self.starts_on <= business_date(moment) < self.ends_on

    def cutoff(self, closing: dt.datetime) -> dt.datetime:
        """The cutoff of a close at ``closing``: the period's end, or ``closing`` if earlier."""
        return min(self.end, closing)

    def cutoff_at(self, closing: dt.datetime) -> str:
        """:meth:`cutoff` as the server stores it (UTC ISO text)."""
        return stored_text(self.cutoff(closing))


def month_name(year: int, month: int) -> str:
    """The canonical name of a month period: ``YYYY-MM``."""
    return f"{year:04d}-{month:02d}"


def parse_period(text: str) -> Period:
    """Read a period name (see the module docstring for the forms).

    Raises:
        PeriodError: anything else, including full-width digits, a month 13, a week 54.
    """
    try:
        match = _MONTH.fullmatch(text) or _WEEK.fullmatch(text)
        if match is None or not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
            raise PeriodError(f"not a period name: {text!r}")
        if match.re is _MONTH:
            year, month, half = int(match[1]), int(match[2]), match[3]
            first = dt.date(year, month, 1)
            following = dt.date(year + month // 12, month % 12 + 1, 1)
            if half == "a":
                return Period(text, first, dt.date(year, month, 16))
            if half == "b":
                return Period(text, dt.date(year, month, 16), following)
            return Period(text, first, following)
        if match.re is _WEEK:
            monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return Period(text, monday, monday + dt.timedelta(days=7))
    except ValueError:
        pass  # a month 13 or a week 54 is not a period either
    raise PeriodError(f"not a period name: {text!r}")


def month_of(day: dt.date) -> Period:
    """The month period a business date falls in."""
    return parse_period(month_name(day.year, day.month))


def period_of(moment: dt.datetime) -> Period:
    """The month period an aware moment falls in (Japan time)."""
    return month_of(business_date(moment))


def previous_month(day: dt.date) -> Period:
    """The month before the one ``day`` falls in: what a month-end close usually works on."""
    return month_of(day.replace(day=1) - dt.timedelta(days=1))
