"""Live probe history for the daemon.

Probe results are kept as series (what was observed, as the store keeps it) and as runs
under each probe's ``stale_after`` (what the figures read), in memory from the start of
the previous month on, so a scrape never reads the disk; the series are written to the
store in batches (``flush``, a group commit about once a second). A crash therefore loses
at most the results since the last flush: the time after the last flushed result reads
as unknown, never as a wrong state. Times are integer milliseconds; a result is stamped
with its scheduled slot (``Result.stamp``), so a steady probe is one series a month.

Thread-safe: probe runs call ``observe``, the housekeeping thread ``flush`` and ``tick_changed``,
scrapes call ``runs_of`` and ``last_results``.
"""

from __future__ import annotations

import collections
import heapq
import logging
import threading
from dataclasses import dataclass

from exporter.engine.accounting import Prefetched, SeriesSource, probe_runs, probe_series
from exporter.engine.states import (
    ConflictError,
    Run,
    Series,
    append,
    append_run,
    insert,
    probe_state_at,
    runs,
    tenant_state_at,
)
from exporter.engine.units import instant_ms
from exporter.model import OUR_REASONS, Config, Probe, Tenant
from exporter.store.sqlite import MAX_MS, Store

log = logging.getLogger("sla_exporter")

Key = tuple[str, str]  # (tenant, probe)


@dataclass(frozen=True)
class Result:
    """What the recorder keeps of a probe's last run (for the probe-level gauges)."""

    started: float
    success: bool
    duration: float
    status_code: int | None = None
    reason: str | None = None
    cert_expiry: float | None = None
    stamp: int | None = None  # ms: the scheduled slot the result is recorded at (else its start)
    error: str | None = None  # the detail of a failure, for the log and /-/ready

    @property
    def ours(self) -> bool:
        """A fault of the monitor's own: recorded as nothing (the time reads as unknown)."""
        return self.reason in OUR_REASONS

    @property
    def time_ms(self) -> int:
        return self.stamp if self.stamp is not None else instant_ms(self.started)


