"""Registry-level tests of the collector for a fixed history and clock, and a golden
exposition of /metrics."""

import datetime as dt
import itertools
import os
import pathlib

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter import config, metrics
from exporter.probing.recorder import Recorder, Result
from exporter.store.sqlite import Store
from exporter.web import exposition
from exporter.web.collector import ExporterStatus, SLACollector
from exporter.web.collectors import health as collector_module  # where build_info reads the Python version

CONFIG = """
timezone: UTC
sla: {target: 99.92%}
probe_defaults: {interval: 60s}
maintenance_windows:
  - {name: nightly, rrule: "FREQ=DAILY", start: "01:00", duration: 30m}
tenants:
  - name: acme
    probes:
      - {name: a, url: "https://a.example.com/"}
      - {name: b, url: "https://b.example.com/"}
  - name: quiet
    environment: non-production
    probes:
      - {name: c, url: "https://c.example.com/"}
"""
NOV = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
OCT = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()
SEP30 = dt.datetime(2026, 9, 30, tzinfo=dt.UTC).timestamp()
NOW = NOV + 10_000
OCT_FAIL = dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC).timestamp()
GOLDEN = pathlib.Path(__file__).parent / "golden" / "metrics.txt"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    cfg = config.load_text(CONFIG)
    store = Store(str(tmp_path_factory.mktemp("collector") / "s.db"))
    minute = lambda lo, hi: [float(t) for t in range(int(lo), int(hi), 60)]  # noqa: E731
    # Sep 30 00:00-12:00, all up (in the store only: older than the previous month).
    # October: every minute; probe a fails 10 minutes on the 10th at 12:00 (600 s).
    history = {
        ("acme", p): [
            (int(t * 1000), ok)
            for t, ok in [(t, True) for t in minute(SEP30, SEP30 + 43200)]
            + [(t, not (p == "a" and OCT_FAIL <= t < OCT_FAIL + 600)) for t in minute(OCT, NOV)]
        ]
        for p in ("a", "b")
    }
    store.merge(history)
    recorder = Recorder(store, cfg, since=OCT)
    # November to date, live: probe a fails at +7020 and +7080: down 7020-7140 (120 s).
    for t in minute(NOV, NOW):
        for p in ("a", "b"):
            ok = not (p == "a" and t in (NOV + 7020, NOV + 7080))
            recorder.observe(
                "acme",
                p,
                Result(
                    started=t,
                    success=ok,
                    duration=0.25,
                    status_code=200 if ok else 503,
                    reason=None if ok else "status",
                    cert_expiry=NOV + 90 * 86400,
                ),
            )
    recorder.flush()
    ticks = itertools.count()
    reg = CollectorRegistry()
    reg.register(
        SLACollector(lambda: cfg, recorder, ExporterStatus(True, NOV), lambda: NOW, lambda: next(ticks) * 0.125)
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(collector_module.platform, "python_version", lambda: "3.11.0")
        yield reg
    store.close()


OCT_ELIGIBLE = 31 * 86400 - 31 * 1800  # 2,622,600
NOV_ELIGIBLE = 10_000 - 1800  # the nightly window 01:00-01:30 has passed once
NOV_BUDGET = 0.0008 * (30 * 86400 - 30 * 1800)  # 2030.4
SEP_KNOWN = 43_140 + 120 - 1800  # last result 11:59 holds 2 min; minus the nightly window


@pytest.mark.parametrize(
    "name, labels, value",
    [
        ("sla_up", {"tenant": "acme"}, 1),
        ("sla_availability_ratio", {"tenant": "acme"}, (NOV_ELIGIBLE - 120) / NOV_ELIGIBLE),
        ("sla_target_ratio", {"tenant": "acme"}, 0.9992),
        ("sla_margin_ratio", {"tenant": "acme"}, (NOV_ELIGIBLE - 120) / NOV_ELIGIBLE - 0.9992),
        ("sla_error_budget_seconds", {"tenant": "acme"}, NOV_BUDGET),
        ("sla_error_budget_remaining_seconds", {"tenant": "acme"}, NOV_BUDGET - 120),
        ("sla_maintenance_active", {"tenant": "acme"}, 0),
        ("sla_month_downtime_seconds", {"tenant": "acme"}, 120),
        ("sla_month_maintenance_seconds", {"tenant": "acme"}, 1800),
        ("sla_month_unknown_seconds", {"tenant": "acme"}, 0),
        ("sla_month_eligible_seconds", {"tenant": "acme"}, NOV_ELIGIBLE),
        ("sla_previous_month_availability_ratio", {"tenant": "acme"}, (OCT_ELIGIBLE - 600) / OCT_ELIGIBLE),
        ("sla_downtime_seconds_total", {"tenant": "acme"}, 600 + 120),
        ("sla_eligible_seconds_total", {"tenant": "acme"}, SEP_KNOWN + OCT_ELIGIBLE + NOV_ELIGIBLE),
        ("sla_outages_total", {"tenant": "acme"}, 2),
        ("sla_probe_success", {"tenant": "acme", "probe": "a", "location": "default"}, 1),
        ("sla_location_up", {"location": "default"}, 1),
        ("sla_probe_duration_seconds", {"tenant": "acme", "probe": "a", "location": "default"}, 0.25),
        ("sla_probe_http_status_code", {"tenant": "acme", "probe": "a", "location": "default"}, 200),
        (
            "sla_probe_tls_cert_expiry_timestamp_seconds",
            {"tenant": "acme", "probe": "a", "location": "default"},
            NOV + 90 * 86400,
        ),
        ("sla_probe_errors_total", {"tenant": "acme", "probe": "a", "reason": "status"}, 2),
        ("sla_exporter_config_last_reload_successful", {}, 1),
        ("sla_exporter_config_last_reload_success_timestamp_seconds", {}, NOV),
        # A tenant never probed: everything unknown, so no up, no availability.
        ("sla_up", {"tenant": "quiet"}, None),
        ("sla_availability_ratio", {"tenant": "quiet"}, None),
        ("sla_month_unknown_seconds", {"tenant": "quiet"}, NOV_ELIGIBLE),
        ("sla_eligible_seconds_total", {"tenant": "quiet"}, 0),
        ("sla_previous_month_availability_ratio", {"tenant": "quiet"}, None),
    ],
)
def test_sample_values(registry, name, labels, value):
    got = registry.get_sample_value(name, labels)
    assert got == (None if value is None else pytest.approx(value, abs=1e-9))


def test_every_emitted_metric_is_declared_and_documented(registry):
    # docs/metrics.md is generated from exporter.metrics (tools/metrics_doc.py; CI runs --check).
    doc = (pathlib.Path(__file__).parents[1] / "docs" / "metrics.md").read_text()
    declared = {metric.name for metric in metrics.ALL}
    emitted = {s.name for family in registry.collect() for s in family.samples}
    assert emitted <= declared
    for metric in metrics.ALL:
        assert f"`{metric.name}`" in doc, f"{metric.name} is missing from docs/metrics.md"
        assert metric.help.replace("|", "\\|") in doc, f"the help text of {metric.name} differs in docs/metrics.md"


def test_golden_exposition(registry):
    text = generate_latest(registry).decode()
    assert exposition.generate(registry).decode() == text  # the fast writer /metrics uses
    if os.environ.get("UPDATE_GOLDEN"):  # UPDATE_GOLDEN=1 pytest ...; then review the diff
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_openmetrics_reads_the_samples_of_the_text_format(registry):
    """Families given as lines (tenant and probe gauges, tenant counters) read back as
    samples for the OpenMetrics writer: the same series and values as the text format."""
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
    from prometheus_client.parser import text_string_to_metric_families as parse_text

    def series(families):
        return sorted((s.name, tuple(sorted(s.labels.items())), s.value) for f in families for s in f.samples)

    text = series(parse_text(exposition.generate(registry).decode()))
    assert ("sla_outages_total", (("tenant", "acme"),), 2.0) in text
    assert series(parse_openmetrics(openmetrics_latest(registry).decode())) == text


@pytest.mark.parametrize("seed", range(8))
def test_cached_month_to_date_agrees_with_a_full_computation(tmp_path, seed):
    """Scrapes between results reuse and extend the cached state; every figure must
    equal what the month computed from scratch gives, through flaps, thresholds and
    stale gaps."""
    import random

    from exporter.engine.accounting import tenant_figures

    rng = random.Random(seed)
    cfg = config.load_text(
        CONFIG.replace("probe_defaults: {interval: 60s}", "probe_defaults: {interval: 60s, failure_threshold: 2}")
    )
    acme = cfg.tenants[0]
    with Store(str(tmp_path / "s.db")) as store:
        recorder = Recorder(store, cfg, since=OCT)
        clock = [NOV]
        reg = CollectorRegistry()
        reg.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, NOV), lambda: clock[0]))
        t = {"a": NOV, "b": NOV}
        for _ in range(300):
            probe = rng.choice("ab")
            t[probe] += rng.choice([30, 60, 60, 60, 200])  # 200 s: a stale gap
            recorder.observe("acme", probe, Result(started=t[probe], success=rng.random() > 0.2, duration=0.1))
            clock[0] = max(clock[0], min(t.values())) + rng.choice([0, 1, 20, 90])
            ms = lambda t: int(t * 1000)  # noqa: E731
            expected = tenant_figures(recorder.runs_of, acme, ms(NOV), ms(NOV + 30 * 86400), ms(clock[0]))
            got = {
                name: reg.get_sample_value(name, {"tenant": "acme"})
                for name in (
                    "sla_availability_ratio",
                    "sla_month_downtime_seconds",
                    "sla_month_unknown_seconds",
                    "sla_month_eligible_seconds",
                    "sla_month_maintenance_seconds",
                    "sla_error_budget_remaining_seconds",
                )
            }
            # Integer milliseconds: the cached path is exact, not approximately right.
            assert got == {
                "sla_availability_ratio": expected.availability,
                "sla_month_downtime_seconds": expected.downtime / 1000,
                "sla_month_unknown_seconds": expected.unknown / 1000,
                "sla_month_eligible_seconds": expected.eligible / 1000,
                "sla_month_maintenance_seconds": expected.maintenance / 1000,
                "sla_error_budget_remaining_seconds": expected.error_budget_remaining / 1000,
            }


