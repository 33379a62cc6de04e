"""The same month in Prometheus (PromQL) and in sla-exporter: prints figures, asserts nothing.

    .venv/bin/python benchmarks/vs_prometheus.py [--tenants 10] [--repeat 10]

October 2026 in Europe/Helsinki (745 h: DST ends on the 25th), TENANTS tenants with one probe
each, probed every 15 s. Weekly maintenance Sundays 02:00 for 2 h, during which every probe
fails; outside maintenance each tenant has a 10-minute and a 25-minute outage (2,100 s: just
inside the 99.92 % budget once maintenance is excluded).

(a) Prometheus: ``probe_success{instance=...}`` for the month written as OpenMetrics,
    backfilled with ``promtool tsdb create-blocks-from openmetrics`` (486h blocks) into a data
    directory, then ``prometheus --config.file=<no scrape jobs> --storage.tsdb.path=...
    --storage.tsdb.retention.time=10y --web.listen-address=127.0.0.1:PORT`` started on it and
    ``avg_over_time(probe_success[2682000s])`` queried at the month's end through
    /api/v1/query (first query, then the median of REPEAT).
(b) sla-exporter: the same observations as the import CSV, imported into a store, then
    ``report.build`` for 2026-10 (first, then the median of REPEAT).

Prints both times and, per tenant, both availabilities, the difference in percentage points
and in seconds of downtime (PromQL counts the downtime inside maintenance; we do not).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from zoneinfo import ZoneInfo

from _common import free_port, human_bytes, running, wait_http

from exporter import config, report
from exporter.engine.maintenance import maintenance_intervals
from exporter.engine.months import month_bounds
from exporter.store import importer
from exporter.store.sqlite import Store

TZ = "Europe/Helsinki"
STEP = 15
WINDOW = '{name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}'


def local(*args) -> float:
    return dt.datetime(*args, tzinfo=ZoneInfo(TZ)).timestamp()


def observations(cfg, lo: float, hi: float) -> dict[str, list[tuple[int, bool]]]:
    """Per tenant: (time, success) every STEP s; failing in maintenance and two outages."""
    tenant0 = cfg.tenants[0]
    maint = maintenance_intervals(tenant0.windows, lo, hi)
    out = {}
    for i, tenant in enumerate(cfg.tenants):
        down = [
            *maint,
            (local(2026, 10, 5 + i % 20, 10, 0), local(2026, 10, 5 + i % 20, 10, 10)),
            (local(2026, 10, 12 + i % 15, 15, 30), local(2026, 10, 12 + i % 15, 15, 55)),
        ]
        rows, t = [], int(lo)
        while t < hi:
            rows.append((t, not any(s <= t < e for s, e in down)))
            t += STEP
        out[tenant.name] = rows
    return out


def query(base: str, expr: str, at: float) -> tuple[float, dict]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as r:
        body = json.load(r)
    elapsed = time.perf_counter() - t0
    if body.get("status") != "success":
        raise RuntimeError(f"query failed: {body}")
    return elapsed, body


def promql(tmp: str, obs, lo: float, hi: float, repeat: int) -> tuple[dict[str, float], list[float]] | None:
    promtool, prom = shutil.which("promtool"), shutil.which("prometheus")
    if promtool is None or prom is None:
        print(
            "(a) Prometheus: promtool/prometheus not installed (apt-get install -y --no-install-recommends "
            "prometheus); skipped"
        )
        return None
    om = os.path.join(tmp, "month.om")
    with open(om, "w") as f:
        f.write("# TYPE probe_success gauge\n")
        names = list(obs)
        for k in range(len(obs[names[0]])):
            f.write(
                "".join(f'probe_success{{instance="{n}"}} {1 if obs[n][k][1] else 0} {obs[n][k][0]}\n' for n in names)
            )
        f.write("# EOF\n")
    data = os.path.join(tmp, "prometheus-data")
    t0 = time.perf_counter()
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", "--max-block-duration=486h", om, data],
        check=True,
        capture_output=True,
    )
    backfill = time.perf_counter() - t0
    os.remove(om)
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        prom,
        f"--config.file={cfg}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=10y",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    expr = f"avg_over_time(probe_success[{int(hi - lo)}s])"
    with running(cmd, os.path.join(tmp, "prometheus.log")) as proc:
        wait_http(f"{base}/-/ready", timeout=60, proc=proc)
        first, body = query(base, expr, hi)
        times = [query(base, expr, hi)[0] for _ in range(repeat)]
    avail = {r["metric"]["instance"]: float(r["value"][1]) for r in body["data"]["result"]}
    print(
        f"(a) Prometheus: backfilled {len(obs)} series in {backfill:.1f} s; {expr} at the month's end: "
        f"first {first * 1e3:.1f} ms, median of {repeat} {statistics.median(times) * 1e3:.1f} ms"
    )
    return avail, times


def ours(tmp: str, cfg_path: str, obs, repeat: int) -> tuple[dict, list[float]]:
    cfg = config.load(cfg_path)
    csv_path = os.path.join(tmp, "month.csv")
    with open(csv_path, "w") as f:
        f.write("time,tenant,probe,success\n")
        for name, rows in obs.items():
            f.write(
                "".join(
                    f"{dt.datetime.fromtimestamp(t, dt.UTC):%Y-%m-%dT%H:%M:%SZ},{name},p0,{int(ok)}\n" for t, ok in rows
                )
            )
    db = os.path.join(tmp, "sla.db")
    t0 = time.perf_counter()
    with open(csv_path, newline="") as f, Store(db) as store:
        importer.import_observations(store, cfg, importer.parse(f, cfg))
    imported = time.perf_counter() - t0
    times = []
    for _ in range(repeat + 1):
        with Store(db, create=False) as store:
            t0 = time.perf_counter()
            doc = report.build(cfg, store, 2026, 10, list(cfg.tenants))
            times.append(time.perf_counter() - t0)
    print(
        f"(b) sla-exporter: imported {sum(map(len, obs.values())):,} observations in {imported:.1f} s "
        f"(store {human_bytes(os.path.getsize(db))}); report.build(2026-10): first {times[0] * 1e3:.1f} ms, "
        f"median of {repeat} {statistics.median(times[1:]) * 1e3:.1f} ms"
    )
    return {t["tenant"]: t for t in doc["tenants"]}, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    lo, hi = month_bounds(2026, 10, TZ)
    month = hi - lo
    print(
        f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; 2026-10 in {TZ}: {month / 3600:g} h = "
        f"{month:,.0f} s; {args.tenants} tenants x 1 probe every {STEP} s; weekly maintenance Sun 02:00 2h "
        "(probes fail in it)"
    )
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp:
        cfg_path = os.path.join(tmp, "config.yaml")
        lines = [
            f"timezone: {TZ}",
            "sla: {target: 99.92%}",
            f"probe_defaults: {{interval: {STEP}s}}",
            "maintenance_windows:",
            f"  - {WINDOW}",
            "tenants:",
        ]
        for i in range(args.tenants):
            lines.append(f'  - {{name: tenant-{i:04d}, probes: [{{name: p0, url: "http://127.0.0.1:1/{i}"}}]}}')
        with open(cfg_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        obs = observations(config.load(cfg_path), lo, hi)
        prom = promql(tmp, obs, lo, hi, args.repeat)
        doc, our_times = ours(tmp, cfg_path, obs, args.repeat)
    if prom is None:
        return
    avail, prom_times = prom
    print(
        f"time: PromQL median {statistics.median(prom_times) * 1e3:.1f} ms vs report.build median "
        f"{statistics.median(our_times[1:]) * 1e3:.1f} ms for {args.tenants} tenants"
    )
    print(
        "TENANT       PROMQL AVAIL  OURS AVAIL  DIFF (pp)  PROMQL DOWNTIME  OUR DOWNTIME  DIFF (s)  MAINT (s)  "
        "MET (PromQL / ours, 99.92 %)"
    )
    diffs = []
    for n, (name, t) in enumerate(doc.items()):
        p = avail[name]
        prom_down = (1 - p) * month
        diffs.append(((t["availability"] - p) * 100, prom_down - t["downtime_seconds"]))
        if n == 5:
            print(f"... {len(doc) - 5} more tenants (the same totals; their outages fall on other days)")
        if n >= 5:
            continue
        print(
            f"{name:11} {p:12.4%} {t['availability']:11.4%} {diffs[-1][0]:10.4f} {prom_down:16,.0f} "
            f"{t['downtime_seconds']:13,.0f} {diffs[-1][1]:9,.0f} {t['maintenance_seconds']:10,.0f}  "
            f"{'yes' if p >= 0.9992 else 'NO'} / {'yes' if t['met'] else 'NO'}"
        )
    print(
        f"mean error of PromQL against ours: {statistics.mean(d for d, _ in diffs):.4f} percentage points, "
        f"{statistics.mean(s for _, s in diffs):,.0f} s of downtime a month (the maintenance it counts)"
    )


if __name__ == "__main__":
    main()
