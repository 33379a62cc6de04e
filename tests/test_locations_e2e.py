"""Locations end to end (issue 15 items 2, 3 and 5): two real `sla-exporter run` processes
with different ``--location`` on one PostgreSQL database, each probing its own local HTTP
target under the same tenant and probe names, so that the test decides what each location
sees. One location sees an outage the other does not, then both do; the figures under
quorum 1 and quorum 2 are checked on both exporters' /metrics (each serves every location,
the other one read from the store), against `sla-exporter report` on the database, and
against the naive reference of docs/semantics.md (tests/reference.py) fed the stored
history. (Two shards on one database, each serving every tenant: test_postgres.py.)"""

import datetime as dt
import json
import subprocess
import sys
import time

import pytest

import reference as ref
from exporter.store.sqlite import Store
from realproc import Exporter, Target

LOCATIONS = ("eu", "us")
TENANTS = ("single", "pair")  # quorum 1 and quorum 2, the same probe from both locations
FEED = "0.2"  # SLA_EXPORTER_FEED_INTERVAL, seconds (5 by default)
OUTAGE = 2.0  # seconds of downtime each outage lasts at least (counted on the exporters)


def config(url: str, pair_quorum: int = 2) -> str:
    probe = f'{{name: ui, url: "{url}/health", interval: 1s, timeout: 1s}}'
    return f"""timezone: UTC
tenants:
  - name: single
    locations: {{quorum: 1}}
    probes:
      - {probe}
  - name: pair
    locations: {{quorum: {pair_quorum}}}
    probes:
      - {probe}
"""


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=120)


def at(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))))


def success(m, tenant, location):
    return at(m, "sla_probe_success", tenant=tenant, probe="ui", location=location)


def months(t0: float, t1: float) -> list[str]:
    """The months (UTC) from t0 to t1: the test may run across a month's end."""
    first, last = (dt.datetime.fromtimestamp(t, dt.UTC) for t in (t0, t1))
    out = [f"{first:%Y-%m}"]
    if f"{last:%Y-%m}" != out[0]:
        out.append(f"{last:%Y-%m}")
    return out


