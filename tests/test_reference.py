"""The engine held to docs/semantics.md through a second, naive implementation.

``tests/reference.py`` implements the document by brute force (integer ms, elementary
segments, no shared code with the engine but config parsing). This module

1. checks the reference itself against hand-worked cases and the worked month
   (``tests/worked_month.py``, whose figures ``tests/test_cli_end_to_end.py`` checks);
2. generates random scenarios with hypothesis — timezones with DST (half-hour on
   Lord Howe, midnight changes in Santiago), DST months, RRULE and one-off windows whose
   start falls in a gap or an overlap or straddles the month edges, random intervals and
   ``stale_after`` (fractional, equal to the interval), thresholds and ``down_when``,
   observations at ms resolution split into CSV files imported in random order, some rows
   imported twice, some files refused for a conflict — and demands that the real pipeline
   (config.load -> Store -> importer.parse/import_observations -> report.build) gives the
   reference's figures to the millisecond: for the complete month, for the month in
   progress (``now`` inside the month) and for history imported under one config and
   reported under another.

A failing example prints the whole scenario (config, CSV files in import order, ``now``),
every figure that differs, and both sides' figures.

Example counts: by default a few dozen per test, so that this file runs in CI in about
half a minute. For a long run set ``SLA_REFERENCE_EXAMPLES``:

    SLA_REFERENCE_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_reference.py
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import reference as ref

DEFAULT_EXAMPLES = 50
EXAMPLES = int(os.environ.get("SLA_REFERENCE_EXAMPLES", DEFAULT_EXAMPLES))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

UTC = dt.UTC
EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=UTC)
SECOND, MINUTE, HOUR, DAY = 1000, 60_000, 3_600_000, 86_400_000


def utc_ms(*args) -> int:
    return (dt.datetime(*args, tzinfo=UTC) - EPOCH_UTC) // ref.MS


def iso_utc(t: int) -> str:
    return (EPOCH_UTC + t * ref.MS).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rules_of(text: str) -> ref.Rules:
    """The reference's rules from config text, read by exporter.config.load."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "config.yaml")
        with open(path, "w") as f:
            f.write(text)
        return ref.load_rules(path)


def reference_of(config_text: str, csv_rows: list[str], year: int, month: int, now_ms: int | None = None) -> dict:
    rules = rules_of(config_text)
    history = ref.History()
    history.import_csv("time,tenant,probe,success\n" + "\n".join(csv_rows) + "\n", rules)
    return ref.report(rules, history, year, month, now_ms=now_ms)


# ============================================================================================
# 1. The reference against hand-worked cases
# ============================================================================================

ONE_PROBE = """\
timezone: {tz}
sla: {{target: 99.9%}}
{windows}
tenants:
  - name: t
    probes:
      - {{name: p, url: "https://p.example.com/", {probe}}}
"""


def one_probe(probe: str, tz: str = "UTC", windows: str = "") -> str:
    return ONE_PROBE.format(tz=tz, probe=probe, windows=windows)


OCT_UTC = (utc_ms(2026, 10, 1), utc_ms(2026, 11, 1))


@dataclass
class Case:
    name: str
    config: str
    rows: list[str]
    downtime_ms: int
    outages: list[tuple[str, str]]  # UTC ISO start, end
    unknown_ms: int | None = None
    maintenance_ms: int | None = None
    counted_ms: list[int] | None = None
    now_ms: int | None = None
    year_month: tuple[int, int] = (2026, 10)


