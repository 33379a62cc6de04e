"""The probe collector keeps its lines between scrapes as one text per family and writes
again only the lines whose value changed: every scrape must read as a fresh collector's
(which writes every line) and as the reference writer writes the samples."""

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter import config
from exporter.engine.states import Run
from exporter.probing.recorder import Result
from exporter.web import exposition
from exporter.web.collectors.probes import ProbeCollector

CONFIG = """
timezone: UTC
probe_defaults: {interval: 10s}
tenants:
  - name: acme
    probes: [{name: a, url: "https://a.example.com/"}, {name: b, url: "https://b.example.com/"}]
  - name: "we\\"ird"
    probes: [{name: c, url: "https://c.example.com/"}]
"""
T = 1_793_610_000.0


class FakeRecorder:
    location = "default"

    def __init__(self):
        self.results, self.other = {}, {}

    def last_results(self):
        return dict(self.results)

    def elsewhere(self):
        return dict(self.other)

    def error_counts(self):
        return {("acme", "a", "timeout"): 2}

    def reporting_until(self):
        return {}


def ok(t, duration=0.25, status=200, cert=None):
    return Result(started=t, success=True, duration=duration, status_code=status, cert_expiry=cert)


def failed(t, reason="timeout"):
    return Result(started=t, success=False, duration=2.0, reason=reason)


# Steps: (seconds after T of the scrape, results reported before it: key -> Result).
STEPS = {
    "reports, then the same results scraped again": [
        (1, {("acme", "a"): ok(T), ("acme", "b"): ok(T, 0.5)}),
        (2, {}),
        (3, {}),
    ],
    "one probe of three changes one value": [
        (1, {("acme", "a"): ok(T), ("acme", "b"): ok(T), ('we"ird', "c"): ok(T, cert=1.8e9)}),
        (11, {("acme", "b"): ok(T + 10, 0.75)}),
        (21, {("acme", "b"): ok(T + 20, 0.75)}),
    ],
    "a failure, a fault of ours, a recovery": [
        (1, {("acme", "a"): ok(T), ("acme", "b"): ok(T)}),
        (11, {("acme", "a"): failed(T + 10)}),
        (21, {("acme", "a"): failed(T + 20, "clock")}),
        (31, {("acme", "a"): ok(T + 30, 0.0, 0)}),
        (41, {("acme", "a"): ok(T + 40, -0.0, 0)}),
    ],
    "a probe goes stale, then reports": [
        (1, {("acme", "a"): ok(T), ('we"ird', "c"): ok(T)}),
        (25, {('we"ird', "c"): ok(T + 24)}),
        (26, {}),
        (30, {("acme", "a"): ok(T + 29, 1e-7, 503)}),
    ],
    "a probe reports first after others": [
        (1, {('we"ird', "c"): ok(T)}),
        (2, {("acme", "b"): ok(T + 1)}),
        (3, {("acme", "a"): ok(T + 2)}),
    ],
}


def text(collector):
    reg = CollectorRegistry()
    reg.register(collector)
    body = exposition.generate(reg)
    assert generate_latest(reg) == body  # the samples read back from the lines say the same
    return body.decode()


@pytest.mark.parametrize("steps", STEPS.values(), ids=STEPS.keys())
@pytest.mark.parametrize("elsewhere", [False, True])
def test_kept_lines_read_as_a_fresh_collectors(steps, elsewhere):
    cfg = config.load_text(CONFIG)
    recorder = FakeRecorder()
    if elsewhere:  # another location's run, fresh until T + 15
        recorder.other[("acme", "a", "eu")] = Run(True, int(T * 1000), int(T * 1000), int((T + 15) * 1000), 1)
    now = [T]
    live = ProbeCollector(lambda: cfg, recorder, lambda: now[0])  # type: ignore[arg-type]
    for seconds, results in steps:
        recorder.results.update(results)
        now[0] = T + seconds
        fresh = ProbeCollector(lambda: cfg, recorder, lambda: now[0])  # type: ignore[arg-type]
        body = text(live)
        assert body == text(fresh)
        assert ('location="eu"' in body) is (elsewhere and seconds < 15)


def test_a_reload_writes_the_lines_of_the_new_config():
    cfg = [config.load_text(CONFIG)]
    recorder = FakeRecorder()
    recorder.results[("acme", "a")] = ok(T)
    recorder.results[('we"ird', "c")] = ok(T)
    collector = ProbeCollector(lambda: cfg[0], recorder, lambda: T + 1)  # type: ignore[arg-type]
    assert 'tenant="we\\"ird"' in text(collector)
    cfg[0] = config.load_text(CONFIG.split('  - name: "we')[0])
    body = text(collector)
    assert 'tenant="we\\"ird"' not in body
    assert 'sla_probe_success{location="default",probe="a",tenant="acme"} 1.0' in body
