"""Issue 12, as a user and an attacker would try it, with real processes and real servers on
127.0.0.1: a fault of ours is never the vendor's downtime, and no target can stall the
daemon. Each test is bounded in time; conditions are polled, never slept on."""

import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from realproc import Exporter, Target, free_port


class Hostile:
    """Targets that misbehave: a 1 MiB body, headers dripped one line a second."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/big":
                    body = b"x" * (1 << 20)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/drip-headers":
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        for i in range(60):
                            self.wfile.write(f"X-Drip-{i}: 1\r\n".encode())
                            self.wfile.flush()
                            time.sleep(1)
                    except OSError:
                        pass
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile():
    h = Hostile()
    yield h
    h.close()


def closed_port_url():
    return f"http://127.0.0.1:{free_port()}/health"  # nothing listens: refused


def test_a_missing_secret_is_unknown_not_downtime(tmp_path, target):
    e = Exporter(
        tmp_path,
        f"""
tenants:
  - name: acme
    environment: production
    probes:
      - {{name: ui, url: "{target.url}/health", interval: 1s, timeout: 1s,
         headers: {{Authorization: {{env: ACME_API_TOKEN}}}}}}
""",
    )
    try:
        e.start()
        e.wait_for(
            lambda: (e.value("sla_probe_errors_total", tenant="acme", probe="ui", reason="config") or 0) >= 3,
            what="three config faults",
        )
        assert e.value("sla_up", tenant="acme") is None  # unknown, not down
        assert e.value("sla_month_downtime_seconds", tenant="acme") == 0
        assert e.value("sla_probe_success", tenant="acme", probe="ui", location="default") is None
        assert e.value("sla_exporter_probe_faults", reason="config") == 1
        assert e.value("sla_support_incidents_open", tenant="acme", priority="P1", source="detected") is None
        assert e.value("sla_support_incidents_open", tenant="acme", priority="P2", source="detected") is None
        code, body = e.get("/-/ready")
        assert code == 200 and "acme/ui: config: environment variable ACME_API_TOKEN is not set" in body
        log = e.log.read_text()
        assert log.count("a fault of ours") == 1  # once per change, with the detail
        assert "environment variable ACME_API_TOKEN is not set" in log
    finally:
        e.stop(signal.SIGKILL)


def test_while_every_canary_fails_failures_are_unknown(tmp_path):
    canary = Target()
    e = Exporter(
        tmp_path,
        f"""
monitor:
  canaries: ["{canary.url}/health"]
  canary_timeout: 1s
tenants:
  - name: acme
    probes:
      - {{name: ui, url: "{closed_port_url()}", interval: 1s, timeout: 1s}}
""",
    )
    try:
        e.start()
        # The canary answers: the refused target is the vendor's failure, downtime.
        e.wait_for(lambda: e.value("sla_up", tenant="acme") == 0, what="down while the canary answers")
        assert e.value("sla_exporter_network_up") == 1
        canary.close()  # our network "goes down": nothing answers any more
        e.wait_for(lambda: e.value("sla_exporter_network_up") == 0, timeout=30, what="network down")
        before = e.wait_for(
            lambda: e.value("sla_probe_errors_total", tenant="acme", probe="ui", reason="network"),
            what="a network fault",
        )
        down_before = e.value("sla_month_downtime_seconds", tenant="acme")
        e.wait_for(
            lambda: e.value("sla_probe_errors_total", tenant="acme", probe="ui", reason="network") >= before + 3,
            what="three more network faults",
        )
        # The last vendor failure holds for stale_after (2 s) at most; then nothing more is down.
        assert e.value("sla_month_downtime_seconds", tenant="acme") - down_before <= 2.5
        assert e.value("sla_up", tenant="acme") is None
        assert "every connectivity canary fails" in e.log.read_text()
    finally:
        e.stop(signal.SIGKILL)


def test_a_catastrophic_pattern_on_a_big_body_stalls_nothing(tmp_path, hostile):
    e = Exporter(
        tmp_path,
        f"""
tenants:
  - name: acme
    probes:
      - {{name: ui, url: "{hostile.url}/big", interval: 2s, timeout: 2s, expect_body_regex: ".*UP"}}
""",
    )
    try:
        e.start()
        e.wait_for(
            lambda: (e.value("sla_probe_errors_total", tenant="acme", probe="ui", reason="body") or 0) >= 3,
            what="three body failures",
        )
        t0 = time.monotonic()
        assert e.get("/metrics")[0] == 200
        assert time.monotonic() - t0 < 1.0
        t0 = time.monotonic()
        assert e.stop(signal.SIGTERM) == 0
        assert time.monotonic() - t0 < 5
    finally:
        e.stop(signal.SIGKILL)


def test_a_target_dripping_header_lines_times_out_at_the_timeout(tmp_path, hostile):
    e = Exporter(
        tmp_path,
        f"""
tenants:
  - name: acme
    probes:
      - {{name: ui, url: "{hostile.url}/drip-headers", interval: 5s, timeout: 3s}}
""",
    )
    try:
        e.start()
        t0 = time.monotonic()
        e.wait_for(
            lambda: e.value("sla_probe_errors_total", tenant="acme", probe="ui", reason="timeout"),
            timeout=15,
            what="a timeout",
        )
        assert time.monotonic() - t0 < 8  # the first run ended at its 3 s timeout, not after 60 s
        assert 2.5 <= e.value("sla_probe_duration_seconds", tenant="acme", probe="ui", location="default") < 4.5
    finally:
        e.stop(signal.SIGKILL)


def test_check_reports_a_missing_secret(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "c.yaml"
    config.write_text("""
tenants:
  - name: acme
    probes:
      - {name: ui, url: "https://acme.example.com/", headers: {Authorization: {env: ACME_API_TOKEN_UNSET}}}
""")
    out = subprocess.run(
        [sys.executable, "-m", "exporter", "check", "--config.file", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"sla-exporter check: {config}: tenants[0].probes[0].headers.Authorization: "
        "environment variable ACME_API_TOKEN_UNSET is not set (tenant acme, probe ui)"
    )
    assert "Traceback" not in out.stderr


def test_a_reload_storm_does_not_stop_the_probes(tmp_path, target):
    """POST /-/reload every half second: unchanged probes keep their slots, so a 2 s probe
    still runs about every 2 s (before, every reload restarted its timing: it never ran)."""
    e = Exporter(
        tmp_path,
        f"""
tenants:
  - name: acme
    probes:
      - {{name: ui, url: "{target.url}/health", interval: 2s, timeout: 1s}}
""",
    )
    try:
        e.start()
        e.wait_for(
            lambda: e.value("sla_probe_success", tenant="acme", probe="ui", location="default") == 1,
            what="a first result",
        )
        target.healthy = False  # count runs through the failures they record
        t0 = time.monotonic()
        while time.monotonic() - t0 < 8.5:
            assert e.get("/-/reload", method="POST")[0] == 200
            time.sleep(0.5)
        runs = e.value("sla_probe_errors_total", tenant="acme", probe="ui", reason="status") or 0
        assert runs >= 3  # about 4 slots in 8.5 s
    finally:
        e.stop(signal.SIGKILL)
