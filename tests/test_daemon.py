"""Integration: the real `sla-exporter run` process probing real HTTP servers on 127.0.0.1.

These tests take real seconds (a 1 s probe must see an 8 s outage); they poll /metrics
until a condition holds or a deadline passes, never sleep a fixed time to assert.
"""

import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from realproc import Exporter, config_for


@pytest.fixture
def exporter(tmp_path, target):
    e = Exporter(tmp_path, config_for(target.url))
    yield e
    e.stop(signal.SIGKILL)


def test_outage_is_measured_and_survives_kill_9(exporter, target):
    exporter.start()
    exporter.wait_for(lambda: exporter.value("sla_up", tenant="acme") == 1, what="sla_up 1")
    before = exporter.value("sla_downtime_seconds_total", tenant="acme")
    target.healthy = False
    t0 = time.monotonic()
    exporter.wait_for(lambda: exporter.value("sla_up", tenant="acme") == 0, what="sla_up 0")
    while time.monotonic() - t0 < 8:
        time.sleep(0.1)
    target.healthy = True
    exporter.wait_for(lambda: exporter.value("sla_up", tenant="acme") == 1, what="sla_up 1 again")
    downtime = exporter.value("sla_downtime_seconds_total", tenant="acme") - before
    assert 6 <= downtime <= 10
    assert exporter.value("sla_availability_ratio", tenant="acme") < 1
    assert exporter.value("sla_probe_errors_total", tenant="acme", probe="ui", reason="status") >= 6
    log = exporter.log.read_text()
    assert 'msg="probe state change" tenant=acme probe=ui from=up to=down reason=status' in log
    assert 'msg="tenant state change" tenant=acme from=down to=up' in log
    # Make sure the outage's end has been committed (group commit is about 1 s), then crash.
    time.sleep(2.5)
    exporter.stop(signal.SIGKILL)
    exporter.start()
    after = exporter.value("sla_downtime_seconds_total", tenant="acme")
    assert after == pytest.approx(before + downtime, abs=1.0)


def test_hung_target_does_not_delay_other_probes(tmp_path, target):
    e = Exporter(
        tmp_path,
        config_for(
            target.url,
            f"""
  - name: hung
    probes:
      - {{name: api, url: "{target.url}/hang", interval: 1s, timeout: 1s}}
""",
        ),
    )
    try:
        e.start()
        first = e.wait_for(
            lambda: e.value("sla_probe_errors_total", tenant="hung", probe="api", reason="timeout"), what="a timeout"
        )
        assert first >= 1
        seen = set()
        # The healthy probe keeps reporting about once a second while the other one hangs.
        e.wait_for(
            lambda: (
                len(
                    seen.add(e.value("sla_probe_duration_seconds", tenant="acme", probe="ui", location="default"))
                    or seen
                )
                >= 4
            ),
            timeout=8,
            what="fresh results of the healthy probe",
        )
        assert e.value("sla_up", tenant="acme") == 1
        assert e.value("sla_up", tenant="hung") == 0
    finally:
        e.stop(signal.SIGKILL)


def test_reload_refuses_a_bad_config_and_accepts_a_good_one(exporter, target):
    exporter.start()
    assert exporter.value("sla_exporter_config_last_reload_successful") == 1
    good = exporter.config.read_text()
    exporter.config.write_text("tenants: [")
    exporter.proc.send_signal(signal.SIGHUP)
    exporter.wait_for(lambda: exporter.value("sla_exporter_config_last_reload_successful") == 0, what="refusal")
    assert exporter.value("sla_target_ratio", tenant="acme") == 0.9992  # the running config stays
    assert "config reload refused" in exporter.log.read_text()
    exporter.config.write_text(
        good
        + f"""
  - name: beta
    sla: {{target: 99.5%}}
    probes:
      - {{name: ui, url: "{target.url}/health", interval: 1s}}
"""
    )
    code, body = exporter.get("/-/reload", method="POST")
    assert (code, body.strip()) == (200, "config reloaded")
    assert exporter.value("sla_exporter_config_last_reload_successful") == 1
    exporter.wait_for(lambda: exporter.value("sla_up", tenant="beta") == 1, what="the new tenant probed")
    assert exporter.value("sla_target_ratio", tenant="beta") == 0.995


def test_endpoints_and_clean_shutdown(exporter):
    exporter.start()
    assert exporter.get("/-/healthy") == (200, "OK\n")
    assert exporter.get("/-/ready") == (200, "ready\n")
    code, page = exporter.get("/")
    assert code == 200 and 'href="/metrics"' in page
    assert exporter.get("/-/reload")[0] == 405
    assert exporter.get("/nope")[0] == 404
    assert (
        exporter.value(
            "sla_exporter_build_info",
            version=__import__("exporter").__version__,
            python_version=".".join(map(str, sys.version_info[:3])),
        )
        == 1
    )
    exporter.wait_for(
        lambda: exporter.value("sla_probe_success", tenant="acme", probe="ui", location="default") == 1, what="a result"
    )
    assert exporter.stop(signal.SIGTERM) == 0
    assert 'msg="shutting down"' in exporter.log.read_text()
    # The store was flushed and closed: the month report sees the history.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "report",
            "--config.file",
            str(exporter.config),
            "--storage.path",
            str(exporter.db),
            "--month",
            time.strftime("%Y-%m"),
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert ",acme," in out.stdout


