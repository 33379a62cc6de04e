"""`sla-exporter demo` as a newcomer runs it: a real process, figures within a minute."""

import signal
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from exporter import demo


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
