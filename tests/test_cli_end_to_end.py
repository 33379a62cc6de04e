"""End to end through the real command line: a month of observations -> import -> report.

October 2026 in Helsinki (DST ends on the 25th) with overlapping maintenance windows.
Every expected figure is worked out by hand in the comments (the worked month of docs/semantics.md).
"""

import datetime as dt
import json
import subprocess
import sys
import textwrap

import pytest

HEL = dt.timezone(dt.timedelta(hours=3))  # EEST; UTC below where DST matters
UTC = dt.timezone.utc
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
    return tenant == "acme-prod" and dt.datetime(2026, 10, 20, 12, tzinfo=HEL) <= t < dt.datetime(2026, 10, 20, 13, tzinfo=HEL)


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


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    d = tmp_path_factory.mktemp("e2e")
    (d / "config.yaml").write_text(CONFIG)
    rows = write_month(d / "october.csv")
    db = str(d / "sla.db")
    imported = cli("import", "--config.file", str(d / "config.yaml"), "--storage.path", db, str(d / "october.csv"))
    return d, db, rows, imported


def report(d, db, *extra):
    return cli("report", "--config.file", str(d / "config.yaml"), "--storage.path", db, "--month", "2026-10", *extra)


MONTH_SECONDS = 745 * 3600  # 31 days + 1 hour
# 1 h of the one-off (00:00-01:00 on the 1st) + quarterly Sat 3rd 22:00 - Sun 4th 04:00
# (6 h, swallowing that Sunday's weekly window) + Sundays 11, 18, 25 (2 h each).
MAINTENANCE = (1 + 6 + 3 * 2) * 3600
ELIGIBLE = MONTH_SECONDS - MAINTENANCE  # 2,635,200
DOWNTIME = 600 + 1800 + 1800
UNKNOWN = 3540


def test_import_reports_what_it_did(month):
    _, _, rows, imported = month
    assert imported.returncode == 0, imported.stderr
    assert rows == 44700 * 4 - 60 * 2
    assert f"{rows:,} rows for 4 probes" in imported.stdout
    assert f"{rows:,} new observations" in imported.stdout


def test_month_report_json_matches_the_hand_worked_figures(month):
    d, db, _, _ = month
    out = report(d, db, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["month"], doc["timezone"]) == ("2026-10", "Europe/Helsinki")
    assert (doc["start"], doc["end"]) == ("2026-10-01T00:00:00+03:00", "2026-11-01T00:00:00+02:00")
    acme, beta = doc["tenants"]
    assert {k: v for k, v in acme.items() if k != "outages"} == {
        "tenant": "acme-prod",
        "environment": "production",
        "target": 0.9992,
        "availability": pytest.approx((ELIGIBLE - UNKNOWN - DOWNTIME) / (ELIGIBLE - UNKNOWN), abs=1e-12),
        "met": False,
        "eligible_seconds": 2_635_200,
        "maintenance_seconds": 46_800,
        "downtime_seconds": 4200,
        "unknown_seconds": 3540,
        "error_budget_seconds": 2108.16,  # 0.0008 x 2,635,200
        "error_budget_remaining_seconds": -2091.84,
    }
    assert acme["outages"] == [
        {"start": "2026-10-05T10:00:00+03:00", "end": "2026-10-05T10:10:00+03:00", "seconds": 600, "counted_seconds": 600},
        {"start": "2026-10-11T03:30:00+03:00", "end": "2026-10-11T04:30:00+03:00", "seconds": 3600, "counted_seconds": 1800},
        {"start": "2026-10-25T03:30:00+03:00", "end": "2026-10-25T03:30:00+02:00", "seconds": 3600, "counted_seconds": 1800},
    ]
    # beta-test: its own 90 min window on top; one probe down for an hour is not down
    # with down_when: all.
    assert beta["maintenance_seconds"] == MAINTENANCE + 5400
    assert beta["eligible_seconds"] == MONTH_SECONDS - MAINTENANCE - 5400
    assert (beta["availability"], beta["met"], beta["downtime_seconds"], beta["unknown_seconds"]) == (1.0, True, 0, 0)
    assert beta["error_budget_seconds"] == pytest.approx(0.0008 * (MONTH_SECONDS - MAINTENANCE - 5400))
    assert beta["outages"] == []


def test_importing_the_same_file_again_changes_nothing(month):
    d, db, rows, _ = month
    before = report(d, db, "--format", "json").stdout
    again = cli("import", "--config.file", str(d / "config.yaml"), "--storage.path", db, str(d / "october.csv"))
    assert again.returncode == 0, again.stderr
    assert "0 new observations" in again.stdout
    assert report(d, db, "--format", "json").stdout == before


