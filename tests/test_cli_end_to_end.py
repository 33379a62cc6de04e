"""End to end through the real command line: a month of observations -> import -> report.

October 2026 in Helsinki (DST ends on the 25th) with overlapping maintenance windows (the
worked month of docs/semantics.md: config and scripted observations in tests/worked_month.py).
Every expected figure is worked out by hand in the comments, here and there.
"""

import io
import json
import re
import subprocess
import sys

import pytest

from worked_month import CONFIG, write_month


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
    added = ("outages", "measured", "corrections", "credit_ratio", "excluded_seconds", "locations", "quorum")
    assert (acme["locations"], acme["quorum"]) == (["default"], 1)  # one exporter's history
    assert {k: v for k, v in acme.items() if k not in added} == {
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
        {
            "start": "2026-10-05T10:00:00+03:00",
            "end": "2026-10-05T10:10:00+03:00",
            "seconds": 600,
            "counted_seconds": 600,
        },
        {
            "start": "2026-10-11T03:30:00+03:00",
            "end": "2026-10-11T04:30:00+03:00",
            "seconds": 3600,
            "counted_seconds": 1800,
        },
        {
            "start": "2026-10-25T03:30:00+03:00",
            "end": "2026-10-25T03:30:00+02:00",
            "seconds": 3600,
            "counted_seconds": 1800,
        },
    ]
    # No corrections: the measured view is the corrected one; no credit tiers, no credit.
    assert acme["measured"] == {k: v for k, v in acme.items() if k in acme["measured"]}
    assert (acme["corrections"], acme["credit_ratio"], acme["excluded_seconds"]) == ([], 0.0, 0.0)
    # beta-test: its own 90 min window on top; one probe down for an hour is not down
    # with down_when: all.
    assert beta["maintenance_seconds"] == MAINTENANCE + 5400
    assert beta["eligible_seconds"] == MONTH_SECONDS - MAINTENANCE - 5400
    assert (beta["availability"], beta["met"], beta["downtime_seconds"], beta["unknown_seconds"]) == (1.0, True, 0, 0)
    assert beta["error_budget_seconds"] == pytest.approx(0.0008 * (MONTH_SECONDS - MAINTENANCE - 5400))
    assert beta["outages"] == []


def test_importing_the_same_file_again_changes_nothing(month):
    d, db, _, _ = month
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
        "time,tenant,probe,success\n2026-11-02T10:00:00Z,acme-prod,ui,1\n2026-11-02T10:01:00Z,acme-prod,ui,maybe\n"
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
    assert header.split() == [
        "TENANT",
        "ENVIRONMENT",
        "TARGET",
        "AVAILABILITY",
        "MET",
        "ELIGIBLE",
        "MAINTENANCE",
        "DOWNTIME",
        "UNKNOWN",
        "BUDGET",
        "REMAINING",
        "OUTAGES",
    ]
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
    assert ",false,2635200.0,46800.0,4200.0,3540.0,2108.16,-2091.84,3," in lines[1]
    # After the pinned columns: excluded seconds, active corrections, measured availability,
    # the credit owed (0: no tiers configured, nothing owed), the locations and the quorum.
    assert lines[0].endswith(
        ",outages,excluded_seconds,corrections,measured_availability,credit_ratio,locations,quorum"
    )
    assert lines[1].endswith(",3,0.0,0,0.998404049155286,0.0,default,1")


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
    out = (
        cli(args[0], "--config.file", str(d / "config.yaml"), "--storage.path", db, *args[1:])
        if args[0] == "report"
        else cli(args[0], "--config.file", str(d / "config.yaml"), *args[1:])
    )
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
    assert rows == [
        [
            "weekly",
            "all",
            "2026-10-25",
            "Sun",
            "02:00",
            "+0300",
            "2026-10-25",
            "Sun",
            "03:00",
            "+0200",
            "2026-10-24T23:00:00Z",
            "2026-10-25T01:00:00Z",
            "2h",
        ]
    ]


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

    argv = [
        sys.executable,
        "-m",
        "exporter",
        "import",
        "--config.file",
        str(d / "config.yaml"),
        "--storage.path",
        str(tmp_path / "tty.db"),
        str(d / "october.csv"),
    ]
    status = pty.spawn(argv, read)
    assert os.waitstatus_to_exitcode(status) == 0
    text = out.decode()
    assert re.search(r"\r[^\r]*: [\d,]+ lines read \(\d+ s\)", text)  # one line rewritten in place
    assert "178,680 rows for 4 probes" in text  # and the summary at the end


class _Log(io.StringIO):
    def isatty(self):
        return False


def test_import_progress_reaches_a_log_every_few_seconds():
    """Not a terminal (a CI job, a log file): a line every EVERY seconds, then one when the
    file is read, when it took that long, and one per transaction of writing after that."""
    from exporter.cli import _Progress

    now = [0.0]
    log = _Log()
    progress = _Progress("big.csv", stream=log, clock=lambda: now[0])
    for n in range(1, 8):  # a call every 10,000 lines, one a second
        now[0] = float(n)
        progress.lines(n * 10_000)
    progress.lines(None)
    now[0] = 10.0
    progress.written(5_000)
    progress.end()
    assert log.getvalue().splitlines() == [
        "big.csv: 30,000 lines read (3 s)",
        "big.csv: 60,000 lines read (6 s)",
        "big.csv: read and checked; writing (7 s)",
        "big.csv: 5,000 series written (10 s)",
    ]
