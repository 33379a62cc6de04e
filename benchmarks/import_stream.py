"""Import speed and memory as the file grows: prints figures, asserts nothing.

    .venv/bin/python benchmarks/import_stream.py [--probes 1000] [--rows 1000,5000]
        [--irregular-rows 2000] [--repo PATH]

For each size, a CSV of PROBES probes x ROWS rows (interleaved by time, as an export is;
every 30 s; a few failures per probe) is imported into a fresh store by ``sla-exporter
import`` (a subprocess, end to end: read, check, write), then the same file again (a no-op
by contract). Then a file of IRREGULAR_ROWS rows per probe whose times wander by up to 5 s
(each row its own series: the case that spills to a scratch store on disk). Prints rows per
second and the peak resident memory of the import process (``ru_maxrss`` from wait4), each
beside its bar: >= 150,000 rows/s, <= 150 MB whatever the file size, and the CPU seconds
the import took (user + system: less noisy than the wall time on a shared machine).
``--rows ''`` skips the regular files; ``--repo PATH`` runs the imports on the exporter at
PATH (another checkout: before and after with the same harness and files).

Files go to a temporary directory (the 5,000,000-row file is about 190 MB); about two
minutes with the defaults on 2 cores. Uses no network.
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

START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp()
STEP = 30


def write_csv(path: str, probes: int, rows: int, jitter_ms: int, rng: random.Random) -> int:
    keys = [(f"tenant-{k // 4:04d}", f"p{k % 4}") for k in range(probes)]
    with open(path, "w", newline="") as f:
        f.write("time,tenant,probe,success\n")
        for r in range(rows):
            t = START + r * STEP
            out = []
            for tenant, probe in keys:
                at = t + rng.randrange(jitter_ms) / 1000 if jitter_ms else t
                stamp = dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="milliseconds")
                out.append(f"{stamp.replace('+00:00', 'Z')},{tenant},{probe},{0 if rng.random() < 0.002 else 1}\n")
            f.write("".join(out))
    return rows * probes


def run_import(cfg: str, db: str, csv_path: str) -> tuple[float, int, str, float]:
    """(wall seconds, peak RSS bytes, stdout, CPU seconds) of one ``sla-exporter import``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            exporter_cmd("import", "--config.file", cfg, "--storage.path", db, csv_path), stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the maximum so far
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            sys.exit(f"import failed ({proc.returncode}): {err.read().strip()}")
        return wall, usage.ru_maxrss * 1024, out.read().strip(), usage.ru_utime + usage.ru_stime


def bench(tmp: str, cfg: str, label: str, probes: int, rows: int, jitter_ms: int) -> None:
    csv_path = os.path.join(tmp, f"{label}.csv")
    t0 = time.perf_counter()
    n = write_csv(csv_path, probes, rows, jitter_ms, random.Random(rows))
    print(
        f"{label}: {probes:,} probes x {rows:,} rows = {n:,} rows, CSV {human_bytes(os.path.getsize(csv_path))} "
        f"(written in {time.perf_counter() - t0:.0f} s)"
    )
    db = os.path.join(tmp, f"{label}.db")
    wall, peak, out, cpu = run_import(cfg, db, csv_path)
    print(
        f"  import: {wall:.2f} s -> {n / wall:,.0f} rows/s (bar: >= 150,000/s); "
        f"peak RSS {human_bytes(peak)} (bar: <= 150 MB whatever the size); CPU {cpu:.2f} s"
    )
    print(f"    {out}")
    wall, peak, out, cpu = run_import(cfg, db, csv_path)
    print(
        f"  the same file again (no-op): {wall:.2f} s -> {n / wall:,.0f} rows/s; peak RSS {human_bytes(peak)}; "
        f"CPU {cpu:.2f} s"
    )
    print(f"    store {human_bytes(os.path.getsize(db))}")
    os.unlink(csv_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", type=int, default=1000, help="a multiple of 4 (4 probes per tenant)")
    parser.add_argument("--rows", default="1000,5000", help="rows per probe, comma-separated sizes")
    parser.add_argument("--irregular-rows", type=int, default=2000, help="0 skips the irregular file")
    parser.add_argument("--repo", help="the exporter to measure (a checkout; default: this one)")
    args = parser.parse_args()
    if args.repo:
        os.environ["PYTHONPATH"] = os.path.abspath(args.repo)  # the children's exporter
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}; "
        f"exporter {os.environ['PYTHONPATH'].split(os.pathsep)[0]}"
    )
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp:
        cfg = os.path.join(tmp, "config.yaml")
        with open(cfg, "w") as f:
            f.write(config_text(args.probes // 4, 4, "http://127.0.0.1:1", f"{STEP}s"))
        for rows in (int(r) for r in args.rows.split(",") if r):
            bench(tmp, cfg, f"regular-{rows}", args.probes, rows, 0)
        if args.irregular_rows:
            bench(tmp, cfg, f"irregular-{args.irregular_rows}", args.probes, args.irregular_rows, 5000)


if __name__ == "__main__":
    main()