def test_a_bad_row_refuses_the_whole_file(month):
    d, db, _, _ = month
    before = report(d, db, "--format", "json").stdout
    bad = d / "bad.csv"
    bad.write_text(
        "time,tenant,probe,success\n"
        "2026-11-02T10:00:00Z,acme-prod,ui,1\n"
        "2026-11-02T10:01:00Z,acme-prod,ui,maybe\n"
    )
    out = cli("import", "--config.file", str(d / "config.yaml"), "--storage.path", db, str(bad))
    assert out.returncode == 1
    assert f"{bad}: line 3: success 'maybe': expected 1, 0, true or false" in out.stderr
    assert "Traceback" not in out.stderr
    assert report(d, db, "--format", "json").stdout == before


def test_table_is_for_people(month):
    d, db, _, _ = month
    out = report(d, db, "--tenant", "acme-prod")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Month 2026-10 in Europe/Helsinki: 2026-10-01 00:00:00 +0300 to 2026-11-01 00:00:00 +0200"
    header, row = lines[2], lines[3]
    assert header.split() == ["TENANT", "ENVIRONMENT", "TARGET", "AVAILABILITY", "MET", "ELIGIBLE", "MAINTENANCE",
                              "DOWNTIME", "UNKNOWN", "BUDGET", "REMAINING", "OUTAGES"]
    for value in ["acme-prod", "99.920%", "99.840%", "NO", "732h", "13h", "1h 10m", "59m", "35m 8s", "-34m 52s"]:
        assert value in row
    # columns line up: each header starts where its column does or ends where it ends
    assert len(header) == len(row)
    assert "2026-10-25 03:30:00 +0300  2026-10-25 03:30:00 +0200" in out.stdout


def test_csv_report(month):
    d, db, _, _ = month
    out = report(d, db, "--format", "csv")
    lines = out.stdout.splitlines()
    assert lines[0].startswith("month,tenant,environment,target,availability,met,eligible_seconds")
    assert lines[1].startswith("2026-10,acme-prod,production,0.9992,0.9984")
    assert lines[1].endswith(",false,2635200.0,46800.0,4200.0,3540.0,2108.16,-2091.84,3")


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["report", "--month", "2026-13"], 2, "expected YYYY-MM"),
        (["report", "--month", "2026-10", "--tenant", "nobody"], 1, "unknown tenant 'nobody'"),
        (["report", "--month", "2026-10", "--format", "xml"], 2, "invalid choice"),
        (["report"], 2, "required: --month"),
        (["windows", "--from", "2026-10-31", "--to", "2026-10-01"], 1, "is before --from"),
    ],
)
def test_cli_errors(month, args, code, message):
    d, db, _, _ = month
    out = cli(args[0], "--config.file", str(d / "config.yaml"), "--storage.path", db, *args[1:]) if args[0] == "report" \
        else cli(args[0], "--config.file", str(d / "config.yaml"), *args[1:])
    assert out.returncode == code
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_report_on_a_missing_store_is_an_error(month, tmp_path):
    d, _, _, _ = month
    out = report(d, str(tmp_path / "nope.db"))
    assert out.returncode == 1 and "no such store" in out.stderr


def test_windows_lists_local_and_utc(month):
    d, _, _, _ = month
    out = cli("windows", "--config.file", str(d / "config.yaml"), "--from", "2026-10-24", "--to", "2026-10-25")
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[3:]]
    # The fall-back Sunday: 2 h elapsed, 02:00 EEST to 03:00 EET on the clock.
    assert rows == [["weekly", "all", "2026-10-25", "Sun", "02:00", "+0300", "2026-10-25", "Sun", "03:00", "+0200",
                     "2026-10-24T23:00:00Z", "2026-10-25T01:00:00Z", "2h"]]


def test_import_shows_progress_on_a_terminal(month, tmp_path):
    """On a terminal, a large import reports lines read as it goes (here: a pty)."""
    import os
    import pty

    d, _, _, _ = month
    out = bytearray()

    def read(fd):
        data = os.read(fd, 4096)
        out.extend(data)
        return data

    argv = [sys.executable, "-m", "exporter", "import", "--config.file", str(d / "config.yaml"),
            "--storage.path", str(tmp_path / "tty.db"), str(d / "october.csv")]
    status = pty.spawn(argv, read)
    assert os.waitstatus_to_exitcode(status) == 0
    text = out.decode()
    assert "170,000 lines read" in text  # progress, every 10,000 lines
    assert "178,680 rows for 4 probes" in text  # and the summary at the end
