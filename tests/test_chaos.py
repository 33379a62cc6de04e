"""kill -9 at random moments under load, many times: the store is never corrupt and never
records a wrong state."""

import itertools
import math
import random
import signal
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from exporter import config
from exporter.daemon import SLOT_SLACK_MS
from exporter.engine.accounting import store_runs, tenant_figures
from exporter.store.sqlite import Store
from realproc import Exporter

FLIP = 3.0  # /flap is up during even 3-second slots of the wall clock, down during odd ones


def truth(path, t):
    if path == "/down":
        return False
    if path == "/flap":
        return math.floor(t / FLIP) % 2 == 0
    return True


class Target:
    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                ok = truth(self.path, time.time())
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


SLACK = SLOT_SLACK_MS / 1000


def ms(t):
    return int(t * 1000)


def test_kill_9_many_times(tmp_path):
    target = Target()
    probes = "\n".join(
        f'      - {{name: {name}{i}, url: "{target.url}/{name}", interval: 1s, timeout: 1s}}'
        for name in ("up", "down", "flap")
        for i in range(4)
    )
    text = f"tenants:\n  - name: acme\n    probes:\n{probes}\n  - name: beta\n    probes:\n{probes}\n"
    e = Exporter(tmp_path, text)
    rng = random.Random(7)
    began = time.time()
    for _ in range(8):
        e.start()
        time.sleep(rng.uniform(0.3, 2.5))  # the moment of the crash
        e.stop(signal.SIGKILL)
    ended = time.time()
    target.server.shutdown()

    db = sqlite3.connect(str(e.db))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    cfg = config.load_text(text)
    with Store(str(e.db)) as store:
        for tenant in cfg.tenants:
            for probe in tenant.probes:
                series = store.series(tenant.name, probe.name, ms(began - 10), ms(ended + 10))
                assert series, f"{tenant.name}/{probe.name} recorded nothing"
                for r in series:
                    assert r.start <= r.last and r.count >= 1
                    for t in (r.start / 1000, r.last / 1000):  # observation instants: the result must be the truth
                        slot = t / FLIP
                        # A result is recorded at its slot when it started within SLOT_SLACK_MS of it.
                        near_flip = probe.name.startswith("flap") and abs(slot - round(slot)) * FLIP < 0.3 + SLACK
                        assert near_flip or truth("/" + probe.name.rstrip("0123456789"), t) == r.success, (probe, r)
                for a, b in itertools.pairwise(series):
                    assert a.last < b.start, f"overlapping series {a} {b}"
            f = tenant_figures(store_runs(store), tenant, ms(began), ms(ended + 10))
            assert min(f.eligible, f.downtime, f.unknown) >= 0
            assert f.downtime + f.unknown <= f.eligible
            # The /down probes make both tenants down whenever they were observed.
            assert f.downtime > 0
