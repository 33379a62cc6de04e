"""Where the daemon's memory goes at scale, in process: prints figures, asserts nothing.

    .venv/bin/python benchmarks/memory.py [--tenants 10000] [--probes 3] [--repo PATH ...]

Builds what the daemon holds for TENANTS x PROBES (the config of benchmarks/scale.py, 45
days of history as benchmarks/scrape.py writes it) stage by stage, the daemon's own way
(``config.load``, a ``Recorder`` from the start of the previous month, the /metrics
collectors and text writer), and prints the RSS each stage adds: the config; the recorder;
a result for every probe (stamped on its slot); four scrapes (the first computes the closed
months); a second and third result for every probe with three scrapes after them. Then
pymalloc's arenas and the objects the cyclic collector tracks, by type (sizes without the
ints, floats and strings they hold). The prober, the web server and the scheduler are not
built: ``scale.py`` measures the whole daemon's RSS.

``--repo`` (repeatable) measures each checkout in a fresh process, one after the other with
the same store: before and after side by side. Default: this checkout.

Each child fixes glibc's mmap threshold as the daemon does at start (where the checkout's
daemon does: ``daemon._fixed_mmap_threshold``), so that freed scrape bodies go back to the
system as they do in the daemon; ``--default-malloc`` leaves glibc's default (the
threshold rises to the largest block freed, and later bodies stay in the heap).
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(repo: str, tenants: int, probes: int, db_path: str, cfg_path: str, default_malloc: bool) -> dict:
    sys.path.insert(0, repo)
    import exporter  # noqa: F401  # this checkout's, before the helpers import another

    if not default_malloc:
        from exporter import daemon

        getattr(daemon, "_fixed_mmap_threshold", lambda: None)()  # as the daemon starts

    sys.path.insert(1, HERE)
    from prometheus_client import CollectorRegistry

    from exporter import config
    from exporter.engine.months import previous_month_start
    from exporter.probing.recorder import Recorder, Result
    from exporter.store.sqlite import Store
    from exporter.web import exposition
    from exporter.web.collector import ExporterStatus, SLACollector

    out: dict = {"repo": repo, "stages": []}

    def stage(name: str, before: float) -> float:
        gc.collect()
        now_rss = rss_mb()
        out["stages"].append((name, now_rss - before))
        return now_rss

    now = float(os.environ["MEMORY_NOW"])
    base_rss = rss_mb()
    out["imports"] = base_rss
    cfg = config.load(cfg_path)
    r = stage("config", base_rss)
    store = Store(db_path)
    recorder = Recorder(store, cfg, previous_month_start(now, cfg.timezone))
    r = stage("recorder (history from the previous month)", r)
    step = 150_000
    slot = (round(now * 1000) // step) * step

    def report(k: int, duration: float) -> None:
        t = slot + k * step
        for tenant in cfg.tenants:
            for p in tenant.probes:
                result = Result(started=t / 1000, success=True, duration=duration, status_code=200, stamp=t)
                recorder.observe(tenant.name, p.name, result)

    report(0, 0.0123)
    recorder.flush()
    r = stage("a result per probe", r)
    registry = CollectorRegistry()
    clock = [slot / 1000 + 5]
    registry.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, now), lambda: clock[0]))
    timings = []
    for _ in range(4):
        t0 = time.perf_counter()
        body = exposition.generate(registry)
        timings.append(time.perf_counter() - t0)
        clock[0] += 1
    r = stage("4 scrapes", r)
    for k in (1, 2):
        report(k, 0.0123 + k / 1000)
        clock[0] = (slot + k * step) / 1000 + 3
        t0 = time.perf_counter()
        body = exposition.generate(registry)
        timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    body = exposition.generate(registry)
    timings.append(time.perf_counter() - t0)
    r = stage("2 more results per probe, 3 scrapes", r)
    out["rss"], out["bytes"], out["scrapes s"] = r, len(body), timings
    del body
    counts: collections.Counter = collections.Counter()
    sizes: collections.Counter = collections.Counter()
    for obj in gc.get_objects():
        kind = type(obj).__qualname__
        counts[kind] += 1
        sizes[kind] += sys.getsizeof(obj)
    out["types"] = [(kind, size, counts[kind]) for kind, size in sizes.most_common(12)]
    out["series"] = sum(len(v) for v in recorder.series.values())
    out["runs"] = sum(len(v) for v in recorder.runs.values())
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--repo", action="append", help="a checkout to measure (repeatable)")
    parser.add_argument("--default-malloc", action="store_true", help="leave glibc's mmap threshold dynamic")
    args = parser.parse_args()
    repos = [os.path.abspath(r) for r in args.repo or [os.path.dirname(HERE)]]
    sys.path.insert(0, HERE)
    from scale import fleet_config
    from scrape import build_history

    from exporter import config
    from exporter.store.sqlite import Store

    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path, db_path = os.path.join(tmp, "c.yaml"), os.path.join(tmp, "s.db")
        with open(cfg_path, "w") as f:
            f.write(fleet_config(args.tenants, args.probes, "http://127.0.0.1:1", 150))
        with Store(db_path) as store:
            build_history(store, config.load(cfg_path), now - 45 * 86400, now - 600)
        rows = []
        for repo in repos:
            db = os.path.join(tmp, f"s{len(rows)}.db")
            with open(db_path, "rb") as src, open(db, "wb") as dst:
                dst.write(src.read())
            cmd = [sys.executable, __file__, "--child", repo, str(args.tenants), str(args.probes), db, cfg_path]
            cmd += ["--default-malloc"] if args.default_malloc else []
            env = {**os.environ, "MEMORY_NOW": repr(now)}
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    malloc = "glibc's default" if args.default_malloc else "mmap threshold fixed as the daemon does"
    print(f"{args.tenants:,} tenants x {args.probes} probes ({malloc}); RSS added by each stage, MB")
    print(" | ".join(["stage", *(r["repo"] for r in rows)]))
    print(" | ".join(["imports (RSS)", *(f"{r['imports']:.0f}" for r in rows)]))
    for i, (name, _) in enumerate(rows[0]["stages"]):
        print(" | ".join([name, *(f"+{r['stages'][i][1]:.0f}" for r in rows)]))
    print(" | ".join(["RSS at the end", *(f"{r['rss']:.0f}" for r in rows)]))
    print(" | ".join(["scrape s (median of 7)", *(f"{sorted(r['scrapes s'])[3]:.2f}" for r in rows)]))
    for r in rows:
        print(
            f"\n{r['repo']}: {r['series']:,} series and {r['runs']:,} runs in the recorder; "
            f"{r['bytes']:,} bytes a scrape"
        )
        for kind, size, n in r["types"]:
            print(f"  {size / 1e6:7.1f} MB {n:9,} {kind}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        repo, tenants, probes, db, cfg = sys.argv[2:7]
        print(json.dumps(child(repo, int(tenants), int(probes), db, cfg, "--default-malloc" in sys.argv[7:])))
    else:
        main()
