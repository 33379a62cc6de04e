"""Maintenance windows expanded into UTC intervals.

A window (``model.Window``) starts at local wall time ``window.start`` in ``window.timezone``
on every day its ``rrule`` selects (or on its one ``date``) and lasts ``window.duration``
seconds of *elapsed* time: a 2 h window across the October fall-back still lasts 2 h, its local
end time is what moves. Reading local start times (RFC 5545, Python ``zoneinfo`` with
``fold=0``):

- a time that does not exist (spring-forward gap, e.g. 03:30 on 2026-03-29 in Helsinki) is read
  with the UTC offset before the gap: 03:30 EET = 01:30Z, which is 04:30 EEST on the clock;
- an ambiguous time (fall-back, e.g. 03:30 on 2026-10-25 in Helsinki) is the first one (EEST).

Rules. ``rrule`` is an RFC 5545 RRULE value without DTSTART that selects *days*; the time comes
from ``start`` (see ``validate_rrule`` for what is refused). RFC 5545 needs a DTSTART to define
INTERVAL phases and the defaults of a bare rule, so every rule is anchored at
``RRULE_ANCHOR`` = 2000-01-01 (a Saturday) at the window's start time, naive local. Since a
rule cannot carry a time, its days are computed at 00:00 of the anchor day, which selects the
same days. Consequences worth knowing: ``FREQ=WEEKLY;INTERVAL=2;BYDAY=SU`` selects the Sundays
an even number of weeks after the week of 2000-01-01 (weeks start on ``WKST``, default Monday);
a bare ``FREQ=WEEKLY`` selects Saturdays, a bare ``FREQ=MONTHLY`` the 1st, a bare
``FREQ=YEARLY`` January 1st; no day before 2000-01-01 is selected. ``UNTIL`` names the last
day that may be selected (included); a time of day or ``Z`` in it is ignored.

Pure functions: no I/O, no clock reads; all times are passed in as UTC epoch seconds.
Parsed rules are cached per rule text and the days a rule selects are cached per day range,
so expanding the same windows for many tenants costs one expansion.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from exporter.engine import intervals
from exporter.model import Window

RRULE_ANCHOR = dt.date(2000, 1, 1)
"""DTSTART of every window rule: this day at the window's start time, naive local."""

# validate_rrule refuses a rule that selects no day in [first, last].
_CHECK_FIRST = dt.datetime(2000, 1, 1)
_CHECK_LAST = dt.datetime(2100, 12, 31)

_DAY_REASON = "a window rule selects days; the time comes from `start`"
_FINER_THAN_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
# Parts that select days; when none is given, RFC 5545 takes the day from DTSTART.
_DAY_PARTS = frozenset({"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYEASTER"})
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ONE_DAY = dt.timedelta(days=1)


# --- rules -------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    """Upper-case, whitespace removed, optional ``RRULE:`` prefix and stray ``;`` stripped."""
    s = "".join(str(text).split()).upper()
    if s.startswith("RRULE:"):
        s = s[len("RRULE:") :]
    return s.strip(";")


class _Rule(NamedTuple):
    rule: rrule  # anchored at RRULE_ANCHOR 00:00, UNTIL at 00:00 of its day
    freq: int
    interval: int
    until: dt.datetime | None


_FREQS = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}


