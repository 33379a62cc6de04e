"""Probe pipeline cost, scheduling accuracy and hung targets: prints figures beside their
bars, asserts nothing.

    .venv/bin/python benchmarks/probe_pipeline.py [--rate 500] [--seconds 20] [--rounds 3]
        [--probes 10000] [--interval 10] [--schedule-seconds 60]
        [--hanging 5000] [--healthy 200] [--hang-seconds 60] [--skip-blackbox]
        [--only a|b|c] [--profile] [--keep DIR]

About 8 minutes with the defaults on 2 cores.

(a) CPU per probe, ours beside blackbox_exporter, side by side in one run. One fast local HTTP
    target runs in its own process. Debian's ``prometheus-blackbox-exporter`` (``apt-get
    install -y --no-install-recommends prometheus-blackbox-exporter``) is started on 127.0.0.1
    with an ``http_2xx`` module and driven by a paced client in another process, requesting
    ``/probe?target=...&module=http_2xx`` RATE times a second; its CPU (utime + stime from
    /proc/PID/stat) over the run is divided by the probes answered. Ours: the real
    ``python -m exporter run`` with RATE x 2 s worth of probes (interval 2 s) against the same
    target; its CPU over the run divided by the observations that reached the store
    (``sum(count)`` of the series table: schedule -> HTTP -> state -> store). Neither the target
    nor the load generator is counted. ROUNDS rounds alternate the two (the machine may be
    shared); the medians and their ratio are printed. Bar: ours <= 0.5 x blackbox_exporter's.
(b) Scheduling: the Daemon in this process with PROBES probes every INTERVAL s (10,000 x 10 s =
    1,000 probes/s) for SCHEDULE_SECONDS after one interval of warm-up. The probe coroutine is
    wrapped to learn when each run starts; its slot is the one its fixed phase puts at or
    before that start. Slots that never started (coalesced after a stall, or skipped because
    the previous run was still under way) count as not on time. Bar: >= 99 % of the slots
    started within 100 ms; lag p50/p99 printed.
(c) Hung targets: the real ``python -m exporter run`` with HANGING probes (interval 10 s,
    timeout 2 s) on a server that accepts and never answers, beside HEALTHY probes every 1 s
    on the fast target, for HANG_SECONDS after warm-up. Bars: the healthy probes keep
    >= 99 % of their runs, ``/metrics`` (scraped every 10 s over HTTP) answers in under 1 s,
    RSS < 300 MB, and the log stays quiet (lines written in the window, after each hung
    probe's one "down" line at its first failure). Runs kept are counted exactly, from the
    store after the window: the window is [T0, T1) in wall-clock ms; the denominator is each
    healthy probe's slots in it (``phase + k * 1000``, ``daemon.phase_ms``); once every
    healthy probe has a stored observation at or after T1 (its runs before have ended and
    been committed), each stored observation (series are start/step/count: times are
    arithmetic) is given to the slot at or before it (runs are stamped on their slot, or on
    their start when > 250 ms late) and the slots in the window with one are the runs kept.
    Printed beside: the share that succeeded, the slots with no run, and how late the runs
    stamped off their slot started.
--keep DIR: configs, stores and the daemons' logs go to DIR and stay (else a temporary directory).
--profile: then the daemon of (a) once more under ``py-spy record --gil --nonblocking``
    (``pip install py-spy``): the share of Python CPU by pipeline stage.

Uses only 127.0.0.1. Every process it starts is stopped (process groups) on exit.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

from _common import (
    config_text,
    cpu_seconds,
    cpu_times,
    exporter_cmd,
    free_port,
    hanging_target,
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
            f"{o / b:.2f}  (bar: <= 0.50)"
        )
    print(f"  (the target process used {target_cpu:.2f} s CPU in all, not counted)")


# py-spy --gil samples the thread holding the GIL: Python CPU (not time spent in syscalls).
BUCKETS = [
    ("Recorder.observe (merge, state-change logging)", ("Recorder.observe",)),
    ("Daemon._housekeeping (flush to SQLite, tick, detect)", ("Daemon._housekeeping",)),
    ("HTTP client: read the response (parse, body)", ("_Conn.read_head", "_Response.read_body")),
    ("HTTP client: connect, TLS, send", ("Prober._connect", "Prober._exchange")),
    ("Prober.run, our own code around the client", ("Prober.run",)),
    ("schedule: timer, heap, task start", ("Daemon._wake",)),
    ("probe coroutine glue (semaphore, record)", ("Daemon._probe_job",)),
    ("event loop: selector, callbacks", ("BaseEventLoop._run_once",)),
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


def part_b(tmp: str, target_url: str, probes: int, interval: float, seconds: float) -> None:
    from exporter import logs
    from exporter.daemon import Daemon

    per_tenant = 5 if probes % 5 == 0 else 1
    cfg = os.path.join(tmp, "schedule.yaml")
    with open(cfg, "w") as f:
        f.write(config_text(probes // per_tenant, per_tenant, target_url, f"{interval:g}s", f"{min(interval, 5):g}s"))
    log = open(os.path.join(tmp, "schedule.log"), "w")  # noqa: SIM115 - the daemon logs to it until the finally below
    logs.setup("logfmt", "info", stream=log)

    daemon = Daemon(cfg, os.path.join(tmp, "schedule.db"), ("127.0.0.1", free_port()))
    # Starts kept in arrays: 60,000 tuples would be objects the collector scans, and its
    # full passes would then stall the loop being measured.
    index = {(t.name, p.name): i for i, (t, p) in enumerate((t, p) for t in daemon.cfg.tenants for p in t.probes)}
    specs = [(t.name, p) for t in daemon.cfg.tenants for p in t.probes]
    started_at, started_probe = array.array("d"), array.array("l")
    real_probe_job = daemon._probe_job

    async def probe_job(tenant, probe):
        started_at.append(time.time())
        started_probe.append(index[tenant, probe.name])
        return await real_probe_job(tenant, probe)

    daemon._probe_job = probe_job  # _wake looks it up on the instance: the wrapper wins
    try:
        t_start = time.time()
        daemon.start()
        w0 = t_start + interval + 2
        w1 = w0 + seconds
        time.sleep(max(0.0, w0 - time.time()))
        c0 = cpu_seconds()
        time.sleep(max(0.0, w1 - time.time()))
        c1 = cpu_seconds()
        status = proc_status()
        time.sleep(1)
    finally:
        daemon.shutdown()
        log.close()

    from exporter.daemon import phase_ms

    expected = 0
    jobs = list(daemon.schedule.jobs.values())
    for job in jobs:
        step = job.probe.interval_ms
        first = int(w0 * 1000) + (job.phase - int(w0 * 1000)) % step  # first slot in the window
        expected += max(0, -(-(int(w1 * 1000) - first) // step))
    lags = []
    for i, t in zip(started_probe, started_at, strict=True):
        tenant, probe = specs[i]
        t_ms = t * 1000
        step = probe.interval_ms
        slot = t_ms - (t_ms - phase_ms(tenant, probe)) % step
        if t_ms - slot > step - 50:  # started a hair before its slot (timers may fire early)
            slot += step
        if w0 * 1000 <= slot < w1 * 1000:
            lags.append(max(0.0, t_ms - slot) / 1000)
    on_time = sum(1 for x in lags if x <= 0.1)
    print(
        f"(b) scheduling: {len(jobs):,} probes every {interval:g} s ({len(jobs) / interval:,.0f} probes/s), "
        f"Daemon in process, {seconds:g} s after {interval:g} s of warm-up; at most {daemon.workers} runs at once"
    )
    print(
        f"  slots: {expected:,}; started: {len(lags):,}; coalesced over a stall: {daemon.schedule.missed:,}; "
        f"skipped (previous run still under way): {daemon.skipped:,}"
    )
    print(f"  started within 100 ms of the slot: {on_time / max(1, expected):.2%}  (bar: >= 99 %)")
    print(
        f"  start lag: p50 {percentile(lags, 50) * 1e3:.1f} ms, p99 {percentile(lags, 99) * 1e3:.1f} ms, "
        f"max {max(lags, default=float('nan')) * 1e3:.1f} ms"
    )
    print(
        f"  CPU of this process: {c1 - c0:.1f} s in {w1 - w0:.0f} s ({(c1 - c0) / (w1 - w0):.0%} of a core) -> "
        f"{(c1 - c0) / max(1, len(lags)) * 1e3:.3f} ms/probe; RSS {human_bytes(status['VmRSS'])}, "
        f"{status['Threads']} threads"
    )


# -- (c) hung targets beside healthy ones -------------------------------------------------------------


HEALTHY_INTERVAL_MS = 1000


def healthy_series(db: str) -> dict[str, list[tuple[int, int, int, int]]]:
    """The stored series (start_ms, step_ms, count, success) of each healthy probe's tenant."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    out: dict[str, list[tuple[int, int, int, int]]] = {}
    try:
        rows = con.execute(
            "SELECT p.tenant, s.start_ms, s.step_ms, s.count, s.success FROM series s "
            "JOIN probes p ON p.id = s.probe_id WHERE p.tenant LIKE 'healthy-%'"
        ).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return out
    finally:
        con.close()
    for tenant, start, step, count, success in rows:
        out.setdefault(tenant, []).append((start, step, count, success))
    return out


