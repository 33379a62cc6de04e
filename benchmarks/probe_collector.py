"""The probe collector alone at 10,000 tenants x 3 probes, in process: prints figures,
asserts nothing.

    .venv/bin/python benchmarks/probe_collector.py [PATH ...]

For each checkout PATH (default: this one), in a fresh process: what the collector and
the text writer hold after a scrape (tracemalloc), the CPU time of ``collect()`` while no
probe reports and after a new result for every probe (medians of 5), and the body's size
and hash (the same in every checkout: the output byte for byte).
"""

from __future__ import annotations

import gc
import hashlib
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

N = 10_000
T = 1_793_610_000.0
PROBE = "{{name: {0}, url: 'https://{0}{1}.example.com/'}}"


class FakeRecorder:
    location = "default"

    def __init__(self) -> None:
        self.results: dict = {}

    def last_results(self) -> dict:
        return dict(self.results)

    def elsewhere(self) -> dict:
        return {}

    def error_counts(self) -> dict:
        return {}

    def reporting_until(self) -> dict:
        return {}


def child(repo: str) -> None:
    sys.path.insert(0, repo)
    from prometheus_client import CollectorRegistry

    from exporter import config
    from exporter.probing.recorder import Result
    from exporter.web import exposition
    from exporter.web.collectors.probes import ProbeCollector

    text = "timezone: UTC\nprobe_defaults: {interval: 60s}\ntenants:\n" + "".join(
        f"  - name: tenant-{i:05d}\n    probes: [{', '.join(PROBE.format(p, i) for p in ('ui', 'api', 'chat'))}]\n"
        for i in range(N)
    )
    cfg = config.load_text(text)
    rec = FakeRecorder()

    def report(k: int) -> None:
        for t in cfg.tenants:
            for p in t.probes:
                duration = 0.0123 + k / 1000 + len(p.name) / 1e4
                rec.results[(t.name, p.name)] = Result(T + 60 * k, True, duration, 200, cert_expiry=1.8e9)

    report(0)
    now = [T + 1]
    collector = ProbeCollector(lambda: cfg, rec, lambda: now[0])  # type: ignore[arg-type]
    reg = CollectorRegistry()
    reg.register(collector)
    gc.collect()
    tracemalloc.start()
    exposition.generate(reg)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    same, new = [], []
    for k in range(1, 6):
        now[0] = T + 60 * k - 30
        t0 = time.process_time()
        list(collector.collect())
        same.append(time.process_time() - t0)
        report(k)
        now[0] = T + 60 * k + 1
        t0 = time.process_time()
        list(collector.collect())
        new.append(time.process_time() - t0)
    body = exposition.generate(reg)
    print(
        f"{repo}: held after a scrape {held / 1e6:.1f} MB; collect() CPU, nothing new"
        f" {statistics.median(same) * 1000:.0f} ms, after a result per probe {statistics.median(new) * 1000:.0f} ms;"
        f" body {len(body)} bytes, sha1 {hashlib.sha1(body).hexdigest()[:12]}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for path in sys.argv[1:] or [here]:
            subprocess.run([sys.executable, __file__, "--child", os.path.abspath(path)], check=True)