@functools.lru_cache(maxsize=1024)
def _compile(text: str) -> _Rule:
    """Validate ``text`` and return its rule anchored at ``RRULE_ANCHOR`` 00:00, with the
    day defaults RFC 5545 takes from DTSTART written out, so that ``rrule.replace(dtstart=…)``
    keeps selecting the same days (see ``_days``). Raises ValueError."""
    s = _normalize(text)
    if not s:
        raise ValueError("invalid rrule: empty rule")
    if "DTSTART" in s:
        raise ValueError(f"DTSTART is not allowed: {_DAY_REASON}")
    parts: dict[str, str] = {}
    for part in s.split(";"):
        name, eq, value = part.partition("=")
        if not eq or not name or not value:
            raise ValueError(f"invalid rrule: {part!r} is not NAME=VALUE")
        if name in parts:
            raise ValueError(f"invalid rrule: {name} given twice")
        parts[name] = value
    if "FREQ" not in parts:
        raise ValueError("invalid rrule: FREQ is required")
    if parts["FREQ"] in _FINER_THAN_DAILY:
        raise ValueError(f"FREQ={parts['FREQ']} is not allowed: {_DAY_REASON}")
    for name in _TIME_PARTS:
        if name in parts:
            raise ValueError(f"{name} is not allowed: {_DAY_REASON}")
    if "COUNT" in parts:
        raise ValueError("COUNT is not allowed: COUNT needs a DTSTART; use UNTIL")
    if not _DAY_PARTS & parts.keys():
        # What RFC 5545 would take from DTSTART = RRULE_ANCHOR.
        if parts["FREQ"] == "WEEKLY":
            parts["BYDAY"] = _WEEKDAYS[RRULE_ANCHOR.weekday()]
        elif parts["FREQ"] == "MONTHLY":
            parts["BYMONTHDAY"] = str(RRULE_ANCHOR.day)
        elif parts["FREQ"] == "YEARLY":
            parts["BYMONTHDAY"] = str(RRULE_ANCHOR.day)
            parts.setdefault("BYMONTH", str(RRULE_ANCHOR.month))
    anchor = dt.datetime.combine(RRULE_ANCHOR, dt.time())
    try:
        # ignoretz: UNTIL is read as a local day, with or without a trailing Z.
        value = ";".join(f"{k}={v}" for k, v in parts.items())
        rule = rrulestr(value, dtstart=anchor, ignoretz=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        raise ValueError(f"invalid rrule: {e}") from None
    if not isinstance(rule, rrule):  # pragma: no cover - a single RRULE line always is
        raise ValueError("invalid rrule: expected a single RRULE value")
    interval = int(parts.get("INTERVAL", "1"))  # dateutil has parsed it
    if interval < 1:  # dateutil accepts 0 and negative values and then never ends
        raise ValueError("invalid rrule: INTERVAL must be at least 1")
    until = None
    if "UNTIL" in parts:  # the day named by UNTIL is included, whatever its time
        day = dateutil_parser.parse(parts["UNTIL"], ignoretz=True).date()  # as rrulestr does
        until = dt.datetime.combine(day, dt.time())
        rule = rule.replace(until=until)
    compiled = _Rule(rule, _FREQS[parts["FREQ"]], interval, until)
    # dateutil only stops at UNTIL once a day matched, so a rule that never selects a day
    # would iterate up to year 9999: first make sure it selects one in its last full cycle
    # of the calendar, then look for one in 2000-2100 (which now ends at the first match).
    ever = rule.replace(dtstart=_tail_start(compiled), until=None)
    check = rule.replace(until=min(_CHECK_LAST, until) if until else _CHECK_LAST)
    try:
        selects = next(iter(ever), None) is not None and next(iter(check), None) is not None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        # dateutil fails oddly on some rules while iterating (e.g. BYEASTER=99999).
        raise ValueError(f"invalid rrule: cannot evaluate it ({type(e).__name__}: {e})") from None
    if not selects:
        raise ValueError("the rule selects no day between 2000 and 2100")
    return compiled


def validate_rrule(text: str) -> None:
    """Raise ValueError with a short, user-facing message unless ``text`` is an acceptable
    window rule: an RFC 5545 RRULE value without DTSTART (a leading ``RRULE:`` is
    tolerated), e.g. ``FREQ=WEEKLY;BYDAY=SU`` or ``FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA``.

    Refused: unparsable rules (the message carries dateutil's reason), DTSTART, FREQ finer
    than DAILY and BYHOUR/BYMINUTE/BYSECOND (a window rule selects days; the time comes from
    ``start``), COUNT (it needs a DTSTART; use UNTIL), INTERVAL < 1, and a rule that selects
    no day at all between 2000 and 2100 (e.g. ``FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31``).
    """
    _compile(text)


# Days, weeks, months and years in one 400-year cycle of the Gregorian calendar, after
# which weekdays, leap years and week numbers repeat.
_CYCLE = {DAILY: 146097, WEEKLY: 20871, MONTHLY: 4800, YEARLY: 400}
_LAST_DAY = dt.date(dt.MAXYEAR, 12, 31)


def _periods_to(freq: int, day: dt.date) -> int:
    """Whole FREQ periods from ``RRULE_ANCHOR`` to ``day`` (floor)."""
    if freq == DAILY:
        return (day - RRULE_ANCHOR).days
    if freq == WEEKLY:
        return (day - RRULE_ANCHOR).days // 7
    if freq == MONTHLY:
        return (day.year - RRULE_ANCHOR.year) * 12 + day.month - RRULE_ANCHOR.month
    return day.year - RRULE_ANCHOR.year  # YEARLY


def _advance(freq: int, periods: int) -> dt.datetime:
    """``RRULE_ANCHOR`` 00:00 moved on by ``periods`` FREQ periods (``periods >= 0``)."""
    if freq in (DAILY, WEEKLY):
        day = RRULE_ANCHOR + dt.timedelta(days=periods * (1 if freq == DAILY else 7))
    elif freq == MONTHLY:
        m = RRULE_ANCHOR.month - 1 + periods
        day = RRULE_ANCHOR.replace(year=RRULE_ANCHOR.year + m // 12, month=m % 12 + 1)
    else:  # YEARLY
        day = RRULE_ANCHOR.replace(year=RRULE_ANCHOR.year + periods)
    return dt.datetime.combine(day, dt.time())


def _period_start(rule: _Rule, day: dt.date) -> dt.datetime:
    """A DTSTART at least one period before ``day`` and in phase with ``RRULE_ANCHOR``
    (a whole number of INTERVALs after it). Iterating from there instead of from 2000
    selects the same days from ``day`` on."""
    n = rule.interval
    k = _periods_to(rule.freq, day) // n - 1
    return _advance(rule.freq, n * max(k, 0))


def _tail_start(rule: _Rule) -> dt.datetime:
    """A DTSTART in phase with ``RRULE_ANCHOR`` from which one whole calendar-and-INTERVAL
    cycle still fits before the end of year 9999: the rule selects a day there if it
    selects one at all."""
    cycle = math.lcm(_CYCLE[rule.freq], rule.interval)
    k = (_periods_to(rule.freq, _LAST_DAY) + 1) // cycle - 1
    return _advance(rule.freq, cycle * max(k, 0))


@functools.lru_cache(maxsize=8192)
def _days(text: str, first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
    """The days in ``[first, last]`` that rule ``text`` selects."""
    rule = _compile(text)
    hi = dt.datetime.combine(last, dt.time())
    until = min(rule.until, hi) if rule.until else hi
    lo = dt.datetime.combine(first, dt.time())
    if until < lo:
        return ()
    bounded = rule.rule.replace(dtstart=_period_start(rule, first), until=until)
    return tuple(d.date() for d in bounded.xafter(lo, inc=True))


# --- occurrences -------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of ``window``: ``[start, end)`` in UTC epoch seconds, not clipped to
    any query range; ``end - start == window.duration``."""

    window: Window
    start: float
    end: float

    @property
    def local_start(self) -> dt.datetime:
        """Aware datetime in the window's timezone. For a start time in a spring-forward
        gap this is the real instant (03:30 in the Helsinki gap reads 04:30 EEST)."""
        return dt.datetime.fromtimestamp(self.start, ZoneInfo(self.window.timezone))

    @property
    def local_end(self) -> dt.datetime:
        """Aware datetime in the window's timezone (differs from ``local_start`` +
        duration in wall time when a DST change falls inside)."""
        return dt.datetime.fromtimestamp(self.end, ZoneInfo(self.window.timezone))

    @property
    def interval(self) -> tuple[float, float]:
        return (self.start, self.end)


def _local_date(ts: float, zone: ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(ts, zone).date()


def _window_occurrences(window: Window, start: float, end: float) -> Iterator[Occurrence]:
    """Occurrences of ``window`` whose ``[start, end)`` overlaps the query ``[start, end)``."""
    if not start < end or window.duration <= 0:
        return
    zone = ZoneInfo(window.timezone)
    # A candidate begins in (start - duration, end); pad a day each side on the local
    # calendar (local days last 23-25 h and the start time may fall in a gap) and let the
    # exact overlap test below decide.
    first = _local_date(start - window.duration, zone) - _ONE_DAY
    last = _local_date(end, zone) + _ONE_DAY
    if window.rrule is not None:
        days: Iterable[dt.date] = _days(window.rrule, first, last)
    elif window.date is not None:
        days = (window.date,) if first <= window.date <= last else ()
    else:
        raise ValueError(f"maintenance window {window.name!r} has neither rrule nor date")
    wall = window.start.replace(tzinfo=None, fold=0)
    for day in days:
        s = dt.datetime.combine(day, wall, tzinfo=zone).timestamp()
        e = s + window.duration
        if s < end and e > start:
            yield Occurrence(window, s, e)


def occurrences(windows: Iterable[Window], start: float, end: float) -> list[Occurrence]:
    """Every occurrence of every window whose ``[start, end)`` overlaps ``[start, end)``,
    including ones that began before ``start``; unclipped; sorted by (start, window name).
    An empty query range (``start >= end``) has none."""
    out = [o for w in windows for o in _window_occurrences(w, start, end)]
    out.sort(key=lambda o: (o.start, o.window.name))
    return out


def maintenance_intervals(windows: Iterable[Window], start: float, end: float) -> list[tuple[float, float]]:
    """Union of the windows' occurrences (overlapping or touching ones merged), clipped to
    ``[start, end)``; an interval set in ``intervals`` normal form."""
    merged = intervals.normalize(o.interval for o in occurrences(windows, start, end))
    return intervals.clip(merged, start, end)


def maintenance_ms(windows: Iterable[Window], start: int, end: int) -> intervals.Intervals:
    """``maintenance_intervals`` in integer milliseconds (the unit of the availability
    calculation): each occurrence from its local start, exact to the millisecond, to that
    plus the window's duration."""
    occ = occurrences(windows, start / 1000 - 1, end / 1000 + 1)  # widened; clipped exactly below
    merged = intervals.normalize((round(o.start * 1000), round(o.start * 1000) + o.window.duration_ms) for o in occ)
    return intervals.clip(merged, start, end)
