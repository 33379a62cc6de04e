"""Probe pipeline cost and scheduling accuracy: prints figures, asserts nothing.

    .venv/bin/python benchmarks/probe_pipeline.py [--rate 100] [--seconds 20] [--rounds 2]
        [--probes 5000] [--interval 10] [--schedule-seconds 60] [--skip-blackbox]
        [--only a|b|c] [--profile]

About 4 minutes with the defaults on 2 cores.

(a) CPU per probe, ours beside blackbox_exporter. One fast local HTTP target runs in its own
    process. Debian's ``prometheus-blackbox-exporter`` (``apt-get install -y
    --no-install-recommends prometheus-blackbox-exporter``) is started on 127.0.0.1 with an
    ``http_2xx`` module and driven by a paced client in another process, requesting
    ``/probe?target=...&module=http_2xx`` RATE times a second; its CPU (utime + stime from
    /proc/PID/stat) over the run is divided by the probes answered. Ours: the real
    ``python -m exporter run`` with RATE x 2 s worth of probes (interval 2 s) against the same
    target; its CPU over the run divided by the observations that reached the store
    (``sum(count)`` of the series table: schedule -> HTTP -> state -> store). Neither the target
    nor the load generator is counted. ROUNDS rounds alternate the two (the machine may be
    shared); the medians and their ratio are printed.
(b) Scheduling: the Daemon in this process with PROBES probes every INTERVAL s (5,000 x 10 s =
    500 probes/s) for SCHEDULE_SECONDS after one interval of warm-up. APScheduler's worker
    entry point is wrapped to learn each run's scheduled time, and the probe job to learn when
    it actually starts; EVENT_JOB_MISSED / EVENT_JOB_MAX_INSTANCES and slots that never ran
    (coalesced) count as not delivered. Prints the share of scheduled slots started within
    ON_TIME s (default 1 s) and within 250 ms, start lag p50/p99/max, and this process's RSS.
(c) The real ``python -m exporter run`` with the same PROBES x INTERVAL: RSS (current and
    peak), threads and CPU per probe at that rate.
--profile: then the daemon of (a) once more under ``py-spy record --gil --nonblocking``
    (``pip install py-spy``): the share of Python CPU by pipeline stage.

Uses only 127.0.0.1. Every process it starts is stopped (process groups) on exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from _common import (
    config_text,
    cpu_seconds,
    cpu_times,
    exporter_cmd,
    free_port,
    human_bytes,
    local_target,
    percentile,
    proc_status,
    run_loadgen,
    running,
    wait_http,
    wait_port,
)

BLACKBOX = "prometheus-blackbox-exporter"
BLACKBOX_CONFIG = """modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
"""


def stored_observations(db: str) -> int:
    """Observations the daemon has committed so far (it flushes about once a second)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute("SELECT coalesce(sum(count), 0) FROM series").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        con.close()


# -- (a) blackbox_exporter -----------------------------------------------------------------------


