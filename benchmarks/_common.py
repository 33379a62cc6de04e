"""Helpers shared by the benchmarks: free ports, /proc readers, child processes, a local
HTTP target and a paced HTTP load generator. Not a benchmark itself.

The target and the load generator run as separate processes (``python _common.py target
PORT`` / ``python _common.py loadgen ...``) so that their CPU is never counted against the
process being measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Child processes (``python -m exporter``, run from a temporary directory) import the exporter
# of this checkout, not whichever one the virtualenv has installed.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
if REPO not in sys.path:  # and so does a benchmark that imports it in process
    sys.path.insert(0, REPO)


# -- numbers -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an unsorted list; nan when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def dir_size(path: str) -> int:
    """Bytes of all regular files under ``path`` (apparent size, like ``du -sb``)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


# -- /proc -----------------------------------------------------------------------------------


def cpu_times(pid: int | str = "self") -> tuple[float, float]:
    """(user, system) CPU seconds of a process (all its threads, not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process (all its threads, not its children), seconds."""
    return sum(cpu_times(pid))


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) in bytes and Threads from /proc/PID/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
            elif key == "Threads":
                out[key] = int(value)
    return out


# -- ports and HTTP --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers 200."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError) as err:
            last = err
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:g} s ({last})")


# -- child processes -------------------------------------------------------------------------


def spawn(cmd: list[str], log_path: str | None = None, **kw) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so ``stop`` can end all of it); output goes
    to ``log_path`` (or nowhere) so that a full pipe never blocks it."""
    with open(log_path, "ab") if log_path else contextlib.nullcontext(subprocess.DEVNULL) as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **kw
        )


def stop(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """SIGTERM the process group of ``proc``, SIGKILL it if it lingers. Safe to repeat."""
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
    # members of the group that outlived the leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(cmd: list[str], log_path: str | None = None, **kw):
    proc = spawn(cmd, log_path, **kw)
    try:
        yield proc
    finally:
        stop(proc)


@contextlib.contextmanager
def local_target():
    """A fast HTTP/1.1 keep-alive server on 127.0.0.1 in its own process: every GET
    answers 200 ``ok`` (``/fail...`` answers 503). Yields ``(proc, base_url)``."""
    port = free_port()
    with running([sys.executable, os.path.join(HERE, "_common.py"), "target", str(port)]) as proc:
        wait_port(port, proc=proc)
        yield proc, f"http://127.0.0.1:{port}"


def exporter_cmd(*args: str) -> list[str]:
    """``python -m exporter ARGS`` with the interpreter running the benchmark. ``-P``: the
    exporter comes from PYTHONPATH (this checkout, or ``scale.py --repo``'s), not from the
    working directory, which ``-m`` would otherwise put first (run from a checkout, every
    "before" measured that checkout)."""
    return [sys.executable, "-P", "-m", "exporter", *args]


# -- config ----------------------------------------------------------------------------------


def config_text(
    tenants: int,
    probes_per_tenant: int,
    url: str,
    interval: str = "30s",
    timeout: str | None = None,
    windows: list[str] | None = None,
    name: str = "tenant-{i:04d}",
) -> str:
    """A config of ``tenants`` x ``probes_per_tenant`` probes, each on its own path of ``url``."""
    lines = ["timezone: Europe/Helsinki"]
    defaults = [f"interval: {interval}"] + ([f"timeout: {timeout}"] if timeout else [])
    lines.append("probe_defaults: {" + ", ".join(defaults) + "}")
    if windows:
        lines.append("maintenance_windows:")
        lines += [f"  - {w}" for w in windows]
    lines.append("tenants:")
    for i in range(tenants):
        lines.append(f"  - name: {name.format(i=i)}\n    probes:")
        lines += [f'      - {{name: p{j}, url: "{url}/t{i}/p{j}"}}' for j in range(probes_per_tenant)]
    return "\n".join(lines) + "\n"


# -- the target server (child process) -------------------------------------------------------


def serve_target(port: int) -> None:
    import asyncio

    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    fail = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"

    class Target(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buf = transport, b""

        def data_received(self, data):
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head, self.buf = self.buf[:end], self.buf[end + 4 :]
                request_line = head.split(b"\r\n", 1)[0].split(b" ")
                path = request_line[1] if len(request_line) > 1 else b"/"
                close = b"connection: close" in head.lower()
                self.transport.write(
                    (fail if path.startswith(b"/fail") else ok)
                    + (b"Connection: close\r\n" if close else b"")
                    + b"\r\nok\n"
                )
                if close:
                    self.transport.close()
                    return

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Target, "127.0.0.1", port, backlog=1024)
        stopped = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        async with server:
            await stopped.wait()

    asyncio.run(main())


def serve_hang(port: int) -> None:
    """Accept every connection and never answer (the client's timeout ends each one)."""
    import asyncio
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    class Hang(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            pass  # read and ignored: never a byte back

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Hang, "127.0.0.1", port, backlog=4096)
        stopped = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        async with server:
            await stopped.wait()

    asyncio.run(main())


@contextlib.contextmanager
def hanging_target():
    """A server on 127.0.0.1 in its own process that accepts and never answers. Yields
    ``(proc, base_url)``."""
    port = free_port()
    with running([sys.executable, os.path.join(HERE, "_common.py"), "hang", str(port)]) as proc:
        wait_port(port, proc=proc)
        yield proc, f"http://127.0.0.1:{port}"


# -- the load generator (child process) ------------------------------------------------------


def loadgen(url: str, rate: float, seconds: float, workers: int, expect: str | None) -> dict:
    """GET ``url`` ``rate`` times a second for ``seconds`` from ``workers`` threads, each on
    its own keep-alive connection; request i is due at start + i / rate."""
    import http.client
    import itertools
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    slots = itertools.count()
    start = time.monotonic() + 0.2
    end = start + seconds
    counts = {"requests": 0, "ok": 0, "errors": 0, "late_ms_max": 0.0}
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            due = start + next(slots) / rate
            if due >= end:
                break
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            late = max(0.0, -delay) * 1000
            try:
                conn.request("GET", path)
                body = conn.getresponse().read().decode()
                good = expect is None or expect in body
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                good = False
            with lock:
                counts["requests"] += 1
                counts["ok" if good else "errors"] += 1
                counts["late_ms_max"] = max(counts["late_ms_max"], late)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts["elapsed"] = time.monotonic() - start
    return counts


def run_loadgen(url: str, rate: float, seconds: float, workers: int = 8, expect: str | None = None) -> dict:
    """Run ``loadgen`` in a child process; returns its counts."""
    cmd = [sys.executable, os.path.join(HERE, "_common.py"), "loadgen", url, str(rate), str(seconds), str(workers)]
    if expect is not None:
        cmd.append(expect)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, start_new_session=True, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds + 120)
    finally:
        stop(proc)
    return json.loads(out)


if __name__ == "__main__":
    if sys.argv[1:2] == ["target"]:
        serve_target(int(sys.argv[2]))
    elif sys.argv[1:2] == ["hang"]:
        serve_hang(int(sys.argv[2]))
    elif sys.argv[1:2] == ["loadgen"]:
        url, rate, seconds, workers = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(loadgen(url, rate, seconds, workers, sys.argv[6] if len(sys.argv) > 6 else None)))
    else:
        sys.exit("usage: _common.py target PORT | hang PORT | loadgen URL RATE SECONDS WORKERS [EXPECT]")
