"""The event loop beside a thread that computes: why the daemon shortens the interpreter's
switch interval. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/switch_interval.py [--rounds 5] [--burst 0.3]

An asyncio loop on a thread of its own does what a run against a hung target does, 20 at
a time, over and over: a socket, a connect to a local server that accepts and never answers,
a request, a close. Every one of those calls gives the interpreter lock up. Meanwhile the
main thread computes pure Python for BURST seconds of its CPU (as a scrape or the
housekeeping tick does). For each switch interval (alternating, ROUNDS rounds) it prints
the loop's round trips a second during the burst, beside the loop alone, and how long the
burst took by the wall clock. At Python's 5 ms the loop waits up to that long for the lock
after each call while the other thread computes.

Uses only 127.0.0.1; about 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import threading
import time

INTERVALS = (0.005, 0.002, 0.001, 0.0005)


def hang_server() -> tuple[str, int]:
    """Accepts and never answers (connections closed in batches, to stay within descriptors)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)

    def accept() -> None:
        held = []
        while True:
            held.append(srv.accept()[0])
            if len(held) > 2000:
                for c in held[:1000]:
                    c.close()
                del held[:1000]

    threading.Thread(target=accept, daemon=True).start()
    return srv.getsockname()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burst", type=float, default=0.3, help="CPU seconds the other thread computes")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}")
    addr = hang_server()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    done = [0]

    async def one() -> None:
        s = socket.socket()
        s.setblocking(False)
        await loop.sock_connect(s, addr)
        await loop.sock_sendall(s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()
        done[0] += 1

    async def driver() -> None:
        while True:
            await asyncio.gather(*(one() for _ in range(20)))

    asyncio.run_coroutine_threadsafe(driver(), loop)

    def burn(seconds: float) -> None:
        t, x = time.thread_time(), 0
        while time.thread_time() - t < seconds:
            for i in range(1000):
                x += i * i

    before = sys.getswitchinterval()
    time.sleep(1)
    n0 = done[0]
    time.sleep(1)
    print(f"  the loop alone: {done[0] - n0:,} round trips/s")
    rates: dict[float, list[float]] = {}
    walls: dict[float, list[float]] = {}
    for _ in range(args.rounds):
        for sw in INTERVALS:
            sys.setswitchinterval(sw)
            time.sleep(0.5)
            n0, t0 = done[0], time.monotonic()
            burn(args.burst)
            n1, t1 = done[0], time.monotonic()
            rates.setdefault(sw, []).append((n1 - n0) / (t1 - t0))
            walls.setdefault(sw, []).append(t1 - t0)
    sys.setswitchinterval(before)
    for sw in INTERVALS:
        print(
            f"  switch interval {sw * 1000:g} ms: {statistics.median(rates[sw]):,.0f} round trips/s while the other "
            f"thread computes (median of {args.rounds}); its {args.burst:g} s of CPU took "
            f"{statistics.median(walls[sw]):.2f} s"
        )


if __name__ == "__main__":
    main()