def blackbox_cpu(tmp: str, target_url: str, rate: float, seconds: float) -> dict | None:
    exe = shutil.which(BLACKBOX)
    if exe is None:
        print(
            f"  blackbox_exporter: {BLACKBOX} not installed "
            "(apt-get install -y --no-install-recommends prometheus-blackbox-exporter); skipped"
        )
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    version = (out.stdout or out.stderr).split("\n")[0]
    cfg = os.path.join(tmp, "blackbox.yml")
    with open(cfg, "w") as f:
        f.write(BLACKBOX_CONFIG)
    port = free_port()
    cmd = [exe, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with running(cmd, os.path.join(tmp, "blackbox.log")) as proc:
        wait_port(port, proc=proc)
        url = f"http://127.0.0.1:{port}/probe?target={target_url}/t0/p0&module=http_2xx"
        run_loadgen(url, rate, 3, expect="probe_success 1")  # warm-up
        c0 = cpu_times(proc.pid)
        counts = run_loadgen(url, rate, seconds, expect="probe_success 1")
        c1 = cpu_times(proc.pid)
        status = proc_status(proc.pid)
    return {
        "name": version.split(" (")[0],
        "probes": counts["ok"],
        "errors": counts["errors"],
        "cpu": sum(c1) - sum(c0),
        "sys": c1[1] - c0[1],
        "elapsed": counts["elapsed"],
        "rss": status["VmRSS"],
        "threads": status["Threads"],
    }


# -- (a), (c): the real daemon -------------------------------------------------------------------


def daemon_cpu(tmp: str, target_url: str, probes: int, interval: float, seconds: float, tag: str, during=None) -> dict:
    """Run the real daemon; measure CPU and stored observations over ``seconds`` after warm-up.
    ``during(pid, seconds)`` replaces the sleep over the measured window (e.g. a profiler)."""
    per_tenant = 5 if probes % 5 == 0 else 1
    cfg = os.path.join(tmp, f"{tag}.yaml")
    timeout = f"{min(interval, 5):g}s"
    with open(cfg, "w") as f:
        f.write(config_text(probes // per_tenant, per_tenant, target_url, f"{interval:g}s", timeout))
    db = os.path.join(tmp, f"{tag}.db")
    for leftover in (db, db + "-wal", db + "-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)
    port = free_port()
    cmd = exporter_cmd("run", "--config.file", cfg, "--storage.path", db, "--web.listen-address", f"127.0.0.1:{port}")
    with running(cmd, os.path.join(tmp, f"{tag}.log"), cwd=tmp) as proc:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc=proc)
        time.sleep(interval + 3)  # every probe has run once; the pool has its threads
        c0, n0, t0 = cpu_times(proc.pid), stored_observations(db), time.monotonic()
        (during or (lambda _pid, s: time.sleep(s)))(proc.pid, seconds)
        c1, n1, t1 = cpu_times(proc.pid), stored_observations(db), time.monotonic()
        status = proc_status(proc.pid)
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited with {proc.returncode}; see {tag}.log")
    return {
        "probes": n1 - n0,
        "cpu": sum(c1) - sum(c0),
        "sys": c1[1] - c0[1],
        "elapsed": t1 - t0,
        "rss": status["VmRSS"],
        "hwm": status["VmHWM"],
        "threads": status["Threads"],
        "configured": probes,
    }


def part_a(tmp: str, target, target_url: str, rate: float, seconds: float, rounds: int, skip_blackbox: bool) -> None:
    interval = 2.0
    probes = round(rate * interval)
    print(
        f"(a) CPU per probe at {rate:g} probes/s, {rounds} round(s) of {seconds:g} s each, one local target "
        f"(target and load generator not counted)"
    )
    t0 = cpu_seconds(target.pid)
    bb_ms, ours_ms = [], []
    for r in range(1, rounds + 1):
        print(f"  round {r} (load average {os.getloadavg()[0]:.2f}):")
        bb = None if skip_blackbox else blackbox_cpu(tmp, target_url, rate, seconds)
        if bb:
            bb_ms.append(bb["cpu"] / max(1, bb["probes"]) * 1e3)
            print(
                f"    {bb['name']}: {bb['probes']:,} probes ({bb['errors']} failed) in {bb['elapsed']:.1f} s, "
                f"{bb['cpu']:.2f} s CPU ({bb['sys']:.2f} s sys) -> {bb_ms[-1]:.3f} ms CPU/probe; "
                f"RSS {human_bytes(bb['rss'])}"
            )
        ours = daemon_cpu(tmp, target_url, probes, interval, seconds, "pipeline")
        ours_ms.append(ours["cpu"] / max(1, ours["probes"]) * 1e3)
        print(
            f"    sla-exporter run ({probes} probes every {interval:g} s): {ours['probes']:,} probes stored in "
            f"{ours['elapsed']:.1f} s ({ours['probes'] / ours['elapsed']:.1f}/s), {ours['cpu']:.2f} s CPU "
            f"({ours['sys']:.2f} s sys) -> {ours_ms[-1]:.3f} ms CPU/probe; RSS {human_bytes(ours['rss'])}, "
            f"{ours['threads']} threads"
        )
    target_cpu = cpu_seconds(target.pid) - t0
    if bb_ms:
        b, o = statistics.median(bb_ms), statistics.median(ours_ms)
        print(
            f"  median ms CPU/probe: blackbox_exporter {b:.3f}, sla-exporter {o:.3f}; ratio ours / blackbox "
            f"{o / b:.2f}  (target: <= 1.00)"
        )
    print(f"  (the target process used {target_cpu:.2f} s CPU in all, not counted)")


# py-spy --gil samples the thread holding the GIL: Python CPU (not time spent in syscalls).
BUCKETS = [
    ("Recorder.observe (merge, state-change logging)", ("Recorder.observe",)),
    ("Daemon._housekeeping (flush to SQLite, tick, detect)", ("Daemon._housekeeping",)),
    ("requests Session.prepare_request (cookies, header merge, netrc)", ("Session.prepare_request",)),
    ("requests Session.merge_environment_settings (proxy env vars)", ("Session.merge_environment_settings",)),
    ("requests HTTPAdapter.send (urllib3 + http.client: send, read, parse headers)", ("HTTPAdapter.send",)),
    ("requests Session.request, the rest", ("Session.request",)),
    ("Prober.probe, our own code around requests", ("Prober.probe",)),
    ("APScheduler run_job + Daemon._probe_job glue", ("run_job",)),
    (
        "APScheduler scheduler thread (_process_jobs: submit, job store)",
        ("BlockingScheduler._main_loop", "BackgroundScheduler._main_loop"),
    ),
    ("thread pool (_worker, futures)", ("_worker",)),
    ("web server", ("BaseServer.serve_forever",)),
]


def profile(tmp: str, target_url: str, probes: int, interval: float, seconds: float) -> None:
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        print("profile: py-spy not installed (pip install py-spy); skipped")
        return
    raw = os.path.join(tmp, f"profile-{probes}.txt")

    def record(pid: int, s: float) -> None:
        subprocess.run(
            [
                spy,
                "record",
                "--gil",
                "--nonblocking",
                "-r",
                "250",
                "-d",
                f"{s:g}",
                "-p",
                str(pid),
                "-f",
                "raw",
                "-o",
                raw,
            ],
            capture_output=True,
        )

    d = daemon_cpu(tmp, target_url, probes, interval, seconds, "profile", during=record)
    counts: dict[str, int] = {}
    total = 0
    with open(raw) as f:
        for line in f:
            stack, _, n = line.rstrip().rpartition(" ")
            names = {frame.split(" (")[0] for frame in stack.split(";")}
            label = next((lbl for lbl, keys in BUCKETS if names & set(keys)), "other (partial stacks, mostly requests)")
            counts[label] = counts.get(label, 0) + int(n)
            total += int(n)
    print(
        f"profile: py-spy --gil, {probes} probes every {interval:g} s for {seconds:g} s, {total:,} samples; "
        f"{d['cpu'] / max(1, d['probes']) * 1e3:.3f} ms CPU/probe under the profiler"
    )
    for label, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {n / max(1, total):6.1%}  {label}")


# -- (b) scheduling, in process ------------------------------------------------------------------


def part_b(tmp: str, target_url: str, probes: int, interval: float, seconds: float, on_time: float) -> None:
    import apscheduler.executors.pool as pool_module
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

    from exporter import logs
    from exporter.daemon import Daemon

    per_tenant = 5 if probes % 5 == 0 else 1
    cfg = os.path.join(tmp, "schedule.yaml")
    with open(cfg, "w") as f:
        f.write(config_text(probes // per_tenant, per_tenant, target_url, f"{interval:g}s", f"{min(interval, 5):g}s"))
    log = open(os.path.join(tmp, "schedule.log"), "w")  # noqa: SIM115 - the daemon logs to it until the finally below
    logs.setup("logfmt", "info", stream=log)

    local = threading.local()
    started: list[tuple[str, float, float]] = []  # (job id, scheduled, actual start)
    lost: list[tuple[int, str, float]] = []  # (event code, job id, scheduled)
    real_run_job = pool_module.run_job

    def run_job(job, jobstore_alias, run_times, logger_name):
        local.job, local.scheduled = job.id, run_times[-1].timestamp()
        return real_run_job(job, jobstore_alias, run_times, logger_name)

    daemon = Daemon(cfg, os.path.join(tmp, "schedule.db"), ("127.0.0.1", free_port()))
    real_probe_job = daemon._probe_job

    def probe_job(tenant, probe):
        started.append((local.job, local.scheduled, time.time()))
        return real_probe_job(tenant, probe)

    daemon._probe_job = probe_job  # _schedule binds self._probe_job: the instance attribute wins

    def on_lost(event):
        lost.append((event.code, event.job_id, event.scheduled_run_time.timestamp()))

    pool_module.run_job = run_job
    try:
        daemon.scheduler.add_listener(on_lost, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        t_start = time.time()
        daemon.start()
        w0 = t_start + interval + 2
        w1 = w0 + seconds
        time.sleep(max(0.0, w0 - time.time()))
        c0 = cpu_seconds()
        jobs = [j for j in daemon.scheduler.get_jobs() if j.id.startswith("probe:")]
        time.sleep(max(0.0, w1 - time.time()))
        c1 = cpu_seconds()
        status = proc_status()
        time.sleep(3)  # starts of slots due just before w1
    finally:
        pool_module.run_job = real_run_job
        daemon.shutdown()
        log.close()

    expected = 0
    for job in jobs:
        first = job.trigger.start_date.timestamp()
        step = job.trigger.interval.total_seconds()
        k0 = max(0, -int(-(w0 - first) // step))  # ceil
        k1 = max(0, -int(-(w1 - first) // step))
        expected += k1 - k0
    in_window = [(j, s, a) for j, s, a in started if w0 <= s < w1]
    lags = [a - s for _, s, a in in_window]
    missed = sum(1 for code, _, s in lost if code == EVENT_JOB_MISSED and w0 <= s < w1)
    skipped = sum(1 for code, _, s in lost if code == EVENT_JOB_MAX_INSTANCES and w0 <= s < w1)
    on_schedule = sum(1 for x in lags if x <= on_time)
    within_250 = sum(1 for x in lags if x <= 0.25)
    never = expected - len(in_window) - missed - skipped
    print(
        f"(b) scheduling: {len(jobs):,} probes every {interval:g} s ({len(jobs) / interval:,.0f} probes/s), "
        f"Daemon in process, {seconds:g} s after {interval:g} s of warm-up; pool of {daemon.workers} workers"
    )
    print(
        f"  scheduled slots: {expected:,}; started: {len(in_window):,}; missed (EVENT_JOB_MISSED): {missed:,}; "
        f"skipped (max_instances): {skipped:,}; never started (coalesced/late): {max(0, never):,}"
    )
    print(
        f"  on schedule (started within {on_time:g} s): {on_schedule / max(1, expected):.2%}; within 250 ms: "
        f"{within_250 / max(1, expected):.2%}  (target: >= 99 %)"
    )
    print(
        f"  start lag: p50 {percentile(lags, 50) * 1e3:.1f} ms, p99 {percentile(lags, 99) * 1e3:.1f} ms, "
        f"max {max(lags, default=float('nan')) * 1e3:.1f} ms  (target: p99 < 250 ms)"
    )
    print(
        f"  CPU of this process: {c1 - c0:.1f} s in {w1 - w0:.0f} s ({(c1 - c0) / (w1 - w0):.0%} of a core) -> "
        f"{(c1 - c0) / max(1, len(in_window)) * 1e3:.3f} ms/probe"
    )
    print(
        f"  RSS of this process with {len(jobs):,} probes: {human_bytes(status['VmRSS'])} "
        f"(peak {human_bytes(status['VmHWM'])}), {status['Threads']} threads  (target: < 150 MB)"
    )


# -- (c) the real daemon's RSS -------------------------------------------------------------------


def part_c(tmp: str, target_url: str, probes: int, interval: float, seconds: float) -> None:
    d = daemon_cpu(tmp, target_url, probes, interval, seconds, "rss")
    print(
        f"(c) sla-exporter run with {probes:,} probes every {interval:g} s, measured for {seconds:g} s: "
        f"{d['probes']:,} probes stored ({d['probes'] / d['elapsed']:.0f}/s of {probes / interval:.0f}/s), "
        f"{d['cpu'] / max(1, d['probes']) * 1e3:.3f} ms CPU/probe ({d['cpu'] / d['elapsed']:.0%} of a core, "
        f"{d['sys'] / max(1e-9, d['cpu']):.0%} of it sys)"
    )
    print(
        f"  RSS {human_bytes(d['rss'])} = {d['rss'] / 1e6:.0f} MB (peak {d['hwm'] / 1e6:.0f} MB), "
        f"{d['threads']} threads  (target: < 150 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100, help="(a) probes per second for both (default 100)")
    parser.add_argument("--seconds", type=float, default=20, help="(a), (c) measured seconds (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="(a) rounds, blackbox then ours (default 2)")
    parser.add_argument("--probes", type=int, default=5000, help="(b), (c) probes (default 5000)")
    parser.add_argument("--interval", type=float, default=10, help="(b), (c) probe interval, s (default 10)")
    parser.add_argument("--schedule-seconds", type=float, default=60, help="(b) measured seconds (default 60)")
    parser.add_argument("--on-time", type=float, default=1.0, help="(b) a start this late is on schedule (default 1 s)")
    parser.add_argument("--skip-blackbox", action="store_true")
    parser.add_argument("--only", choices=("a", "b", "c"), help="run one part")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then profile the daemon at RATE with py-spy (pip install py-spy): where CPU goes",
    )
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {now:%Y-%m-%d %H:%M} UTC; "
        f"Python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp, local_target() as (target, url):
        if args.only in (None, "a"):
            part_a(tmp, target, url, args.rate, args.seconds, args.rounds, args.skip_blackbox)
        if args.only in (None, "b"):
            part_b(tmp, url, args.probes, args.interval, args.schedule_seconds, args.on_time)
        if args.only in (None, "c"):
            part_c(tmp, url, args.probes, args.interval, args.seconds)
        if args.profile:
            profile(tmp, url, round(args.rate * 2), 2.0, args.seconds)


if __name__ == "__main__":
    main()
