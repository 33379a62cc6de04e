"""`sla-exporter demo`: its figures by design at any moment of a month (the clock is always
injected), and the real process as a newcomer runs it."""

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter import config, demo
from exporter.engine.accounting import probe_runs
from exporter.engine.maintenance import maintenance_intervals
from exporter.engine.months import month_bounds, month_bounds_ms, previous_month_start
from exporter.probing.recorder import Recorder, Result
from exporter.store.sqlite import Store
from exporter.support import detection
from exporter.web.collector import ExporterStatus, SLACollector
from realproc import free_port

HEL = ZoneInfo("Europe/Helsinki")
EPS = 1e-6  # float noise: epoch seconds carry ~1e-7 s, on a month one second old; the bands are far wider


def local(*args):
    return dt.datetime(*args, tzinfo=HEL).timestamp()


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def _month_of(t):
    d = dt.datetime.fromtimestamp(t, HEL)
    return d.year, d.month


class Demo:
    """The demo's month seeded at ``now`` in a store in tmp_path, read through the exporter's
    own recorder and collector: the figures /metrics would show, at any injected time."""

    def __init__(self, tmp_path, now):
        self.now = now
        self.cfg = config.load_text(demo.demo_config("http://127.0.0.1:9", now))
        tmp_path.mkdir()
        self.store = Store(str(tmp_path / "sla.db"))
        self.seeded = demo.seed_history(self.store, self.cfg, now)
        demo.seed_support(self.store, now)
        self.plan = demo.Plan(self.cfg, now, self.seeded)
        self.recorder = Recorder(self.store, self.cfg, previous_month_start(now, self.cfg.timezone))
        self.clock = now
        self.collector = SLACollector(
            lambda: self.cfg, self.recorder, ExporterStatus(True, now), lambda: self.clock, store=self.store
        )

    def scrape(self, t):
        """{metric: {tenant: value}} of the per-tenant samples at ``t``."""
        self.clock = t
        out = {}
        for family in self.collector.collect():
            for s in family.samples:
                if set(s.labels) == {"tenant"}:
                    out.setdefault(s.name, {})[s.labels["tenant"]] = s.value
        return out

    def close(self):
        self.store.close()


@pytest.fixture
def month(tmp_path):
    made = []

    def make(now):
        made.append(Demo(tmp_path / str(len(made)), now))
        return made[-1]

    yield make
    for d in made:
        d.close()


# (when the demo starts, initech-test's maintenance window open at that instant)
MOMENTS = [
    pytest.param(local(2026, 12, 1, 0, 20), True, id="00:20 on the 1st"),
    pytest.param(local(2026, 12, 1, 0, 0, 1), False, id="a month's first second"),  # the window opens at 00:01
    pytest.param(local(2026, 12, 1, 0, 1), True, id="a month's second minute"),
    pytest.param(local(2026, 12, 16, 12), True, id="mid-month"),
    pytest.param(local(2026, 11, 30, 23, 59), True, id="a month's last minute"),
    pytest.param(local(2026, 11, 30, 23, 59, 59), True, id="a month's last second"),
    pytest.param(local(2026, 10, 4, 3), True, id="inside the quarterly window"),
    # 04:00:30 EEST, just after the gap; "now minus a minute" in local time would be 03:59,
    # which does not exist and reads as 04:59: a window not yet open.
    pytest.param(utc(2026, 3, 29, 1, 0, 30), True, id="spring forward"),
    pytest.param(utc(2026, 10, 25, 0, 30), True, id="fall back, first 03:30"),
    pytest.param(utc(2026, 10, 25, 1, 30), True, id="fall back, second 03:30"),
    pytest.param(local(2028, 2, 29, 12), True, id="29 February"),
    pytest.param(local(2028, 2, 29, 23, 59, 59), True, id="29 February, last second"),
]


@pytest.mark.parametrize("now, window_open", MOMENTS)
def test_initech_tests_window_is_open_from_the_start(now, window_open):
    # Its own window, read back from the config the demo writes (the weekly window covers
    # the spring-forward hour anyway): open at the start, or in a month's first minute from
    # the next one, so that the tenant has eligible time before it; well before the
    # script's outage at 130 s either way.
    cfg = config.load_text(demo.demo_config("http://127.0.0.1:9", now))
    windows = [w for w in cfg.tenant("initech-test").windows if w.name == "demo-maintenance"]
    ((lo, hi),) = maintenance_intervals(windows, now - 86400, now + 86400)
    assert lo <= now < hi if window_open else now < lo <= now + 60
    assert lo > month_bounds(*_month_of(now), "Europe/Helsinki")[0]
    assert hi - now >= (demo.MAINTENANCE_HOURS - 1) * 3600  # an hour less only where its start is ambiguous


