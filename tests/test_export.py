"""History into Prometheus: ``sla-exporter export --format openmetrics``.

The samples at each step are the month-to-date figures ``availability.figures`` gives
(engine.timeline, held to it by hypothesis); the last sample of a month is the report;
promtool turns the file into blocks and a real Prometheus reads them back (skipped locally
without the ``prometheus`` package, failed when CI is set)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from hypothesis import given, strategies as st

from exporter import config, export, report
from exporter.engine import intervals as iv
from exporter.engine.availability import figures
from exporter.engine.states import StateIntervals
from exporter.engine.timeline import holds_before, measure_before, samples
from exporter.store import importer
from exporter.store.sqlite import Store
from realproc import binary, free_port
from worked_month import CONFIG, MONTH_END, write_month

# -- the sweep is the formula at every instant ------------------------------------------------

LO, HI = 0, 1000


@st.composite
def states(draw):
    cuts = sorted(set(draw(st.lists(st.integers(LO + 1, HI - 1), max_size=12))))
    bounds = [LO, *cuts, HI]
    parts = {"up": [], "down": [], "unknown": []}
    for a, b in itertools.pairwise(bounds):
        parts[draw(st.sampled_from(sorted(parts)))].append((a, b))
    return StateIntervals(iv.normalize(parts["up"]), iv.normalize(parts["down"]), iv.normalize(parts["unknown"]))


windows = st.lists(st.tuples(st.integers(-100, 1100), st.integers(1, 300)), max_size=5).map(
    lambda ws: iv.normalize([(a, a + d) for a, d in ws])
)


@given(
    states(),
    windows,
    st.lists(st.integers(LO + 1, HI), min_size=1, max_size=30, unique=True),
    st.sampled_from([0.9, 0.99, 0.9992]),
    windows,  # time excluded by corrections
)
def test_samples_are_the_month_to_date_figures_at_each_instant(state, maintenance, times, target, excluded):
    times = sorted(times)
    for s in samples(state, maintenance, LO, HI, target, times, excluded):
        f = figures(state, maintenance, LO, HI, target, now=s.t, excluded=excluded)
        assert (s.eligible, s.maintenance, s.downtime, s.unknown) == (f.eligible, f.maintenance, f.downtime, f.unknown)
        assert (s.availability, s.met, s.error_budget, s.error_budget_remaining) == (
            f.availability,
            f.met,
            f.error_budget,
            f.error_budget_remaining,
        )
        last = s.t - 1
        expected = next(
            name for name in ("down", "unknown", "up") if any(a <= last < b for a, b in getattr(state, name))
        )
        assert s.state == expected
        assert s.maintenance_active == any(a <= last < b for a, b in maintenance)


@pytest.mark.parametrize(
    "intervals, lo, times, measured, held",
    [
        ([], 0, [5, 10], [0, 0], [False, False]),
        ([(0, 10)], 0, [1, 10, 11], [1, 10, 10], [True, True, False]),
        ([(-5, 3), (6, 8)], 0, [2, 4, 7, 9], [2, 3, 4, 5], [True, False, True, False]),
    ],
)
def test_measure_and_holds_before(intervals, lo, times, measured, held):
    assert measure_before(intervals, lo, times) == measured
    assert holds_before(intervals, times) == held


# -- the export of the worked month -------------------------------------------------------------


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    (d / "config.yaml").write_text(CONFIG)
    write_month(d / "october.csv")
    cfg = config.load(str(d / "config.yaml"))
    with Store(str(d / "s.db")) as store, open(d / "october.csv", newline="") as f, importer.parse(f, cfg) as obs:
        importer.import_observations(store, cfg, obs)
    return d, cfg


def parse_openmetrics(text):
    """{(name, labels): [(timestamp s, value)]} and the order of the families."""
    series, families = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            families.append(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+) (\d+\.\d{3})", line)
        assert m, line
        series.setdefault((m[1], m[2] or ""), []).append((float(m[4]), float(m[3])))
    return series, families


def exported(d, cfg, step_ms=3_600_000, now=None):
    out = io.StringIO()
    with Store(str(d / "s.db"), create=False) as store:
        n = export.openmetrics(
            out, cfg, store, 2026, 10, list(cfg.tenants), step_ms, now=now or MONTH_END.timestamp() + 86400
        )
    return out.getvalue(), n


def test_the_last_sample_of_a_month_is_its_report(month):
    d, cfg = month
    text, n = exported(d, cfg)
    assert text.endswith("# EOF\n")
    series, families = parse_openmetrics(text)
    assert len(families) == len(set(families))  # each family once, its samples together
    assert "sla_downtime_seconds" in families  # counters by their family name, samples _total
    assert n == sum(len(v) for v in series.values())
    with Store(str(d / "s.db"), create=False) as store:
        doc = report.build(cfg, store, 2026, 10, list(cfg.tenants))
    end = MONTH_END.timestamp()
    for row in doc["tenants"]:
        labels = f'tenant="{row["tenant"]}"'
        last = {name: values[-1] for (name, lab), values in series.items() if lab == labels}
        assert {v[0] for v in last.values()} == {end}
        assert last["sla_availability_ratio"][1] == row["availability"]
        assert last["sla_month_downtime_seconds"][1] == row["downtime_seconds"]
        assert last["sla_month_eligible_seconds"][1] == row["eligible_seconds"]
        assert last["sla_month_unknown_seconds"][1] == row["unknown_seconds"]
        assert last["sla_error_budget_remaining_seconds"][1] == row["error_budget_remaining_seconds"]
        # No history before October: the counters are the month's own figures.
        assert last["sla_downtime_seconds_total"][1] == row["downtime_seconds"]
        assert last["sla_eligible_seconds_total"][1] == row["eligible_seconds"] - row["unknown_seconds"]


def test_samples_follow_the_month_hour_by_hour(month):
    d, cfg = month
    series, _ = parse_openmetrics(exported(d, cfg)[0])
    acme = 'tenant="acme-prod"'
    hours = (
        MONTH_END.timestamp() - dt.datetime(2026, 10, 1, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp()
    ) / 3600
    assert len(series[("sla_month_eligible_seconds", acme)]) == hours == 745  # 31 days and the DST hour
    # Mon 5th 10:00-10:10 EEST the api probe fails: at 11:00 the month has 600 s down.
    at = dt.datetime(2026, 10, 5, 11, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp()
    downtime = dict(series[("sla_month_downtime_seconds", acme)])
    assert downtime[at - 3600] == 0 and downtime[at] == 600
    # The 12:00-12:59 monitor gap on the 20th: no probe samples at 13:00 (stale), unknown since 12:01.
    gap_end = dt.datetime(2026, 10, 20, 13, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp()
    ui = dict(series[("sla_probe_success", acme + ',probe="ui",location="default"')])
    assert gap_end - 3600 in ui and gap_end not in ui
    assert dict(series[("sla_up", acme)]).get(gap_end) is None  # unknown: no sample, as on /metrics
    # The weekly window: Sun 4th 02:00-04:00 EEST.
    active = dict(series[("sla_maintenance_active", acme)])
    sunday = dt.datetime(2026, 10, 4, 3, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp()
    assert (active[sunday], active[sunday + 3600], active[sunday + 7200]) == (1.0, 1.0, 0.0)


def test_a_month_in_progress_ends_at_now(month):
    d, cfg = month
    now = dt.datetime(2026, 10, 10, 12, 30, tzinfo=dt.UTC).timestamp()
    series, _ = parse_openmetrics(exported(d, cfg, now=now)[0])
    stamps = [t for t, _ in series[("sla_month_eligible_seconds", 'tenant="acme-prod"')]]
    assert stamps[-1] <= now < stamps[-1] + 3600


def export_cli(d, *extra):
    """``sla-exporter export`` of the worked month, as a user runs it."""
    argv = ["export", "--config.file", str(d / "config.yaml"), "--storage.path", str(d / "s.db")]
    argv += ["--month", "2026-10", "--format", "openmetrics", *extra]
    return subprocess.run([sys.executable, "-m", "exporter", *argv], capture_output=True, text=True)


@pytest.mark.parametrize(
    "extra, code, message",
    [
        (["--step", "0.5s"], 2, "expected at least 1s, got '0.5s'"),
        (["--step", "often"], 2, "--step"),
        (["--tenant", "nobody"], 1, "unknown tenant 'nobody'"),
        (["--output", "/nonexistent/dir/x.om"], 1, "/nonexistent/dir/x.om: cannot write"),
    ],
)
def test_export_refuses_with_one_line(month, extra, code, message):
    d, _ = month
    result = export_cli(d, *extra)
    assert result.returncode == code
    assert message in result.stderr and "Traceback" not in result.stderr


# -- promtool and a real Prometheus ---------------------------------------------------------------


def test_promtool_backfills_the_export_and_prometheus_reads_it(month, tmp_path):
    promtool, prometheus = binary("promtool"), binary("prometheus")
    d, cfg = month
    om = tmp_path / "october.om"
    result = export_cli(d, "--step", "5m", "--output", str(om))
    assert result.returncode == 0, result.stderr
    data = tmp_path / "data"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=744h", str(om), str(data)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    (tmp_path / "prometheus.yml").write_text("global: {}\n")
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with Store(str(d / "s.db"), create=False) as store:
            doc = report.build(cfg, store, 2026, 10, list(cfg.tenants))
        end = MONTH_END.timestamp()
        query = urllib.parse.urlencode({"query": "sla_availability_ratio", "time": f"{end:.3f}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=5) as r:
                    got = json.load(r)["data"]["result"]
                if got:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "prometheus did not answer with the backfilled series"
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.5)
        values = {s["metric"]["tenant"]: float(s["value"][1]) for s in got}
        assert values == {row["tenant"]: row["availability"] for row in doc["tenants"]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("state", ["up", "excluded"])
def test_corrections_are_in_the_export_as_in_the_report(month, tmp_path, state):
    """The api outage of Mon 5th 10:00-10:10 corrected (a false positive): the last sample
    is the corrected report; the month before the correction's start is unchanged."""
    from exporter.store import ledger

    d, cfg = month
    db = tmp_path / "s.db"
    shutil.copy(d / "s.db", db)
    hel = dt.timezone(dt.timedelta(hours=3))
    start, end = (dt.datetime(2026, 10, 5, h, m, tzinfo=hel) for h, m in ((10, 0), (10, 10)))
    with Store(str(db)) as store:
        ledger.correct(
            store, cfg, "acme-prod", int(start.timestamp() * 1000), int(end.timestamp() * 1000), state,
            "false-positive", "our probe's proxy", "alice", now=int(end.timestamp() * 1000) + 60_000,
        )  # fmt: skip
        doc = report.build(cfg, store, 2026, 10, list(cfg.tenants))
        out = io.StringIO()
        export.openmetrics(out, cfg, store, 2026, 10, list(cfg.tenants), 3_600_000, now=MONTH_END.timestamp() + 86400)
    series, _ = parse_openmetrics(out.getvalue())
    acme = next(r for r in doc["tenants"] if r["tenant"] == "acme-prod")
    last = {name: values[-1][1] for (name, lab), values in series.items() if lab == 'tenant="acme-prod"'}
    assert acme["downtime_seconds"] == acme["measured"]["downtime_seconds"] - 600
    for name, key in (
        ("sla_availability_ratio", "availability"),
        ("sla_month_downtime_seconds", "downtime_seconds"),
        ("sla_month_eligible_seconds", "eligible_seconds"),
        ("sla_error_budget_seconds", "error_budget_seconds"),
    ):
        assert last[name] == acme[key], name
    assert dict(series[("sla_month_downtime_seconds", 'tenant="acme-prod"')])[start.timestamp() + 3600] == 0
