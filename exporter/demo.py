"""``sla-exporter demo``: the real exporter probing simulated tenants, no setup needed.

Starts, in this process, HTTP endpoints for three tenants of a contact-center platform
(agent UI, chat, voice API, REST API), gives them a month-to-date history, files two support
cases, then runs the real daemon on them. A five-minute script repeats: a partial outage (a
detected P2), a complete outage (a detected P1) and an outage inside a maintenance window
(not counted).

The figures are designed, whatever the moment the demo starts (see ``BANDS``):

- The seeded downtime is proportional to the tenant's eligible month so far, so at the
  start each tenant reads its band's design value, on the 1st at 00:20 as on the 30th,
  on DST days and on 29 February; from one second into a month on, rounding to the store's
  millisecond keeps it inside the band.
- A scripted outage that would count runs only when the month to date can absorb it without
  taking the tenant below its band's floor (``Plan``): mid-month right away, in a month's
  first hours it waits. So the live script can never drag a figure out of its band.
- Otherwise the figures only rise, by the up time the demo adds: a demo run no longer than
  the month to date it started with (at 00:20 on the 1st: 20 minutes) stays below the top.

``SLA_DEMO_START`` (an ISO 8601 instant in the past; read here only, not a documented option)
starts the demo as if at that instant, time then running at normal speed: the tests run the
real process at 00:20 on the 1st with it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from zoneinfo import ZoneInfo

from exporter import config
from exporter.daemon import Daemon
from exporter.engine import intervals as iv
from exporter.engine.availability import eligible_time
from exporter.engine.maintenance import maintenance_intervals
from exporter.engine.months import month_bounds
from exporter.engine.units import format_percent
from exporter.model import Config, Event, Incident, ServiceRequest, Tenant
from exporter.store.sqlite import Store

log = logging.getLogger("sla_exporter")

TIMEZONE = "Europe/Helsinki"
CHANNELS = ("agent-ui", "chat", "voice-api", "rest-api")
TOKEN = "demo-token"
START_ENV = "SLA_DEMO_START"
MAINTENANCE_HOURS = 3  # initech-test's window, opened when the demo starts


class Band(NamedTuple):
    """Month-to-date availability of a tenant in the demo."""

    design: float  # what the seeded history reads, at any moment of the month
    floor: float  # never below: the live script's counted outages wait for the budget
    top: float  # not above while the demo has run no longer than the month had before it


BANDS = {
    "acme-prod": Band(0.9995, 0.9993, 1.0),  # meets the 99.92 % target
    "globex-prod": Band(0.998, 0.9965, 0.999),  # misses it
    "initech-test": Band(0.992, 0.990, 0.996),  # a test tenant, lower still
}


class Scripted(NamedTuple):
    """An outage of the live script: ``channels`` of ``tenant`` fail from ``lo`` to ``hi``
    seconds into every cycle, when ``Plan`` lets it."""

    tenant: str
    channels: tuple[str, ...]
    lo: float
    hi: float
    in_maintenance_only: bool = False  # the point is that it does not count


CYCLE = 300.0  # seconds; the script repeats
SCRIPT = (  # in time order within the cycle
    Scripted("acme-prod", ("chat",), 20, 50),  # partial: a detected P2; acme-prod counts complete outages only
    Scripted("globex-prod", CHANNELS, 70, 80),  # complete: a detected P1; counted, so it waits for budget
    Scripted("initech-test", CHANNELS, 130, 160, True),  # inside initech-test's maintenance window
)

# The month so far, per tenant: (channels that fail, where in its eligible month so far as a
# fraction, length as a share of its designed downtime). The shares of the outages that take
# the tenant down add up to 1; acme-prod's chat outage does not (down_when: all).
HISTORY = {
    "acme-prod": ((CHANNELS, 0.25, 0.6), (("chat",), 0.5, 3.0), (CHANNELS, 0.8, 0.4)),
    "globex-prod": ((CHANNELS, 0.45, 0.7), (("rest-api",), 0.7, 0.3)),
    "initech-test": ((("voice-api",), 0.2, 0.25), (("voice-api",), 0.45, 0.5), (("rest-api",), 0.8, 0.25)),
}
STEP_MS = 300_000  # seeded results: every 5 minutes
STALE_AFTER_MS = 2 * STEP_MS  # the demo probes' stale_after: each seeded result holds until the next
MIN_OUTAGE_MS = 10_000  # shorter downtime than this per outage: one outage carries all of it


class Endpoints:
    """The simulated platform: ``/<tenant>/<channel>`` answers 200 or 503 as ``plan`` says
    (everything up until it is set)."""

    def __init__(self, clock: Callable[[], float] = time.time, plan: Plan | None = None):
        self.clock, self.plan = clock, plan
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                _, tenant, channel = [*self.path.split("?")[0].split("/"), "", ""][:3]
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
        return self.plan is None or self.plan.up(tenant, channel, self.clock())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Plan:
    """Which of the script's outages run, cycle by cycle from ``started``. An outage that
    would count runs only if the tenant's month to date, with it and everything the script
    and the seeded history (``seeded``) already spent, stays at or above its band's floor;
    one that would cross into the next month does not run. Reads no clock: ask it about
    any instant."""

    def __init__(self, cfg: Config, started: float, seeded: Mapping[str, Seeded]):
        self.cfg, self.started = cfg, started
        month = _year_month(started, cfg.timezone)
        self._spent = {(name, month): s.downtime for name, s in seeded.items()}  # counted seconds
        self._cycles: list[tuple[bool, ...]] = []  # decided so far, one flag per SCRIPT entry
        self._lock = threading.Lock()

    def up(self, tenant: str, channel: str, t: float) -> bool:
        if t < self.started:
            return True
        cycle, at = divmod(t - self.started, CYCLE)
        runs = self.cycle(int(cycle))
        return not any(
            run and s.tenant == tenant and channel in s.channels and s.lo <= at < s.hi
            for s, run in zip(SCRIPT, runs, strict=True)
        )

    def cycle(self, n: int) -> tuple[bool, ...]:
        """Whether each SCRIPT entry runs in cycle ``n`` (0: the one the demo starts with)."""
        with self._lock:
            while len(self._cycles) <= n:
                k = len(self._cycles)
                self._cycles.append(tuple(self._decide(s, self.started + k * CYCLE) for s in SCRIPT))
            return self._cycles[n]

    def _decide(self, s: Scripted, cycle_start: float) -> bool:
        tenant = self.cfg.tenant(s.tenant)
        lo, hi = cycle_start + s.lo, cycle_start + s.hi
        if s.in_maintenance_only:
            return iv.total(maintenance_intervals(tenant.windows, lo, hi)) == hi - lo
        if not _takes_down(tenant, s.channels):
            return True
        # The exporter sees an outage from the first failed result to the first success
        # after it: up to a probe interval longer; two, to be safe.
        end = hi + 2 * max(p.interval for p in tenant.probes)
        month = _year_month(lo, self.cfg.timezone)
        if _year_month(end, self.cfg.timezone) != month:
            return False
        month_start = month_bounds(*month, self.cfg.timezone)[0]
        cost = _eligible(tenant, lo, end)
        spent = self._spent.get((tenant.name, month), 0.0)
        if spent + cost > (1 - BANDS[tenant.name].floor) * _eligible(tenant, month_start, end):
            return False
        self._spent[(tenant.name, month)] = spent + cost
        return True

    def first(self, tenant: str, cycles: int = 288) -> int | None:
        """The first cycle in which ``tenant``'s scripted outage runs, None if none of the
        first ``cycles`` (a day)."""
        i = next(i for i, s in enumerate(SCRIPT) if s.tenant == tenant)
        return next((n for n in range(cycles) if self.cycle(n)[i]), None)


def _eligible(tenant: Tenant, lo: float, hi: float) -> float:
    return (hi - lo) - iv.total(maintenance_intervals(tenant.windows, lo, hi))


def _takes_down(tenant: Tenant, channels: tuple[str, ...]) -> bool:
    """Whether ``channels`` failing makes ``tenant`` down (by its ``down_when``)."""
    names = {p.name for p in tenant.probes}
    failing = names & set(channels)
    return bool(failing) and (tenant.down_when == "any" or failing == names)


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
    window = dt.datetime.fromtimestamp(maintenance_start(now), ZoneInfo(TIMEZONE))
    tenants = []
    for name, env, down_when in (
        ("acme-prod", "production", "all"),
        ("globex-prod", "production", "any"),
        ("initech-test", "non-production", "any"),
    ):
        probes = "\n".join(f'      - {{name: {c}, url: "{url}/{name}/{c}"}}' for c in CHANNELS)
        extra = ""
        if name == "initech-test":
            extra = (
                f"    maintenance_windows:\n      - {{name: demo-maintenance, date: {window:%Y-%m-%d}, "
                f'start: "{window:%H:%M}", duration: {MAINTENANCE_HOURS}h}}\n'
            )
        tenants.append(
            f"  - name: {name}\n    environment: {env}\n    down_when: {down_when}\n{extra}    probes:\n{probes}"
        )
    return (
        f"""# Written by `sla-exporter demo`.