@pytest.mark.parametrize("now, window_open", MOMENTS)
def test_each_tenant_reads_its_band_whenever_the_demo_starts(month, now, window_open):
    d = month(now)
    m = d.scrape(now)
    availability = m["sla_availability_ratio"]
    assert set(availability) == set(demo.BANDS)
    for tenant, band in demo.BANDS.items():
        assert band.floor - EPS <= availability[tenant] <= band.top + EPS, (tenant, availability[tenant], band)
        if m["sla_month_eligible_seconds"][tenant] >= 3600:  # milliseconds no longer matter: the design value
            assert availability[tenant] == pytest.approx(band.design, abs=1e-6), tenant
    assert len(set(availability.values())) == 3  # different histories, different figures
    assert set(m["sla_month_unknown_seconds"].values()) == {0.0}  # the seeded results cover the month so far
    # What the demo prints at start is what the exporter reads.
    assert m["sla_month_downtime_seconds"] == pytest.approx({t: s.downtime for t, s in d.seeded.items()}, abs=1e-3)
    assert availability == pytest.approx({t: s.availability for t, s in d.seeded.items()}, abs=EPS)
    assert m["sla_maintenance_active"]["initech-test"] == (1 if window_open else 0)
    assert m["sla_error_budget_seconds"]["acme-prod"] > 0


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(local(2026, 12, 1, 0, 20), id="00:20 on the 1st"),
        pytest.param(local(2026, 12, 31, 23, 59, 59), id="a month's last second"),
    ],
)
def test_each_seeded_result_holds_until_the_next_under_the_demo_config(now):
    # What keeps the seeded month free of unknown time, whatever reads it: the config the
    # demo writes lets every result hold at least until the probe's next one.
    cfg = config.load_text(demo.demo_config("http://127.0.0.1:9", now))
    history, _ = demo.month_history(cfg, now)
    assert len(history) == 12
    for (tenant, probe), observations in history.items():
        stale_after = next(p.stale_after for p in cfg.tenant(tenant).probes if p.name == probe)
        times = [ms for ms, _ in observations]
        assert times[0] == month_bounds(2026, 12, "Europe/Helsinki")[0] * 1000 and times[-1] == now * 1000
        assert max(b - a for a, b in itertools.pairwise(times)) <= stale_after * 1000, (tenant, probe)


def test_at_a_months_first_instant_there_is_nothing_to_read_yet(month):
    d = month(local(2026, 12, 1))
    assert {s.availability for s in d.seeded.values()} == {None}
    m = d.scrape(d.now)
    assert "sla_availability_ratio" not in m
    assert set(m["sla_up"]) == set(demo.BANDS)


def test_seeded_history_has_outages_and_support_cases(month):
    d = month(local(2026, 12, 16, 12))
    incidents = d.store.incidents(open_only=True)
    assert [(i.id, i.tenant, i.priority) for i in incidents] == [("INC-DEMO-1", "acme-prod", "P2")]
    assert [r.id for r in d.store.requests(open_only=True)] == ["SR-DEMO-1"]
    m = d.scrape(d.now)
    # acme-prod's SLA counts complete outages only: its long chat outage is in the history
    # but not in its downtime (two outages counted, not three).
    assert m["sla_outages_total"] == {"acme-prod": 2, "globex-prod": 2, "initech-test": 3}
    acme = d.cfg.tenant("acme-prod")
    chat = next(p for p in acme.probes if p.name == "chat")
    lo = month_bounds_ms(2026, 12, "Europe/Helsinki")[0]
    runs = probe_runs(d.store, "acme-prod", chat, lo, int(d.now * 1000))
    assert sum(r.end - r.start for r in runs if not r.success) / 1000 > m["sla_month_downtime_seconds"]["acme-prod"]


def simulate(d, minutes):
    """The daemon's work for ``minutes`` from the demo's start, without its threads and
    without waiting: every probe runs every 2 s against the plan (as the endpoints answer),
    incidents are detected as the daemon does, and /metrics is read every 10 s. Returns the
    scrapes [(t, figures)] and the detected incidents opened [(tenant, priority, t)]."""
    probes = [(t.name, p.name) for t in d.cfg.tenants for p in t.probes]
    scrapes, opened, open_now = [], [], {}
    for n in range(int(minutes * 30)):
        t = d.now + 0.5 + 2 * n
        for i, (tenant, probe) in enumerate(probes):
            started = t + i * 0.01
            d.recorder.observe(
                tenant, probe, Result(started=started, success=d.plan.up(tenant, probe, started), duration=0.01)
            )
        for a in detection.detect(list(d.cfg.tenants), d.recorder.tick(t + 1), open_now):
            if a.kind == "open":
                open_now[a.tenant] = ("DET", a.priority)
                opened.append((a.tenant, a.priority, t + 1 - d.now))
            elif a.kind == "close":
                del open_now[a.tenant]
        if n % 5 == 4:
            scrapes.append((t + 1, d.scrape(t + 1)))
    return scrapes, opened


