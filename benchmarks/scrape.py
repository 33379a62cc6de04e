"""/metrics scrape time for many tenants: prints figures, asserts nothing.

    .venv/bin/python benchmarks/scrape.py [TENANTS] [PROBES_PER_TENANT]

Builds a store with a month and a half of history (a few outages per tenant), a recorder
and the collector, then times scrapes at a fixed clock.
"""

import datetime as dt
import statistics
import sys
import tempfile
import time

from prometheus_client import CollectorRegistry

from exporter import config, exposition
from exporter.collector import ExporterStatus, SLACollector
from exporter.recorder import Recorder
from exporter.states import Run
from exporter.store import Store


def main(tenants=1000, probes=3):
    lines = ["timezone: Europe/Helsinki", "maintenance_windows:",
             '  - {name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}', "tenants:"]
    for i in range(tenants):
        lines.append(f"  - name: tenant-{i:04d}\n    probes:")
        lines += [f'      - {{name: p{j}, url: "http://127.0.0.1:1/{j}", interval: 30s}}' for j in range(probes)]
    cfg = config.load_text("\n".join(lines))
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc).timestamp()
    start = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc).timestamp()
    with tempfile.TemporaryDirectory() as d:
        store = Store(f"{d}/s.db")
        t0 = time.perf_counter()
        rows = []
        for i, tenant in enumerate(cfg.tenants):
            for j, p in enumerate(tenant.probes):
                # Probed every 30 s; a 5-minute outage every 6 days, phase by tenant and probe.
                t = start + ((i * 7 + j * 3) % 144) * 3600
                cursor = start
                while cursor < now:
                    down_at = min(t, now)
                    rows.append((tenant.name, p.name, Run(True, cursor, down_at - 30, down_at, int((down_at - cursor) // 30))))
                    if down_at >= now:
                        break
                    rows.append((tenant.name, p.name, Run(False, down_at, down_at + 270, down_at + 300, 10)))
                    cursor, t = down_at + 300, t + 6 * 86400
        store.save_runs(rows)
        print(f"built history: {tenants} tenants x {probes} probes, {store.run_count():,} runs in "
              f"{time.perf_counter() - t0:.1f} s")
        recorder = Recorder(store, cfg, since=start)
        registry = CollectorRegistry()
        registry.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, now), lambda: now))
        timings = []
        for _ in range(21):
            t0 = time.perf_counter()
            body = exposition.generate(registry)
            timings.append(time.perf_counter() - t0)
        first, rest = timings[0], sorted(timings[1:])
        print(f"scrape: first {first * 1e3:.0f} ms (fills the closed-month cache), then "
              f"p50 {statistics.median(rest) * 1e3:.0f} ms, max {rest[-1] * 1e3:.0f} ms; {len(body):,} bytes")
        store.close()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:3]))
