"""The business calendar: Japan-time dates, period names (ASCII, whole string) and cutoffs."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from points import calendar
from points.calendar import JST, Period, PeriodError, business_date, parse_period

moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31), timezones=st.just(dt.UTC)
)


def test_a_morning_in_japan_is_already_the_next_day_in_utc_terms() -> None:
    assert business_date(dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 2)
    assert business_date(dt.datetime(2026, 12, 1, 14, 59, 59, tzinfo=dt.UTC)) == dt.date(2026, 12, 1)
    assert business_date(dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)) == dt.date(2026, 12, 2)


def test_a_naive_moment_has_no_business_date() -> None:
    with pytest.raises(ValueError):
        business_date(dt.datetime(2026, 12, 1, 8, 30))


@given(moment=moments)
def test_the_business_date_is_the_japan_date_whatever_the_offset(moment: dt.datetime) -> None:
    day = business_date(moment)
    assert day == moment.astimezone(JST).date()
    elsewhere = moment.astimezone(dt.timezone(dt.timedelta(hours=-10)))
    assert business_date(elsewhere) == day
    assert calendar.start_of(day) <= moment < calendar.start_of(day + dt.timedelta(days=1))


def test_period_names_and_bounds() -> None:
    november = parse_period("2026-11")
    assert (november.starts_on, november.ends_on, november.last_day) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
        dt.date(2026, 11, 30),
    )
    assert november.starts_at == "2026-10-31T15:00:00+00:00"
    assert parse_period("2026-12b") == Period("2026-12b", dt.date(2026, 12, 16), dt.date(2027, 1, 1))
    assert parse_period("2026-11a").ends_on == dt.date(2026, 11, 16)
    assert parse_period("2026-W48").starts_on == dt.date(2026, 11, 23)
    assert parse_period("2026-W53").starts_on == dt.date(2026, 12, 28)  # 2026 has 53 ISO weeks


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-00",
        "2026-11c",
        "26-11",
        "2026-W54",
        "2027-W53",
        "",
        "2026-11\n",
        " 2026-11",
        "２０２６-11",  # full-width digits
        "2026-１1",
        "٢٠٢٦-11",  # Arabic-Indic digits
        "2026-11A",
        "2026-w48",
        "2026/11",
    ],
)
def test_anything_else_is_not_a_period(text: str) -> None:
    with pytest.raises(PeriodError) as error:
        parse_period(text)
    assert error.value.code == "bad_period"


# From February 2000: January 2000's previous month and its first days' ISO week are in 1999, before the
# calendar's first year.
@given(day=st.dates(min_value=dt.date(2000, 2, 1), max_value=dt.date(2099, 12, 31)))
def test_every_day_is_in_its_month_and_in_exactly_one_half(day: dt.date) -> None:
    month = calendar.month_of(day)
    assert month.id == f"{day.year:04d}-{day.month:02d}" and month.starts_on <= day < month.ends_on
    assert parse_period(month.id) == month
    halves = [parse_period(month.id + half) for half in "ab"]
    assert sum(h.starts_on <= day < h.ends_on for h in halves) == 1
    assert halves[0].starts_on == month.starts_on and halves[1].ends_on == month.ends_on
    assert halves[0].ends_on == halves[1].starts_on
    year, week, _ = day.isocalendar()
    iso_week = parse_period(f"{year:04d}-W{week:02d}")
    assert iso_week.starts_on <= day < iso_week.ends_on
    previous = calendar.previous_month(day)
    assert previous.ends_on == month.starts_on


@given(moment=moments)
def test_a_moment_is_in_the_month_of_its_japan_date(moment: dt.datetime) -> None:
    month = calendar.period_of(moment)
    assert month.contains(moment)
    assert month.start <= moment < month.end


@given(closing=moments)
def test_the_cutoff_is_the_period_end_or_the_closing_moment_if_earlier(closing: dt.datetime) -> None:
    november = parse_period("2026-11")
    cutoff = november.cutoff(closing)
    assert cutoff == min(november.end, closing)
    assert november.cutoff_at(closing) == calendar.stored_text(cutoff)
    # The stored texts compare in time order, as the server's SQL compares them.
    assert (november.cutoff_at(closing) < november.ends_at) == (closing < november.end)


def test_stored_times_are_shown_in_japan_time() -> None:
    assert calendar.display_text("2026-11-30T15:00:00+00:00") == "2026-12-01 00:00"
    assert calendar.display_text("") == ""
    assert calendar.display_text("2026-11-30T15:00:00") == "2026-11-30T15:00:00"  # naive: as given