def _times(series: tuple[int, int, int, int], lo: int, hi: int) -> range:
    """The times of a series' observations in [lo, hi), as a range (arithmetic, not a scan)."""
    start, step, count, _ok = series
    if count <= 1 or step <= 0:
        return range(start, start + 1) if lo <= start < hi else range(0)
    first = max(0, -(-(lo - start) // step))
    last = min(count - 1, -(-(hi - start) // step) - 1)
    return range(start + first * step, start + last * step + 1, step) if first <= last else range(0)


def window_runs(series: dict[str, list], phases: dict[str, int], interval: int, t0: int, t1: int) -> dict:
    """Exact count of the healthy probes' runs for their slots in [t0, t1) (wall-clock ms).

    A slot is ``phase + k * interval``; a run is stamped on its slot when it started within
    250 ms of it, else on its own start (``daemon.stamp_ms``), and runs start on or after
    their slot, so each stored observation belongs to the slot at or before it. Counted per
    slot: recorded (an observation of any result), successful, missing (no observation:
    skipped because the previous run was still under way, coalesced after a stall, or lost),
    and the lateness of the runs stamped off their slot (> 250 ms late)."""
    slots = recorded = ok = 0
    late: list[int] = []
    missing: dict[str, int] = {}
    for tenant, phase in phases.items():
        first = t0 + (phase - t0) % interval
        n = max(0, -(-(t1 - first) // interval))
        seen: dict[int, int] = {}
        for s in series.get(tenant, ()):
            for t in _times(s, t0 - interval, t1 + interval):
                lag = (t - phase) % interval
                slot = t - lag
                if t0 <= slot < t1:
                    seen[slot] = s[3]
                    if lag:
                        late.append(lag)
        slots += n
        recorded += len(seen)
        ok += sum(seen.values())
        if n - len(seen):
            missing[tenant] = n - len(seen)
    return {"slots": slots, "recorded": recorded, "ok": ok, "missing": missing, "late": late}


def healthy_phases(healthy: int) -> dict[str, int]:
    from types import SimpleNamespace

    from exporter.daemon import phase_ms

    probe = SimpleNamespace(name="ui", interval_ms=HEALTHY_INTERVAL_MS)
    return {f"healthy-{i:04d}": phase_ms(f"healthy-{i:04d}", probe) for i in range(healthy)}


def wait_recorded(db: str, tenants, t1: int, timeout: float = 15.0) -> dict[str, list]:
    """The healthy series once every probe has a stored observation at or after ``t1``: its
    runs for earlier slots have all ended (one run at a time) and been committed (a group
    commit writes what came before with it). After ``timeout`` s, what is there."""
    deadline = time.monotonic() + timeout
    while True:
        series = healthy_series(db)
        if all(max((s + st * (c - 1) for s, st, c, _ in series.get(t, ())), default=0) >= t1 for t in tenants):
            return series
        if time.monotonic() > deadline:
            return series
        time.sleep(0.25)


SCRAPE_EVERY = 10.0  # s; Prometheus scrapes every 15-60 s


def part_c(tmp: str, target_url: str, hanging: int, healthy: int, seconds: float) -> None:
    import urllib.request

    cfg = os.path.join(tmp, "hang.yaml")
    lines = ["tenants:"]
    for i in range(healthy):
        lines += [f"  - name: healthy-{i:04d}", "    probes:"]
        lines.append(f'      - {{name: ui, url: "{target_url}/h{i}", interval: 1s, timeout: 1s}}')
    with hanging_target() as (_hang, hang_url):
        for i in range(hanging):
            lines += [f"  - name: hung-{i:05d}", "    probes:"]
            lines.append(f'      - {{name: ui, url: "{hang_url}/x{i}", interval: 10s, timeout: 2s}}')
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        db = os.path.join(tmp, "hang.db")
        log_path = os.path.join(tmp, "hang.log")
        for leftover in (db, db + "-wal", db + "-shm", log_path):  # of an earlier run with --keep
            if os.path.exists(leftover):
                os.remove(leftover)
        port = free_port()
        cmd = exporter_cmd(
            "run", "--config.file", cfg, "--storage.path", db, "--web.listen-address", f"127.0.0.1:{port}"
        )
        phases = healthy_phases(healthy)
        with running(cmd, log_path, cwd=tmp) as proc:
            wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=120, proc=proc)
            time.sleep(10 + 3)  # every hung probe has failed once (its one "down" line)
            lines0, c0, m0, w0 = _count_lines(log_path), cpu_times(proc.pid), time.monotonic(), time.time()
            scrapes = []
            while time.monotonic() - m0 < seconds:
                s0 = time.monotonic()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
                        r.read()
                    scrapes.append(time.monotonic() - s0)
                except OSError:
                    scrapes.append(float("inf"))
                time.sleep(max(0.0, SCRAPE_EVERY - (time.monotonic() - s0)))
            lines1, c1, m1, w1 = _count_lines(log_path), cpu_times(proc.pid), time.monotonic(), time.time()
            status = proc_status(proc.pid)
            t0, t1 = round(w0 * 1000), round(w1 * 1000)
            series = wait_recorded(db, phases, t1)  # the window's last runs ended and committed
            top = _top_messages(log_path, lines0)
    c = window_runs(series, phases, HEALTHY_INTERVAL_MS, t0, t1)
    slots, late = max(1, c["slots"]), c["late"]
    print(
        f"(c) {hanging:,} hung targets (accept, never answer; interval 10 s, timeout 2 s) beside {healthy} healthy "
        f"probes every 1 s; the real daemon, {seconds:g} s after warm-up (load average {os.getloadavg()[0]:.2f})"
    )
    print(
        f"  healthy runs kept: {c['recorded'] / slots:.2%} ({c['recorded']:,} of their {c['slots']:,} slots in "
        f"[T0, T1), counted per slot in the store)  (bar: >= 99 %)"
    )
    print(
        f"    of those slots: {c['ok'] / slots:.2%} succeeded, {(c['recorded'] - c['ok']) / slots:.2%} failed "
        f"(a healthy target: a run that failed waited on us), {c['slots'] - c['recorded']:,} had no run "
        f"({len(c['missing'])} probes)"
    )
    print(
        f"    start lag: {len(late):,} runs started > 250 ms after their slot (stamped at their start"
        + (f"; p50 {percentile(late, 50)} ms, max {max(late)} ms" if late else "")
        + f"); the other {c['recorded'] - len(late):,} within 250 ms (stamped on the slot)"
    )
    print(
        f"  /metrics over HTTP, {len(scrapes)} scrapes: p50 {percentile(scrapes, 50) * 1e3:.0f} ms, "
        f"max {max(scrapes) * 1e3:.0f} ms  (bar: < 1 s)"
    )
    print(
        f"  RSS {status['VmRSS'] / 1e6:.0f} MB (peak {status['VmHWM'] / 1e6:.0f} MB), {status['Threads']} threads  "
        f"(bar: < 300 MB); CPU {sum(c1) - sum(c0):.1f} s in {m1 - m0:.0f} s"
    )
    print(
        f"  log lines in the window: {lines1 - lines0} ({lines1} in all, {lines0} before the window: each hung "
        f"probe's first failure)  (bar: rate-limited, none per failed run)"
    )
    print(f"  most frequent in the window: {top}")


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def _top_messages(path: str, skip: int, n: int = 3) -> str:
    """The most frequent log messages after line ``skip`` (logfmt ``msg="..."``)."""
    import collections
    import re

    counts: collections.Counter[str] = collections.Counter()
    with open(path, errors="replace") as f:
        for i, line in enumerate(f):
            if i >= skip:
                m = re.search(r'msg="([^"]*)"|msg=(\S+)', line)
                counts[(m.group(1) or m.group(2)) if m else line[:60]] += 1
    return "; ".join(f"{k!r} x {v}" for k, v in counts.most_common(n)) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="(a) probes per second for both (default 500)")
    parser.add_argument("--seconds", type=float, default=20, help="(a) measured seconds (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="(a) rounds, blackbox then ours (default 3)")
    parser.add_argument("--probes", type=int, default=10000, help="(b) probes (default 10000)")
    parser.add_argument("--interval", type=float, default=10, help="(b) probe interval, s (default 10)")
    parser.add_argument("--schedule-seconds", type=float, default=60, help="(b) measured seconds (default 60)")
    parser.add_argument("--hanging", type=int, default=5000, help="(c) hung targets (default 5000)")
    parser.add_argument("--healthy", type=int, default=200, help="(c) healthy probes every 1 s (default 200)")
    parser.add_argument("--hang-seconds", type=float, default=60, help="(c) measured seconds (default 60)")
    parser.add_argument("--skip-blackbox", action="store_true")
    parser.add_argument("--only", choices=("a", "b", "c"), help="run one part")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then profile the daemon at RATE with py-spy (pip install py-spy): where CPU goes",
    )
    parser.add_argument("--keep", metavar="DIR", help="write configs, stores and logs to DIR and keep them")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {now:%Y-%m-%d %H:%M} UTC; "
        f"Python {sys.version.split()[0]}"
    )
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    workdir = contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="sla-bench-")
    with workdir as tmp, local_target() as (target, url):
        if args.only in (None, "a"):
            part_a(tmp, target, url, args.rate, args.seconds, args.rounds, args.skip_blackbox)
        if args.only in (None, "b"):
            part_b(tmp, url, args.probes, args.interval, args.schedule_seconds)
        if args.only in (None, "c"):
            part_c(tmp, url, args.hanging, args.healthy, args.hang_seconds)
        if args.profile:
            profile(tmp, url, round(args.rate * 2), 2.0, args.seconds)


if __name__ == "__main__":
    main()
