"""/metrics scrape time for many tenants: prints figures, asserts nothing.

    .venv/bin/python benchmarks/scrape.py [--tenants 1000] [--probes 3]           # collector alone
    .venv/bin/python benchmarks/scrape.py --live [--tenants 1000] [--probes 3]    # the real daemon, probing

Both build a store with a month and a half of history (a five-minute outage every six days
per probe). The first times scrapes in process at a fixed clock. ``--live`` starts the real
``sla-exporter run`` probing a local target (interval 30 s: 100 probes/s for 3,000 probes),
waits until every probe has reported, then times HTTP scrapes of /metrics while it probes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import urllib.request

from _common import exporter_cmd, free_port, local_target, running
from prometheus_client import CollectorRegistry

from exporter import config
from exporter.engine.states import Series
from exporter.probing.recorder import Recorder
from exporter.store.sqlite import Store
from exporter.web import exposition
from exporter.web.collector import ExporterStatus, SLACollector


def fleet_config(tenants: int, probes: int, url: str) -> str:
    lines = [
        "timezone: Europe/Helsinki",
        "maintenance_windows:",
        '  - {name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}',
        "tenants:",
    ]
    for i in range(tenants):
        lines.append(f"  - name: tenant-{i:04d}\n    probes:")
        lines += [f'      - {{name: p{j}, url: "{url}/{j}", interval: 30s, timeout: 5s}}' for j in range(probes)]
    return "\n".join(lines) + "\n"


def build_history(store: Store, cfg: config.model.Config, start: float, now: float) -> None:
    """Series written directly (integer ms, as the daemon stores them): every 30 s, a
    five-minute outage (10 failures) every six days per probe, from ``start`` to ``now``."""
    step = 30_000
    start_ms, now_ms = round(start * 1000), round(now * 1000)
    rows = []
    for i, tenant in enumerate(cfg.tenants):
        for j, p in enumerate(tenant.probes):
            t = start_ms + ((i * 7 + j * 3) % 144) * 3_600_000
            cursor = start_ms
            while cursor < now_ms:
                down_at = min(t, now_ms)
                n = -(-(down_at - cursor) // step)  # observations at cursor + k * step before down_at
                if n:
                    rows.append((tenant.name, p.name, Series(True, cursor, step if n > 1 else 0, n)))
                if down_at >= now_ms:
                    break
                rows.append((tenant.name, p.name, Series(False, down_at, step, 10)))
                cursor, t = down_at + 10 * step, t + 6 * 86_400_000
    store.save_series(rows)


def summary(label: str, timings: list[float], size: int) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{label}: p50 {statistics.median(ordered) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, "
        f"max {ordered[-1] * 1e3:.0f} ms over {len(ordered)} scrapes; {size:,} bytes"
    )


def in_process(tenants: int, probes: int) -> None:
    cfg = config.load_text(fleet_config(tenants, probes, "http://127.0.0.1:1"))
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC).timestamp()
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()
    with tempfile.TemporaryDirectory() as d, Store(f"{d}/s.db") as store:
        build_history(store, cfg, start, now)
        print(f"history: {tenants} tenants x {probes} probes, {store.series_count():,} series")
        registry = CollectorRegistry()
        registry.register(
            SLACollector(lambda: cfg, Recorder(store, cfg, since=start), ExporterStatus(True, now), lambda: now)
        )
        timings = []
        for _ in range(21):
            t0 = time.perf_counter()
            body = exposition.generate(registry)
            timings.append(time.perf_counter() - t0)
        print(f"first scrape {timings[0] * 1e3:.0f} ms (fills the closed-month cache)")
        print(summary("scrape in process, fixed clock", timings[1:], len(body)))


def live(tenants: int, probes: int, scrapes: int, dump: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as d, local_target() as (_, url):
        cfg_path = os.path.join(d, "config.yaml")
        with open(cfg_path, "w") as f:
            f.write(fleet_config(tenants, probes, url))
        cfg = config.load(cfg_path)
        now = time.time()
        with Store(os.path.join(d, "s.db")) as store:
            build_history(store, cfg, now - 45 * 86400, now - 600)  # ends up: no outage at start
        listen = f"127.0.0.1:{free_port()}"
        with running(
            exporter_cmd(
                "run",
                "--config.file",
                cfg_path,
                "--storage.path",
                os.path.join(d, "s.db"),
                "--web.listen-address",
                listen,
                "--log.level",
                "warn",
            )
        ):
            metrics = f"http://{listen}/metrics"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # every probe has reported once
                try:
                    body = urllib.request.urlopen(metrics, timeout=10).read()
                    if body.count(b"sla_probe_duration_seconds{") >= tenants * probes:
                        break
                except OSError:
                    pass
                time.sleep(1)
            print(f"live: {tenants} tenants x {probes} probes probing every 30 s ({tenants * probes / 30:.0f}/s)")
            timings = []
            for _ in range(scrapes):
                t0 = time.perf_counter()
                body = urllib.request.urlopen(metrics, timeout=30).read()
                timings.append(time.perf_counter() - t0)
                time.sleep(0.5)
            print(summary("scrape over HTTP while probing", timings, len(body)))
            errors = body.count(b"sla_probe_errors_total{")
            print(f"probes with errors: {errors} (a healthy run has none)")
            if dump:
                with open(dump, "wb") as f:
                    f.write(body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--scrapes", type=int, default=40)
    parser.add_argument("--dump", metavar="FILE", help="--live: write the last /metrics body here")
    args = parser.parse_args()
    (live(args.tenants, args.probes, args.scrapes, args.dump) if args.live else in_process(args.tenants, args.probes))
