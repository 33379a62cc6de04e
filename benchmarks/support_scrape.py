"""The support collector's scrape beside many open incidents, in process: prints figures,
asserts nothing.

    .venv/bin/python benchmarks/support_scrape.py [--incidents 5000] [--scrapes 20] [--repo PATH ...]

A SQLite store with INCIDENTS open *detected* incidents, one per tenant and none answered
(what benchmarks/probe_pipeline.py part c leaves beside 5,000 hung targets: no deadlines,
no breaches), then SCRAPES scrapes of the support collector alone, one second apart with
nothing written between; then one event written and one more scrape. Prints the median
CPU time of a scrape, and of the scrape after the write. ``--repo`` (repeatable) measures
each checkout in a fresh process with the same store: before and after side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

T0 = 1_793_610_000.0  # a fixed instant (Mon 2 Nov 2026, 09:00 UTC)
CONFIG = "timezone: UTC\ntenants:\n  - name: t0\n    probes: [{name: a, url: 'https://a.example.com/'}]\n"


def build(path: str, n: int) -> None:
    from exporter.model import Incident
    from exporter.store.sqlite import Store

    with Store(path) as store:
        for i in range(n):
            store.add_incident(Incident(f"DET-{i}", f"t{i}", "P3", T0 - 3600, source="detected"))


def child(repo: str, path: str, scrapes: int) -> dict:
    sys.path.insert(0, repo)
    from exporter import config
    from exporter.model import Event
    from exporter.store.sqlite import Store
    from exporter.web.collectors.support import SupportCollector

    cfg = config.load_text(CONFIG)
    now = [T0]
    out: dict = {"repo": repo}
    with Store(path) as store:
        collector = SupportCollector(lambda: cfg, store, lambda: now[0])
        times = []
        for _ in range(scrapes):
            t0 = time.process_time()
            series = sum(len(f.samples) for f in collector.collect())
            times.append(time.process_time() - t0)
            now[0] += 1
        out["first s"], out["median s"], out["series"] = times[0], statistics.median(times[1:]), series
        store.add_event("DET-0", Event("communication", now[0], note="benchmark"))
        t0 = time.process_time()
        sum(len(f.samples) for f in collector.collect())
        out["after a write s"] = time.process_time() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=5000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--repo", action="append", help="a checkout to measure (repeatable)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        sys.path.insert(0, args.build[0])
        build(args.build[1], args.incidents)
        return
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.scrapes)))
        return
    repos = [os.path.abspath(r) for r in args.repo or [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]]
    with tempfile.TemporaryDirectory() as tmp:
        # Each checkout gets its own copy of one store built by the first (the schema may differ).
        base = os.path.join(tmp, "base.db")
        subprocess.run(
            [sys.executable, __file__, "--incidents", str(args.incidents), "--build", repos[0], base], check=True
        )
        print(f"{args.incidents} open detected incidents, {args.scrapes} scrapes 1 s apart (CPU time)")
        print(f"{'checkout':40} {'first':>8} {'median':>8} {'after a write':>14} {'series':>7}")
        for i, repo in enumerate(repos):
            path = os.path.join(tmp, f"{i}.db")
            with open(base, "rb") as src, open(path, "wb") as dst:
                dst.write(src.read())
            done = subprocess.run(
                [sys.executable, __file__, "--scrapes", str(args.scrapes), "--child", repo, path],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            r = json.loads(done.stdout)
            print(
                f"{repo:40} {r['first s'] * 1000:6.0f}ms {r['median s'] * 1000:6.1f}ms"
                f" {r['after a write s'] * 1000:12.0f}ms {r['series']:7}"
            )


if __name__ == "__main__":
    main()