timezone: {TIMEZONE}
sla: {{target: 99.92%}}
# stale_after: the seeded history has a result every {STEP_MS // 60_000} minutes; live ones come every 2 s.
probe_defaults: {{interval: 2s, timeout: 1s, failure_threshold: 2, stale_after: {STALE_AFTER_MS // 60_000}m}}
maintenance_windows:
  - {{name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: "02:00", duration: 2h}}
  - {{name: quarterly, rrule: "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA", start: "22:00", duration: 6h}}
support:
  api: {{token_env: SLA_DEMO_TOKEN}}
tenants:
"""
        + "\n".join(tenants)
        + "\n"
    )


class Seeded(NamedTuple):
    """A tenant's seeded month so far."""

    eligible: float  # seconds outside maintenance
    downtime: float  # seconds of it down (counted)

    @property
    def availability(self) -> float | None:
        return (self.eligible - self.downtime) / self.eligible if self.eligible > 0 else None


def designed_downtime(band: Band, eligible_ms: int, shortest_ms: int = 2) -> int:
    """Milliseconds of downtime that put ``eligible_ms`` of month at ``band.design``, moved
    inside the band where rounding would leave it; 0 or at least ``shortest_ms`` (an outage
    needs failure_threshold failed results, at distinct milliseconds)."""
    eligible = Fraction(eligible_ms)
    least = math.ceil((1 - Fraction(repr(band.top))) * eligible)
    most = math.floor((1 - Fraction(repr(band.floor))) * eligible)
    ms = min(max(round((1 - Fraction(repr(band.design))) * eligible), least), most)
    if 0 < ms < shortest_ms:
        ms = shortest_ms if shortest_ms <= most else 0
    return ms


def _outages(tenant: Tenant, downtime_ms: int) -> list[tuple[tuple[str, ...], float, int]]:
    """HISTORY's outages of ``tenant`` as (channels, where, milliseconds), the ones that count
    adding up to ``downtime_ms``; just the first of those when it is too short to share."""
    spec = HISTORY[tenant.name]
    counted = [s for s in spec if _takes_down(tenant, s[0])]
    if downtime_ms <= 0:
        return []
    if downtime_ms < MIN_OUTAGE_MS * len(counted):
        return [(counted[0][0], counted[0][1], downtime_ms)]
    out, left = [], downtime_ms
    for s in spec:
        channels, where, share = s
        if s is counted[-1]:
            ms = left
        else:
            ms = round(share * downtime_ms)
            left -= ms if s in counted else 0
        out.append((channels, where, ms))
    return out


def _at(pieces: list[tuple[int, int]], offset: int) -> int:
    """The instant ``offset`` ms of eligible time after the first piece's start."""
    for a, b in pieces:
        if offset <= b - a:
            return a + offset
        offset -= b - a
    return pieces[-1][1]


def month_history(cfg: Config, now: float) -> tuple[dict[tuple[str, str], list[tuple[int, bool]]], dict[str, Seeded]]:
    """Every probe's results (integer milliseconds, success) from the month's start to
    ``now``: every STEP_MS, plus the edges of HISTORY's outages, placed in eligible time so
    that each tenant's counted downtime is exactly its ``designed_downtime``."""
    start, end = month_bounds(*_year_month(now, cfg.timezone), cfg.timezone)
    start_ms, now_ms = round(start * 1000), math.floor(now * 1000)
    grid = set(range(start_ms, now_ms, STEP_MS)) | {now_ms}
    history, seeded = {}, {}
    for tenant in cfg.tenants:
        maintenance = maintenance_intervals(tenant.windows, start, end)
        pieces = [(round(a * 1000), round(b * 1000)) for a, b in eligible_time(maintenance, start, now_ms / 1000)]
        eligible = sum(b - a for a, b in pieces)
        threshold = max(p.failure_threshold for p in tenant.probes)
        downtime = designed_downtime(BANDS[tenant.name], eligible, threshold)
        outages = []
        for channels, where, ms in _outages(tenant, downtime):
            if ms >= threshold:
                offset = math.floor(where * eligible)
                outages.append((channels, _at(pieces, offset), _at(pieces, offset + ms)))
        seeded[tenant.name] = Seeded(eligible / 1000, downtime / 1000)
        for probe in tenant.probes:
            mine = [(a, b) for channels, a, b in outages if probe.name in channels]
            times = set(grid)
            for a, b in mine:
                times.update(range(a, a + threshold))
                times.add(b)
            history[(tenant.name, probe.name)] = [(t, not any(a <= t < b for a, b in mine)) for t in sorted(times)]
    return history, seeded


def store_history(store: Store, history: Mapping[tuple[str, str], list[tuple[int, bool]]]) -> None:
    """The demo's one write of probe history: (time in ms, success) per probe, at most
    STEP_MS apart, read under the config's stale_after (STALE_AFTER_MS)."""
    store.merge(history)


def seed_history(store: Store, cfg: Config, now: float) -> dict[str, Seeded]:
    """The month so far: each tenant at its band's design value at ``now``."""
    history, seeded = month_history(cfg, now)
    store_history(store, history)
    return seeded


def seed_support(store: Store, now: float) -> None:
    """A filed P2 with its response given, and a service request, for the support metrics."""
    store.add_incident(Incident("INC-DEMO-1", "acme-prod", "P2", now - 5400, title="chat: messages delayed"))
    store.add_event("INC-DEMO-1", Event("response", now - 4000, note="investigating"))
    store.add_request(ServiceRequest("SR-DEMO-1", "initech-test", now - 86400, title="add a chat queue"))


def _year_month(t: float, tz: str = TIMEZONE) -> tuple[int, int]:
    d = dt.datetime.fromtimestamp(t, ZoneInfo(tz))
    return d.year, d.month


def start_clock(text: str | None, real: Callable[[], float] = time.time) -> Callable[[], float]:
    """The demo's clock: ``real``, or, given an ISO 8601 instant in the past, one that reads
    that instant now and runs on at ``real``'s pace (the probe scheduler keeps to the real
    clock, so a start in the future would never probe)."""
    if not text:
        return real
    start = dt.datetime.fromisoformat(text)  # ValueError
    if start.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    offset = start.timestamp() - real()
    if offset > 0:
        raise ValueError(f"{text!r} is in the future")
    return lambda: real() + offset


def run(
    listen: tuple[str, int], clock: Callable[[], float] | None = None, environ: Mapping[str, str] = os.environ
) -> int:
    if clock is None:
        try:
            clock = start_clock(environ.get(START_ENV))
        except ValueError as err:
            print(f"sla-exporter demo: {START_ENV}: {err}", file=sys.stderr)
            return 1
    now = clock()
    endpoints = Endpoints(clock)
    workdir = tempfile.mkdtemp(prefix="sla-exporter-demo-")
    config_path = os.path.join(workdir, "config.yaml")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(demo_config(endpoints.url, now))
    os.environ["SLA_DEMO_TOKEN"] = TOKEN
    cfg = config.load(config_path)
    storage = os.path.join(workdir, "sla.db")
    with Store(storage) as store:
        seeded = seed_history(store, cfg, now)
        seed_support(store, now)
    endpoints.plan = plan = Plan(cfg, now, seeded)
    daemon = Daemon(config_path, storage, listen, clock=clock, cfg=cfg)  # its prober stamps by the same clock
    host, port = listen
    shown = "localhost" if host in ("0.0.0.0", "") else host
    figures = ", ".join(
        f"{name} {format_percent(s.availability) if s.availability is not None else 'n/a'}"
        for name, s in seeded.items()
    )
    first = plan.first("globex-prod")
    when = (
        "from the first cycle"
        if first == 0
        else "not in the next 24 h"
        if first is None
        else f"from {dt.datetime.fromtimestamp(now + first * CYCLE, ZoneInfo(TIMEZONE)):%H:%M}"
    )
    print(
        f"""sla-exporter demo: three simulated tenants, probed every 2 s by the real exporter.
  metrics:   http://{shown}:{port}/metrics   (try: curl -s {shown}:{port}/metrics | grep '^sla_')
  incidents: curl -s -H 'Authorization: Bearer {TOKEN}' {shown}:{port}/api/v1/incidents
  files:     {workdir} (config.yaml, sla.db)
Month to date: {figures}.
Every 5 minutes: chat of acme-prod fails for 30 s (a detected P2; acme-prod's SLA counts
complete outages only), initech-test fails for 30 s inside its maintenance window (not
counted), and globex-prod fails completely for 10 s (a detected P1) whenever its month
to date can absorb it: {when}.
Ctrl-C stops.""",
        flush=True,
    )
    try:
        daemon.run_forever()
    finally:
        endpoints.close()
    return 0