class Recorder:
    def __init__(self, store: Store, cfg: Config, since: float):
        self.store = store
        self.lock = threading.Lock()
        self.since = instant_ms(since)  # memory holds every run that covers any time from here on (ms)
        self.cfg = cfg
        self.series: dict[Key, list[Series]] = {}
        self.runs: dict[Key, list[Run]] = {}
        self.read_as: dict[Key, tuple[int, int]] = {}  # (stale_after, threshold) the runs were read under
        self.dirty: dict[tuple[Key, int], Series] = {}
        self.gone: set[tuple[Key, int]] = set()  # series (by start) to delete at the next flush
        self.results: dict[Key, Result] = {}
        self.errors: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.states: dict[Key | str, str] = {}  # last logged state of probes and tenants
        self.first: dict[Key, float | None] = {}  # when each probe's history begins (epoch s)
        self.faults: dict[Key, Result] = {}  # probes whose last result was a fault of ours
        # What tick_changed must look at: tenants with results since the last tick, and the
        # instants a tenant's state changes by time alone (a last run ending: stale).
        self._touched: set[str] = set()
        self._boundary: dict[str, int] = {}  # tenant -> the next such instant (ms)
        self._due: list[tuple[int, str]] = []  # heap of (instant, tenant); stale entries skipped
        self._everything = True  # every tenant at the next tick (start, reload, month trim)
        self.configure(cfg)

    # -- configuration --------------------------------------------------------------------

    def configure(self, cfg: Config) -> None:
        """Adopt a (re)loaded config: load the history of probes new to memory, re-read the
        runs of probes whose stale_after or threshold changed."""
        probes = {(t.name, p.name): p for t in cfg.tenants for p in t.probes}
        with self.lock:
            self.cfg = cfg
            self._probes = probes
            self._everything = True
            source: SeriesSource = self.store
            if sum(key not in self.series for key in probes) > 1:
                # At start, every probe's history in one read: a query per probe was most
                # of the time to ready at 10,000 tenants.
                source = Prefetched(self.store, self.since, MAX_MS, self.store.all_series(self.since, MAX_MS))
            for key, probe in probes.items():
                if key not in self.series:
                    self.series[key] = probe_series(source, key[0], probe, self.since, MAX_MS)
                    self.first[key] = self.store.first_start(*key)
                elif self.read_as.get(key) != (probe.stale_after_ms, probe.failure_threshold):
                    self._reach_back(key, probe)
                else:
                    continue
                self.runs[key] = runs(self.series[key], probe.stale_after_ms)
                self.read_as[key] = (probe.stale_after_ms, probe.failure_threshold)
            for key in self.series.keys() - probes.keys():
                del self.series[key], self.runs[key]  # removed from config: its stored history stays
                self.read_as.pop(key, None)
                self.faults.pop(key, None)

    def _reach_back(self, key: Key, probe: Probe) -> None:
        # Under a new stale_after or threshold a run at the start of memory may reach
        # further back: read earlier series from the store as far as it does.
        mine = self.series[key]
        if not mine:
            return
        earlier = probe_series(self.store, key[0], probe, mine[0].start, mine[0].start)
        self.series[key] = [s for s in earlier if s.last < mine[0].start] + mine

    def trim(self, since: float) -> None:
        """Forget what memory no longer needs before ``since`` (called when a month begins)."""
        with self.lock:
            self._everything = True
            self.since = instant_ms(since)
            for key, run_list in self.runs.items():
                kept = [r for r in run_list if r.end > self.since]
                cut = kept[0].start if kept else self.since
                self.runs[key] = kept
                self.series[key] = [s for s in self.series[key] if s.last >= cut]

    # -- writing --------------------------------------------------------------------------

    def observe(self, tenant: str, probe: str, result: Result) -> None:
        key = (tenant, probe)
        with self.lock:
            spec = self._probes.get(key)
            if spec is None:
                return  # a run of a probe that a reload just removed
            self.results[key] = result
            self._touched.add(tenant)
            if result.reason:
                self.errors[(tenant, probe, result.reason)] += 1
            if result.ours:
                # Not the vendor's failure: nothing is recorded, so the last observation
                # holds for its stale_after and the time after it reads as unknown.
                self._fault(key, result)
                return
            if key in self.faults:
                fault = self.faults.pop(key)
                log.info(
                    "probe fault of ours cleared",
                    extra={"fields": {"tenant": tenant, "probe": probe, "reason": fault.reason}},
                )
            t = result.time_ms
            mine = self.series[key]
            if mine and t <= mine[-1].last:
                if not self._insert(key, spec, t, result.success):
                    return
            else:
                changed = append(mine, t, result.success)
                self.dirty[(key, changed.start)] = changed
                append_run(self.runs[key], t, result.success, spec.stale_after_ms)
            if self.first.get(key) is None:
                self.first[key] = t / 1000
            self._log_changes(tenant, t, result.reason)

    def _insert(self, key: Key, spec: Probe, t: int, ok: bool) -> bool:
        """A result dated before the newest one (the wall clock stepped back): recorded in its
        place like a backfilled import row, so history stays one consistent set of
        observations. False when it adds nothing (the same instant already recorded)."""
        mine = self.series[key]
        if t < self.since:
            log.warning(
                "result dated before the history kept in memory, ignored",
                extra={"fields": {"tenant": key[0], "probe": key[1]}},
            )
            return False
        try:
            new, added = insert(mine, [(t, ok)])
        except ConflictError:
            log.warning(
                "result at the same instant as a recorded one with the other result, ignored",
                extra={"fields": {"tenant": key[0], "probe": key[1]}},
            )
            return False
        if not added:
            return False
        before = {s.start: s for s in mine}
        after = {s.start: s for s in new}
        for start in before.keys() - after.keys():
            self.dirty.pop((key, start), None)
            self.gone.add((key, start))
        for start, series in after.items():
            if before.get(start) != series:
                self.dirty[(key, start)] = series
        self.series[key] = new
        self.runs[key] = runs(new, spec.stale_after_ms)
        return True

    def _fault(self, key: Key, result: Result) -> None:
        before = self.faults.get(key)
        self.faults[key] = result
        if before is None or before.reason != result.reason:  # once per change, with the detail
            log.warning(
                "probe result not counted: a fault of ours, not the vendor's; the time reads as unknown",
                extra={"fields": {"tenant": key[0], "probe": key[1], "reason": result.reason, "error": result.error}},
            )

    def flush(self) -> int:
        """Write the series changed since the last flush in one transaction."""
        with self.lock:
            batch, self.dirty = self.dirty, {}
            gone, self.gone = self.gone, set()
        if batch or gone:
            try:
                self.store.save_series(
                    ((key[0], key[1], series) for (key, _), series in batch.items()),
                    [(key[0], key[1], start) for key, start in gone],
                )
            except Exception:
                with self.lock:  # keep them for the next flush, newer versions first
                    for k, series in batch.items():
                        self.dirty.setdefault(k, series)
                    self.gone |= {g for g in gone if g not in self.dirty}
                raise
        return len(batch)

    def tick(self, now: float) -> dict[str, dict[str, str]]:
        """Log states that changed by time passing alone (a probe going stale); return
        every tenant's probe states at ``now`` (for incident detection)."""
        with self.lock:
            self._touched = set()
            self._everything = False
            names = [tenant.name for tenant in self.cfg.tenants]
        return self._tick(instant_ms(now), names)

    def tick_changed(self, now: float) -> dict[str, dict[str, str]]:
        """``tick`` for the tenants whose state may have changed since the last tick: those
        with results since, and those where a last run ended (went stale) by ``now``. Its
        cost follows what changed, not the fleet (the daemon calls it every second)."""
        now_ms = instant_ms(now)
        with self.lock:
            if self._everything:
                names = {tenant.name for tenant in self.cfg.tenants}
            else:
                names = self._touched
                due = self._due
                while due and due[0][0] <= now_ms:
                    at, name = heapq.heappop(due)
                    if self._boundary.get(name) == at:
                        del self._boundary[name]
                        names.add(name)
            self._touched = set()
            self._everything = False
        return self._tick(now_ms, names)

    def _tick(self, now_ms: int, names) -> dict[str, dict[str, str]]:
        out = {}
        for name in names:
            with self.lock:  # per tenant: results keep coming in between (the event loop waits on it)
                tenant = self.cfg.tenant(name)
                if tenant is None:
                    continue
                out[name] = self._log_changes(name, now_ms, "stale")
                ends = [r[-1].end for p in tenant.probes if (r := self.runs.get((name, p.name))) and r[-1].end > now_ms]
                if ends:
                    end = min(ends)
                    pending = self._boundary.get(name)
                    if pending is None or end < pending:
                        self._boundary[name] = end
                        heapq.heappush(self._due, (end, name))
        with self.lock:
            if len(self._due) > 4 * len(self._boundary) + 64:  # drop entries superseded
                self._due = [(at, name) for name, at in self._boundary.items()]
                heapq.heapify(self._due)
        return out

    # -- reading --------------------------------------------------------------------------

    def runs_of(self, tenant: str, probe: Probe, lo: int, hi: int) -> list[Run]:
        """The probe's runs covering ``[lo, hi)`` (ms): from memory, or from the store for
        time before memory begins."""
        if lo < self.since:
            return probe_runs(self.store, tenant, probe, lo, hi)
        with self.lock:
            return list(self.runs.get((tenant, probe.name), ()))

    def lasts(self, tenant: Tenant) -> dict[str, tuple[int, Run | None]]:
        """Each probe's number of runs in memory and its last run: enough to tell whether
        a tenant's history changed shape, without copying it."""
        with self.lock:
            out = {}
            for p in tenant.probes:
                runs = self.runs.get((tenant.name, p.name)) or ()
                out[p.name] = (len(runs), runs[-1] if runs else None)
            return out

    def snapshot(self, tenant: Tenant) -> dict[str, list[Run]]:
        """The in-memory runs of a tenant's probes, by probe name (copies)."""
        with self.lock:
            return {p.name: list(self.runs.get((tenant.name, p.name), ())) for p in tenant.probes}

    def first_start(self, tenant: str, probe: str) -> float | None:
        with self.lock:
            return self.first.get((tenant, probe))

    def last_results(self) -> dict[Key, Result]:
        with self.lock:
            return dict(self.results)

    def current_faults(self) -> dict[Key, Result]:
        """Probes whose last result was a fault of ours, with that result."""
        with self.lock:
            return dict(self.faults)

    def error_counts(self) -> dict[tuple[str, str, str], int]:
        with self.lock:
            return dict(self.errors)

    def state_now(self, tenant: Tenant, now: float) -> tuple[str, dict[str, str]]:
        """(tenant state, {probe: state}) at instant ``now`` (epoch s): up, down or unknown."""
        with self.lock:
            return self._state_now(tenant, instant_ms(now))

    def _state_now(self, tenant: Tenant, now: int) -> tuple[str, dict[str, str]]:
        lasts = {p.name: (self.runs.get((tenant.name, p.name)) or [None])[-1] for p in tenant.probes}
        # A result that started after `now` (its run finished first, or the clock was read
        # before it arrived) is the newest knowledge: judge at that instant, not before it,
        # where its run would read as unknown.
        at = max([now] + [r.start for r in lasts.values() if r is not None])
        per_probe = {p.name: probe_state_at(lasts[p.name], p.failure_threshold, at) for p in tenant.probes}
        return tenant_state_at(list(per_probe.values()), tenant.down_when), per_probe

    def _log_changes(self, tenant_name: str, now: int, reason: str | None) -> dict[str, str]:
        tenant = self.cfg.tenant(tenant_name)
        if tenant is None:
            return {}
        state, probes = self._state_now(tenant, now)
        for probe, new in probes.items():
            self._change(
                (tenant_name, probe), new, {"tenant": tenant_name, "probe": probe}, reason if new != "up" else None
            )
        self._change(tenant_name, state, {"tenant": tenant_name}, None)
        return probes

    def _change(self, key: Key | str, new: str, labels: dict, reason: str | None) -> None:
        old = self.states.get(key)
        if old == new or (old is None and new == "unknown"):
            return  # nothing known yet is not a change
        self.states[key] = new
        if old is not None or new == "down":  # the first result being up is no news
            what = "probe state change" if isinstance(key, tuple) else "tenant state change"
            fields = {**labels, "from": old or "unknown", "to": new}
            if isinstance(key, tuple):
                fields["reason"] = reason
            log.info(what, extra={"fields": fields})