CASES = [
    Case(
        "fractional interval, stale_after = interval, threshold 2: the gap equal to S continues the run",
        one_probe("interval: 2.2s, stale_after: 2.2s, failure_threshold: 2"),
        ["2026-10-07T09:00:00Z,t,p,0", "2026-10-07T09:00:02.2Z,t,p,0", "2026-10-07T09:00:04.4Z,t,p,1"],
        4400,
        [("2026-10-07T09:00:00.000Z", "2026-10-07T09:00:04.400Z")],
        unknown_ms=OCT_UTC[1] - OCT_UTC[0] - 6600,
    ),
    Case(
        "threshold 3: down from the first failure to the next success",
        one_probe("interval: 60s, failure_threshold: 3"),
        [
            "2026-10-07T09:00:00Z,t,p,1",
            "2026-10-07T09:01:00Z,t,p,0",
            "2026-10-07T09:02:00Z,t,p,0",
            "2026-10-07T09:03:00Z,t,p,0",
            "2026-10-07T09:04:00Z,t,p,1",
        ],
        180_000,
        [("2026-10-07T09:01:00.000Z", "2026-10-07T09:04:00.000Z")],
        unknown_ms=OCT_UTC[1] - OCT_UTC[0] - (4 * MINUTE + 120_000),
    ),
    Case(
        "threshold 3 with two failures: a blip, up",
        one_probe("interval: 60s, failure_threshold: 3"),
        [
            "2026-10-07T09:00:00Z,t,p,1",
            "2026-10-07T09:01:00Z,t,p,0",
            "2026-10-07T09:02:00Z,t,p,0",
            "2026-10-07T09:03:00Z,t,p,1",
        ],
        0,
        [],
    ),
    Case(
        "a gap of S + 1 ms ends the run: two failure runs of 1, both below threshold 2",
        one_probe("interval: 2.2s, stale_after: 2.2s, failure_threshold: 2"),
        ["2026-10-07T09:00:00Z,t,p,0", "2026-10-07T09:00:02.201Z,t,p,0", "2026-10-07T09:00:04.401Z,t,p,1"],
        0,
        [],
        unknown_ms=OCT_UTC[1] - OCT_UTC[0] - 6600,
    ),
    Case(
        "sub-millisecond digits are truncated: 02.2009 is 02.200, the gap is S",
        one_probe("interval: 2.2s, stale_after: 2.2s, failure_threshold: 2"),
        ["2026-10-07T09:00:00.0009Z,t,p,0", "2026-10-07T12:00:02.2009+03:00,t,p,0", "2026-10-07T09:00:04.4Z,t,p,1"],
        4400,
        [("2026-10-07T09:00:00.000Z", "2026-10-07T09:00:04.400Z")],
    ),
    Case(
        "a down run ends at the end of coverage: last failure + S",
        one_probe("interval: 60s"),
        ["2026-10-07T09:00:00Z,t,p,0", "2026-10-07T09:01:00Z,t,p,0", "2026-10-07T09:10:00Z,t,p,1"],
        3 * MINUTE,
        [("2026-10-07T09:00:00.000Z", "2026-10-07T09:03:00.000Z")],
    ),
    Case(
        "failures before the month count toward the threshold; the outage is listed from M0",
        one_probe("interval: 60s, failure_threshold: 3"),
        [
            "2026-09-30T23:58:00Z,t,p,0",
            "2026-09-30T23:59:00Z,t,p,0",
            "2026-10-01T00:00:00Z,t,p,0",
            "2026-10-01T00:01:00Z,t,p,1",
        ],
        MINUTE,
        [("2026-10-01T00:00:00.000Z", "2026-10-01T00:01:00.000Z")],
    ),
    Case(
        "failures after the month complete a run that crosses M1 (complete month)",
        one_probe("interval: 60s, failure_threshold: 2"),
        ["2026-10-31T23:59:00Z,t,p,0", "2026-11-01T00:00:00Z,t,p,0", "2026-11-01T00:01:00Z,t,p,1"],
        MINUTE,
        [("2026-10-31T23:59:00.000Z", "2026-11-01T00:00:00.000Z")],
    ),
    Case(
        "month in progress: the observation at now is ignored, so the run has one failure: up",
        one_probe("interval: 60s, failure_threshold: 2"),
        ["2026-10-07T09:00:00Z,t,p,1", "2026-10-07T09:01:00Z,t,p,0", "2026-10-07T09:02:00Z,t,p,0"],
        0,
        [],
        now_ms=utc_ms(2026, 10, 7, 9, 2),
        unknown_ms=utc_ms(2026, 10, 7, 9, 2) - OCT_UTC[0] - 2 * MINUTE,
    ),
    Case(
        "month in progress, one ms later: the run has two failures, down up to now",
        one_probe("interval: 60s, failure_threshold: 2"),
        ["2026-10-07T09:00:00Z,t,p,1", "2026-10-07T09:01:00Z,t,p,0", "2026-10-07T09:02:00Z,t,p,0"],
        MINUTE + 1,
        [("2026-10-07T09:01:00.000Z", "2026-10-07T09:02:00.001Z")],
        now_ms=utc_ms(2026, 10, 7, 9, 2) + 1,
    ),
    Case(
        "an outage entirely inside maintenance is listed with counted 0",
        one_probe(
            "interval: 60s",
            windows='maintenance_windows:\n  - {name: w, date: 2026-10-07, start: "09:00", duration: 1h}',
        ),
        ["2026-10-07T09:10:00Z,t,p,0", "2026-10-07T09:11:00Z,t,p,1"],
        0,
        [("2026-10-07T09:10:00.000Z", "2026-10-07T09:11:00.000Z")],
        counted_ms=[0],
        maintenance_ms=HOUR,
    ),
    Case(
        "nonexistent start 03:30 on 2026-03-29 in Helsinki: read as EET, 01:30Z-02:30Z",
        one_probe(
            "interval: 60s",
            tz="Europe/Helsinki",
            windows='maintenance_windows:\n  - {name: w, date: 2026-03-29, start: "03:30", duration: 1h}',
        ),
        # 00:45Z would be inside if 03:30 were read with the offset after the gap (EEST)
        [
            "2026-03-29T00:45:00Z,t,p,0",
            "2026-03-29T00:46:00Z,t,p,1",
            "2026-03-29T01:45:00Z,t,p,0",
            "2026-03-29T01:46:00Z,t,p,1",
        ],
        MINUTE,
        [
            ("2026-03-29T00:45:00.000Z", "2026-03-29T00:46:00.000Z"),
            ("2026-03-29T01:45:00.000Z", "2026-03-29T01:46:00.000Z"),
        ],
        counted_ms=[MINUTE, 0],
        maintenance_ms=HOUR,
        year_month=(2026, 3),
    ),
    Case(
        "ambiguous start 03:30 on 2026-10-25 in Helsinki: the first (EEST), 00:30Z; down inside",
        one_probe(
            "interval: 60s",
            tz="Europe/Helsinki",
            windows='maintenance_windows:\n  - {name: w, date: 2026-10-25, start: "03:30", duration: 30m}',
        ),
        ["2026-10-25T00:29:00Z,t,p,0", "2026-10-25T00:31:00Z,t,p,0", "2026-10-25T00:32:00Z,t,p,1"],
        MINUTE,  # 00:29-00:30 counted; 00:30-00:32 inside the window
        [("2026-10-25T00:29:00.000Z", "2026-10-25T00:32:00.000Z")],
        counted_ms=[MINUTE],
        maintenance_ms=30 * MINUTE,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reference_hand_worked(case):
    doc = reference_of(case.config, case.rows, *case.year_month, now_ms=case.now_ms)
    (t,) = doc["tenants"]
    assert t["downtime_ms"] == case.downtime_ms
    assert [(iso_utc(s), iso_utc(e)) for s, e, _, _ in t["outages"]] == case.outages
    assert sum(c for *_, c in t["outages"]) == t["downtime_ms"]
    if case.unknown_ms is not None:
        assert t["unknown_ms"] == case.unknown_ms
    if case.maintenance_ms is not None:
        assert t["maintenance_ms"] == case.maintenance_ms
    if case.counted_ms is not None:
        assert [c for *_, c in t["outages"]] == case.counted_ms
    assert t["eligible_ms"] + t["maintenance_ms"] == doc["until_ms"] - doc["start_ms"]
    assert doc["complete"] is (case.now_ms is None)


def test_reference_first_example_figures():
    """Case (1) in full: 4.4 s down, 2.2 s up, the rest of October unknown."""
    doc = reference_of(CASES[0].config, CASES[0].rows, 2026, 10)
    (t,) = doc["tenants"]
    month = 31 * DAY
    assert (t["eligible_ms"], t["maintenance_ms"], t["downtime_ms"], t["unknown_ms"]) == (month, 0, 4400, month - 6600)
    assert t["availability"] == Fraction(2200, 6600) and t["met"] is False
    assert t["error_budget_ms"] == month // 1000  # 0.001 x 31 d
    assert t["error_budget_remaining_ms"] == month // 1000 - 4400
    assert t["outages"] == [(utc_ms(2026, 10, 7, 9), utc_ms(2026, 10, 7, 9) + 4400, 4400, 4400)]


@pytest.mark.parametrize(
    "timezone, year, month, start, end",
    [
        ("Europe/Helsinki", 2026, 10, "2026-09-30T21:00:00Z", "2026-10-31T22:00:00Z"),
        ("Europe/Helsinki", 2026, 3, "2026-02-28T22:00:00Z", "2026-03-31T21:00:00Z"),
        ("America/Santiago", 2026, 9, "2026-09-01T04:00:00Z", "2026-10-01T03:00:00Z"),
        ("Australia/Lord_Howe", 2026, 10, "2026-09-30T13:30:00Z", "2026-10-31T13:00:00Z"),
    ],
)
def test_reference_month_bounds(timezone, year, month, start, end):
    m0, m1 = ref.month_bounds_ms(year, month, timezone)
    assert (iso_utc(m0), iso_utc(m1)) == (start.replace(":00Z", ":00.000Z"), end.replace(":00Z", ":00.000Z"))


@pytest.mark.parametrize(
    "timezone, day, start, expected",
    [
        ("Europe/Helsinki", dt.date(2026, 3, 29), dt.time(3, 30), "2026-03-29T01:30:00.000Z"),  # gap: EET
        ("Europe/Helsinki", dt.date(2026, 10, 25), dt.time(3, 30), "2026-10-25T00:30:00.000Z"),  # first: EEST
        ("Europe/Helsinki", dt.date(2026, 10, 25), dt.time(4, 0), "2026-10-25T02:00:00.000Z"),
        ("Australia/Lord_Howe", dt.date(2026, 10, 4), dt.time(2, 15), "2026-10-03T15:45:00.000Z"),  # gap: +10:30
        ("Australia/Lord_Howe", dt.date(2026, 4, 5), dt.time(1, 45), "2026-04-04T14:45:00.000Z"),  # first: +11
        ("America/Santiago", dt.date(2026, 9, 6), dt.time(0, 0), "2026-09-06T04:00:00.000Z"),  # gap: -04
        ("America/New_York", dt.date(2026, 11, 1), dt.time(1, 30), "2026-11-01T05:30:00.000Z"),  # first: EDT
    ],
)
def test_reference_local_times(timezone, day, start, expected):
    assert iso_utc(ref.wall_to_ms(dt.datetime.combine(day, start), ZoneInfo(timezone))) == expected


@pytest.mark.parametrize(
    "rrule, days",
    [
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU", [4, 18]),  # even weeks after the week of 2000-01-01
        ("FREQ=WEEKLY", [3, 10, 17, 24, 31]),  # bare: Saturdays
        ("FREQ=MONTHLY", [1]),  # bare: the 1st
        ("FREQ=MONTHLY;BYDAY=1SA", [3]),
        ("FREQ=WEEKLY;BYDAY=SU;UNTIL=20261018T000000Z", [4, 11, 18]),  # UNTIL day included
        ("FREQ=WEEKLY;BYDAY=SU;UNTIL=20261017T235959", [4, 11]),
        ("FREQ=DAILY;INTERVAL=10", [1, 11, 21, 31]),  # every 10th day from 2000-01-01 (9770 days before the 1st)
    ],
)
def test_reference_rule_days(rrule, days):
    got = ref._rule_days(rrule, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert got == [dt.date(2026, 10, d) for d in days]


def test_reference_conflicts_and_duplicates():
    rules = rules_of(one_probe("interval: 60s"))
    h = ref.History()
    assert (
        h.import_csv("time,tenant,probe,success\n2026-10-07T09:00:00Z,t,p,1\n2026-10-07T09:00:00.0004Z,t,p,1\n", rules)
        == 1
    )
    assert h.import_csv("time,tenant,probe,success\n2026-10-07T12:00:00+03:00,t,p,1\n", rules) == 0
    with pytest.raises(ref.Refused) as err:
        h.import_csv(
            "time,tenant,probe,success\n2026-10-07T09:05:00Z,t,p,1\n2026-10-07T09:00:00.000999Z,t,p,0\n", rules
        )
    assert err.value.line == 3
    assert h.of("t", "p") == [(utc_ms(2026, 10, 7, 9), True)]  # nothing kept from the refused file
    with pytest.raises(ref.Refused) as err:
        h.import_csv("time,tenant,probe,success\n2026-10-07T09:05:00Z,t,p,1\n2026-10-07T09:05:00Z,t,p,0\n", rules)
    assert err.value.line == 3
    # a failure between two recorded successes is a new observation, not a conflict
    h.import_csv("time,tenant,probe,success\n2026-10-07T09:02:00Z,t,p,1\n", rules)
    assert h.import_csv("time,tenant,probe,success\n2026-10-07T09:01:00Z,t,p,0\n", rules) == 1


def test_reference_seconds_to_ms():
    assert ref.seconds_to_ms(1790802000.123) == 1790802000123
    assert ref.seconds_to_ms(1790802000.1239) == 1790802000123
    assert ref.seconds_to_ms(1790802000) == 1790802000000


def test_reference_worked_month():
    """The October 2026 month (tests/worked_month.py) gives tests/test_cli_end_to_end.py's figures."""
    import worked_month as e2e

    rules = rules_of(e2e.CONFIG)
    history = ref.History()
    for tenant, probe in e2e.PROBES:
        series = history.obs.setdefault((tenant, probe, "default"), {})
        for t in e2e.minutes(e2e.MONTH_START, e2e.MONTH_END):
            if not e2e.monitor_gap(tenant, t):
                series[(t - EPOCH_UTC) // ref.MS] = not e2e.failing(tenant, probe, t)
    doc = ref.report(rules, history, 2026, 10)
    assert (doc["start_ms"], doc["end_ms"]) == (utc_ms(2026, 9, 30, 21), utc_ms(2026, 10, 31, 22))
    acme, beta = doc["tenants"]
    assert {k: v for k, v in acme.items() if k != "outages"} == {
        "excluded_ms": 0,
        "changed_ms": {},
        "tenant": "acme-prod",
        "availability": Fraction(2_635_200 - 3540 - 4200, 2_635_200 - 3540),
        "met": False,
        "eligible_ms": 2_635_200_000,
        "maintenance_ms": 46_800_000,
        "downtime_ms": 4_200_000,
        "unknown_ms": 3_540_000,
        "error_budget_ms": 2_108_160,
        "error_budget_remaining_ms": -2_091_840,
    }
    assert [(iso_utc(s), iso_utc(e), n, c) for s, e, n, c in acme["outages"]] == [
        ("2026-10-05T07:00:00.000Z", "2026-10-05T07:10:00.000Z", 600_000, 600_000),
        ("2026-10-11T00:30:00.000Z", "2026-10-11T01:30:00.000Z", 3_600_000, 1_800_000),
        ("2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z", 3_600_000, 1_800_000),
    ]
    assert {k: v for k, v in beta.items() if k != "tenant"} == {
        "excluded_ms": 0,
        "changed_ms": {},
        "availability": 1,
        "met": True,
        "eligible_ms": 2_682_000_000 - 52_200_000,
        "maintenance_ms": 52_200_000,
        "downtime_ms": 0,
        "unknown_ms": 0,
        "error_budget_ms": 2_103_840,
        "error_budget_remaining_ms": 2_103_840,
        "outages": [],
    }


# ============================================================================================
# 2. Random scenarios: the reference against the real pipeline
# ============================================================================================

ZONES = {
    "Europe/Helsinki": [(2026, 3), (2026, 10), (2027, 3)],
    "America/New_York": [(2026, 3), (2026, 11)],
    "Australia/Lord_Howe": [(2026, 4), (2026, 10)],  # 30-minute DST
    "America/Santiago": [(2026, 4), (2026, 9)],  # southern; changes at local midnight
    "Australia/Sydney": [(2026, 4), (2026, 10)],
    "UTC": [(2026, 2), (2028, 2)],
}
RRULES = [
    "FREQ=WEEKLY;BYDAY=SU",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SA",
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,MO;WKST=SU",
    "FREQ=MONTHLY;BYDAY=1SA",
    "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA",
    "FREQ=MONTHLY;BYDAY=-1SU",
    "FREQ=MONTHLY;BYMONTHDAY=1,15",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=2WE",
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=WEEKLY",
    "FREQ=MONTHLY",
    "FREQ=YEARLY;BYMONTH=3,4,9,10,11;BYDAY=1SU,-1SU",
]
DURATIONS = [
    "1s",
    "1500ms",
    "30m",
    "1h",
    "90m",
    "2h",
    "2h15m",
    "6h",
    "45m30s",
    "1h0.5s",
    "59m59.999s",
    "1d",
    "25h",
    "3d",
    "7d",
]
START_TIMES = ["00:00", "00:30", "01:30", "02:00", "02:15", "03:30", "12:00", "22:00", "23:00", "23:59:59"]
TARGETS = ["99.92%", "0.9992", "99.5%", "0.999", "99.9%", "95%", "99.99%", "0.9", "99.925%", "0.5"]
INTERVALS_MS = [1000, 2200, 5000, 15_000, 30_000, 60_000, 61_096]


def transitions(lo: int, hi: int, zone: ZoneInfo) -> list[tuple[int, int, int]]:
    """(instant, offset before, offset after) of every offset change in [lo, hi)."""
    out = []
    t = lo
    while t < hi:
        nxt = min(t + HOUR, hi)
        a, b = ref.offset_ms(t, zone), ref.offset_ms(nxt, zone)
        if a != b:
            x, y = t, nxt  # offset(x) == a, offset(y) == b
            while y - x > SECOND:
                mid = (x + y) // 2
                if ref.offset_ms(mid, zone) == a:
                    x = mid
                else:
                    y = mid
            out.append((y, a, b))
        t = nxt
    return out


def tricky_walls(trans: list[tuple[int, int, int]]) -> list[tuple[dt.date, dt.time]]:
    """Local days and wall times at the edges and inside the gaps and overlaps."""
    out = []
    for u, before, after in trans:
        lo, hi = sorted((u + before, u + after))  # the skipped or repeated wall times
        for w in (lo, (lo + hi) // 2, hi, lo - SECOND):
            wall = ref.EPOCH + w * ref.MS
            out.append((wall.date(), wall.time().replace(microsecond=0)))
    return out


def fmt_duration(ms: int, rnd: random.Random) -> str:
    """One of the equivalent ways to write ``ms`` as a duration."""
    s, rest = divmod(ms, 1000)
    forms = [f"{ms}ms"]
    forms.append(f"{s}s" if not rest else f"{s}.{rest:03d}".rstrip("0") + "s")
    if s and rest:
        forms.append(f"{s}s{rest}ms")
    if ms >= MINUTE:
        m, r = divmod(ms, MINUTE)
        rs, rms = divmod(r, 1000)
        forms.append(f"{m}m" + ("" if not r else f"{rs}s" if not rms else f"{rs}.{rms:03d}s"))
    return rnd.choice(forms)


@dataclass
class Scenario:
    year: int
    month: int
    timezone: str
    config: str  # the config the rows are imported under
    report_config: str  # the config the month is reported under (often the same)
    parts: list[str]  # CSV files, in import order
    now: float | None = None
    now_ms: int | None = None
    notes: list[str] = field(default_factory=list)
    # The corrections ledger, in recording order (ids 1, 2, ...): ("correct", tenant, start,
    # end, as) or ("revoke", id).
    ledger: list[tuple] = field(default_factory=list)

    def active_corrections(self) -> list[tuple[int, str, int, int, str]]:
        revoked = {e[1] for e in self.ledger if e[0] == "revoke"}
        return [(i, *e[1:]) for i, e in enumerate(self.ledger, 1) if e[0] == "correct" and i not in revoked]

    def describe(self) -> str:
        out = [
            f"month {self.year:04d}-{self.month:02d} in {self.timezone}"
            + ("" if self.now is None else f", now={self.now!r} ({iso_utc(self.now_ms)})")
        ]
        out += [f"note: {n}" for n in self.notes]
        out += ["--- config (import) ---", self.config.rstrip()]
        if self.report_config != self.config:
            out += ["--- config (report) ---", self.report_config.rstrip()]
        for i, e in enumerate(self.ledger, 1):
            if e[0] == "correct":
                out.append(f"correction {i}: {e[1]} [{iso_utc(e[2])}, {iso_utc(e[3])}) as {e[4]}")
            else:
                out.append(f"entry {i}: revokes {e[1]}")
        for i, part in enumerate(self.parts, 1):
            lines = part.rstrip("\n").split("\n")
            out += [f"--- import {i} of {len(self.parts)} ({len(lines) - 1} rows) ---"]
            out += lines[:300] + ([f"... {len(lines) - 300} more lines"] if len(lines) > 300 else [])
        return "\n".join(out)


def _yaml(d: dict) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in d.items()) + "}"


@st.composite
def windows_st(draw, zone_name, m0, m1, walls, max_size, prefix="w"):
    """Window mappings (for YAML) and their reference rules."""
    zone = ZoneInfo(zone_name)
    first, last = ref.local_date(m0, zone), ref.local_date(m1, zone)
    n = draw(st.integers(0, max_size))
    out = []
    for i in range(n):
        tz = draw(st.sampled_from([zone_name] * 5 + list(ZONES)))
        kind = draw(st.sampled_from(["start", "tricky", "random"]))
        if kind == "tricky" and walls:
            day, start = draw(st.sampled_from(walls))
        else:
            day = first + dt.timedelta(days=draw(st.integers(-8, (last - first).days)))
            start = (
                dt.time.fromisoformat(draw(st.sampled_from(START_TIMES)))
                if kind == "start"
                else dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.sampled_from([0, 0, 30])))
            )
        duration = draw(st.sampled_from(DURATIONS))
        w = {"name": f"{prefix}{i}"}
        if draw(st.booleans()):
            rule = draw(st.sampled_from(RRULES))
            if draw(st.integers(0, 3)) == 0:
                until = day + dt.timedelta(days=draw(st.integers(-3, 12)))
                rule += ";UNTIL=" + until.strftime(
                    draw(st.sampled_from(["%Y%m%d", "%Y%m%dT000000Z", "%Y%m%dT235959", "%Y%m%dT120000Z"]))
                )
            w["rrule"] = rule
        else:
            w["date"] = day.isoformat()
        w["start"] = start.strftime("%H:%M:%S" if start.second else "%H:%M")
        w["duration"] = duration
        if tz != zone_name:
            w["timezone"] = tz
        out.append(w)
    return out


def window_rules(w: dict, zone_name: str) -> ref.WindowRules:
    from exporter.engine.units import parse_duration

    return ref.WindowRules(
        w["name"],
        dt.time.fromisoformat(w["start"]),
        round(parse_duration(w["duration"]) * 1000),
        w.get("timezone", zone_name),
        w.get("rrule"),
        dt.date.fromisoformat(w["date"]) if "date" in w else None,
    )


@st.composite
def probe_settings_st(draw, rnd):
    interval = draw(st.sampled_from(INTERVALS_MS))
    stale_kind = draw(st.sampled_from(["default", "equal", "more", "2.2s"]))
    stale = {
        "default": 2 * interval,
        "equal": interval,
        "more": interval + draw(st.integers(1, 2 * interval)),
        "2.2s": max(interval, 2200),
    }[stale_kind]
    settings_ = {"interval": fmt_duration(interval, rnd)}
    if stale_kind != "default":
        settings_["stale_after"] = fmt_duration(stale, rnd)
    threshold = draw(st.integers(1, 4))
    if threshold != 1 or draw(st.booleans()):
        settings_["failure_threshold"] = threshold
    return settings_, interval, stale


@st.composite
def tenants_st(draw, rnd, zone_name, m0, m1, walls, names=None):
    """Tenants (YAML text, their probes' (interval, stale_after) in ms, window rules)."""
    count = len(names) if names else draw(st.integers(1, 2))
    tenants = []
    for i in range(count):
        name = names[i][0] if names else f"t{i}"
        n_probes = len(names[i][1]) if names else draw(st.integers(1, 3))
        probes = []
        for j in range(n_probes):
            pname = names[i][1][j] if names else f"p{j}"
            s, interval, stale = draw(probe_settings_st(rnd))
            probes.append((pname, s, interval, stale))
        tenants.append(
            {
                "name": name,
                "down_when": draw(st.sampled_from(["any", "all", None])),
                "target": draw(st.sampled_from([None, *TARGETS])),
                "windows": draw(windows_st(zone_name, m0, m1, walls, 2, prefix=f"{name}-w")),
                "probes": probes,
            }
        )
    return tenants


def render_config(zone_name, target, top_windows, tenants, quorum=None) -> str:
    lines = [f"timezone: {zone_name}", f"sla: {{target: {json.dumps(target) if '%' in target else target}}}"]
    if quorum:
        lines.append(f"locations: {{quorum: {quorum}}}")
    if top_windows:
        lines.append("maintenance_windows:")
        lines += [f"  - {_yaml(w)}" for w in top_windows]
    lines.append("tenants:")
    for t in tenants:
        lines.append(f"  - name: {t['name']}")
        if t["down_when"]:
            lines.append(f"    down_when: {t['down_when']}")
        if t["target"]:
            lines.append(f"    sla: {{target: {json.dumps(t['target']) if '%' in t['target'] else t['target']}}}")
        if t.get("quorum"):
            lines.append(f"    locations: {{quorum: {t['quorum']}}}")
        if t["windows"]:
            lines.append("    maintenance_windows:")
            lines += [f"      - {_yaml(w)}" for w in t["windows"]]
        lines.append("    probes:")
        for pname, s, _, _ in t["probes"]:
            url = f"https://{pname}.{t['name']}.example.com/"
            lines.append("      - " + _yaml({"name": pname, "url": url, **s}))
    return "\n".join(lines) + "\n"


GAPS = ["interval", "interval", "interval", "S", "S", "S+1", "S-1", "half", "ms", "long"]


def render_time(t: int, zone: ZoneInfo, rnd: random.Random) -> str:
    offset = rnd.choice([0, 0, ref.offset_ms(t, zone), ref.offset_ms(t, zone), 330 * MINUTE, -180 * MINUTE])
    wall = ref.EPOCH + (t + offset) * ref.MS
    ms = (t + offset) % 1000
    text = wall.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{ms:03d}"
    r = rnd.random()
    if ms == 0 and r < 0.5:
        frac = ""
    elif r < 0.2:
        frac = frac.rstrip("0") or "0"
    elif r < 0.35:
        frac += "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 3)))  # sub-ms digits: truncated
    text += f".{frac}" if frac else ""
    if offset == 0 and rnd.random() < 0.7:
        return text + "Z"
    sign = "+" if offset >= 0 else "-"
    h, m = divmod(abs(offset) // MINUTE, 60)
    return f"{text}{sign}{h:02d}:{m:02d}"


def render_row(row, zone, rnd, with_location=False) -> str:
    tenant, probe, t, ok, location = row
    text = f"{render_time(t, zone, rnd)},{tenant},{probe},{rnd.choice(['1', 'true'] if ok else ['0', 'false'])}"
    if with_location:  # the default location written out, or left empty
        text += "," + ("" if location == "default" and rnd.random() < 0.5 else location)
    return text


HEADER = "time,tenant,probe,success"
LOCATIONS = ["default", "eu", "us"]


@st.composite
def scenarios(
    draw, in_progress: bool = False, two_configs: bool = False, corrections: bool = False, locations: bool = False
):
    rnd = draw(st.randoms(use_true_random=False))
    zone_name = draw(st.sampled_from(sorted(ZONES)))
    year, month = draw(
        st.one_of(st.sampled_from(ZONES[zone_name]), st.tuples(st.integers(2025, 2027), st.integers(1, 12)))
    )
    zone = ZoneInfo(zone_name)
    m0, m1 = ref.month_bounds_ms(year, month, zone_name)
    trans = transitions(m0 - 9 * DAY, m1 + 2 * DAY, zone)
    walls = tricky_walls(trans)

    top_target = draw(st.sampled_from(TARGETS))
    top_windows = draw(windows_st(zone_name, m0, m1, walls, 3))
    tenants = draw(tenants_st(rnd, zone_name, m0, m1, walls))
    top_quorum = None
    if locations:
        top_quorum = draw(st.sampled_from([None, 1, 2, 3]))
        for t in tenants:
            t["quorum"] = draw(st.sampled_from([None, None, 1, 2]))
    config = render_config(zone_name, top_target, top_windows, tenants, top_quorum)

    # Where observations cluster: the month edges, DST changes, window edges, anywhere.
    anchors = [m0, m1] + [u for u, _, _ in trans]
    for w in top_windows + [w for t in tenants for w in t["windows"]]:
        for s, e in ref.occurrences(window_rules(w, zone_name), m0, m1)[:6]:
            anchors += [s, e]
    rows = []
    for t in tenants:
        for _ in range(draw(st.integers(1, 4))):
            base = draw(st.sampled_from(anchors)) if draw(st.integers(0, 3)) else draw(st.integers(m0, m1 - 1))
            base += draw(st.integers(-5 * MINUTE, 5 * MINUTE)) if draw(st.booleans()) else 0
            shape = draw(st.lists(st.tuples(st.sampled_from(GAPS), st.booleans()), min_size=1, max_size=14))
            flip = draw(st.booleans())  # results persist (flip rarely) or are independent
            aligned = draw(st.booleans())  # every probe sees the same results
            # Which locations see this stretch, and how often one of them sees otherwise.
            places = draw(st.lists(st.sampled_from(LOCATIONS), min_size=1, unique=True)) if locations else ["default"]
            dissent = draw(st.sampled_from([0.0, 0.2, 0.5]))
            for pname, _, interval, stale in t["probes"]:
                time_ = base
                ok = shape[0][1]
                for k, (gap, coin) in enumerate(shape):
                    if k:
                        time_ += {
                            "interval": interval,
                            "S": stale,
                            "S+1": stale + 1,
                            "S-1": max(1, stale - 1),
                            "half": interval // 2 + 1,
                            "ms": rnd.randint(1, 2 * stale),
                            "long": 3 * stale + rnd.randint(1, HOUR),
                        }[gap]
                    if not flip:
                        ok = coin
                    elif coin and rnd.random() < 0.5:
                        ok = not ok
                    result = ok if aligned else (ok if rnd.random() < 0.8 else not ok)
                    for place in places:
                        seen = result if rnd.random() >= dissent else not result
                        if rnd.random() < 0.9:  # a probe sometimes misses one
                            rows.append((t["name"], pname, time_, seen, place))
    # one result per instant, probe and location (the generator never makes conflicts by accident)
    unique = {}
    for tenant, probe, time_, ok, place in rows:
        unique.setdefault((tenant, probe, time_, place), ok)
    rows = [(k[0], k[1], k[2], ok, k[3]) for k, ok in unique.items()]

    # CSV files: rows spread over 1-4 files in random order, some re-imported.
    header = HEADER + (",location" if locations else "")

    def row_text(r):
        return render_row(r, zone, rnd, locations)

    n_parts = rnd.randint(1, 4)
    parts = [[] for _ in range(n_parts)]
    for row in rows:
        parts[rnd.randrange(n_parts)].append(row_text(row))
    notes = []
    if rows and rnd.random() < 0.5:  # a file of rows imported again, written differently
        again = [row_text(r) for r in rnd.sample(rows, rnd.randint(1, len(rows)))]
        parts.insert(rnd.randrange(len(parts) + 1), again)
        notes.append("some rows are imported twice")
    if rows and rnd.random() < 0.3:  # duplicate rows inside one file
        part = rnd.choice([p for p in parts if p] or [parts[0]])
        part += [row_text(r) for r in rnd.sample(rows, min(3, len(rows)))]
    for part in parts:
        rnd.shuffle(part)
    texts = [header + "\n" + "\n".join(p) + ("\n" if p else "") for p in parts]
    if rows and rnd.random() < 0.3:  # a file with a conflicting row: refused as a whole
        tenant, probe, time_, ok, place = rnd.choice(rows)
        bad = row_text((tenant, probe, time_, not ok, place))
        if rnd.random() < 0.5:  # against the store: imported after everything else
            body = [row_text(r) for r in rnd.sample(rows, min(rnd.randint(0, 3), len(rows)))]
            body.insert(rnd.randrange(len(body) + 1), bad)
            texts.append(header + "\n" + "\n".join(body) + "\n")
            notes.append(f"the last file conflicts with the store at {iso_utc(time_)} ({tenant}/{probe}@{place})")
        else:  # inside the file: anywhere in the order
            body = [row_text((tenant, probe, time_, ok, place)), bad]
            texts.insert(rnd.randrange(len(texts) + 1), header + "\n" + "\n".join(body) + "\n")
            notes.append(f"one file contradicts itself at {iso_utc(time_)} ({tenant}/{probe}@{place})")

    report_config = config
    if two_configs:
        names = [(t["name"], [p[0] for p in t["probes"]]) for t in tenants]
        tenants_b = draw(tenants_st(rnd, zone_name, m0, m1, walls, names=names))
        report_config = render_config(
            zone_name, draw(st.sampled_from(TARGETS)), draw(windows_st(zone_name, m0, m1, walls, 3)), tenants_b
        )

    now = now_ms = None
    if in_progress:
        inside = sorted({r[2] for r in rows if m0 <= r[2] < m1})
        kind = draw(st.sampled_from(["obs", "obs", "random", "edge"] if inside else ["random", "edge"]))
        if kind == "obs":
            now_ms = draw(st.sampled_from(inside)) + draw(st.sampled_from([0, 0, 1, -1, 500]))
        elif kind == "edge":
            now_ms = draw(st.sampled_from([m0, m0 + 1, m1 - 1] + [u for u, _, _ in trans]))
        else:
            now_ms = draw(st.integers(m0, m1 - 1))
        now_ms = min(max(now_ms, m0), m1 - 1)
        now = now_ms / 1000 if draw(st.booleans()) else (now_ms + draw(st.sampled_from([0.25, 0.5, 0.875]))) / 1000
        assert ref.seconds_to_ms(now) == now_ms
    ledger: list[tuple] = []
    if corrections:
        # Around the month's edges, DST changes, window edges and observations; short and
        # long; overlapping each other; some revoked.
        spots = anchors + [r[2] for r in rows]
        for _ in range(draw(st.integers(1, 6))):
            made = [i for i, e in enumerate(ledger, 1) if e[0] == "correct"]
            revoked = {e[1] for e in ledger if e[0] == "revoke"}
            made = [i for i in made if i not in revoked]
            if made and draw(st.integers(0, 4)) == 0:
                ledger.append(("revoke", draw(st.sampled_from(made))))
                continue
            start = draw(st.sampled_from(spots)) + draw(st.sampled_from([0, 0, -1, 1, -MINUTE, rnd.randint(-DAY, DAY)]))
            length = draw(st.sampled_from([1, SECOND, MINUTE, HOUR, rnd.randint(1, 3 * DAY), 40 * DAY]))
            as_ = draw(st.sampled_from(["up", "down", "excluded"]))
            ledger.append(("correct", draw(st.sampled_from([t["name"] for t in tenants])), start, start + length, as_))
    return Scenario(year, month, zone_name, config, report_config, texts, now, now_ms, notes, ledger)


# --- running both sides and comparing ---------------------------------------------------------


def run_reference(sc: Scenario) -> tuple[list[int | None], dict]:
    """Refused line per file (None: imported), and the report."""
    rules_a, rules_b = rules_of(sc.config), rules_of(sc.report_config)
    history = ref.History()
    outcomes = []
    for text in sc.parts:
        try:
            history.import_csv(text, rules_a)
            outcomes.append(None)
        except ref.Refused as e:
            outcomes.append(e.line)
    return outcomes, ref.report(
        rules_b, history, sc.year, sc.month, now_ms=sc.now_ms, corrections=sc.active_corrections()
    )


def run_engine(sc: Scenario) -> tuple[list[str | None], dict | str]:
    """Error message per file (None: imported), and report.build's document (or the error)."""
    from exporter import config, report
    from exporter.model import LedgerEntry
    from exporter.store import importer, sqlite as store

    with tempfile.TemporaryDirectory() as d:
        path_a, path_b = os.path.join(d, "import.yaml"), os.path.join(d, "report.yaml")
        with open(path_a, "w") as f:
            f.write(sc.config)
        with open(path_b, "w") as f:
            f.write(sc.report_config)
        cfg_a, cfg_b = config.load(path_a), config.load(path_b)
        db = store.Store(os.path.join(d, "sla.db"))
        try:
            outcomes = []
            for text in sc.parts:
                try:
                    obs = importer.parse(text.splitlines(), cfg_a)
                    importer.import_observations(db, cfg_a, obs)
                    outcomes.append(None)
                except Exception as e:  # noqa: BLE001 - compared with the reference's outcome
                    outcomes.append(f"{type(e).__name__}: {e}")
            for e in sc.ledger:  # the store's own writes: the recording rules are not under test
                if e[0] == "correct":
                    db.add_correction(LedgerEntry(0, "correction", e[1], "r", "t", 0, e[2], e[3], e[4], "other"))
                else:
                    db.revoke_correction(e[1], "r", "t", 0)
            # now=None is the default; passed only when set
            kwargs = {} if sc.now is None else {"now": sc.now}
            try:
                doc = report.build(cfg_b, db, sc.year, sc.month, list(cfg_b.tenants), **kwargs)
            except Exception as e:  # noqa: BLE001 - the engine raising is an outcome too, reported as a difference
                doc = f"report.build raised {type(e).__name__}: {e}"
        finally:
            db.close()
    return outcomes, doc


def instant_ms(value) -> tuple[int | None, int | None, str | None]:
    """(ms, UTC offset in ms, problem) of an RFC 3339 string (or seconds) from the report."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(value * 1000), None, None
    try:
        stamp = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None, None, f"not an RFC 3339 time: {value!r}"
    if stamp.tzinfo is None:
        return None, None, f"no offset: {value!r}"
    delta = stamp - EPOCH_UTC
    problem = None if delta % ref.MS == dt.timedelta(0) else f"finer than a millisecond: {value!r}"
    return delta // ref.MS, stamp.utcoffset() // ref.MS, problem


SECONDS_KEYS = ["eligible", "maintenance", "downtime", "unknown", "excluded", "error_budget", "error_budget_remaining"]


def differences(sc: Scenario, ref_outcomes, ref_doc, outcomes, doc) -> list[str]:
    diffs = []
    for i, (want, got) in enumerate(zip(ref_outcomes, outcomes, strict=True), 1):
        if want is None and got is not None:
            diffs.append(f"import {i}: refused by the engine, accepted by the reference: {got}")
        elif want is not None and got is None:
            diffs.append(f"import {i}: accepted by the engine, must be refused at line {want}")
        elif want is not None and f"line {want}" not in got:
            diffs.append(f"import {i}: refused, but the message does not name line {want}: {got}")
    if isinstance(doc, str):
        return [*diffs, doc]
    zone = ZoneInfo(sc.timezone)
    if (doc.get("month"), doc.get("timezone")) != (ref_doc["month"], ref_doc["timezone"]):
        diffs.append(f"month/timezone: {doc.get('month')}/{doc.get('timezone')}")
    if ref_doc["complete"]:
        if doc.get("complete", True) is not True:
            diffs.append(f"complete: {doc.get('complete')!r}, want true")
        if "until" in doc and instant_ms(doc["until"])[0] != ref_doc["until_ms"]:
            diffs.append(f"until: {doc['until']!r}, want {iso_utc(ref_doc['until_ms'])} (the month's end)")
    else:
        if doc.get("complete") is not False:
            diffs.append(f"complete: {doc.get('complete', '<missing>')!r}, want false (month in progress)")
        if instant_ms(doc.get("until"))[0] != ref_doc["until_ms"]:
            diffs.append(f"until: {doc.get('until', '<missing>')!r}, want {iso_utc(ref_doc['until_ms'])}")
    rows = {r.get("tenant"): r for r in doc.get("tenants", [])}
    for want in ref_doc["tenants"]:
        name = want["tenant"]
        got = rows.get(name)
        if got is None:
            diffs.append(f"{name}: missing from the report")
            continue
        a, b = want["availability"], got.get("availability")
        if (a is None) != (b is None) or (a is not None and not math.isclose(float(a), b, rel_tol=1e-12, abs_tol=0)):
            diffs.append(
                f"{name}: availability {b!r}, want {None if a is None else float(a)!r}"
                + ("" if a is None else f" (= {a})")
            )
        if got.get("met") is not want["met"]:
            diffs.append(f"{name}: met {got.get('met')!r}, want {want['met']!r}")
        for key in SECONDS_KEYS:
            value = got.get(f"{key}_seconds")
            if value is None or round(value * 1000) != want[f"{key}_ms"]:
                diffs.append(
                    f"{name}: {key}_seconds {value!r}, want {want[key + '_ms'] / 1000!r}"
                    + ("" if value is None else f" (off by {round(value * 1000) - want[key + '_ms']} ms)")
                )
        engine_changed = {c["id"]: round(c["seconds"] * 1000) for c in got.get("corrections", []) if c["seconds"]}
        ref_changed = {i: ms for i, ms in want.get("changed_ms", {}).items() if ms}
        if engine_changed != ref_changed:
            diffs.append(f"{name}: ms each correction changes {engine_changed}, want {ref_changed}")
        got_outages = []
        for o in got.get("outages", []):
            s, s_off, p1 = instant_ms(o["start"])
            e, e_off, p2 = instant_ms(o["end"])
            for p in (p1, p2):
                if p:
                    diffs.append(f"{name}: outage {p}")
            for t, off in ((s, s_off), (e, e_off)):
                if t is not None and off is not None and off != ref.offset_ms(t, zone):
                    diffs.append(
                        f"{name}: outage time {iso_utc(t)} written with offset {off / 3_600_000:+g} h, "
                        f"not {sc.timezone}'s"
                    )
            got_outages.append((s, e, round(o["seconds"] * 1000), round(o["counted_seconds"] * 1000)))
        if got_outages != want["outages"]:

            def fmt(os_):
                return (
                    "; ".join(
                        f"{iso_utc(s) if s is not None else s} .. {iso_utc(e) if e is not None else e}"
                        f" {n / 1000}s counted {c / 1000}s"
                        for s, e, n, c in os_
                    )
                    or "none"
                )

            diffs.append(
                f"{name}: outages\n      engine:    {fmt(got_outages)}\n      reference: {fmt(want['outages'])}"
            )
    return diffs


def ref_summary(ref_doc) -> str:
    out = []
    for t in ref_doc["tenants"]:
        a = t["availability"]
        out.append(
            f"  {t['tenant']}: availability {None if a is None else float(a)!r} met {t['met']} "
            + " ".join(f"{k}={t[k + '_ms'] / 1000}" for k in SECONDS_KEYS)
            + f" outages={[(iso_utc(s), iso_utc(e), c / 1000) for s, e, _, c in t['outages']]}"
        )
    return "\n".join(out)


def engine_summary(doc) -> str:
    if isinstance(doc, str):
        return "  " + doc
    out = []
    for t in doc.get("tenants", []):
        out.append(
            f"  {t.get('tenant')}: availability {t.get('availability')!r} met {t.get('met')} "
            + " ".join(f"{k}={t.get(k + '_seconds')}" for k in SECONDS_KEYS)
            + f" outages={[(o['start'], o['end'], o['counted_seconds']) for o in t.get('outages', [])]}"
        )
    return "\n".join(out)


def check(sc: Scenario) -> None:
    from exporter.config.loader import ConfigError

    try:
        ref_outcomes, ref_doc = run_reference(sc)
    except ConfigError as e:  # every config the generator writes is valid by the document
        raise AssertionError(
            f"\nexporter.config refuses a valid config (durations are exact ms):\n  {e}\n"
            "=== scenario ===\n" + sc.describe() + "\n"
        ) from None
    outcomes, doc = run_engine(sc)
    diffs = differences(sc, ref_outcomes, ref_doc, outcomes, doc)
    if diffs:
        raise AssertionError(
            "\nthe engine disagrees with the reference (docs/semantics.md)\n"
            + "\n".join(f"  - {d}" for d in diffs)
            + "\n=== scenario ===\n"
            + sc.describe()
            + "\n=== reference ===\n"
            + ref_summary(ref_doc)
            + "\n=== engine ===\n"
            + engine_summary(doc)
            + "\n"
        )


@SETTINGS
@given(scenarios())
def test_engine_matches_reference_complete_month(sc):
    check(sc)


@SETTINGS
@given(scenarios(in_progress=True))
def test_engine_matches_reference_month_in_progress(sc):
    check(sc)


@SETTINGS
@given(scenarios(two_configs=True))
def test_engine_matches_reference_after_a_config_change(sc):
    """Imported under one config (other stale_after, thresholds, windows, targets,
    down_when), reported under another: the figures are the second config's."""
    check(sc)


@SETTINGS
@given(st.booleans().flatmap(lambda in_progress: scenarios(in_progress=in_progress, locations=True)))
def test_engine_matches_reference_with_locations(sc):
    """Observations from several locations (some rows without one: the default), some
    seeing otherwise than the others, under a quorum at the top level and per tenant: the
    figures are the reference's (docs/semantics.md, "Locations and the quorum")."""
    check(sc)


@SETTINGS
@given(st.booleans().flatmap(lambda in_progress: scenarios(in_progress=in_progress, corrections=True)))
def test_engine_matches_reference_with_corrections(sc):
    """Corrections up, down and excluded, overlapping each other, maintenance, unknown
    time and the month's edges, some revoked: the corrected figures, and the time each
    correction changes, are the reference's (docs/semantics.md, "Corrections")."""
    check(sc)
