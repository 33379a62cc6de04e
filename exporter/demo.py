"""``sla-exporter demo``: the real exporter probing simulated tenants, no setup needed.

Starts, in this process, HTTP endpoints for three tenants of a contact-center platform
(agent UI, chat, voice API, REST API), gives them a month-to-date history so the month's
figures are non-trivial from the first scrape, files two support cases, then runs the real
daemon on them. A five-minute script repeats: a partial outage (one channel), a complete
outage, an outage inside a maintenance window (not counted), and recovery.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from exporter import config
from exporter.daemon import Daemon
from exporter.months import month_bounds
from exporter.store import Store
from exporter.support import Event, Incident, ServiceRequest

log = logging.getLogger("sla_exporter")

TIMEZONE = "Europe/Helsinki"
CHANNELS = ("agent-ui", "chat", "voice-api", "rest-api")
CYCLE = 300.0  # seconds; the script repeats
# (tenant, channels that fail, from, to) within each cycle, seconds after its start.
SCRIPT = (
    ("acme-prod", ("chat",), 20, 50),  # partial outage: a detected P2
    ("globex-prod", CHANNELS, 70, 95),  # complete outage: a detected P1
    ("initech-test", CHANNELS, 130, 160),  # inside initech-test's maintenance window
)
TOKEN = "demo-token"
MAINTENANCE_HOURS = 3  # initech-test's window, opened when the demo starts


class Endpoints:
    """The simulated platform: ``/<tenant>/<channel>`` answers 200 or 503 by the script."""

    def __init__(self, started: float, clock=time.time):
        self.started, self.clock = started, clock
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                _, tenant, channel = (self.path.split("?")[0].split("/") + ["", ""])[:3]
                up = outer.up(tenant, channel)
                body = b'{"status": "ok"}\n' if up else b'{"status": "unavailable"}\n'
                self.send_response(200 if up else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="demo-endpoints", daemon=True).start()

    def up(self, tenant: str, channel: str) -> bool:
        at = (self.clock() - self.started) % CYCLE
        return not any(t == tenant and channel in chans and lo <= at < hi for t, chans, lo, hi in SCRIPT)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def maintenance_start(now: float, tz: str = TIMEZONE) -> float:
    """Where initech-test's window starts: the minute the demo starts in (computed in UTC:
    a local "now minus a minute" can fall into the spring-forward gap), so the window is
    open from the first scrape; in a month's first minute, the next minute, so that the
    tenant has eligible time, hence a figure."""
    start = now - now % 60
    return start if start > month_bounds(*_year_month(now, tz), tz)[0] else start + 60


def demo_config(url: str, now: float) -> str:
    """A config like config.example.yaml, pointed at the simulated endpoints. initech-test
    gets a maintenance window from the demo's start so its scripted outage falls inside."""
    window_start = dt.datetime.fromtimestamp(maintenance_start(now), ZoneInfo(TIMEZONE))
    tenants = []
    for name, env in (("acme-prod", "production"), ("globex-prod", "production"), ("initech-test", "non-production")):
        probes = "\n".join(f'      - {{name: {c}, url: "{url}/{name}/{c}"}}' for c in CHANNELS)
        extra = ""
        if name == "initech-test":
            extra = (f"    maintenance_windows:\n      - {{name: demo-maintenance, date: {window_start:%Y-%m-%d}, "
                     f'start: "{window_start:%H:%M}", duration: {MAINTENANCE_HOURS}h}}\n')
        tenants.append(f"  - name: {name}\n    environment: {env}\n{extra}    probes:\n{probes}")
    return f"""# Written by `sla-exporter demo`.
timezone: {TIMEZONE}
sla: {{target: 99.92%}}
probe_defaults: {{interval: 2s, timeout: 1s, failure_threshold: 2}}
maintenance_windows:
  - {{name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}}
  - {{name: quarterly, rrule: "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA", start: "22:00", duration: 6h}}
support:
  api: {{token_env: SLA_DEMO_TOKEN}}
tenants:
""" + "\n".join(tenants) + "\n"


# The month so far: (fraction of the elapsed month, seconds) outages and the channels that
# failed, different for each tenant so their figures differ.
HISTORY = {
    "acme-prod": ((("chat",), 0.3, 1200), (("chat",), 0.7, 900)),
    "globex-prod": ((CHANNELS, 0.5, 2700),),
    "initech-test": ((("voice-api",), 0.2, 600), (("voice-api",), 0.45, 1800), (("rest-api",), 0.8, 1200)),
}


def seed_history(store: Store, cfg: config.model.Config, now: float) -> None:
    """Results every 5 minutes from the month's start to now, with HISTORY's outages."""
    start, _ = month_bounds(*_year_month(now), cfg.timezone)
    batches = {}
    for tenant in cfg.tenants:
        outages = [(channels, start + f * (now - start), seconds) for channels, f, seconds in HISTORY[tenant.name]]
        for probe in tenant.probes:
            obs, t = [], start
            while t < now:
                down = any(probe.name in chans and at <= t < at + secs for chans, at, secs in outages)
                obs.append((t, not down))
                t += 300
            batches[(tenant.name, probe.name)] = (obs, 600.0)
    store.merge(batches)


def seed_support(store: Store, now: float) -> None:
    """A filed P2 with its response given, and a service request, for the support metrics."""
    store.add_incident(Incident("INC-DEMO-1", "acme-prod", "P2", now - 5400, title="chat: messages delayed"))
    store.add_event("INC-DEMO-1", Event("response", now - 4000, note="investigating"))
    store.add_request(ServiceRequest("SR-DEMO-1", "initech-test", now - 86400, title="add a chat queue"))


def _year_month(t: float, tz: str = TIMEZONE) -> tuple[int, int]:
    d = dt.datetime.fromtimestamp(t, ZoneInfo(tz))
    return d.year, d.month


def run(listen: tuple[str, int], clock=time.time) -> int:
    now = clock()
    endpoints = Endpoints(now, clock)
    workdir = tempfile.mkdtemp(prefix="sla-exporter-demo-")
    config_path = os.path.join(workdir, "config.yaml")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(demo_config(endpoints.url, now))
    os.environ["SLA_DEMO_TOKEN"] = TOKEN
    cfg = config.load(config_path)
    storage = os.path.join(workdir, "sla.db")
    with Store(storage) as store:
        seed_history(store, cfg, now)
        seed_support(store, now)
    daemon = Daemon(config_path, storage, listen, clock=clock, cfg=cfg)
    host, port = listen
    shown = "localhost" if host in ("0.0.0.0", "") else host
    print(f"""sla-exporter demo: three simulated tenants, probed every 2 s by the real exporter.
  metrics:   http://{shown}:{port}/metrics   (try: curl -s {shown}:{port}/metrics | grep '^sla_')
  incidents: curl -s -H 'Authorization: Bearer {TOKEN}' {shown}:{port}/api/v1/incidents
  files:     {workdir} (config.yaml, sla.db)
Every 5 minutes: chat of acme-prod fails for 30 s (partial outage), globex-prod fails
completely for 25 s, initech-test fails for 30 s inside its maintenance window (not counted).
Ctrl-C stops.""", flush=True)
    try:
        daemon.run_forever()
    finally:
        endpoints.close()
    return 0
