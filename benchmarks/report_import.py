"""Month report and CSV import speed: prints figures, asserts nothing.

    .venv/bin/python benchmarks/report_import.py [--tenants 1000] [--probes-per-tenant 3]
        [--import-probes 1000] [--import-rows 1000] [--month-probes 25] [--repeat 3]

Report: a store with 1,000 tenants x 3 probes probed every 30 s from mid-September to early
November 2026 (three outages per tenant a month, 2-30 min, on a random subset of its probes,
and a 15-minute monitor gap), then ``report.build`` for October 2026 (Europe/Helsinki, weekly
and quarterly maintenance windows): cold (fresh store connection) and warm, and the
``sla-exporter report`` command end to end (json and table, subprocess).

Import: a CSV of IMPORT_PROBES probes x IMPORT_ROWS rows every 30 s (1,000 x 1,000 =
1,000,000 observations, rows interleaved by time as an export would be, with a few outages per
probe), imported into a fresh store by ``sla-exporter import`` (subprocess, end to end) and in
process (``importer.parse`` then ``importer.import_observations``, timed apart), then the
same file again (a no-op by contract). Then a month of 1-minute rows for MONTH_PROBES probes
(25 x 44,640 = 1,116,000 observations) the same way (0 skips it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time

from _common import config_text, exporter_cmd, human_bytes

from exporter import config, report
from exporter.engine.states import Series
from exporter.store import importer
from exporter.store.sqlite import Store

WINDOWS = [
    '{name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}',
    '{name: quarterly, rrule: "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA", start: "22:00", duration: 6h}',
]
STEP = 30.0
STEP_MS = 30_000


def utc(*args) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


# -- report --------------------------------------------------------------------------------------


def probe_history(lo: float, hi: float, outages: list[tuple[float, float]]) -> list[Series]:
    """Series of a probe probed every STEP s over [lo, hi) (epoch s): failing during
    ``outages``. In integer ms, as the store keeps them."""
    lo_ms, hi_ms = round(lo * 1000), round(hi * 1000)
    out: list[Series] = []
    cursor = lo_ms
    for start, end in [*sorted(outages), (hi, hi)]:
        start = lo_ms + round((start * 1000 - lo_ms) / STEP_MS) * STEP_MS
        end = min(hi_ms, lo_ms + round((end * 1000 - lo_ms) / STEP_MS) * STEP_MS)
        start = max(start, cursor)  # overlapping outages: one failing stretch
        if start > cursor:
            n = (start - cursor) // STEP_MS
            out.append(Series(True, cursor, STEP_MS if n > 1 else 0, n))
        if end > start:
            n = (end - start) // STEP_MS
            out.append(Series(False, start, STEP_MS if n > 1 else 0, n))
        cursor = max(cursor, end)
    return _joined(out)


def _joined(series: list[Series]) -> list[Series]:
    # Overlapping outages give adjacent failing pieces; the store keeps them as one series.
    out: list[Series] = []
    for s in series:
        prev = out[-1] if out else None
        if prev and prev.success == s.success and s.start == prev.last + STEP_MS:
            out[-1] = Series(s.success, prev.start, STEP_MS, prev.count + s.count)
        else:
            out.append(s)
    return out


def build_store(path: str, cfg, rng: random.Random) -> int:
    lo, hi = utc(2026, 9, 15), utc(2026, 11, 5)
    rows = []
    for tenant in cfg.tenants:
        outages = []  # (start, end, probes)
        for _month in range(2):
            for _ in range(3):
                start = rng.uniform(lo, hi - 3600)
                outages.append(
                    (
                        start,
                        start + rng.uniform(120, 1800),
                        rng.sample(range(len(tenant.probes)), rng.randint(1, len(tenant.probes))),
                    )
                )
        gap = rng.uniform(lo, hi - 3600)  # the monitor's own 15-minute gap (unknown time)
        for j, probe in enumerate(tenant.probes):
            mine = [(s, e) for s, e, which in outages if j in which]
            for segment in ((lo, gap), (gap + 900, hi)):
                inside = [
                    (max(s, segment[0]), min(e, segment[1])) for s, e in mine if s < segment[1] and e > segment[0]
                ]
                for series in probe_history(*segment, inside):
                    rows.append((tenant.name, probe.name, series))
    with Store(path) as store:
        store.save_series(rows)
        return store.series_count()


def bench_report(tmp: str, tenants: int, per_tenant: int, repeat: int) -> None:
    cfg_path = os.path.join(tmp, "report.yaml")
    with open(cfg_path, "w") as f:
        f.write(config_text(tenants, per_tenant, "http://127.0.0.1:1", "30s", windows=WINDOWS))
    t0 = time.perf_counter()
    cfg = config.load(cfg_path)
    load = time.perf_counter() - t0
    db = os.path.join(tmp, "report.db")
    t0 = time.perf_counter()
    series = build_store(db, cfg, random.Random(8))
    print(
        f"report: {tenants:,} tenants x {per_tenant} probes, {series:,} series (Sep 15 - Nov 5, 2026) built in "
        f"{time.perf_counter() - t0:.1f} s; store {human_bytes(os.path.getsize(db))}"
    )
    timings = []
    for _ in range(repeat):
        with Store(db, create=False) as store:
            t0 = time.perf_counter()
            doc = report.build(cfg, store, 2026, 10, list(cfg.tenants))
            timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    report.to_table(doc)
    render = time.perf_counter() - t0
    outages = sum(len(t["outages"]) for t in doc["tenants"])
    met = sum(1 for t in doc["tenants"] if t["met"])
    print(
        f"  report.build(2026-10): first {timings[0]:.3f} s, best of {repeat} {min(timings):.3f} s  (target: < 2 s); "
        f"{outages:,} outages, {met:,} of {tenants:,} tenants met the target"
    )
    print(f"  around it: config.load {load:.3f} s, report.to_table {render:.3f} s")
    for fmt in ("json", "table"):
        cmd = exporter_cmd(
            "report", "--config.file", cfg_path, "--storage.path", db, "--month", "2026-10", "--format", fmt
        )
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, check=True)
        print(
            f"  sla-exporter report --format {fmt} (subprocess, end to end): {time.perf_counter() - t0:.3f} s, "
            f"{len(out.stdout):,} bytes"
        )


# -- import --------------------------------------------------------------------------------------


def write_csv(path: str, cfg, rows: int, step: float, start: float, rng: random.Random) -> int:
    """Rows interleaved by time; each probe fails in 3 stretches of 2-20 rows."""
    keys = [(t.name, p.name) for t in cfg.tenants for p in t.probes]
    failing: dict[int, set[int]] = {}
    for k in range(len(keys)):
        for _ in range(3):
            at, length = rng.randrange(rows), rng.randint(2, 20)
            for r in range(at, min(rows, at + length)):
                failing.setdefault(r, set()).add(k)
    with open(path, "w", newline="") as f:
        f.write("time,tenant,probe,success\n")
        for r in range(rows):
            stamp = dt.datetime.fromtimestamp(start + r * step, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            down = failing.get(r, ())
            f.write("".join(f"{stamp},{t},{p},{0 if k in down else 1}\n" for k, (t, p) in enumerate(keys)))
    return rows * len(keys)


def bench_import(tmp: str, label: str, tenants: int, per_tenant: int, rows: int, step: float) -> None:
    cfg_path = os.path.join(tmp, f"import-{label}.yaml")
    with open(cfg_path, "w") as f:
        f.write(config_text(tenants, per_tenant, "http://127.0.0.1:1", f"{step:g}s"))
    t0 = time.perf_counter()
    cfg = config.load(cfg_path)
    load = time.perf_counter() - t0
    csv_path = os.path.join(tmp, f"import-{label}.csv")
    t0 = time.perf_counter()
    n = write_csv(csv_path, cfg, rows, step, utc(2026, 10, 1) - 3 * 3600, random.Random(8))
    print(
        f"import ({label}): {tenants * per_tenant:,} probes x {rows:,} rows every {step:g} s = {n:,} observations, "
        f"CSV {human_bytes(os.path.getsize(csv_path))} written in {time.perf_counter() - t0:.1f} s"
    )

    db = os.path.join(tmp, f"import-{label}-cli.db")
    cmd = exporter_cmd("import", "--config.file", cfg_path, "--storage.path", db, csv_path)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        sys.exit(f"import failed ({out.returncode}): {out.stderr.strip()}")
    print(
        f"  sla-exporter import (subprocess, end to end): {wall:.2f} s -> {n / wall:,.0f} observations/s  "
        f"(target: >= 100,000/s)"
    )
    print(f"    {out.stdout.strip()}")

    db = os.path.join(tmp, f"import-{label}-inproc.db")
    with open(csv_path, newline="", encoding="utf-8") as f:
        t0 = time.perf_counter()
        obs = importer.parse(f, cfg)
        parse = time.perf_counter() - t0
    with Store(db) as store:
        t0 = time.perf_counter()
        summary = importer.import_observations(store, cfg, obs)
        merge = time.perf_counter() - t0
    del obs
    print(
        f"  in process: parse {parse:.2f} s ({n / parse:,.0f}/s) + merge and commit {merge:.2f} s "
        f"({n / merge:,.0f}/s) = {parse + merge:.2f} s -> {n / (parse + merge):,.0f} observations/s; "
        f"{summary.result.series_written:,} series, store {human_bytes(os.path.getsize(db))} "
        f"(config.load {load:.2f} s)"
    )

    t0 = time.perf_counter()
    again = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    added = again.stdout.split(": ", 2)[-1].split(";")[0] if again.stdout else "?"
    print(
        f"  the same file again (sla-exporter import, no-op): {wall:.2f} s -> {n / wall:,.0f} observations/s ({added})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--probes-per-tenant", type=int, default=3)
    parser.add_argument("--import-probes", type=int, default=1000, help="multiple of 4 (4 probes per tenant)")
    parser.add_argument("--import-rows", type=int, default=1000)
    parser.add_argument(
        "--month-probes", type=int, default=25, help="probes of the month-of-1-minute-rows import; 0 skips it"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp:
        bench_report(tmp, args.tenants, args.probes_per_tenant, args.repeat)
        label = f"{args.import_probes}x{args.import_rows}"
        bench_import(tmp, label, args.import_probes // 4, 4, args.import_rows, 30.0)
        if args.month_probes:
            bench_import(tmp, "month", args.month_probes, 1, 31 * 1440, 60.0)


if __name__ == "__main__":
    main()
