"""Costs over uptime: a month of probe results, support cases and scrapes run through the
daemon's own code paths (recorder, store, collectors, the text writer), compressed in time.
Prints memory, scrape cost and CPU at the start and at the end; asserts nothing.

    .venv/bin/python benchmarks/uptime.py [--tenants 100] [--probes 3] [--days 30]
        [--interval 300] [--scrape-every 900] [--incidents-per-hour 10]

Simulated clock from 2026-10-20 00:00 UTC (a month boundary is crossed, as in a month of
uptime): every probe reports each INTERVAL s (a five-minute failure every two days per
probe, at its own hour), the recorder flushes and trims as the daemon's housekeeping does,
INCIDENTS_PER_HOUR support incidents are filed each simulated hour (each answered and
resolved within the hour, but the hour's first stays open a day), and /metrics is generated every
SCRAPE_EVERY s. RSS, the scrape's time, CPU per simulated day and the text writer's caches
are printed for each simulated day; the first and the last day are compared at the end.
Run it with ``PYTHONPATH=<checkout>`` to measure another checkout the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import tempfile
import time

from _common import proc_status
from prometheus_client import CollectorRegistry

from exporter import config
from exporter.engine.months import previous_month_start
from exporter.model import Event, Incident
from exporter.probing.recorder import Recorder, Result
from exporter.store.sqlite import Store
from exporter.web import exposition
from exporter.web.collector import ExporterStatus, SLACollector

START = dt.datetime(2026, 10, 20, tzinfo=dt.UTC).timestamp()
DAY = 86400


def fleet(tenants: int, probes: int, interval: int) -> str:
    lines = [
        "timezone: UTC",
        "maintenance_windows:",
        '  - {name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}',
        "tenants:",
    ]
    for i in range(tenants):
        lines.append(f"  - name: tenant-{i:04d}\n    probes:")
        lines += [
            f'      - {{name: p{j}, url: "http://127.0.0.1:1/{j}", interval: {interval}s}}' for j in range(probes)
        ]
    return "\n".join(lines) + "\n"


def cache_sizes() -> str:
    """What the text writer remembers, whatever its shape in the checkout measured."""
    if hasattr(exposition, "_LAST"):  # the last scrape's samples, per registry
        return f"{sum(len(s) for fams in exposition._LAST.values() for s, _ in fams.values()):,} lines"
    return f"{len(exposition._BY_ID):,} by id, {len(exposition._PREFIXES):,} by labels"  # before: grew until 500k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--interval", type=int, default=300, help="simulated seconds between a probe's results")
    parser.add_argument("--scrape-every", type=int, default=900, help="simulated seconds between scrapes")
    parser.add_argument("--incidents-per-hour", type=int, default=10)
    args = parser.parse_args()

    cfg = config.load_text(fleet(args.tenants, args.probes, args.interval))
    keys = [(t.name, p.name) for t in cfg.tenants for p in t.probes]
    now = START
    with tempfile.TemporaryDirectory() as tmp, Store(os.path.join(tmp, "s.db")) as store:
        recorder = Recorder(store, cfg, previous_month_start(now, cfg.timezone))
        registry = CollectorRegistry()
        registry.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, now), lambda: now, store=store))
        print(
            f"uptime: {len(cfg.tenants):,} tenants x {args.probes} probes reporting every {args.interval} s, "
            f"{args.incidents_per_hour} incidents an hour, a scrape every {args.scrape_every} s, "
            f"{args.days} simulated days from {dt.datetime.fromtimestamp(START, dt.UTC):%Y-%m-%d}"
        )
        print("day | results | incidents stored | RSS MiB | scrape p50 ms | scrape max ms | CPU s/day | writer cache")
        days = []
        n_incidents = results = 0
        step = args.interval
        per_day = 24 * args.incidents_per_hour
        for day in range(args.days):
            cpu0 = time.process_time()
            scrapes = []
            for tick in range(DAY // step):
                now = START + day * DAY + tick * step
                for k, (tenant, probe) in enumerate(keys):
                    # a five-minute failure every two days, at the probe's own hour
                    phase = (now + k * 3607) % (2 * DAY)
                    ok = phase >= 300
                    recorder.observe(
                        tenant,
                        probe,
                        Result(
                            started=now,
                            success=ok,
                            duration=0.05,
                            status_code=200 if ok else 503,
                            reason=None if ok else "status",
                            stamp=round(now * 1000),
                        ),
                    )
                results += len(keys)
                recorder.flush()
                recorder.tick(now)
                since = previous_month_start(now, cfg.timezone)
                if since * 1000 > recorder.since:
                    recorder.trim(since)
                if now % 3600 < step:  # the hour's support cases
                    for i in range(args.incidents_per_hour):
                        n_incidents += 1
                        iid = f"INC-{n_incidents}"
                        tenant = cfg.tenants[(n_incidents * 7) % len(cfg.tenants)].name
                        store.add_incident(Incident(iid, tenant, "P3", now - 1800, title="benchmark"))
                        store.add_event(iid, Event("response", now - 1200))
                        if i:
                            store.add_event(iid, Event("resolution", now - 60))
                        else:  # the hour's first stays open a day
                            store.add_event(f"INC-{n_incidents - per_day}", Event("resolution", now))
                if now % args.scrape_every < step:
                    t0 = time.perf_counter()
                    exposition.generate(registry)
                    scrapes.append(time.perf_counter() - t0)
            gc.collect()
            rss = proc_status()["VmRSS"] / 2**20
            cpu = time.process_time() - cpu0
            days.append((rss, statistics.median(scrapes), max(scrapes), cpu))
            print(
                f"{day + 1} | {results:,} | {n_incidents:,} | {rss:.0f} | {days[-1][1] * 1e3:.1f} | "
                f"{days[-1][2] * 1e3:.1f} | {cpu:.1f} | {cache_sizes()}",
                flush=True,
            )
        first, last = days[0], days[-1]
        print(
            f"first day -> last day: RSS {first[0]:.0f} -> {last[0]:.0f} MiB; scrape p50 {first[1] * 1e3:.1f} -> "
            f"{last[1] * 1e3:.1f} ms; CPU {first[3]:.1f} -> {last[3]:.1f} s per simulated day "
            f"({results:,} results, {n_incidents:,} incidents)"
        )


if __name__ == "__main__":
    main()
