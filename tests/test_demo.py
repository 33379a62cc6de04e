"""`sla-exporter demo`: the config it writes at any moment of a month, and the real process as a
newcomer runs it."""

import datetime as dt
import signal
import subprocess
import sys
import time
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter import config, demo
from exporter.maintenance import maintenance_intervals
from exporter.months import month_bounds

HEL = ZoneInfo("Europe/Helsinki")


def local(*args):
    return dt.datetime(*args, tzinfo=HEL).timestamp()


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()


def _month_of(t):
    d = dt.datetime.fromtimestamp(t, HEL)
    return d.year, d.month


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
    (lo, hi), = maintenance_intervals(windows, now - 86400, now + 86400)
    assert lo <= now < hi if window_open else now < lo <= now + 60
    assert lo > month_bounds(*_month_of(now), "Europe/Helsinki")[0]
    assert hi - now >= (demo.MAINTENANCE_HOURS - 1) * 3600  # an hour less only where its start is ambiguous




def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_shows_figures_for_several_tenants_within_a_minute(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "exporter", "demo", "--web.listen-address", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        samples = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                samples = {(s.name, s.labels.get("tenant")): s.value
                           for f in text_string_to_metric_families(text) for s in f.samples}
                if sum(1 for (name, _), v in samples.items() if name == "sla_up") >= 3:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        availability = {t: v for (name, t), v in samples.items() if name == "sla_availability_ratio"}
        assert len(availability) == 3 and all(0.99 < v < 1 for v in availability.values()), availability
        assert len(set(availability.values())) == 3  # different histories, different figures
        assert samples[("sla_maintenance_active", "initech-test")] == 1
        assert samples[("sla_error_budget_seconds", "acme-prod")] > 0
        assert samples[("sla_support_incidents_open", "acme-prod")] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out
    assert "sla-exporter demo: three simulated tenants" in out


def test_scripted_outages_follow_the_cycle():
    clock = [1000.0]
    endpoints = demo.Endpoints(started=1000.0, clock=lambda: clock[0])
    try:
        cases = [(25, "acme-prod", "chat", False), (25, "acme-prod", "agent-ui", True), (80, "globex-prod", "chat", False),
                 (100, "globex-prod", "chat", True), (140, "initech-test", "rest-api", False),
                 (demo.CYCLE + 25, "acme-prod", "chat", False), (200, "acme-prod", "chat", True)]
        for at, tenant, channel, up in cases:
            clock[0] = 1000.0 + at
            with urllib.request.urlopen(f"{endpoints.url}/{tenant}/{channel}") if up else _status(
                    f"{endpoints.url}/{tenant}/{channel}") as r:
                assert r.status == (200 if up else 503), (at, tenant, channel)
    finally:
        endpoints.close()


class _status:
    def __init__(self, url):
        self.url = url

    def __enter__(self):
        try:
            return urllib.request.urlopen(self.url)
        except urllib.error.HTTPError as err:
            return err

    def __exit__(self, *exc):
        return False