# (start, minutes run, whether globex-prod's complete outage (a detected P1) runs)
RUNS = [
    # The month to date is 20 minutes old: one 10 s outage would cost globex-prod 0.6 %, so
    # the script holds it back; acme-prod's chat outage costs nothing and shows a P2.
    pytest.param(local(2026, 12, 1, 0, 20), 20, False, id="00:20 on the 1st, 20 minutes"),
    pytest.param(local(2026, 12, 16, 12), 30, True, id="mid-month, 30 minutes"),
    pytest.param(local(2028, 2, 29, 8), 15, True, id="29 February, 15 minutes"),
    # acme-prod and globex-prod are in the weekly window until 05:00 EEST: outages are free.
    pytest.param(utc(2026, 3, 29, 1, 0, 30), 10, True, id="spring forward, in the weekly window"),
    # Into the next month, which has no seeded history: only the floor is promised there.
    pytest.param(local(2026, 11, 30, 23, 57), 10, True, id="across the month's end"),
    # A second of seeded history: the demo's own up time outweighs it at once.
    pytest.param(local(2026, 12, 1, 0, 0, 1), 10, False, id="a month's first second, 10 minutes"),
]


@pytest.mark.parametrize("start, minutes, complete_outage", RUNS)
def test_the_live_script_cannot_take_a_figure_out_of_its_band(month, start, minutes, complete_outage):
    d = month(start)
    scrapes, opened = simulate(d, minutes)
    for t, m in scrapes:
        for tenant, value in m.get("sla_availability_ratio", {}).items():
            band = demo.BANDS[tenant]
            assert value >= band.floor - EPS, (tenant, t - start, value)
            # The top holds while the demo has run no longer than the month had before it.
            if _month_of(t) == _month_of(start) and t - start <= d.seeded[tenant].eligible:
                assert value <= band.top + EPS, (tenant, t - start, value)
    priorities = {(tenant, priority) for tenant, priority, _ in opened}
    assert ("acme-prod", "P2") in priorities  # the partial outage, at any moment
    assert (("globex-prod", "P1") in priorities) == complete_outage
    assert not any(tenant == "initech-test" for tenant, _, _ in opened)  # non-production: no P1/P2


def test_the_complete_outage_waits_until_the_month_can_absorb_it(month):
    d = month(local(2026, 12, 1, 0, 20))
    first = d.plan.first("globex-prod")
    assert 0 < first < 288
    # Where the script lets it run, 10 s more downtime (and a probe interval's edge) keep
    # globex-prod at or above its floor; one cycle earlier they would not have.
    scrapes, opened = simulate(d, (first + 1) * demo.CYCLE / 60)
    assert [t for tenant, priority, t in opened if priority == "P1"] == pytest.approx([first * demo.CYCLE + 74], abs=4)
    lowest = min(m["sla_availability_ratio"]["globex-prod"] for _, m in scrapes)
    assert demo.BANDS["globex-prod"].floor <= lowest < demo.BANDS["globex-prod"].design


def test_endpoints_answer_as_the_plan_says(month):
    mid, early = month(local(2026, 12, 16, 12)), month(local(2026, 12, 1, 0, 20))
    clock = [0.0]
    endpoints = demo.Endpoints(clock=lambda: clock[0])
    try:
        cases = [  # (demo, seconds after its start, tenant, channel, up)
            (mid, 25, "acme-prod", "chat", False),
            (mid, 25, "acme-prod", "agent-ui", True),
            (mid, 55, "acme-prod", "chat", True),
            (mid, demo.CYCLE + 25, "acme-prod", "chat", False),
            (mid, 75, "globex-prod", "voice-api", False),
            (mid, 85, "globex-prod", "voice-api", True),
            (mid, 140, "initech-test", "rest-api", False),
            (mid, 140, "acme-prod", "rest-api", True),
            (early, 25, "acme-prod", "chat", False),
            (early, 75, "globex-prod", "voice-api", True),  # held back
            (early, 140, "initech-test", "rest-api", False),
        ]
        for d, at, tenant, channel, up in cases:
            endpoints.plan, clock[0] = d.plan, d.now + at
            assert _status(f"{endpoints.url}/{tenant}/{channel}") == (200 if up else 503), (at, tenant, channel)
        endpoints.plan = None  # before the plan is made, everything is up
        assert _status(f"{endpoints.url}/acme-prod/chat") == 200
    finally:
        endpoints.close()


