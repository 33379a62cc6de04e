"""Storage per probe-month, ours beside Prometheus's TSDB: prints figures, asserts nothing.

    .venv/bin/python benchmarks/storage.py [--probes 1000] [--series 50] [--outages 10]
        [--block-duration 486h]

Ours: PROBES probes written to a fresh store through ``Store.save_series`` (the daemon's
group commit), probed every 30 s for October 2026 (Europe/Helsinki, 745 h): a *stable* probe
is one series a month, a *flapping* one has OUTAGES outages a month (2 x OUTAGES + 1 series). Size
is ``page_count * page_size`` after a WAL checkpoint and VACUUM, minus the empty store's;
printed for the first month (includes the probe's row in ``probes``) and for a second month
added on top (November 2026; the marginal cost of a month).

Prometheus: ``probe_success{instance=...}`` every 15 s for the same month, SERIES stable
series and SERIES flapping ones (OUTAGES outages each) in two OpenMetrics files, each
backfilled with ``promtool tsdb create-blocks-from openmetrics`` (Debian package
``prometheus``) into blocks of at most BLOCK_DURATION (486h: the largest compaction level of
a Prometheus keeping 10 years, i.e. a month long since compacted; the flag is hidden in
promtool 2.42 but works); the block directory's size divided by the series. Only
``probe_success`` is counted: blackbox_exporter exposes about 20 series per HTTP probe.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from _common import dir_size, human_bytes

from exporter.engine.months import month_bounds, month_bounds_ms
from exporter.engine.states import Series
from exporter.store.sqlite import Store

TZ = "Europe/Helsinki"
STEP = 30.0
STEP_MS = 30_000


def outages(rng: random.Random, lo: float, hi: float, n: int) -> list[tuple[float, float]]:
    """``n`` disjoint outages of 2-30 min inside [lo, hi), sorted."""
    slots = sorted(rng.sample(range(1, n * 4), n))
    span = (hi - lo) / (n * 4)
    return [(lo + s * span, lo + s * span + rng.uniform(120, 1800)) for s in slots]


def series_for(lo: int, hi: int, down: list[tuple[float, float]], step: int) -> list[Series]:
    """The series of a probe observed every ``step`` ms over [lo, hi) (ms), failing during
    ``down`` (ms, sorted, disjoint): what the daemon stores, one series per stretch."""
    out, cursor = [], lo
    for s, e in [*down, (hi, hi)]:
        s, e = lo + round((s - lo) / step) * step, lo + round((e - lo) / step) * step
        if s > cursor:
            n = (s - cursor) // step
            out.append(Series(True, cursor, step if n > 1 else 0, n))
        if e > s:
            n = (e - s) // step
            out.append(Series(False, s, step if n > 1 else 0, n))
        cursor = e
    return out


def db_bytes(path: str) -> int:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("VACUUM")
        pages, size = con.execute("PRAGMA page_count").fetchone()[0], con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    return pages * size


def ours(tmp: str, probes: int, n_outages: int) -> None:
    months = [month_bounds_ms(2026, 10, TZ), month_bounds_ms(2026, 11, TZ)]
    empty = os.path.join(tmp, "empty.db")
    Store(empty).close()
    base = db_bytes(empty)
    print(f"ours: SQLite store, {probes:,} probes probed every {STEP:g} s; empty store {human_bytes(base)}")
    for kind, n in (("stable", 0), ("flapping", n_outages)):
        rng = random.Random(8)
        path = os.path.join(tmp, f"{kind}.db")
        sizes, per_month = [], 0
        for lo, hi in months:
            rows = []
            for i in range(probes):
                down = [(s * 1000, e * 1000) for s, e in outages(rng, lo / 1000, hi / 1000, n)] if n else []
                for series in series_for(lo, hi, down, STEP_MS):
                    rows.append((f"tenant-{i // 4:04d}", f"p{i % 4}", series))
            with Store(path) as store:
                store.save_series(rows)
            per_month = len(rows) // probes
            sizes.append(db_bytes(path))
        first = (sizes[0] - base) / probes
        second = (sizes[1] - sizes[0]) / probes
        target = "  (target: <= 1 KiB)" if kind == "stable" else ""
        print(
            f"  {kind:8} ({per_month} series a month): first month {first:,.0f} B/probe "
            f"(with its probes row), each further month {second:,.0f} B/probe-month{target}"
        )


def write_openmetrics(path: str, series: int, lo: float, hi: float, n_outages: int, step: float) -> int:
    rng = random.Random(8)
    names = [f'probe_success{{instance="tenant-{i // 4:04d}/p{i % 4}"}} ' for i in range(series)]
    failing: dict[int, set[int]] = {}
    if n_outages:
        for i in range(series):
            for s, e in outages(rng, lo, hi, n_outages):
                for k in range(int((s - lo) // step), int((e - lo) // step)):
                    failing.setdefault(k, set()).add(i)
    samples = 0
    with open(path, "w") as f:
        f.write("# HELP probe_success Displays whether or not the probe was a success\n# TYPE probe_success gauge\n")
        k, t = 0, lo
        while t < hi:
            down = failing.get(k, ())
            stamp = f" {int(t)}\n"
            f.write("".join(name + ("0" if i in down else "1") + stamp for i, name in enumerate(names)))
            samples += series
            k += 1
            t = lo + k * step
        f.write("# EOF\n")
    return samples


def prometheus(tmp: str, series: int, n_outages: int, block_duration: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        print("prometheus: promtool not installed (apt-get install -y --no-install-recommends prometheus); skipped")
        return
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True)
    version = (version.stdout or version.stderr).split("\n")[0]
    lo, hi = month_bounds(2026, 10, TZ)
    print(
        f"prometheus: {version.split(' (')[0]}; probe_success every 15 s for 2026-10 ({(hi - lo) / 3600:g} h), "
        f"blocks of at most {block_duration}"
    )
    for kind, n in (("stable", 0), ("flapping", n_outages)):
        om = os.path.join(tmp, f"{kind}.om")
        t0 = time.perf_counter()
        samples = write_openmetrics(om, series, lo, hi, n, 15.0)
        om_size, written = os.path.getsize(om), time.perf_counter() - t0
        out = os.path.join(tmp, f"tsdb-{kind}")
        cmd = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet"]
        if block_duration:
            cmd.append(f"--max-block-duration={block_duration}")
        t0 = time.perf_counter()
        subprocess.run([*cmd, om, out], check=True, capture_output=True)
        backfill = time.perf_counter() - t0
        os.remove(om)
        blocks = [d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))]
        total = dir_size(out)
        chunks = sum(dir_size(os.path.join(out, b, "chunks")) for b in blocks)
        print(
            f"  {kind:8} ({series} series, {samples:,} samples; OpenMetrics {human_bytes(om_size)} written in "
            f"{written:.0f} s, backfilled in {backfill:.0f} s into {len(blocks)} blocks): "
            f"{total / series:,.0f} B/series-month ({chunks / series:,.0f} B of it chunks), "
            f"{total / samples:.2f} B/sample"
        )
        shutil.rmtree(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", type=int, default=1000, help="probes in our store (default 1000)")
    parser.add_argument("--series", type=int, default=50, help="Prometheus series of each kind (default 50)")
    parser.add_argument("--outages", type=int, default=10, help="outages a month of a flapping probe (default 10)")
    parser.add_argument("--block-duration", default="486h", help="promtool --max-block-duration ('' = its default 2h)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp:
        ours(tmp, args.probes, args.outages)
        if args.series:
            prometheus(tmp, args.series, args.outages, args.block_duration)


if __name__ == "__main__":
    main()