def report(cfg_path, url, month):
    out = cli("report", "--config.file", str(cfg_path), "--storage.url", url, "--month", month, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def report_totals(cfg_path, url, month_list) -> dict[str, tuple[float, int]]:
    """Per tenant: downtime seconds and outages that cost budget, over ``month_list``."""
    totals = {t: (0.0, 0) for t in TENANTS}
    for month in month_list:
        for row in report(cfg_path, url, month)["tenants"]:
            downtime, outages = totals[row["tenant"]]
            counted = sum(1 for o in row["outages"] if o["counted_seconds"] > 0)
            totals[row["tenant"]] = (downtime + row["downtime_seconds"], outages + counted)
    return totals


def metric_totals(m) -> dict[str, tuple[float, int]]:
    return {
        t: (at(m, "sla_downtime_seconds_total", tenant=t), int(at(m, "sla_outages_total", tenant=t) or 0))
        for t in TENANTS
    }


@pytest.fixture
def targets():
    made = {loc: Target() for loc in LOCATIONS}
    yield made
    for t in made.values():
        t.close()


def test_two_locations_quorum_1_and_2_on_metrics_report_and_reference(tmp_path, postgresql, targets):
    url = postgresql.url()
    exporters = {}
    for loc in LOCATIONS:
        d = tmp_path / loc
        d.mkdir()
        e = Exporter(d, config(targets[loc].url))  # the same tenants and probes, each location its own target
        e.storage = ["--storage.url", url]
        e.extra_args = ["--location", loc]
        exporters[loc] = e
    eu, us = exporters["eu"], exporters["us"]
    env = {"SLA_EXPORTER_FEED_INTERVAL": FEED, "SLA_EXPORTER_LEADER_RETRY": "1"}

    def on_both(cond, what):
        for loc, e in exporters.items():
            e.wait_for(lambda e=e: cond(e.metrics()), what=f"{what} on {loc}")

    def sees(m, eu_up, us_up, single, pair):
        return (
            all(success(m, t, "eu") == eu_up and success(m, t, "us") == us_up for t in TENANTS)
            and at(m, "sla_up", tenant="single") == single
            and at(m, "sla_up", tenant="pair") == pair
        )

    began = time.time()
    try:
        for e in exporters.values():
            e.start(env=env)
        # Each exporter serves both locations' results: its own live, the other's from the store.
        on_both(
            lambda m: sees(m, 1, 1, 1, 1) and all(at(m, "sla_location_up", location=x) == 1 for x in LOCATIONS),
            "both locations up",
        )
        for e in exporters.values():
            m = e.metrics()
            assert at(m, "sla_availability_ratio", tenant="pair") == 1.0
            assert at(m, "sla_month_downtime_seconds", tenant="single") == 0

        # Only eu sees the vendor down: quorum 1 says down, quorum 2 says up (eu's own network).
        targets["eu"].healthy = False
        on_both(lambda m: sees(m, 0, 1, 0, 1), "eu alone sees it down")
        eu.wait_for(lambda: eu.value("sla_month_downtime_seconds", tenant="single") >= OUTAGE, what="an outage")
        targets["eu"].healthy = True
        on_both(lambda m: sees(m, 1, 1, 1, 1), "eu sees it up again")
        for e in exporters.values():
            assert e.value("sla_month_downtime_seconds", tenant="pair") == 0

        # Both see it down: down under either quorum.
        targets["eu"].healthy = targets["us"].healthy = False
        on_both(lambda m: sees(m, 0, 0, 0, 0), "both locations see it down")
        eu.wait_for(lambda: eu.value("sla_month_downtime_seconds", tenant="pair") >= OUTAGE, what="a shared outage")
        targets["eu"].healthy = targets["us"].healthy = True
        on_both(lambda m: sees(m, 1, 1, 1, 1), "both see it up again")

        # Both exporters show the same tenant figures once each has read the other's history.
        eu.wait_for(lambda: metric_totals(eu.metrics()) == metric_totals(us.metrics()), what="the same figures")
        figures = metric_totals(eu.metrics())
        (single, single_outages), (pair, pair_outages) = figures["single"], figures["pair"]
        assert (single_outages, pair_outages) == (2, 1)
        assert OUTAGE <= pair <= single - OUTAGE
        # The command line on the shared database gives the same figures.
        spanned = months(began, time.time())
        from_report = report_totals(eu.config, url, spanned)
        for t in TENANTS:
            assert from_report[t][0] == pytest.approx(figures[t][0], abs=1e-6), t
            assert from_report[t][1] == figures[t][1], t
        # The quorum alone makes the difference: the same history with pair at quorum 1.
        (tmp_path / "q1.yaml").write_text(config("http://unused.example", pair_quorum=1))
        as_q1 = report_totals(tmp_path / "q1.yaml", url, spanned)
        assert as_q1["pair"][1] == 2 and as_q1["pair"][0] >= pair + OUTAGE

        # us stops: eu still serves its own location; quorum 2 cannot be met (unknown).
        us.stop()
        eu.wait_for(
            lambda: (
                (m := eu.metrics())
                and at(m, "sla_location_up", location="us") == 0
                and at(m, "sla_location_up", location="eu") == 1
                and success(m, "single", "us") is None
                and success(m, "single", "eu") == 1
                and at(m, "sla_up", tenant="single") == 1
                and at(m, "sla_up", tenant="pair") is None
            ),
            what="us gone: pair unknown, single up",
        )
        eu.wait_for(lambda: eu.value("sla_month_unknown_seconds", tenant="pair") >= 1, what="pair's unknown time")
    finally:
        for e in exporters.values():
            e.stop()

    # Every figure of the report on the stored history, held to the naive reference.
    history = ref.History()
    with Store(url, create=False) as s:
        assert s.locations("pair", "ui") == ["eu", "us"]
        for (tenant, probe, loc), series in s.all_series(0, 2**62).items():
            history.obs[(tenant, probe, loc)] = {
                x.start + i * x.step: x.success for x in series for i in range(x.count)
            }
        assert s.verify_chains()[0] is None
    rules = ref.load_rules(str(eu.config))
    unknown = dict.fromkeys(TENANTS, 0)
    for month in months(began, time.time()):
        doc = report(eu.config, url, month)
        until = round(dt.datetime.fromisoformat(doc["until"]).timestamp() * 1000)
        year, mon = (int(x) for x in month.split("-"))
        expected = {r["tenant"]: r for r in ref.report(rules, history, year, mon, now_ms=until)["tenants"]}
        for row in doc["tenants"]:
            want = expected[row["tenant"]]
            got = {k: round(row[f"{k}_seconds"] * 1000) for k in ("eligible", "downtime", "unknown")}
            assert got == {k: want[f"{k}_ms"] for k in got}, row["tenant"]
            assert [round(o["seconds"] * 1000) for o in row["outages"]] == [o[2] for o in want["outages"]]
            unknown[row["tenant"]] += want["unknown_ms"]
    assert unknown["pair"] > unknown["single"]  # pair was unknown from the moment us stopped
