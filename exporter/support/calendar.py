"""Business time on a ``model.BusinessHours`` calendar. Pure: instants are UTC epoch
seconds passed in; holidays come from the ``holidays`` package.

Rules (docs/semantics.md, "Support deadlines"): a clock that starts outside business hours starts
at the next opening; a deadline that falls exactly at closing time is that closing time
(not the next opening). Opening and closing are local wall times, so business days stay
08:00-16:30 across DST changes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from exporter.model import BusinessHours

if TYPE_CHECKING:
    import holidays

MAX_DAYS = 3660  # no target reaches further than ten years of business days


@functools.lru_cache(maxsize=16)
def _holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    import holidays  # ~9 MB of country tables: only calendars with a country pay for them

    return holidays.country_holidays(country, subdiv=subdivision)


def is_business_day(cal: BusinessHours, day: dt.date) -> bool:
    if day.weekday() not in cal.days or day in cal.closed_dates:
        return False
    return cal.country is None or day not in _holidays(cal.country, cal.subdivision)


def _opening(cal: BusinessHours, day: dt.date, zone: ZoneInfo) -> tuple[float, float]:
    return (
        dt.datetime.combine(day, cal.open, tzinfo=zone).timestamp(),
        dt.datetime.combine(day, cal.close, tzinfo=zone).timestamp(),
    )


def openings(cal: BusinessHours, start: float) -> Iterator[tuple[float, float]]:
    """Business hours as (open, close) instants, from the day of ``start`` on."""
    zone = ZoneInfo(cal.timezone)
    day = dt.datetime.fromtimestamp(start, zone).date()
    for _ in range(MAX_DAYS):
        if is_business_day(cal, day):
            yield _opening(cal, day, zone)
        day += dt.timedelta(days=1)


def add(cal: BusinessHours, start: float, seconds: float) -> float:
    """The instant ``seconds`` of business time after ``start``."""
    remaining = seconds
    for opens, closes in openings(cal, start):
        begin = max(start, opens)
        if begin >= closes:
            continue
        if remaining <= closes - begin:  # "<=": exactly at closing time is closing time
            return begin + remaining
        remaining -= closes - begin
    raise ValueError(f"no business time within {MAX_DAYS} days after {start}")


def describe(cal: BusinessHours) -> str:
    """``Europe/Helsinki, Mon-Fri 08:00-16:30, FI holidays`` for people."""
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    days = sorted(cal.days)
    if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        span = f"{names[days[0]]}-{names[days[-1]]}"
    else:
        span = ",".join(names[d] for d in days)
    where = (
        "no public holidays"
        if cal.country is None
        else (f"{cal.country}{'-' + cal.subdivision if cal.subdivision else ''} holidays")
    )
    extra = f", {len(cal.closed_dates)} extra closed dates" if cal.closed_dates else ""
    return f"{cal.timezone}, {span} {cal.open:%H:%M}-{cal.close:%H:%M}, {where}{extra}"