def test_bad_config_exits_1_without_traceback(tmp_path):
    (tmp_path / "c.yaml").write_text("tenants: []\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "run",
            "--config.file",
            str(tmp_path / "c.yaml"),
            "--storage.path",
            str(tmp_path / "db"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1
    assert "tenants" in out.stderr and "Traceback" not in out.stderr


def test_taken_port_exits_1(tmp_path, target):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        (tmp_path / "c.yaml").write_text(config_for(target.url))
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "exporter",
                "run",
                "--config.file",
                str(tmp_path / "c.yaml"),
                "--storage.path",
                str(tmp_path / "db"),
                "--web.listen-address",
                f"127.0.0.1:{s.getsockname()[1]}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 1
    assert "cannot listen on 127.0.0.1" in out.stderr and "Traceback" not in out.stderr


def test_support_api_and_metrics(tmp_path, target):
    e = Exporter(
        tmp_path,
        config_for(target.url)
        + """
support:
  api: {token_env: SLA_TEST_TOKEN}
""",
    )
    auth = {"Authorization": "Bearer t0ken", "Content-Type": "application/json"}
    try:
        e.start(env={"SLA_TEST_TOKEN": "t0ken"})
        assert e.get("/api/v1/incidents", "POST", {"tenant": "acme", "priority": "P1"})[0] == 401
        code, body = e.get("/api/v1/incidents", "POST", {"tenant": "acme", "priority": "P1", "id": "CASE-1"}, auth)
        assert code == 201, body
        labels = {"tenant": "acme", "incident": "CASE-1", "priority": "P1"}
        opened = json.loads(body)["opened"]
        due = e.value("sla_support_incident_response_due_timestamp_seconds", **labels)
        assert due == pytest.approx(__import__("datetime").datetime.fromisoformat(opened).timestamp() + 3600, abs=1)
        assert e.value("sla_support_incidents_open", tenant="acme", priority="P1", source="filed") == 1
        assert e.value("sla_support_breaches_total", tenant="acme", priority="P1", target="response") == 0
        code, body = e.get("/api/v1/incidents/CASE-1/events", "POST", {"kind": "response"}, auth)
        assert code == 201, body
        assert e.value("sla_support_incident_response_due_timestamp_seconds", **labels) is None
        assert e.value("sla_support_incident_communication_due_timestamp_seconds", **labels) > due
        code, body = e.get("/api/v1/incidents/CASE-1/events", "POST", {"kind": "resolution"}, auth)
        assert code == 201
        assert e.value("sla_support_incidents_open", tenant="acme", priority="P1", source="filed") is None
        # A completely down production tenant opens a detected P1, closed when it is up again.
        target.healthy = False
        e.wait_for(
            lambda: e.value("sla_support_incidents_open", tenant="acme", priority="P1", source="detected") == 1,
            what="a detected incident",
        )
        target.healthy = True
        e.wait_for(
            lambda: e.value("sla_support_incidents_open", tenant="acme", priority="P1", source="detected") is None,
            what="the detected incident closed",
        )
        incidents = json.loads(e.get("/api/v1/incidents", headers=auth)[1])["incidents"]
        detected = [i for i in incidents if i["source"] == "detected"]
        assert len(detected) == 1 and detected[0]["open"] is False and detected[0]["id"].startswith("DET-acme-")
    finally:
        e.stop(signal.SIGKILL)


def test_hostile_targets_are_classified_and_never_stall_metrics(tmp_path, target):
    hostile = "\n".join(
        f'      - {{name: {name}, url: "{target.url}/{name}", interval: 1s, timeout: 1s'
        + (', expect_body: "never there"' if name == "endless" else "")
        + "}"
        for name in ("hang", "drip", "loop", "reset", "endless")
    )
    e = Exporter(tmp_path, config_for(target.url, f"  - name: hostile\n    probes:\n{hostile}\n"))
    try:
        e.start()
        reasons = {"hang": "timeout", "drip": "timeout", "loop": "redirect", "reset": "connection", "endless": "body"}
        for probe, reason in reasons.items():
            e.wait_for(
                lambda probe=probe, reason=reason: e.value(
                    "sla_probe_errors_total", tenant="hostile", probe=probe, reason=reason
                ),
                what=f"{probe} classified as {reason}",
            )
        seen = set()
        for _ in range(6):
            t0 = time.monotonic()
            seen.add(e.value("sla_probe_duration_seconds", tenant="acme", probe="ui", location="default"))
            assert time.monotonic() - t0 < 2.0, "/metrics stalled"
            time.sleep(0.5)
        assert len(seen) >= 2  # the healthy probe kept reporting
        assert e.value("sla_up", tenant="acme") == 1 and e.value("sla_up", tenant="hostile") == 0
    finally:
        e.stop(signal.SIGKILL)