def test_fast_exposition_is_byte_for_byte_the_reference():
    from prometheus_client import Counter, Gauge, ProcessCollector

    reg = CollectorRegistry()
    # The process metrics as one snapshot: read live, CPU seconds move between the two writes.
    snapshot = list(ProcessCollector(registry=None).collect())
    reg.register(type("Snapshot", (), {"collect": lambda self: iter(snapshot)})())
    g = Gauge("odd_ratio", "help with \\ backslash and\nnewline", ["tenant", "probe"], registry=reg)
    g.labels('quote " back \\ nl \n', "é").set(0.1 + 0.2)
    g.labels("big", "x").set(1.5e22)
    g.labels("inf", "x").set(float("inf"))
    assert exposition.generate(reg) == generate_latest(reg)
    Counter("with_created", "counters from the client library carry _created", registry=reg).inc()
    assert exposition.generate(reg) == generate_latest(reg)  # falls back, same bytes


@pytest.mark.parametrize("start", [NOV, NOV - 1800], ids=["month start", "across the month's end"])
@pytest.mark.parametrize("seed", range(4))
def test_kept_lines_and_carried_figures_write_what_a_fresh_collector_writes(tmp_path, seed, start):
    """Scrape after scrape through flaps, thresholds, stale gaps, maintenance windows and a
    month's end: the lines kept per tenant and the month carried on give the bytes that a
    collector with nothing cached writes for the same history and clock, and that the
    reference writer writes from the samples read back."""
    import random

    rng = random.Random(seed)
    cfg = config.load_text(
        CONFIG.replace("probe_defaults: {interval: 60s}", "probe_defaults: {interval: 60s, failure_threshold: 2}")
    )
    with Store(str(tmp_path / "s.db")) as store:
        recorder = Recorder(store, cfg, since=OCT)
        clock = [start]

        def registry():
            reg = CollectorRegistry()
            reg.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, NOV), lambda: clock[0], lambda: 0.0))
            return reg

        kept = registry()
        t = {"a": start, "b": start}
        for _ in range(120):
            probe = rng.choice("ab")
            t[probe] += rng.choice([30, 60, 60, 60, 200])  # 200 s: a stale gap
            ok = rng.random() > 0.2
            recorder.observe(
                "acme",
                probe,
                Result(started=t[probe], success=ok, duration=0.1, status_code=200 if ok else 503, reason=None),
            )
            clock[0] = max(clock[0], min(t.values())) + rng.choice([0, 1, 20, 90])
            text = exposition.generate(kept)
            assert text == generate_latest(kept)
            assert text == exposition.generate(registry())
            assert exposition.generate(kept) == text  # again at the same instant: nothing moved
