"""Scale curves: what the exporter costs as the fleet grows. Prints figures beside their bars
and writes a PNG plot (matplotlib: ``pip install -e '.[bench]'``); asserts nothing.

    .venv/bin/python benchmarks/scale.py [--sizes 100,1000,5000,10000] [--probes 3]
        [--scrapes 15] [--plot docs/scale.png] [--repo PATH]

For each size (tenants x PROBES probes, a weekly maintenance window):

- config load: ``config.load`` of the file, and PyYAML's C parser alone (``CSafeLoader``
  composing the nodes, with their marks) on the same file, in one child process: as PyYAML
  runs it, and with the cyclic collector paused (as ``config.load`` pauses it);
- ready to serve: ``sla-exporter run`` started on a store with 45 days of history (a
  five-minute outage every six days per probe, as benchmarks/scrape.py), until /-/ready
  answers 200;
- /metrics p50 / p99 over HTTP while that daemon probes local targets on 127.0.0.1
  (interval chosen so that the fleet makes at most 200 probes/s: probing, not saturated),
  once every probe has reported since the start (steady state);
- daemon RSS after the scrapes;
- ``sla-exporter report`` end to end (subprocess, json, one month) on a store with the
  history of benchmarks/report_import.py (Sep 15 - Nov 5 2026, outages, a monitor gap).

``--repo PATH`` runs every child (config load, stores, daemon, report) on the exporter at
PATH (e.g. another worktree): the same harness measures before and after side by side.
Figures taken on a shared machine are noisy: compare runs made one after the other.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request

from _common import (
    HERE,
    REPO,
    config_text,
    exporter_cmd,
    free_port,
    local_target,
    percentile,
    proc_status,
    running,
    wait_http,
)

# The windows of benchmarks/report_import.py (not imported: it imports the exporter).
REPORT_WINDOWS = [
    '{name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}',
    '{name: quarterly, rrule: "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA", start: "22:00", duration: 6h}',
]
WINDOW = '{name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}'
MAX_RATE = 200.0  # probes/s the daemon is given while it is measured

# the bars: {figure: {tenants: bar}}
BARS = {
    "config load / CSafeLoader": {10_000: 3.0},
    "metrics p50 s": {5_000: 0.5, 10_000: 1.0},
    "report s": {10_000: 5.0},
    "RSS MB": {10_000: 250.0},
    "ready s": {10_000: 5.0},
}


def fleet_config(tenants: int, probes: int, url: str, interval: int) -> str:
    lines = ["timezone: Europe/Helsinki", "maintenance_windows:", f"  - {WINDOW}", "tenants:"]
    for i in range(tenants):
        lines.append(f"  - name: tenant-{i:05d}\n    probes:")
        lines += [
            f'      - {{name: p{j}, url: "{url}/t{i}/p{j}", interval: {interval}s, timeout: 5s}}' for j in range(probes)
        ]
    return "\n".join(lines) + "\n"


# -- children: run on the exporter under test (PYTHONPATH) -----------------------------------


def child_load(path: str) -> dict:
    import yaml

    from exporter import config

    with open(path) as f:
        text = f.read()

    def compose() -> float:
        t0 = time.perf_counter()
        loader = yaml.CSafeLoader(text)
        loader.get_single_node()
        loader.dispose()
        return time.perf_counter() - t0

    csafe = compose()
    gc.disable()  # as config.load does while it loads: the parser alone, without the collector
    csafe_nogc = compose()
    gc.enable()
    t0 = time.perf_counter()
    config.load(path)
    return {"csafe": csafe, "csafe_nogc": csafe_nogc, "load": time.perf_counter() - t0}


def child_stores(cfg_path: str, live_db: str, report_cfg: str, report_db: str) -> dict:
    from report_import import build_store
    from scrape import build_history

    from exporter import config
    from exporter.store.sqlite import Store

    cfg = config.load(cfg_path)
    now = time.time()
    with Store(live_db) as store:
        build_history(store, cfg, now - 45 * 86400, now - 600)
    return {"report_series": build_store(report_db, config.load(report_cfg), random.Random(8))}


def child(mode: str, args: list[str]) -> None:
    out = child_load(*args) if mode == "load" else child_stores(*args)
    print(json.dumps(out))


# -- the parent ------------------------------------------------------------------------------


def run_child(env: dict, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "scale.py"), "--child", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size: int, probes: int, scrapes: int, env: dict, tmp: str, url: str) -> dict:
    row: dict = {"tenants": size}
    interval = max(30, round(size * probes / MAX_RATE))
    cfg_path = os.path.join(tmp, f"c{size}.yaml")
    with open(cfg_path, "w") as f:
        f.write(fleet_config(size, probes, url, interval))
    loads = [run_child(env, "load", cfg_path) for _ in range(2)]
    best = min(loads, key=lambda r: r["load"])
    row["load s"], row["csafe s"] = best["load"], min(r["csafe"] for r in loads)
    row["csafe no-gc s"] = min(r["csafe_nogc"] for r in loads)
    row["config load / CSafeLoader"] = row["load s"] / row["csafe s"]
    row["config load / CSafeLoader no-gc"] = row["load s"] / row["csafe no-gc s"]

    report_cfg, report_db, live_db = (os.path.join(tmp, f"{n}{size}") for n in ("r.yaml", "r.db", "live.db"))
    with open(report_cfg, "w") as f:
        f.write(config_text(size, probes, "http://127.0.0.1:1", "30s", windows=REPORT_WINDOWS))
    run_child(env, "stores", cfg_path, live_db, report_cfg, report_db)

    cmd = exporter_cmd("report", "--config.file", report_cfg, "--storage.path", report_db, "--month", "2026-10")
    timings = []
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--format", "json"], env=env, capture_output=True, check=True)
        timings.append(time.perf_counter() - t0)
    row["report s"] = min(timings)

    listen = f"127.0.0.1:{free_port()}"
    run = exporter_cmd("run", "--config.file", cfg_path, "--storage.path", live_db)
    run += ["--web.listen-address", listen, "--log.level", "warn"]
    t0 = time.perf_counter()
    with running(run, os.path.join(tmp, f"daemon{size}.log"), env=env) as proc:
        wait_http(f"http://{listen}/-/ready", timeout=600, proc=proc)
        row["ready s"] = time.perf_counter() - t0
        metrics = f"http://{listen}/metrics"
        # Steady state: every probe has reported since the start (until then a probe whose
        # history ended before the start is stale, and its tenant is computed in full).
        deadline = time.monotonic() + interval + 120
        while time.monotonic() < deadline:
            body = urllib.request.urlopen(metrics, timeout=120).read()
            if body.count(b"sla_probe_duration_seconds{") >= size * probes:
                break
            time.sleep(2)
        took = []
        for _ in range(scrapes):
            t1 = time.perf_counter()
            body = urllib.request.urlopen(metrics, timeout=120).read()
            took.append(time.perf_counter() - t1)
            time.sleep(0.5)
        row["metrics p50 s"], row["metrics p99 s"] = percentile(took, 50), percentile(took, 99)
        row["RSS MB"] = proc_status(proc.pid)["VmRSS"] / 1e6
        row["probing /s"] = size * probes / interval
        row["probed"] = body.count(b"sla_probe_duration_seconds{")
    return row


COLUMNS = [
    ("tenants", "{:,}"),
    ("load s", "{:.2f}"),
    ("csafe s", "{:.2f}"),
    ("config load / CSafeLoader", "{:.1f}x"),
    ("config load / CSafeLoader no-gc", "{:.1f}x"),
    ("metrics p50 s", "{:.3f}"),
    ("metrics p99 s", "{:.3f}"),
    ("report s", "{:.2f}"),
    ("RSS MB", "{:.0f}"),
    ("ready s", "{:.2f}"),
]


def bar_of(key: str, size: int) -> str:
    bar = BARS.get(key, {}).get(size)
    return "" if bar is None else f" (bar {bar:g})"


def table(rows: list[dict]) -> str:
    lines = [" | ".join(k for k, _ in COLUMNS)]
    for r in rows:
        lines.append(" | ".join(fmt.format(r[k]) + bar_of(k, r["tenants"]) for k, fmt in COLUMNS))
    return "\n".join(lines)


def plot(rows: list[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("config load s (and CSafeLoader alone)", ["load s", "csafe s", "csafe no-gc s"], None),
        ("/metrics over HTTP while probing, s", ["metrics p50 s", "metrics p99 s"], "metrics p50 s"),
        ("report CLI, one month, s", ["report s"], "report s"),
        ("daemon RSS, MB", ["RSS MB"], "RSS MB"),
        ("ready to serve, s", ["ready s"], "ready s"),
        (
            "config load / CSafeLoader",
            ["config load / CSafeLoader", "config load / CSafeLoader no-gc"],
            "config load / CSafeLoader",
        ),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    xs = [r["tenants"] for r in rows]
    for ax, (name, keys, bar_key) in zip(axes.flat, panels, strict=True):
        for key in keys:
            ax.plot(xs, [r[key] for r in rows], marker="o", label=key)
        for size, bar in BARS.get(bar_key or "", {}).items():
            ax.plot([size], [bar], marker="_", markersize=24, color="red", linestyle="none")
        if bar_key in BARS:
            ax.plot([], [], marker="_", color="red", linestyle="none", label="bar")
        ax.set_xscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("tenants (x 3 probes)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,5000,10000", help="tenant counts, comma-separated")
    parser.add_argument("--probes", type=int, default=3, help="probes per tenant")
    parser.add_argument("--scrapes", type=int, default=15)
    parser.add_argument("--plot", default=os.path.join(REPO, "docs", "scale.png"), help="PNG to write ('' for none)")
    parser.add_argument("--repo", default=REPO, help="the exporter to measure (a checkout)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.path.abspath(args.repo), "SCALE_REPO": os.path.abspath(args.repo)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, local_target() as (_, url):
        for size in (int(s) for s in args.sizes.split(",")):
            t0 = time.perf_counter()
            rows.append(measure(size, args.probes, args.scrapes, env, tmp, url))
            r = rows[-1]
            print(
                f"{size:,} tenants x {args.probes} probes ({time.perf_counter() - t0:.0f} s to measure): "
                f"config load {r['load s']:.2f} s = {r['config load / CSafeLoader']:.1f}x CSafeLoader's "
                f"{r['csafe s']:.2f} s{bar_of('config load / CSafeLoader', size)} "
                f"({r['config load / CSafeLoader no-gc']:.1f}x its {r['csafe no-gc s']:.2f} s without the collector); "
                f"/metrics p50 {r['metrics p50 s']:.3f} s{bar_of('metrics p50 s', size)} "
                f"p99 {r['metrics p99 s']:.3f} s while probing {r['probing /s']:.0f}/s "
                f"({r['probed']:,} probes reported); report {r['report s']:.2f} s{bar_of('report s', size)}; "
                f"RSS {r['RSS MB']:.0f} MB{bar_of('RSS MB', size)}; "
                f"ready {r['ready s']:.2f} s{bar_of('ready s', size)}",
                flush=True,
            )
    print()
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if args.plot:
        measured = "" if os.path.abspath(args.repo) == REPO else f" ({os.path.abspath(args.repo)})"
        plot(rows, args.plot, f"sla-exporter at scale{measured}: 2 shared cores, figures beside their bars")
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        # The checkout measured, ahead of this one (which _common put first on sys.path).
        sys.path[0:0] = [os.environ.get("SCALE_REPO", REPO), HERE]
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
