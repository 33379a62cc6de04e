"""``sla-exporter run``: scheduled probes -> recorder -> store, and /metrics.

Wiring only: probing is ``probes``, history is ``recorder``, figures are ``collector``.
Every probe runs as a coroutine on the prober's one event loop: the ``schedule`` (a heap of
each probe's next slot, fixed from the epoch by a stable hash so that probes never fire in
lockstep) arms one ``loop.call_at`` timer for the earliest slot; when it fires, the probes due
start as tasks, one run per probe at a time, slots missed while stalled coalesced into one.
At most ``workers`` runs are under way at once (sized so that even if every target hung for
its whole timeout every probe would still run); a run waiting on a hung target holds a
socket, not a thread. Probes whose last ``HUNG_AFTER`` runs timed out take their turns in a
lane of their own, bounded the same way: when the event loop falls behind, runs against hung
targets outlast their timeout and fill their lane, and the other probes never queue behind
them. Housekeeping (group commit, state ticks, detection, month rollover)
runs on a thread of its own, so SQLite writes never block the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import datetime as dt
import gc
import logging
import math
import os
import resource
import signal
import sys
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable

from prometheus_client import CollectorRegistry, ProcessCollector

from exporter import config, render, report
from exporter.engine.months import previous_month_start
from exporter.engine.units import instant_ms
from exporter.errors import UserError
from exporter.model import DEFAULT_LOCATION, Config, Event, Incident, Probe
from exporter.probing import sharding
from exporter.probing.canary import NETWORK_SENSITIVE, Connectivity
from exporter.probing.probes import Prober, ProbeResult
from exporter.probing.recorder import Recorder, Result
from exporter.probing.schedule import Schedule, next_slot_ms  # noqa: F401 - next_slot_ms: part of this API
from exporter.store.leader import Leader, seconds_from_env
from exporter.store.sqlite import Store
from exporter.support import detection
from exporter.web import webconfig
from exporter.web.api import Api, resolve_token
from exporter.web.collector import ExporterStatus, collectors
from exporter.web.server import Endpoints, Server

log = logging.getLogger("sla_exporter")

FLUSH_INTERVAL = 1.0  # seconds of results a crash may lose (they then read as unknown)
# How often the history other exporters wrote (other locations, other shards) is read from
# the store: a query of every probe's write count, then only the probes that moved.
FEED_ENV = "SLA_EXPORTER_FEED_INTERVAL"  # seconds; the tests shorten it
DEFAULT_FEED_INTERVAL = 5.0


def feed_interval(environ: os._Environ[str] | dict[str, str] = os.environ) -> float:
    return seconds_from_env(FEED_ENV, DEFAULT_FEED_INTERVAL, environ)


CLOCK_STEP = 2.0  # a wall-clock jump larger than this (against the monotonic clock) reschedules
HUNG_AFTER = 2  # timeouts in a row that move a probe to the lane of hung targets (one may be ours)
# How long a thread computing (a scrape: ~1 s of CPU at 5,000 tenants; housekeeping) keeps the
# interpreter lock while the event loop waits for it. The loop gives the lock up at every
# socket call and log write, thousands a second with 5,000 hung targets, and at Python's 5 ms
# waited up to that long after each: ~200 steps a second during a scrape, so healthy runs
# timed out and their next slots were skipped (docs/benchmarks.md, hung targets).
SWITCH_INTERVAL = 0.0005  # seconds
SLOT_SLACK_MS = 250  # a result that starts this close to its slot is recorded at the slot


def clock_step(wall_before: float, mono_before: float, wall_now: float, mono_now: float) -> float:
    """How far the wall clock jumped between two readings, beyond the time that passed."""
    return (wall_now - wall_before) - (mono_now - mono_before)


def pool_size(cfg: Config) -> int:
    """Workers for the probe pool: enough for every probe to run even if each target
    hangs for its full timeout (a probe needs timeout/interval of a worker then), plus
    headroom; never more than there are probes."""
    probes = [p for t in cfg.tenants for p in t.probes]
    busy = sum(p.timeout / p.interval for p in probes)
    return max(1, min(len(probes), math.ceil(busy) + 4))


def phase_ms(tenant: str, probe: Probe) -> int:
    """Where in its interval a probe's slots fall, counted from the epoch: stable across
    restarts, reloads and replicas, and spread over the interval by a hash of the name."""
    return zlib.crc32(f"{tenant}/{probe.name}".encode()) % 10_000 * probe.interval_ms // 10_000


def stamp_ms(started: float, interval_ms: int, phase: int) -> int:
    """The time a result is recorded at: its slot when it started within ``SLOT_SLACK`` of
    it (so a steady probe's history is one evenly spaced series), else its own start."""
    t = instant_ms(started)
    slot = t - (t - phase) % interval_ms  # the slot at or before t
    if t - slot > interval_ms // 2:
        slot += interval_ms
    return slot if abs(t - slot) <= min(SLOT_SLACK_MS, interval_ms // 4) else t


class Daemon:
    def __init__(
        self,
        config_path: str,
        storage_path: str,
        listen: tuple[str, int],
        clock: Callable[[], float] = time.time,
        workers: int | None = None,
        cfg: Config | None = None,
        web_config_path: str | None = None,
        shard: tuple[int, int] = (0, 1),
        location: str = DEFAULT_LOCATION,
    ):
        self.config_path, self.clock, self.web_config_path, self.shard = config_path, clock, web_config_path, shard
        self.location = location
        web = webconfig.load(web_config_path) if web_config_path else None  # WebConfigError: caller reports
        # This shard's tenants are probed (self.cfg); on a shared store (PostgreSQL) every
        # tenant is served (/metrics, the report page), the others' history read from the
        # store; a SQLite file is this exporter's alone, so it serves what it probes.
        loaded = cfg or config.load(config_path)  # ConfigError: the caller reports it
        self.cfg = sharding.restrict(loaded, *shard)
        self.store = Store(storage_path)
        self.shared = self.store.db.concurrent
        self.served_cfg = loaded if self.shared else self.cfg
        self.token = self._token(self.cfg)
        self.status = ExporterStatus(reload_ok=True, reload_time=clock())
        self.leader = Leader(storage_path, shard)  # one exporter per shard detects incidents
        self.detected = self._open_detected()
        # Every probe's history since the previous month: a million small objects, none of
        # them cyclic garbage (the collector's passes were a third of this at 10,000 tenants).
        # They live as long as the process: frozen out of its passes (as start() does with
        # the rest) before it is back, so that its first pass does not walk them either.
        with config.collector_paused():
            self.recorder = Recorder(
                self.store,
                self.served_cfg,
                previous_month_start(clock(), self.cfg.timezone),
                location=location,
                live=lambda tenant: sharding.shard_of(tenant, shard[1]) == shard[0],
            )
            gc.freeze()
        self._feed_every, self._fed_at = feed_interval(), -math.inf
        self.prober = Prober(clock=clock)  # results and the clock-step check on one clock
        self.connectivity = Connectivity(self.prober, self.cfg.monitor, on_verdict=self._network_verdict)
        self.registry = CollectorRegistry()
        for collector in collectors(lambda: self.served_cfg, self.recorder, self.status, clock, store=self.store):
            self.registry.register(collector)
        ProcessCollector(registry=self.registry)
        self.workers = workers or pool_size(self.cfg)
        self.loop = self.prober.loop  # probes, the schedule and canaries: all on this loop
        self.schedule = Schedule()
        self._slots = asyncio.Semaphore(self.workers)  # runs under way at once
        self._hung_slots = asyncio.Semaphore(self.workers)  # the same, for probes whose target hangs
        self._timeouts: dict[str, int] = {}  # "tenant/probe" -> its last runs that timed out, in a row
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()
        self._started = False
        self._switch_interval = sys.getswitchinterval()  # the process's own, given back at shutdown
        self.skipped = 0  # slots that came while the probe's previous run was still under way
        self.api = Api(self.store, lambda: self.cfg, lambda: self.token, clock)
        self.server = Server(
            listen,
            Endpoints(self.registry, self.ready, self.reload, self.api, report=self.report_page, scraped=_give_back),
            web,
        )
        self._stopped = threading.Event()
        self._reload_lock = threading.Lock()
        self._pending: dict[str, dict[str, str]] = {}  # detection to try again (store failed)

    def report_page(self, query: str) -> tuple[int, str]:
        """``/report?month=YYYY-MM[&tenant=T]``: the monthly report page (``report --format
        html``) of the store's history, as of now. (Results of the last seconds not yet
        written to the store are not in it.)"""
        params = urllib.parse.parse_qs(query)
        month, tenant = params.get("month", [None])[0], params.get("tenant", [None])[0]
        if month is None:
            return 400, "month: required, e.g. /report?month=2026-10\n"
        try:
            return 200, render.html(self.served_cfg, self.store, report.parse_month(month), tenant, self.clock())
        except (ValueError, UserError) as err:
            return 400, f"{err}\n"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        _raise_descriptor_limit(2 * self.workers)  # both lanes full
        _fixed_mmap_threshold()
        # The config and history loaded so far live as long as the process: out of the
        # collector's full passes, which would otherwise stall the event loop on a big fleet.
        gc.freeze()
        _give_back()  # what loading them freed: 10 MB at 10,000 tenants
        # Each scrape leaves some 10^5 new samples that outlive it (the collectors' caches):
        # at the default (700, 10, 10) that set off one or two full passes a scrape at 10,000
        # tenants, ~1 s each with the interpreter lock held (the probe loop stalls). A full
        # pass waits for 100 young-generation passes instead of 10; cycles are still freed.
        gc.set_threshold(*gc.get_threshold()[:2], 100)
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._started = True
        self.leader.start()
        self._schedule(self.cfg)
        threading.Thread(target=self._housekeeping_loop, name="housekeeping", daemon=True).start()
        self.server.start()
        threading.Thread(target=self._watch_clock, name="clock-watch", daemon=True).start()
        host, port = self.server.server_address[:2]
        log.info(
            "listening",
            extra={
                "fields": {
                    "address": f"{host}:{port}",
                    "shard": "{}/{}".format(*self.shard),
                    "location": self.location,
                    "tenants": len(self.cfg.tenants),
                    "probes": sum(len(t.probes) for t in self.cfg.tenants),
                    "workers": self.workers,
                    "storage": self.store.path,
                }
            },
        )

    def run_forever(self) -> None:
        """Serve until SIGTERM or SIGINT; SIGHUP reloads the config."""
        signal.signal(signal.SIGHUP, lambda *_: self.reload())
        signal.signal(signal.SIGTERM, lambda *_: self._stopped.set())
        signal.signal(signal.SIGINT, lambda *_: self._stopped.set())
        self.start()
        while not self._stopped.wait(1.0):
            pass
        self.shutdown()

    def shutdown(self) -> None:
        log.info("shutting down")
        self._stopped.set()
        if self._started:
            self._started = False
            with contextlib.suppress(RuntimeError, concurrent.futures.TimeoutError):  # the loop already ended
                asyncio.run_coroutine_threadsafe(self._stop_probes(), self.loop).result(timeout=10)
            sys.setswitchinterval(self._switch_interval)
        self.server.shutdown()
        self.server.server_close()
        try:
            self.recorder.flush()
        finally:
            self.leader.stop()
            self.store.close()
            self.prober.close()

    # -- jobs ------------------------------------------------------------------------------

    def _watch_clock(self) -> None:
        """Slots are wall-clock times: after a step back every probe would wait until the
        clock catches up, after a step forward all would fire at once. On a step, schedule
        them afresh from the new time. (A thread of its own, outside the event loop.)"""
        wall, mono = self.clock(), time.monotonic()
        while not self._stopped.wait(1.0):
            wall_now, mono_now = self.clock(), time.monotonic()
            step = clock_step(wall, mono, wall_now, mono_now)
            wall, mono = wall_now, mono_now
            if abs(step) > CLOCK_STEP:
                self.status.clock_steps += 1
                self.status.last_clock_step = round(step, 3)
                log.warning(
                    "the wall clock stepped; rescheduling the probes", extra={"fields": {"seconds": round(step, 3)}}
                )
                with self._reload_lock:
                    self._schedule(self.cfg, force=True)

    def _schedule(self, cfg: Config, force: bool = False) -> None:
        """Each probe on its fixed slots. A reload leaves unchanged probes alone, so their
        timing goes on; ``force`` starts every probe afresh from now (clock step). Once the
        daemon runs, the schedule is the event loop's: planned there, waited for here."""
        wanted = [
            (tenant.name, probe, phase_ms(tenant.name, probe)) for tenant in cfg.tenants for probe in tenant.probes
        ]
        if not self._started:
            self.schedule.plan(wanted, instant_ms(self.clock()), force)
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def plan() -> None:
            try:
                self.schedule.plan(wanted, instant_ms(self.clock()), force)
                for key in self._timeouts.keys() - self.schedule.jobs.keys():  # probes removed
                    del self._timeouts[key]
                self._arm()
            finally:
                done.set_result(None)

        self.loop.call_soon_threadsafe(plan)
        done.result(timeout=60)

    def _arm(self) -> None:
        """One timer, for the earliest slot to come (event loop thread)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = self.schedule.next_due()
        if due is not None:
            delay = due / 1000 - self.clock()
            self._timer = self.loop.call_at(self.loop.time() + max(0.0, delay), self._wake)

    def _wake(self) -> None:
        """Start the probes whose slot has come (event loop thread)."""
        self._timer = None
        # The loop may fire a timer a hair early by the wall clock: a slot within 2 ms is due.
        for job in self.schedule.due(instant_ms(self.clock()) + 2):
            if job.running:
                self.skipped += 1  # one run per probe at a time
                continue
            job.running = True
            task = self.loop.create_task(self._probe_job(job.tenant, job.probe))
            self._tasks.add(task)
            task.add_done_callback(lambda t, job=job: self._done(t, job))
        self._arm()

    def _done(self, task: asyncio.Task, job) -> None:
        self._tasks.discard(task)
        job.running = False
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("probe job failed", extra={"fields": {"probe": job.key, "error": f"{type(exc).__name__}: {exc}"}})

    async def _stop_probes(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    def lane(self, key: str) -> asyncio.Semaphore:
        """The bound a probe's next run waits on: the hung targets' lane once its last
        ``HUNG_AFTER`` runs timed out (there they queue behind each other, never in front of
        a probe that answers), else the common one. Any other result moves it back."""
        return self._hung_slots if self._timeouts.get(key, 0) >= HUNG_AFTER else self._slots

    async def _probe_job(self, tenant: str, probe: Probe) -> None:
        key = f"{tenant}/{probe.name}"
        async with self.lane(key):
            r = await self.prober.run(probe)
        if r.reason == "timeout":
            self._timeouts[key] = min(HUNG_AFTER, self._timeouts.get(key, 0) + 1)
        else:
            self._timeouts.pop(key, None)
        up = None
        if r.reason in NETWORK_SENSITIVE and not self._stepped(r):
            up = await self.connectivity.network_up_async()
        self._record(tenant, probe, r, up)

    def _stepped(self, r: ProbeResult) -> bool:
        return abs(self.clock() - r.started - r.duration) > CLOCK_STEP

    def _record(self, tenant: str, probe: Probe, r: ProbeResult, network_up: bool | None) -> None:
        success, reason, error = r.success, r.reason, r.error
        if self._stepped(r):
            # The wall clock stepped during the run: when it ran is not known.
            success, reason, error = False, "clock", "the wall clock stepped during the run"
        elif reason in NETWORK_SENSITIVE and network_up is False:
            success, reason, error = False, "network", f"every connectivity canary failed ({reason}: {error})"
        self.recorder.observe(
            tenant,
            probe.name,
            Result(
                started=r.started,
                success=success,
                duration=r.duration,
                status_code=r.status_code,
                reason=reason,
                cert_expiry=r.cert_expiry,
                error=error,
                stamp=stamp_ms(r.started, probe.interval_ms, phase_ms(tenant, probe)),
            ),
        )

    def _network_verdict(self, up: bool) -> None:
        if up != self.status.network_up:
            (log.info if up else log.warning)(
                "connectivity canaries answer again"
                if up
                else "every connectivity canary fails: our network is down; probe failures count as unknown",
                extra={"fields": {"canaries": len(self.cfg.monitor.canaries)}},
            )
        self.status.network_up = up

    def _housekeeping_loop(self) -> None:
        while not self._stopped.wait(FLUSH_INTERVAL):
            try:
                self._housekeeping()
            except Exception as err:  # noqa: BLE001 - the next tick tries again; never stop committing
                log.error("housekeeping failed", extra={"fields": {"error": f"{type(err).__name__}: {err}"}})

    def _housekeeping(self) -> None:
        now = self.clock()
        try:
            self.recorder.flush()
            if not self.status.store_writable:
                log.info("the store is writable again")
            self.status.store_writable = True
        except Exception as err:  # noqa: BLE001 - disk full, read-only: keep probing, say so on /-/ready
            if self.status.store_writable:
                log.error(
                    "cannot write to the store; history is kept in memory meanwhile",
                    extra={"fields": {"error": str(err)}},
                )
            self.status.store_writable = False
            self.status.store_write_errors += 1
        mono = time.monotonic()
        if mono - self._fed_at >= self._feed_every:
            self._fed_at = mono
            try:
                self.recorder.feed()
            except Exception as err:  # noqa: BLE001 - the store is unreachable: the next round tries again
                log.error("cannot read other exporters' history", extra={"fields": {"error": str(err)}})
        states = self.recorder.tick_changed(now)  # only tenants whose state may have changed
        if self.leader.held and not self.status.leader:
            # Just elected: the incidents a previous leader opened are ours to raise or
            # resolve, and every tenant's state is new to the detection.
            self.detected = self._open_detected()
            states = {**self.recorder.tick(now), **states}
        self.status.leader = self.leader.held
        try:
            if self.leader.held:
                self._detect(now, states)
        except Exception as err:  # noqa: BLE001 - a store problem: /-/ready already says so
            log.error("incident detection failed", extra={"fields": {"error": str(err)}})
        since = previous_month_start(now, self.cfg.timezone)
        if since * 1000 > self.recorder.since:
            self.recorder.trim(since)

    @staticmethod
    def _token(cfg: Config) -> tuple[str | None, str | None]:
        token, problem = resolve_token(cfg, os.environ)
        if problem:
            log.error("the support API is off", extra={"fields": {"reason": problem}})
        return token, problem

    def _open_detected(self) -> dict[str, tuple[str, str]]:
        return {
            i.tenant: (i.id, i.priority if not i.events else _current_priority(i))
            for i in self.store.incidents(open_only=True)
            if i.source == "detected"
        }

    def _detect(self, now: float, states: dict[str, dict[str, str]]) -> None:
        """Detection for the tenants whose probe states may have changed, and those whose
        last detection could not be stored (tried again each tick)."""
        states = {**self._pending, **states}
        self._pending = {}
        tenants = [t for name in states if (t := self.cfg.tenant(name)) is not None]
        try:
            self._apply(now, detection.detect(tenants, states, self.detected))
        finally:
            for tenant in tenants:
                want, current = detection.wanted(states[tenant.name]), self.detected.get(tenant.name)
                if tenant.production and (
                    (want is None) != (current is None) or (want == "P1" and current is not None and current[1] != "P1")
                ):
                    self._pending[tenant.name] = states[tenant.name]

    def _apply(self, now: float, actions: list[detection.Action]) -> None:
        for action in actions:
            fields = {"tenant": action.tenant, "priority": action.priority, "incident": action.incident}
            if action.kind == "open":
                stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
                inc = Incident(
                    f"DET-{action.tenant}-{stamp}",
                    action.tenant,
                    action.priority,
                    now,
                    source="detected",
                    title="detected from probes: " + ("complete" if action.priority == "P1" else "partial") + " outage",
                )
                if self.store.add_incident(inc):
                    self.detected[action.tenant] = (inc.id, inc.priority)
                    fields["incident"] = inc.id
            elif action.kind == "raise":
                self.store.add_event(action.incident, Event("priority", now, "P1", "every probe down"))
                self.detected[action.tenant] = (action.incident, "P1")
            else:
                self.store.add_event(action.incident, Event("resolution", now, None, "probes up again"))
                del self.detected[action.tenant]
            log.info(
                f"detected incident {'opened' if action.kind == 'open' else action.kind + 'd'}",
                extra={"fields": fields},
            )

    # -- endpoints -------------------------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        if not self.status.store_writable:
            return False, "not ready: cannot write to the store"
        faults = self.recorder.current_faults()
        if not faults:
            return True, "ready"
        # Ready (the exporter serves), but say which probes cannot measure and why.
        lines = [f"ready; {len(faults)} probe(s) not measuring, a fault of ours (their time is unknown):"]
        for (tenant, probe), r in sorted(faults.items())[:20]:
            lines.append(f"  {tenant}/{probe}: {r.reason}: {r.error or ''}".rstrip(": "))
        if len(faults) > 20:
            lines.append(f"  ... and {len(faults) - 20} more")
        return True, "\n".join(lines)

    def reload(self) -> tuple[bool, str]:
        """Reread the config file and the web config file. Both are read and checked before
        anything changes, and either both are taken or neither: a refused web config (bad,
        or empty: it would switch TLS and basic auth off) keeps the running one, and shows
        in ``sla_exporter_web_config_last_reload_successful``."""
        with self._reload_lock:
            problems, cfg, web = [], None, None
            try:
                full = config.load(self.config_path)
                cfg = sharding.restrict(full, *self.shard)
            except config.ConfigError as err:
                problems.append(str(err))
            if self.web_config_path:
                try:
                    web = webconfig.load(self.web_config_path)
                except webconfig.WebConfigError as err:
                    problems.append(str(err))
                self.server.web_config_ok = web is not None
            if problems:
                err = "\n".join(problems)
                self.status.reload_ok = False
                log.error("config reload refused; the running config stays", extra={"fields": {"errors": err}})
                return False, f"config reload refused; the running config stays:\n{err}"
            if web is not None:
                self.server.web = web
            self.token = self._token(cfg)
            if pool_size(cfg) > self.workers:
                log.warning(
                    "the new config has more probes than the probe pool was sized for; restart to resize it",
                    extra={"fields": {"workers": self.workers, "wanted": pool_size(cfg)}},
                )
            self.recorder.configure(full if self.shared else cfg)
            self.connectivity.configure(cfg.monitor)
            if not cfg.monitor.canaries:
                self.status.network_up = None
            self.cfg, self.served_cfg = cfg, full if self.shared else cfg
            self._schedule(cfg)
            self.status.reload_ok, self.status.reload_time = True, self.clock()
            gc.freeze()  # the new config, as at start
            log.info(
                "config reloaded",
                extra={"fields": {"tenants": len(cfg.tenants), "probes": sum(len(t.probes) for t in cfg.tenants)}},
            )
            return True, "config reloaded"


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value


def _fixed_mmap_threshold() -> None:
    """Keep glibc's malloc giving blocks of 128 KiB and more back to the system when freed.
    By default it raises that threshold to the largest such block freed so far (up to 32
    MiB): after the first scrape frees its ~15 MB body at 10,000 tenants, every later body,
    output list and sample list comes from the heaps of the web server's threads, which keep
    the memory. Measured in process at 10,000 tenants, scrapes on their own threads: RSS
    398 MB at the default, 352 MB with the threshold fixed. Nothing to do off glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator, its rules
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


def _malloc_trim() -> Callable[[int], object]:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc: its allocator, its rules
        return lambda _pad: None


def _give_back() -> None:
    """Return to the system the pages glibc's malloc keeps free after a scrape. A scrape
    at 10,000 tenants frees tens of MB of lists and strings in the heap of the web thread
    that served it, which glibc keeps (free pages among used ones, which only
    ``malloc_trim`` gives back): measured in the daemon at 10,000 tenants, 406 -> 385 MB
    of RSS for 4 ms of a 1-2 s scrape. (ctypes releases the interpreter lock meanwhile.)"""
    _TRIM(0)


_TRIM = _malloc_trim()


def _raise_descriptor_limit(workers: int) -> None:
    """Each run under way holds a socket: lift the soft descriptor limit to the hard one
    when the runs at once may need more (as Go programs such as blackbox_exporter do)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = workers + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = hard if hard == resource.RLIM_INFINITY else min(hard, max(wanted, soft))
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def _current_priority(inc: Incident) -> str:
    changes = [e.priority for e in inc.events if e.kind == "priority" and e.priority]
    return changes[-1] if changes else inc.priority
