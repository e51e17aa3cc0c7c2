"""Bank business days (銀行営業日): the days a Zengin 総合振込 transfer can be dated.

Japanese banks are closed on Saturdays, Sundays, national holidays (国民の祝日, substitute and
citizens' holidays included) and from 12/31 to 1/3. The holidays come from the maintained
``holidays`` package (its Japan calendar follows the Cabinet Office's list), never a hand list.
"""

from __future__ import annotations

import datetime as dt

import holidays

# One calendar, filled a year at a time as dates are asked about.
_JAPAN = holidays.country_holidays("JP", language="ja")
#: The banks' year-end closing (12/31–1/3), as (month, day).
_YEAR_END = frozenset({(12, 31), (1, 1), (1, 2), (1, 3)})


def closed_because(day: dt.date) -> str | None:
    """Why banks are closed on ``day`` (土曜日, 日曜日, the holiday's name, 年末年始), or None when open."""
    if day.weekday() == 5:
        return "土曜日"
    if day.weekday() == 6:
        return "日曜日"
    if (day.month, day.day) in _YEAR_END:
        return "年末年始"
    name = _JAPAN.get(day)
    return f"祝日（{name}）" if name else None


def is_bank_business_day(day: dt.date) -> bool:
    """True when banks are open on ``day``."""
    return closed_because(day) is None


def next_bank_business_day(after: dt.date) -> dt.date:
    """The first bank business day strictly after ``after`` (a transfer is dated in the future)."""
    day = after + dt.timedelta(days=1)
    while not is_bank_business_day(day):
        day += dt.timedelta(days=1)
    return day
