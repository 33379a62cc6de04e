"""Calendar months and days as UTC epoch-second ranges.

A month is the contract's month: from local midnight on the 1st to local midnight on the 1st
of the next month in an IANA timezone, so October 2026 in Europe/Helsinki lasts 31 days + 1 hour
(DST ends) and March 2026 31 days - 1 hour. Pure functions, no clock reads.

Local midnight is read as Python's ``zoneinfo`` reads any wall time with ``fold=0``: where
midnight does not exist (a spring-forward gap at 00:00, as in some zones) the offset before the
gap is used, which is the instant the day actually begins; where it is ambiguous, the first one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

Zone = str | dt.tzinfo


def _zone(tz: Zone) -> dt.tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def local_midnight(day: dt.date, tz: Zone) -> float:
    """Local midnight at the start of ``day`` in ``tz``, as UTC epoch seconds."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=_zone(tz)).timestamp()


def month_bounds(year: int, month: int, tz: Zone) -> tuple[float, float]:
    """``[start, end)`` of calendar month ``year-month`` in ``tz`` as UTC epoch seconds.

    >>> month_bounds(2026, 10, "Europe/Helsinki")  # 2026-09-30T21:00Z .. 2026-10-31T22:00Z
    (1790802000.0, 1793484000.0)
    """
    first = dt.date(year, month, 1)  # ValueError for a month outside 1-12
    nxt = dt.date(*next_month(year, month), 1)
    zone = _zone(tz)
    return local_midnight(first, zone), local_midnight(nxt, zone)


def month_bounds_ms(year: int, month: int, tz: Zone) -> tuple[int, int]:
    """``month_bounds`` in integer milliseconds, the unit of the availability calculation."""
    start, end = month_bounds(year, month, tz)
    return round(start * 1000), round(end * 1000)


def month_of(t: float, tz: Zone) -> tuple[int, int]:
    """(year, month) of instant ``t`` (epoch seconds) in ``tz``."""
    d = dt.datetime.fromtimestamp(t, _zone(tz))
    return d.year, d.month


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def months_from(first: tuple[int, int], until: tuple[int, int]) -> Iterator[tuple[int, int]]:
    """(year, month) from ``first`` up to, not including, ``until``."""
    while first < until:
        yield first
        first = next_month(*first)


def previous_month_start(t: float, tz: Zone) -> float:
    """When the month before the one instant ``t`` falls in began (epoch seconds)."""
    return month_bounds(*previous_month(*month_of(t, tz)), tz)[0]


def day_bounds(first: dt.date, last: dt.date, tz: Zone) -> tuple[float, float]:
    """From local midnight at the start of ``first`` to local midnight after ``last``
    (both days included), in ``tz``, as UTC epoch seconds."""
    if last < first:
        raise ValueError(f"last day {last.isoformat()} is before first day {first.isoformat()}")
    zone = _zone(tz)
    return local_midnight(first, zone), local_midnight(last + dt.timedelta(days=1), zone)
