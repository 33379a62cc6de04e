"""Maintenance windows (exporter.maintenance) and month/day bounds (exporter.months).

Expected instants are written out by hand in UTC ("...Z"). Helsinki is EET (+02:00) in
winter and EEST (+03:00) from 2026-03-29 01:00Z to 2026-10-25 01:00Z; New York is EST
(-05:00) / EDT (-04:00) from 2026-03-08 07:00Z to 2026-11-01 06:00Z.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings, strategies as st

from exporter.engine import intervals, maintenance
from exporter.engine.maintenance import (
    RRULE_ANCHOR,
    Occurrence,
    maintenance_intervals,
    occurrences,
    validate_rrule,
)
from exporter.engine.months import day_bounds, month_bounds
from exporter.model import Window

HEL = "Europe/Helsinki"
NYC = "America/New_York"
UTC = "UTC"
H = 3600
WEEKLY = "FREQ=WEEKLY;BYDAY=SU"
QUARTERLY = "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA"


def Z(text: str) -> float:
    """'2026-10-24T23:00Z' -> epoch seconds."""
    return dt.datetime.fromisoformat(text).timestamp()


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def win(name="w", start="02:00", hours=2.0, tz=HEL, rule=None, date=None) -> Window:
    return Window(
        name=name,
        start=dt.time.fromisoformat(start),
        duration=hours * H,
        timezone=tz,
        rrule=rule,
        date=dt.date.fromisoformat(date) if date else None,
    )


def month(year: int, m: int, tz: str = HEL) -> tuple[float, float]:
    return month_bounds(year, m, tz)


def days(first: str, last: str, tz: str = HEL) -> tuple[float, float]:
    return day_bounds(dt.date.fromisoformat(first), dt.date.fromisoformat(last), tz)


# --- months ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "year, m, tz, start, end, length",
    [
        (2026, 10, HEL, "2026-09-30T21:00Z", "2026-10-31T22:00Z", 31 * 24 * H + H),  # DST ends
        (2026, 3, HEL, "2026-02-28T22:00Z", "2026-03-31T21:00Z", 31 * 24 * H - H),  # DST starts
        (2026, 6, HEL, "2026-05-31T21:00Z", "2026-06-30T21:00Z", 30 * 24 * H),
        (2026, 12, HEL, "2026-11-30T22:00Z", "2026-12-31T22:00Z", 31 * 24 * H),  # year wraps
        (2024, 2, HEL, "2024-01-31T22:00Z", "2024-02-29T22:00Z", 29 * 24 * H),  # leap year
        (2026, 2, UTC, "2026-02-01T00:00Z", "2026-03-01T00:00Z", 28 * 24 * H),
        (2026, 11, NYC, "2026-11-01T04:00Z", "2026-12-01T05:00Z", 30 * 24 * H + H),
    ],
)
def test_month_bounds(year, m, tz, start, end, length):
    lo, hi = month_bounds(year, m, tz)
    assert (iso(lo), iso(hi)) == (start, end)
    assert (lo, hi) == (Z(start), Z(end))
    assert hi - lo == length


def test_month_bounds_accepts_a_tzinfo_and_refuses_a_bad_month():
    assert month_bounds(2026, 10, ZoneInfo(HEL)) == month_bounds(2026, 10, HEL)
    with pytest.raises(ValueError):
        month_bounds(2026, 13, HEL)


@pytest.mark.parametrize(
    "first, last, tz, start, end, length",
    [
        ("2026-10-25", "2026-10-25", HEL, "2026-10-24T21:00Z", "2026-10-25T22:00Z", 25 * H),
        ("2026-03-29", "2026-03-29", HEL, "2026-03-28T22:00Z", "2026-03-29T21:00Z", 23 * H),
        ("2026-10-01", "2026-10-31", HEL, "2026-09-30T21:00Z", "2026-10-31T22:00Z", 745 * H),
        ("2026-01-01", "2026-12-31", UTC, "2026-01-01T00:00Z", "2027-01-01T00:00Z", 8760 * H),
        ("2026-11-01", "2026-11-01", NYC, "2026-11-01T04:00Z", "2026-11-02T05:00Z", 25 * H),
        # Cuba springs forward at midnight: the day starts at the transition, 01:00 CDT.
        ("2026-03-08", "2026-03-08", "America/Havana", "2026-03-08T05:00Z", "2026-03-09T04:00Z", 23 * H),
    ],
)
def test_day_bounds(first, last, tz, start, end, length):
    lo, hi = days(first, last, tz)
    assert (lo, hi) == (Z(start), Z(end))
    assert hi - lo == length


def test_day_bounds_of_a_month_is_month_bounds_and_refuses_reversed_days():
    assert days("2026-10-01", "2026-10-31") == month_bounds(2026, 10, HEL)
    with pytest.raises(ValueError, match="last day 2026-10-01 is before first day 2026-10-02"):
        days("2026-10-02", "2026-10-01")


# --- rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=WEEKLY;BYDAY=SU",
        "RRULE:FREQ=WEEKLY;BYDAY=SU",
        "rrule:freq=weekly;byday=su",
        " FREQ=WEEKLY; BYDAY=SU; ",
        "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA",
        "FREQ=DAILY",
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;BYEASTER=-2",
        "FREQ=WEEKLY;BYDAY=SU;UNTIL=20261231",
        "FREQ=WEEKLY;BYDAY=SU;UNTIL=20261231T235959Z",
        "FREQ=DAILY;UNTIL=20000101",
    ],
)
def test_validate_rrule_accepts(text):
    assert validate_rrule(text) is None


DAYS_ONLY = "a window rule selects days; the time comes from `start`"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "invalid rrule: empty rule"),
        ("RRULE:", "invalid rrule: empty rule"),
        ("FREQ=FORTNIGHTLY", "invalid rrule: invalid 'FREQ': FORTNIGHTLY"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid rrule: invalid 'BYDAY': XX"),
        ("FREQ=WEEKLY;COLOUR=RED", "invalid rrule: unknown parameter 'COLOUR'"),
        ("FREQ=WEEKLY;INTERVAL=two", "invalid rrule: invalid 'INTERVAL': TWO"),
        ("FREQ=WEEKLY;UNTIL=someday", "invalid rrule: invalid 'UNTIL': SOMEDAY"),
        ("FREQ=WEEKLY;BYDAY", "invalid rrule: 'BYDAY' is not NAME=VALUE"),
        ("FREQ=WEEKLY;FREQ=DAILY", "invalid rrule: FREQ given twice"),
        ("BYDAY=SU", "invalid rrule: FREQ is required"),
        ("FREQ=WEEKLY;INTERVAL=0", "invalid rrule: INTERVAL must be at least 1"),
        ("DTSTART:20260101T020000\nRRULE:FREQ=WEEKLY;BYDAY=SU", f"DTSTART is not allowed: {DAYS_ONLY}"),
        ("FREQ=WEEKLY;BYDAY=SU;DTSTART=20260101T020000", f"DTSTART is not allowed: {DAYS_ONLY}"),
        ("FREQ=HOURLY", f"FREQ=HOURLY is not allowed: {DAYS_ONLY}"),
        ("FREQ=MINUTELY;INTERVAL=30", f"FREQ=MINUTELY is not allowed: {DAYS_ONLY}"),
        ("FREQ=SECONDLY", f"FREQ=SECONDLY is not allowed: {DAYS_ONLY}"),
        ("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2", f"BYHOUR is not allowed: {DAYS_ONLY}"),
        ("FREQ=DAILY;BYMINUTE=30", f"BYMINUTE is not allowed: {DAYS_ONLY}"),
        ("FREQ=DAILY;BYSECOND=0", f"BYSECOND is not allowed: {DAYS_ONLY}"),
        ("FREQ=WEEKLY;BYDAY=SU;COUNT=10", "COUNT is not allowed: COUNT needs a DTSTART; use UNTIL"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31", "the rule selects no day between 2000 and 2100"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2", "the rule selects no day between 2000 and 2100"),
        ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "the rule selects no day between 2000 and 2100"),
        ("FREQ=DAILY;BYMONTHDAY=40", "the rule selects no day between 2000 and 2100"),
        ("FREQ=WEEKLY;BYDAY=SU;UNTIL=19991231", "the rule selects no day between 2000 and 2100"),
        # Every 7th day from the anchor (a Saturday) is a Saturday, never a Monday.
        ("FREQ=DAILY;INTERVAL=7;BYDAY=MO", "the rule selects no day between 2000 and 2100"),
    ],
)
def test_validate_rrule_refuses(text, message):
    with pytest.raises(ValueError) as e:
        validate_rrule(text)
    assert str(e.value) == message


def test_a_rule_that_never_matches_is_refused():
    # dateutil alone would iterate every day up to year 9999 before giving up; the time it
    # takes is measured in benchmarks/maintenance_windows.py, never asserted here.
    maintenance._compile.cache_clear()
    with pytest.raises(ValueError, match="selects no day"):
        validate_rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")


# The anchor is 2000-01-01 at the window's start time: days agree with dateutil expanding
# the rule from that DTSTART (our expansion fast-forwards instead of iterating from 2000).
@pytest.mark.parametrize(
    "rule",
    [
        WEEKLY,
        QUARTERLY,
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,MO;WKST=SU",
        "FREQ=DAILY;INTERVAL=10",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY",
        "FREQ=YEARLY;INTERVAL=3;BYMONTH=6;BYDAY=2MO",
        "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
        "FREQ=YEARLY;BYEASTER=-2",
    ],
)
def test_days_agree_with_dateutil_from_the_anchor(rule):
    w = win(rule=rule, start="22:00", hours=1)
    got = [o.local_start.date() for o in occurrences([w], *days("2026-01-01", "2029-12-31"))]
    anchor = dt.datetime.combine(RRULE_ANCHOR, w.start)
    expected = rrulestr(rule, dtstart=anchor).between(dt.datetime(2026, 1, 1), dt.datetime(2030, 1, 1), inc=True)
    assert got == [d.date() for d in expected]
    assert got  # every rule above selects something in four years


@pytest.mark.parametrize(
    "rule, last",
    [
        ("FREQ=WEEKLY;BYDAY=TH;UNTIL=20261231", "2026-12-31T20:00Z"),  # the UNTIL day is included
        ("FREQ=WEEKLY;BYDAY=TH;UNTIL=20261231T000000Z", "2026-12-31T20:00Z"),  # its time is not read
        ("FREQ=WEEKLY;BYDAY=TH;UNTIL=20261230T235959Z", "2026-12-24T20:00Z"),
        ("FREQ=WEEKLY;BYDAY=TH", "2027-01-28T20:00Z"),
    ],
)
def test_until_names_the_last_day(rule, last):
    occ = occurrences([win(rule=rule, start="22:00")], *days("2026-12-01", "2027-01-31"))
    assert iso(occ[-1].start) == last


# --- occurrences -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window, year, m, count, first, last",
    [
        # Helsinki weekly Sunday 02:00 2h: June 2026 (EEST) has Sundays 7, 14, 21, 28.
        (win(rule=WEEKLY), 2026, 6, 4, "2026-06-06T23:00Z", "2026-06-27T23:00Z"),
        # November 2026 (EET) has Sundays 1, 8, 15, 22, 29.
        (win(rule=WEEKLY), 2026, 11, 5, "2026-11-01T00:00Z", "2026-11-29T00:00Z"),
        # October 2026: Sundays 4, 11, 18 (EEST) and 25 (02:00 is still EEST).
        (win(rule=WEEKLY), 2026, 10, 4, "2026-10-03T23:00Z", "2026-10-24T23:00Z"),
        # Quarterly, first Saturday of Jan/Apr/Jul/Oct 22:00 6h.
        (win(rule=QUARTERLY, start="22:00", hours=6), 2026, 10, 1, "2026-10-03T19:00Z", "2026-10-03T19:00Z"),
        (win(rule=QUARTERLY, start="22:00", hours=6), 2027, 1, 1, "2027-01-02T20:00Z", "2027-01-02T20:00Z"),
        (win(rule=QUARTERLY, start="22:00", hours=6), 2026, 11, 0, None, None),
        # One-off.
        (win(date="2026-11-08", start="03:00"), 2026, 11, 1, "2026-11-08T01:00Z", "2026-11-08T01:00Z"),
        (win(date="2026-11-08", start="03:00"), 2026, 12, 0, None, None),
        # A window in UTC, counted in the Helsinki month (2026-09-30T21:00Z..2026-10-31T22:00Z).
        (win(rule=WEEKLY, tz=UTC), 2026, 10, 4, "2026-10-04T02:00Z", "2026-10-25T02:00Z"),
        # New York, Sunday 02:00: Nov 1 is EDT->EST day (02:00 EST exists once).
        (win(rule=WEEKLY, tz=NYC), 2026, 11, 5, "2026-11-01T07:00Z", "2026-11-29T07:00Z"),
    ],
)
def test_occurrences_in_a_month(window, year, m, count, first, last):
    occ = occurrences([window], *month(year, m))
    assert len(occ) == count
    if count:
        assert (iso(occ[0].start), iso(occ[-1].start)) == (first, last)
    assert all(o.end - o.start == window.duration for o in occ)


def test_quarterly_over_a_year():
    w = win(rule=QUARTERLY, start="22:00", hours=6)
    occ = occurrences([w], *days("2026-01-01", "2027-01-31"))
    assert [(iso(o.start), iso(o.end)) for o in occ] == [
        ("2026-01-03T20:00Z", "2026-01-04T02:00Z"),  # EET
        ("2026-04-04T19:00Z", "2026-04-05T01:00Z"),  # EEST
        ("2026-07-04T19:00Z", "2026-07-05T01:00Z"),
        ("2026-10-03T19:00Z", "2026-10-04T01:00Z"),
        ("2027-01-02T20:00Z", "2027-01-03T02:00Z"),  # EET
    ]


@pytest.mark.parametrize(
    "window, start, end, local_start, local_end",
    [
        # DST ends in Helsinki 2026-10-25 (04:00 EEST -> 03:00 EET at 01:00Z). 2h elapsed.
        (
            win(rule=WEEKLY),
            "2026-10-24T23:00Z",
            "2026-10-25T01:00Z",
            "2026-10-25T02:00:00+03:00",
            "2026-10-25T03:00:00+02:00",
        ),
        # 03:30 happens twice that night: the first (EEST) is meant.
        (
            win(date="2026-10-25", start="03:30"),
            "2026-10-25T00:30Z",
            "2026-10-25T02:30Z",
            "2026-10-25T03:30:00+03:00",
            "2026-10-25T04:30:00+02:00",
        ),
        (
            win(date="2026-10-25", start="04:00", hours=1),
            "2026-10-25T02:00Z",
            "2026-10-25T03:00Z",
            "2026-10-25T04:00:00+02:00",
            "2026-10-25T05:00:00+02:00",
        ),
        # DST starts 2026-03-29 (03:00 EET -> 04:00 EEST at 01:00Z): 03:30 does not exist and
        # is read with the offset before the gap (EET), i.e. 04:30 EEST on the clock.
        (
            win(date="2026-03-29", start="03:30", hours=1),
            "2026-03-29T01:30Z",
            "2026-03-29T02:30Z",
            "2026-03-29T04:30:00+03:00",
            "2026-03-29T05:30:00+03:00",
        ),
        (
            win(rule=WEEKLY),
            "2026-03-29T00:00Z",
            "2026-03-29T02:00Z",
            "2026-03-29T02:00:00+02:00",
            "2026-03-29T05:00:00+03:00",
        ),
        # New York: 01:30 on 2026-11-01 is ambiguous (EDT first); 02:30 on 2026-03-08 is in the gap.
        (
            win(date="2026-11-01", start="01:30", hours=1, tz=NYC),
            "2026-11-01T05:30Z",
            "2026-11-01T06:30Z",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:30:00-05:00",
        ),
        (
            win(date="2026-03-08", start="02:30", hours=1, tz=NYC),
            "2026-03-08T07:30Z",
            "2026-03-08T08:30Z",
            "2026-03-08T03:30:00-04:00",
            "2026-03-08T04:30:00-04:00",
        ),
        (
            win(date="2026-10-25", start="02:00", tz=UTC),
            "2026-10-25T02:00Z",
            "2026-10-25T04:00Z",
            "2026-10-25T02:00:00+00:00",
            "2026-10-25T04:00:00+00:00",
        ),
    ],
)
def test_dst_and_timezones(window, start, end, local_start, local_end):
    day = local_start[:10]
    [o] = occurrences([window], *days(day, day, window.timezone))
    assert (iso(o.start), iso(o.end)) == (start, end)
    assert (o.local_start.isoformat(), o.local_end.isoformat()) == (local_start, local_end)
    assert o.local_start.tzinfo == ZoneInfo(window.timezone)
    assert o.end - o.start == window.duration
    assert o.interval == (Z(start), Z(end))


def test_occurrences_include_windows_that_began_before_the_range():
    # Wednesday 2026-09-30 23:00 EEST (20:00Z) for 2h, by rule and as a one-off.
    weekly = win("wed", rule="FREQ=WEEKLY;BYDAY=WE", start="23:00")
    one_off = win("announced", date="2026-09-30", start="23:00")
    occ = occurrences([weekly, one_off], *month(2026, 10))
    assert [(o.window.name, iso(o.start), iso(o.end)) for o in occ[:2]] == [
        ("announced", "2026-09-30T20:00Z", "2026-09-30T22:00Z"),
        ("wed", "2026-09-30T20:00Z", "2026-09-30T22:00Z"),
    ]
    assert [iso(o.start) for o in occ[2:]] == [
        "2026-10-07T20:00Z",
        "2026-10-14T20:00Z",
        "2026-10-21T20:00Z",
        "2026-10-28T21:00Z",
    ]
    # A long window reaches back further: Saturday 22:00 for 30h covers Sunday and Monday.
    long = win("long", rule="FREQ=WEEKLY;BYDAY=SA", start="22:00", hours=30)
    [o] = occurrences([long], *days("2026-11-02", "2026-11-02"))
    assert (iso(o.start), iso(o.end)) == ("2026-10-31T20:00Z", "2026-11-02T02:00Z")


def test_occurrences_are_sorted_by_start_then_name():
    b = win("b", rule=WEEKLY)
    a = win("a", rule=WEEKLY)
    utc = win("c", rule=WEEKLY, tz=UTC)
    occ = occurrences([utc, b, a], *days("2026-11-01", "2026-11-01"))
    assert [(o.window.name, iso(o.start)) for o in occ] == [
        ("a", "2026-11-01T00:00Z"),
        ("b", "2026-11-01T00:00Z"),
        ("c", "2026-11-01T02:00Z"),
    ]
    assert occ[0] == Occurrence(a, Z("2026-11-01T00:00Z"), Z("2026-11-01T02:00Z"))


def test_half_open_ranges():
    w = win(rule=WEEKLY, tz=UTC)  # 2026-11-01 02:00Z..04:00Z
    assert occurrences([w], Z("2026-11-01T00:00Z"), Z("2026-11-01T02:00Z")) == []
    assert occurrences([w], Z("2026-11-01T04:00Z"), Z("2026-11-01T06:00Z")) == []
    assert len(occurrences([w], Z("2026-11-01T03:59Z"), Z("2026-11-01T04:00Z"))) == 1
    assert occurrences([w], Z("2026-11-01T03:00Z"), Z("2026-11-01T03:00Z")) == []
    assert maintenance_intervals([w], Z("2026-11-01T03:00Z"), Z("2026-11-01T03:00Z")) == []
    assert maintenance_intervals([w], Z("2026-11-01T03:00Z"), Z("2026-11-01T03:15Z")) == [
        (Z("2026-11-01T03:00Z"), Z("2026-11-01T03:15Z"))
    ]


def test_a_window_needs_a_rule_or_a_date():
    with pytest.raises(ValueError, match="'broken' has neither rrule nor date"):
        occurrences([win("broken")], *month(2026, 10))


def test_an_invalid_rule_is_refused_when_expanded():
    with pytest.raises(ValueError, match="COUNT is not allowed"):
        occurrences([win(rule="FREQ=DAILY;COUNT=3")], *month(2026, 10))


# --- maintenance intervals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "windows, year, m, expected",
    [
        # October 2026 in Helsinki: Sundays 4, 11, 18, 25 -> 4 x 2h, the last across DST end.
        (
            [win(rule=WEEKLY)],
            2026,
            10,
            [
                ("2026-10-03T23:00Z", "2026-10-04T01:00Z"),
                ("2026-10-10T23:00Z", "2026-10-11T01:00Z"),
                ("2026-10-17T23:00Z", "2026-10-18T01:00Z"),
                ("2026-10-24T23:00Z", "2026-10-25T01:00Z"),
            ],
        ),
        # Weekly Sun 02:00 2h and a one-off the same Sunday 03:00 2h merge into one 3h interval.
        (
            [win("weekly", rule=WEEKLY), win("extra", date="2026-11-08", start="03:00")],
            2026,
            11,
            [
                ("2026-11-01T00:00Z", "2026-11-01T02:00Z"),
                ("2026-11-08T00:00Z", "2026-11-08T03:00Z"),
                ("2026-11-15T00:00Z", "2026-11-15T02:00Z"),
                ("2026-11-22T00:00Z", "2026-11-22T02:00Z"),
                ("2026-11-29T00:00Z", "2026-11-29T02:00Z"),
            ],
        ),
        # Touching windows merge too (04:00 EET = 02:00Z, when the weekly one ends).
        (
            [win("weekly", rule=WEEKLY), win("after", date="2026-11-15", start="04:00", hours=1)],
            2026,
            11,
            [
                ("2026-11-01T00:00Z", "2026-11-01T02:00Z"),
                ("2026-11-08T00:00Z", "2026-11-08T02:00Z"),
                ("2026-11-15T00:00Z", "2026-11-15T03:00Z"),
                ("2026-11-22T00:00Z", "2026-11-22T02:00Z"),
                ("2026-11-29T00:00Z", "2026-11-29T02:00Z"),
            ],
        ),
        # Began in the previous month: 2026-09-30 23:00 EEST for 2h; October starts at 21:00Z.
        ([win(date="2026-09-30", start="23:00")], 2026, 10, [("2026-09-30T21:00Z", "2026-09-30T22:00Z")]),
        ([win(date="2026-09-30", start="23:00")], 2026, 9, [("2026-09-30T20:00Z", "2026-09-30T21:00Z")]),
        # The product's example configuration, October 2026.
        (
            [
                win("weekly", rule=WEEKLY),
                win("quarterly", rule=QUARTERLY, start="22:00", hours=6),
                win("announced", date="2026-09-30", start="23:00"),
            ],
            2026,
            10,
            [
                ("2026-09-30T21:00Z", "2026-09-30T22:00Z"),
                ("2026-10-03T19:00Z", "2026-10-04T01:00Z"),  # quarterly 19:00Z-01:00Z swallows Sunday
                ("2026-10-10T23:00Z", "2026-10-11T01:00Z"),
                ("2026-10-17T23:00Z", "2026-10-18T01:00Z"),
                ("2026-10-24T23:00Z", "2026-10-25T01:00Z"),
            ],
        ),
        ([], 2026, 10, []),
    ],
)
def test_maintenance_intervals(windows, year, m, expected):
    lo, hi = month(year, m)
    got = maintenance_intervals(windows, lo, hi)
    assert [(iso(s), iso(e)) for s, e in got] == expected
    assert got == [(Z(s), Z(e)) for s, e in expected]


@pytest.mark.parametrize(
    "windows, year, m, seconds",
    [
        ([win(rule=WEEKLY)], 2026, 10, 4 * 7200),
        ([win("weekly", rule=WEEKLY), win("extra", date="2026-11-08", start="03:00")], 2026, 11, 4 * 7200 + 3 * H),
        ([win(date="2026-09-30", start="23:00")], 2026, 10, H),
        ([win(date="2026-09-30", start="23:00")], 2026, 9, H),
        # The quarterly window (Sat 19:00Z-Sun 01:00Z) covers the Sunday 2026-10-04 one.
        ([win(rule=WEEKLY), win("q", rule=QUARTERLY, start="22:00", hours=6)], 2026, 10, 6 * H + 3 * 7200),
    ],
)
def test_total_maintenance_seconds(windows, year, m, seconds):
    assert intervals.total(maintenance_intervals(windows, *month(year, m))) == seconds


# --- property ----------------------------------------------------------------------------

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ZONES = (HEL, NYC, UTC, "Australia/Lord_Howe")  # Lord Howe shifts by 30 min
T0 = Z("2025-01-01T00:00Z")
T1 = Z("2028-01-01T00:00Z")


@st.composite
def weekly_windows(draw, index):
    wd = draw(st.sets(st.integers(0, 6), min_size=1))
    return Window(
        name=f"w{index}",
        start=dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59))),
        duration=60.0 * draw(st.integers(1, 12 * 60)),
        timezone=draw(st.sampled_from(ZONES)),
        rrule="FREQ=WEEKLY;BYDAY=" + ",".join(WEEKDAYS[i] for i in sorted(wd)),
    )


@st.composite
def cases(draw):
    n = draw(st.integers(1, 4))
    windows = [draw(weekly_windows(i)) for i in range(n)]
    start = draw(st.integers(int(T0), int(T1)))
    end = start + draw(st.integers(0, 40 * 24 * 3600))
    return windows, float(start), float(end)


def brute_force(w: Window, start: float, end: float) -> list[tuple[str, float]]:
    """Every local day around the range, checked one by one."""
    if start >= end:
        return []
    zone = ZoneInfo(w.timezone)
    selected = {WEEKDAYS.index(d) for d in w.rrule.split("=")[-1].split(",")}
    day = dt.datetime.fromtimestamp(start - w.duration, zone).date() - dt.timedelta(days=2)
    last = dt.datetime.fromtimestamp(end, zone).date() + dt.timedelta(days=2)
    out = []
    while day <= last:
        if day.weekday() in selected:
            s = dt.datetime.combine(day, w.start, tzinfo=zone).timestamp()
            if s < end and s + w.duration > start:
                out.append((w.name, s))
        day += dt.timedelta(days=1)
    return out


@settings(max_examples=300, derandomize=True, deadline=None)
@given(cases())
def test_property_intervals_are_the_clipped_union_of_occurrences(case):
    windows, start, end = case
    occ = occurrences(windows, start, end)
    got = maintenance_intervals(windows, start, end)

    assert got == intervals.normalize(got)
    assert all(start <= s < e <= end for s, e in got)
    assert got == intervals.clip(intervals.normalize(o.interval for o in occ), start, end)

    assert occ == sorted(occ, key=lambda o: (o.start, o.window.name))
    for o in occ:
        assert o.end - o.start == o.window.duration
        assert o.start < end and o.end > start
    expected = sorted(p for w in windows for p in brute_force(w, start, end))
    assert sorted((o.window.name, o.start) for o in occ) == expected
