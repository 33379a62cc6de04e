"""N exporters writing to one PostgreSQL: results held, write latency, bytes per probe-month,
beside SQLite. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/postgres.py [--exporters 1,2,4] [--layout shards,locations]
        [--feed 5] [--probes 400] [--interval 1] [--seconds 30] [--writer-rate 2000]
        [--month-probes 200] [--url postgresql://...]

About 6 minutes with the defaults on 2 cores. Needs PostgreSQL's server binaries (Debian:
``postgresql``; the service need not run) and psycopg (``pip install -e '.[postgresql]'``).
Without ``--url`` it starts a throwaway cluster of its own on 127.0.0.1 (fsync on, default
settings apart from the port; as user ``postgres`` when run as root) and removes it after.

(a) Daemons: N real ``python -m exporter run --storage.url URL`` processes (N in EXPORTERS)
    probing PROBES probes every INTERVAL s on one fast local HTTP target (a process of its
    own), in each LAYOUT: ``shards`` (``--shard I/N``: together they probe every probe once)
    and ``locations`` (``--location lI``: each probes every probe, so N x PROBES results an
    interval). Every exporter also reads what the others write (the feed, every FEED s:
    SLA_EXPORTER_FEED_INTERVAL, default 5) and serves every tenant. After one interval of
    warm-up plus 5 s, SECONDS s are measured: the results the database holds for the window
    (observations in the stored series) divided by the slots offered, results/s held, the
    exporters' CPU (mean per exporter, share of one core) and the tenants each serves at
    the end (``sla_up`` samples, of TENANTS: a tenant another exporter probes has none
    while its last result read from the store is stale, see docs/scaling.md).
(b) The recorder's write path (the daemon's group commit): N processes, each a Recorder on
    its own shard of the probes, RATE results/s in total, one flush a second (as the daemon),
    every 40th result a failure so that series keep being added. Per flush: its latency
    (p50/p99/max over every writer) and the rows written per second held; on SQLite (one
    file, N processes) beside PostgreSQL.
(c) Store bytes per probe-month: a month of one-minute results for MONTH_PROBES probes, a
    steady probe (5 outages a month) and a flappy one (an outage every hour), merged as an
    import does; SQLite's file size (after VACUUM) beside pg_total_relation_size of the
    store's tables and their indexes (after VACUUM FULL), divided by the probes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from _common import (
    REPO,
    config_text,
    cpu_seconds,
    exporter_cmd,
    free_port,
    human_bytes,
    local_target,
    percentile,
    running,
    wait_http,
)

sys.path.insert(0, REPO)

import psycopg

from exporter.engine.states import Series
from exporter.store.sqlite import Store

MONTH_S = 30 * 86400
T0 = 1_790_812_800  # 2026-10-01T00:00:00Z


# -- a throwaway cluster --------------------------------------------------------------------


@contextlib.contextmanager
def cluster():
    found = sorted(p for p in (shutil.which("initdb"),) if p) or sorted(
        os.path.join(d, "bin", "initdb") for d in _pg_dirs()
    )
    if not found:
        sys.exit("PostgreSQL's binaries are not installed (Debian: apt-get install --no-install-recommends postgresql)")
    bindir = os.path.dirname(found[-1])
    tmp = tempfile.mkdtemp(prefix="sla-pgbench-")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
    data, port = os.path.join(tmp, "data"), free_port()

    def run(*argv):
        argv = ("runuser", "-u", user, "--", *argv) if user else argv
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    run(os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={tmp} -c max_connections=50"
    run(os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(tmp, "log"), "-o", options, "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(tmp, ignore_errors=True)


def _pg_dirs():
    base = "/usr/lib/postgresql"
    return [os.path.join(base, v) for v in sorted(os.listdir(base))] if os.path.isdir(base) else []


def new_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def observations_in(rows, lo_ms: int, hi_ms: int) -> int:
    """Observations of stored series ``(start, step, count)`` at times in [lo, hi)."""
    n = 0
    for start, step, count in rows:
        if step == 0:
            n += lo_ms <= start < hi_ms
            continue
        first = max(0, -(-(lo_ms - start) // step))
        last = min(count - 1, (hi_ms - 1 - start) // step)
        n += max(0, last - first + 1)
    return n


# -- (a) daemons ------------------------------------------------------------------------------


def daemons(
    admin_url: str, n: int, probes: int, interval: int, seconds: int, layout: str = "shards", feed: float | None = None
) -> dict:
    url = new_database(admin_url, f"daemons_{layout}{n}")
    tmp = tempfile.mkdtemp(prefix="sla-pgbench-")
    tenants = probes  # one probe a tenant (config_text)
    try:
        with local_target() as (_, target), contextlib.ExitStack() as stack:
            cfg = os.path.join(tmp, "c.yaml")
            with open(cfg, "w") as f:
                f.write(config_text(probes, 1, target, interval=f"{interval}s"))
            ports, procs = [], []
            for i in range(n):
                port = free_port()
                ports.append(port)
                where = ["--shard", f"{i}/{n}"] if layout == "shards" else ["--location", f"l{i}"]
                cmd = exporter_cmd(
                    "run", "--config.file", cfg, "--storage.url", url, *where,
                    "--web.listen-address", f"127.0.0.1:{port}",
                )  # fmt: skip
                env = {**os.environ, **({"SLA_EXPORTER_FEED_INTERVAL": str(feed)} if feed else {})}
                procs.append(stack.enter_context(running(cmd, os.path.join(tmp, f"e{i}.log"), cwd=tmp, env=env)))
            for i, port in enumerate(ports):
                try:
                    wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60)
                except TimeoutError:
                    with open(os.path.join(tmp, f"e{i}.log")) as f:
                        sys.exit(f.read()[-2000:])
            time.sleep(interval + 5)
            lo, cpu0 = time.time(), sum(cpu_seconds(p.pid) for p in procs)
            time.sleep(seconds)
            hi, cpu1 = time.time(), sum(cpu_seconds(p.pid) for p in procs)
            time.sleep(3)  # the last group commits (one a second)
            served = [_tenants_served(port) for port in ports]
            with psycopg.connect(url) as con:
                rows = con.execute("SELECT start_ms, step_ms, count FROM series").fetchall()
        held = observations_in(rows, int(lo * 1000), int(hi * 1000))
        offered = probes * (hi - lo) / interval * (n if layout == "locations" else 1)
        return {"exporters": n, "offered_per_s": offered / (hi - lo), "held_per_s": held / (hi - lo),
                "held": held / offered, "cpu": (cpu1 - cpu0) / (hi - lo) / n,
                "served": f"{min(served)}-{max(served)}/{tenants}" if min(served) != max(served)
                else f"{served[0]}/{tenants}"}  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _tenants_served(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        return sum(line.startswith("sla_up{") for line in r.read().decode().splitlines())


# -- (b) the recorder's write path -------------------------------------------------------------


def writer(target: str, shard: int, shards: int, probes: int, rate: float, seconds: float, out: str) -> None:
    """One writer process: a Recorder on its shard of the probes, flushing once a second."""
    from exporter import config
    from exporter.probing import sharding
    from exporter.probing.recorder import Recorder, Result

    cfg = sharding.restrict(
        config.load_text(config_text(probes, 1, "http://127.0.0.1:9", interval="1s")), shard, shards
    )
    keys = [(t.name, p.name) for t in cfg.tenants for p in t.probes]
    latencies, rows = [], 0
    with Store(target) as store:
        rec = Recorder(store, cfg, since=time.time() - 3600)
        per_second = max(1, round(rate * len(keys) / probes))
        began = time.time()
        tick, k = 0, 0
        while time.time() - began < seconds:
            tick += 1
            now = began + tick
            for i in range(per_second):
                key = keys[(k + i) % len(keys)]
                t = now - 1 + i / per_second
                rec.observe(*key, Result(t, (k + i) % 40 != 0, 0.001, 200, stamp=int(t * 1000)))
            k += per_second
            time.sleep(max(0.0, now - time.time()))
            t_flush = time.perf_counter()
            rows += rec.flush()
            latencies.append(time.perf_counter() - t_flush)
    with open(out, "w") as f:
        json.dump({"latencies": latencies, "rows": rows, "seconds": time.time() - began}, f)


def writers(target_for, n: int, probes: int, rate: float, seconds: float) -> dict:
    tmp = tempfile.mkdtemp(prefix="sla-pgbench-")
    try:
        target = target_for(n, tmp)
        Store(target).close()  # the schema, before the writers race for it
        outs = [os.path.join(tmp, f"w{i}.json") for i in range(n)]
        argv = [sys.executable, __file__, "writer", target]
        tail = [str(n), str(probes), str(rate), str(seconds)]
        procs = [subprocess.Popen([*argv, str(i), *tail, outs[i]]) for i in range(n)]
        for p in procs:
            p.wait(timeout=seconds + 120)
        docs = [json.load(open(o)) for o in outs]  # noqa: SIM115 - small files
        lat = [x for d in docs for x in d["latencies"]]
        return {
            "exporters": n,
            "rows_per_s": sum(d["rows"] / d["seconds"] for d in docs),
            "p50_ms": percentile(lat, 50) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
            "max_ms": max(lat) * 1000,
            "failed": sum(p.returncode != 0 for p in procs),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- (c) bytes per probe-month -------------------------------------------------------------


def month_of(kind: str) -> list[Series]:
    """A month of one-minute results: steady (5 outages of 10 min) or flappy (5 min an hour)."""
    minute, n = 60_000, MONTH_S // 60
    if kind == "steady":
        down = {int(i * n / 5) + j for i in range(5) for j in range(10)}
    else:
        down = {h * 60 + j for h in range(n // 60) for j in range(5)}
    out: list[Series] = []
    for i in range(n):
        ok = i not in down
        t = T0 * 1000 + i * minute
        if out and out[-1].success == ok:
            last = out[-1]
            out[-1] = Series(ok, last.start, minute, last.count + 1)
        else:
            out.append(Series(ok, t, minute, 1))
    return out


def month_bytes(target: str, probes: int, kind: str) -> int:
    series = month_of(kind)
    with Store(target) as store:
        store.merge_series(lambda: ((("acme", f"p{i}"), series) for i in range(probes)))
    if target.startswith("postgresql://"):
        with psycopg.connect(target, autocommit=True) as con:
            con.execute("VACUUM FULL")
            tables = ("probes", "series", "corrections", "incidents", "incident_events", "service_requests")
            return sum(con.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0] for t in tables)
    con = sqlite3.connect(target)
    con.execute("VACUUM")
    con.close()
    return os.path.getsize(target)


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "writer":
        a = sys.argv[2:]
        writer(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4]), float(a[5]), a[6])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exporters", default="1,2,4")
    parser.add_argument("--layout", default="shards,locations", help="shards, locations or both")
    parser.add_argument("--feed", type=float, help="SLA_EXPORTER_FEED_INTERVAL for (a), seconds (default: 5)")
    parser.add_argument("--probes", type=int, default=400)
    parser.add_argument("--interval", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--writer-rate", dest="rate", type=float, default=2000)
    parser.add_argument("--writer-probes", dest="writer_probes", type=int, default=2000)
    parser.add_argument("--month-probes", dest="month_probes", type=int, default=200)
    parser.add_argument("--url", help="an existing server's admin URL (databases are created in it)")
    parser.add_argument("--only", choices=("a", "b", "c"))
    args = parser.parse_args()
    counts = [int(x) for x in args.exporters.split(",")]
    with contextlib.ExitStack() as stack:
        admin = args.url or stack.enter_context(cluster())
        with psycopg.connect(admin) as con:
            version = con.execute("SHOW server_version").fetchone()[0]
        print(f"{os.cpu_count()} CPUs (shared: figures taken under load); PostgreSQL {version}; "
              f"SQLite {sqlite3.sqlite_version}; psycopg {psycopg.__version__}")  # fmt: skip
        if args.only in (None, "a"):
            print(f"\n(a) daemons: {args.probes} probes every {args.interval} s, N exporters on one PostgreSQL "
                  f"(shards: --shard I/N share the probes; locations: --location lI each probe all); "
                  f"{args.seconds} s measured; feed every {args.feed or 5} s")  # fmt: skip
            print(f"{'layout':<10} {'N':>3} {'offered/s':>10} {'held/s':>10} {'held':>8} {'CPU/exp':>8} {'serves':>9}")
            for layout in args.layout.split(","):
                for n in counts:
                    r = daemons(admin, n, args.probes, args.interval, args.seconds, layout, args.feed)
                    print(f"{layout:<10} {n:>3} {r['offered_per_s']:>10.0f} {r['held_per_s']:>10.0f} "
                          f"{r['held']:>8.2%} {r['cpu']:>8.0%} {r['served']:>9}")  # fmt: skip
        if args.only in (None, "b"):
            print(f"\n(b) the recorder's write path: {args.rate:.0f} results/s over {args.writer_probes} probes "
                  f"shared among N writer processes, one group commit a second each; {args.seconds} s")  # fmt: skip
            print(f"{'store':<11} {'N':>3} {'rows/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'failed':>7}")
            stores = {
                "PostgreSQL": lambda n, tmp: new_database(admin, f"writers{n}"),
                "SQLite": lambda n, tmp: os.path.join(tmp, "sla.db"),
            }
            for n in counts:
                for name, target_for in stores.items():
                    r = writers(target_for, n, args.writer_probes, args.rate, args.seconds)
                    print(f"{name:<11} {n:>3} {r['rows_per_s']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                          f"{r['max_ms']:>8.1f} {r['failed']:>7}")  # fmt: skip
        if args.only in (None, "c"):
            print(f"\n(c) store bytes per probe-month (one-minute results, {args.month_probes} probes)")
            print(f"{'probe':<8} {'rows':>6} {'SQLite':>12} {'PostgreSQL':>12}")
            for kind in ("steady", "flappy"):
                with tempfile.TemporaryDirectory() as tmp:
                    lite = month_bytes(os.path.join(tmp, "m.db"), args.month_probes, kind) / args.month_probes
                pg = month_bytes(new_database(admin, f"month_{kind}"), args.month_probes, kind) / args.month_probes
                print(f"{kind:<8} {len(month_of(kind)):>6} {human_bytes(lite):>12} {human_bytes(pg):>12}")


if __name__ == "__main__":
    main()
