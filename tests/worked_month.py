"""The worked month of docs/semantics.md: October 2026 in Helsinki (DST ends on the 25th) with
overlapping maintenance windows, the config and the scripted observations. Shared by
test_cli_end_to_end.py (through the command line) and test_reference.py (the reference
implementation). The comments work out each outage; the month's figures are worked out in
test_cli_end_to_end.py.
"""

import datetime as dt
import textwrap

HEL = dt.timezone(dt.timedelta(hours=3))  # EEST; UTC below where DST matters
UTC = dt.UTC
MONTH_START = dt.datetime(2026, 10, 1, tzinfo=HEL)  # 2026-09-30T21:00Z
MONTH_END = dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 2026-10-31T22:00Z
MINUTE = dt.timedelta(minutes=1)

CONFIG = textwrap.dedent(
    """\
    timezone: Europe/Helsinki
    sla: {target: 99.92%}
    probe_defaults: {interval: 60s, timeout: 10s}
    maintenance_windows:
      - {name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}
      - {name: quarterly, rrule: "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA", start: "22:00", duration: 6h}
      - {name: announced, date: 2026-09-30, start: "23:00", duration: 2h}
    tenants:
      - name: acme-prod
        environment: production
        probes:
          - {name: ui, url: "https://acme.example.com/", failure_threshold: 2}
          - {name: api, url: "https://api.acme.example.com/"}
      - name: beta-test
        environment: non-production
        down_when: all
        maintenance_windows:
          - {name: migration, date: 2026-10-14, start: "20:00", duration: 90m}
        probes:
          - {name: x, url: "https://x.example.com/"}
          - {name: y, url: "https://y.example.com/"}
    """
)


def minutes(start, end):
    t = start
    while t < end:
        yield t
        t += MINUTE


def failing(tenant, probe, t):
    """The scripted month."""
    if tenant == "acme-prod" and probe == "api":
        # 10 failures 10:00-10:09 on Mon 5th: down 600 s, all counted.
        if dt.datetime(2026, 10, 5, 10, tzinfo=HEL) <= t < dt.datetime(2026, 10, 5, 10, 10, tzinfo=HEL):
            return True
        # Across the fall-back on Sun 25th: 00:30Z-01:30Z (03:30 EEST - 03:30 EET), the
        # weekly window is 23:00Z-01:00Z: 3600 s down, 1800 s counted.
        if dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC) <= t < dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC):
            return True
    if tenant == "acme-prod" and probe == "ui":
        # One failure with failure_threshold 2: not down.
        if t == dt.datetime(2026, 10, 6, 12, tzinfo=HEL):
            return True
        # Sun 11th 03:30-04:30, weekly window 02:00-04:00: 3600 s down, 1800 s counted.
        if dt.datetime(2026, 10, 11, 3, 30, tzinfo=HEL) <= t < dt.datetime(2026, 10, 11, 4, 30, tzinfo=HEL):
            return True
    if tenant == "beta-test" and probe == "x":
        # Only one of two probes down with down_when: all: the tenant stays up.
        return dt.datetime(2026, 10, 7, 9, tzinfo=HEL) <= t < dt.datetime(2026, 10, 7, 10, tzinfo=HEL)
    return False


def monitor_gap(tenant, t):
    # No results for acme-prod 12:00-12:59 on Tue 20th; the 11:59 one holds until 12:01
    # (stale_after = 2 x 60 s): unknown 12:01-13:00 = 3540 s.
    return tenant == "acme-prod" and dt.datetime(2026, 10, 20, 12, tzinfo=HEL) <= t < dt.datetime(
        2026, 10, 20, 13, tzinfo=HEL
    )


PROBES = [("acme-prod", "ui"), ("acme-prod", "api"), ("beta-test", "x"), ("beta-test", "y")]


def write_month(path):
    lines = ["time,tenant,probe,success"]
    for t in minutes(MONTH_START, MONTH_END):
        stamp = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for tenant, probe in PROBES:
            if not monitor_gap(tenant, t):
                lines.append(f"{stamp},{tenant},{probe},{0 if failing(tenant, probe, t) else 1}")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1