def test_initech_test_fails_only_inside_its_window(month):
    d = month(local(2026, 12, 16, 12))
    cycles = int(demo.MAINTENANCE_HOURS * 3600 // demo.CYCLE)
    i = [s.tenant for s in demo.SCRIPT].index("initech-test")
    assert all(d.plan.cycle(n)[i] for n in range(cycles - 1))
    assert not any(d.plan.cycle(n)[i] for n in range(cycles + 1, cycles + 20))  # it would count: not scripted


def test_designed_downtime_stays_in_band_when_rounded():
    band = demo.BANDS["acme-prod"]  # 0.05 % of a second is half a millisecond
    assert demo.designed_downtime(band, 1000) == 0
    assert demo.designed_downtime(band, 3000) == 2  # 1.5 ms: two failed results at distinct milliseconds
    assert demo.designed_downtime(band, 3_600_000) == 1800
    assert demo.designed_downtime(demo.BANDS["globex-prod"], 1000) == 2


def test_start_clock_reads_the_given_instant_and_runs_on():
    real = [1_800_000_000.0]
    clock = demo.start_clock("2026-11-01T00:20:00+02:00", real=lambda: real[0])
    assert clock() == local(2026, 11, 1, 0, 20)
    real[0] += 7.5
    assert clock() == local(2026, 11, 1, 0, 20) + 7.5
    assert demo.start_clock(None, real=lambda: real[0]) is not clock
    with pytest.raises(ValueError, match="future"):
        demo.start_clock("2030-01-01T00:00:00+02:00", real=lambda: real[0])
    with pytest.raises(ValueError, match="UTC offset"):
        demo.start_clock("2026-11-01T00:20:00", real=lambda: real[0])


def test_the_demo_stamps_probe_results_with_its_own_clock(monkeypatch, tmp_path):
    # The figures are computed with the demo's clock; results stamped by the real one would
    # land outside an injected month.
    seen = {}
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the demo keeps its files for the user

    def run_forever(daemon):
        seen["started"] = daemon.prober.probe(daemon.cfg.tenants[0].probes[0]).started
        seen["now"] = daemon.clock()
        daemon.server.server_close()
        daemon.store.close()
        daemon.prober.close()

    monkeypatch.setattr(demo.Daemon, "run_forever", run_forever)
    assert demo.run(("127.0.0.1", 0), clock=demo.start_clock(FAKE_START)) == 0
    assert local(2026, 11, 1, 0, 20) <= seen["started"] <= seen["now"] < local(2026, 11, 1, 0, 21)


FAKE_START = "2026-11-01T00:20:00+02:00"  # in the past, as SLA_DEMO_START must be


def test_the_real_demo_at_0020_on_the_1st_shows_its_bands_within_a_minute(tmp_path):
    port = free_port()
    env = dict(os.environ, SLA_DEMO_START=FAKE_START, TMPDIR=str(tmp_path))  # its files are kept for the user
    proc = subprocess.Popen(
        [sys.executable, "-m", "exporter", "demo", "--web.listen-address", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        samples = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                samples = {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for f in text_string_to_metric_families(text)
                    for s in f.samples
                }
                if sum(1 for name, _ in samples if name == "sla_up") >= 3:
                    break
            except OSError:
                pass
            time.sleep(0.2)

        def of(name, **labels):
            return samples.get((name, tuple(sorted(labels.items()))))

        assert of("sla_month_start_timestamp_seconds") == local(2026, 11, 1)  # the injected clock
        availability = {t: of("sla_availability_ratio", tenant=t) for t in demo.BANDS}
        for tenant, band in demo.BANDS.items():
            assert band.floor <= availability[tenant] <= band.top, availability
        assert availability["acme-prod"] < 1 and len(set(availability.values())) == 3
        assert of("sla_maintenance_active", tenant="initech-test") == 1
        assert of("sla_error_budget_seconds", tenant="acme-prod") > 0
        assert of("sla_support_incidents_open", tenant="acme-prod", priority="P2", source="filed") == 1
        assert of("sla_support_service_requests_open", tenant="initech-test") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out
    assert "sla-exporter demo: three simulated tenants" in out
    assert "Month to date: acme-prod 99.950%, globex-prod 99.800%, initech-test 99.200%." in out
    assert "to date can absorb it: from 01:20." in out


def test_the_real_demo_refuses_a_start_in_the_future():
    env = dict(os.environ, SLA_DEMO_START="2999-01-01T00:00:00+00:00")
    args = [sys.executable, "-m", "exporter", "demo", "--web.listen-address", f"127.0.0.1:{free_port()}"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 1
    assert "SLA_DEMO_START" in proc.stderr and "future" in proc.stderr


def _status(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code
