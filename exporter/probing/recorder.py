"""Live probe history for the daemon.

Probe results are kept as series (what was observed, as the store keeps it) and as runs
under each probe's ``stale_after`` (what the figures read), in memory from the start of
the previous month on, so a scrape never reads the disk; the series are written to the
store in batches (``flush``, a group commit about once a second). A crash therefore loses
at most the results since the last flush: the time after the last flushed result reads
as unknown, never as a wrong state. Times are integer milliseconds; a result is stamped
with its scheduled slot (``Result.stamp``), so a steady probe is one series a month.

History is kept per location: this exporter's own (``--location``), recorded live, and
the other locations that write to the same store, read from it by ``feed`` (only the
probes written since the last read). The figures combine the locations with the tenant's
quorum (docs/semantics.md, "Locations").

Thread-safe: probe runs call ``observe``, the housekeeping thread ``flush``, ``feed`` and
``tick_changed``, scrapes call ``runs_of`` and ``last_results``.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from exporter.engine.accounting import Prefetched, SeriesSource, probe_series, store_runs
from exporter.engine.states import (
    ConflictError,
    Run,
    Series,
    append,
    append_run,
    insert,
    merge,
    probe_state_at,
    quorum_state_at,
    runs,
    tenant_state_at,
)
from exporter.engine.units import instant_ms
from exporter.model import DEFAULT_LOCATION, OUR_REASONS, Config, Probe, Tenant
from exporter.store.sqlite import MAX_MS, Store

log = logging.getLogger("sla_exporter")

Key = tuple[str, str]  # (tenant, probe)
At = tuple[str, str, str]  # (tenant, probe, location): one location's history of a probe


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
    def __init__(
        self,
        store: Store,
        cfg: Config,
        since: float,
        location: str = DEFAULT_LOCATION,
        live: Callable[[str], bool] | None = None,
    ):
        """``cfg``: every tenant this exporter serves; ``live(tenant)``: whether this
        exporter probes it (its shard; default all). The rest is read from the store."""
        self.store = store
        self.lock = threading.Lock()
        self.since = instant_ms(since)  # memory holds every run that covers any time from here on (ms)
        self.cfg = cfg
        self.location = location
        self.live = live or (lambda _tenant: True)
        self.series: dict[At, list[Series]] = {}
        self.runs: dict[At, list[Run]] = {}
        self.read_as: dict[At, tuple[int, int]] = {}  # (stale_after, threshold) the runs were read under
        self.where: dict[Key, list[str]] = {}  # the locations in memory of each probe, sorted
        self.versions: dict[At, int] = {}  # the store's write count of each fed history when read
        self._reporting: dict[str, int] = {}  # location -> reporting_until
        self.written: dict[At, int] = {}  # the store's write count of each live history after our last write
        self.dirty: dict[tuple[At, int], Series] = {}
        self.gone: set[tuple[At, int]] = set()  # series (by start) to delete at the next flush
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
        versions = {(t, p, loc): v for t, p, loc, v in self.store.probe_versions() if (t, p) in probes}
        with self.lock:
            self.cfg = cfg
            self._probes = probes
            self._live = {t.name for t in cfg.tenants if self.live(t.name)}
            self._everything = True
            wanted = set(versions)
            wanted |= {(*key, self.location) for key in probes if key[0] in self._live}
            source: SeriesSource = self.store
            if sum(at not in self.series for at in wanted) > 1:
                # At start, every probe's history in one read: a query per probe was most
                # of the time to ready at 10,000 tenants.
                source = Prefetched(self.store, self.since, MAX_MS, self.store.all_series(self.since, MAX_MS))
            for at in sorted(wanted):
                probe = probes[at[:2]]
                if at not in self.series and at[2] == self.location and at[0] in self._live:
                    self.written[at] = versions.get(at, 0)
                if at not in self.series:
                    self.series[at] = probe_series(source, at[0], probe, self.since, MAX_MS, location=at[2])
                    if at[2] != self.location or at[0] not in self._live:
                        self.versions[at] = versions.get(at, 0)
                    if self.series[at]:
                        self._reported(at, self.series[at][-1].last, probe)
                elif self.read_as.get(at) != (probe.stale_after_ms, probe.failure_threshold):
                    self._reach_back(at, probe)
                else:
                    continue
                self.runs[at] = runs(self.series[at], probe.stale_after_ms)
                self.read_as[at] = (probe.stale_after_ms, probe.failure_threshold)
            for at in self.series.keys() - wanted:
                del self.series[at], self.runs[at]  # removed from config: its stored history stays
                self.read_as.pop(at, None)
                self.versions.pop(at, None)
            for key in self.faults.keys() - probes.keys():
                del self.faults[key]
            self._index()
            missing = probes.keys() - self.first.keys()
            if len(missing) > 1:  # at start: one query, not one a probe
                known = self.store.first_starts()
                self.first.update({key: known.get(key) for key in missing})
            for key in missing - self.first.keys():
                self.first[key] = self.store.first_start(*key)

    def _index(self) -> None:
        where: dict[Key, list[str]] = {}
        for t, p, loc in sorted(self.series):
            where.setdefault((t, p), []).append(loc)
        self.where = where

    def feed(self) -> int:
        """Read from the store the histories other exporters wrote since the last read
        (other locations, other shards): only the probes whose write count moved. Returns
        how many were read."""
        versions = self.store.probe_versions()  # before the series: a write meanwhile is read next time
        with self.lock:
            probes, live = self._probes, self._live
            stale = [
                ((t, p, loc), v)
                for t, p, loc, v in versions
                if (t, p) in probes and (loc != self.location or t not in live) and self.versions.get((t, p, loc)) != v
            ]
        for at, version in stale:
            probe = probes[at[:2]]
            got = probe_series(self.store, at[0], probe, self.since, MAX_MS, location=at[2])
            first = self.store.first_start(*at[:2])
            with self.lock:
                if self._probes is not probes:
                    return 0  # a reload meanwhile: configure read everything again
                new = at not in self.series
                self.series[at] = got
                self.runs[at] = runs(got, probe.stale_after_ms)
                self.read_as[at] = (probe.stale_after_ms, probe.failure_threshold)
                self.versions[at] = version
                if got:
                    self._reported(at, got[-1].last, probe)
                self.first[at[:2]] = first
                self._touched.add(at[0])
                if new:  # one more location of the probe: into its sorted list, not a re-index
                    bisect.insort(self.where.setdefault(at[:2], []), at[2])
        return len(stale)

    def _reach_back(self, at: At, probe: Probe) -> None:
        # Under a new stale_after or threshold a run at the start of memory may reach
        # further back: read earlier series from the store as far as it does.
        mine = self.series[at]
        if not mine:
            return
        earlier = probe_series(self.store, at[0], probe, mine[0].start, mine[0].start, location=at[2])
        self.series[at] = [s for s in earlier if s.last < mine[0].start] + mine

    def trim(self, since: float) -> None:
        """Forget what memory no longer needs before ``since`` (called when a month begins)."""
        with self.lock:
            self._everything = True
            self.since = instant_ms(since)
            for at, run_list in self.runs.items():
                kept = [r for r in run_list if r.end > self.since]
                cut = kept[0].start if kept else self.since
                self.runs[at] = kept
                self.series[at] = [s for s in self.series[at] if s.last >= cut]

    # -- writing --------------------------------------------------------------------------

    def observe(self, tenant: str, probe: str, result: Result) -> None:
        key = (tenant, probe)
        at = (tenant, probe, self.location)
        with self.lock:
            spec = self._probes.get(key)
            if spec is None or tenant not in self._live:
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
            mine = self.series[at]
            if mine and t <= mine[-1].last:
                if not self._insert(at, spec, t, result.success):
                    return
            else:
                changed = append(mine, t, result.success)
                self.dirty[(at, changed.start)] = changed
                append_run(self.runs[at], t, result.success, spec.stale_after_ms)
                self._reported(at, t, spec)
            if self.first.get(key) is None:
                self.first[key] = t / 1000
            self._log_changes(tenant, t, result.reason)

    def _insert(self, key: At, spec: Probe, t: int, ok: bool) -> bool:
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
        """Write the series changed since the last flush in one transaction. A probe that
        another writer (an import) wrote since is merged into the store instead of
        overwriting it, and its history in memory read again from the store."""
        with self.lock:
            batch, self.dirty = self.dirty, {}
            gone, self.gone = self.gone, set()
            expected = {at: self.written.get(at, 0) for at in {at for at, _ in batch} | {at for at, _ in gone}}
        if batch or gone:
            try:
                now, merged = self.store.save_series(
                    ((*at, series) for (at, _), series in batch.items()),
                    [(*at, start) for at, start in gone],
                    versions=expected,
                )
            except Exception:
                with self.lock:  # keep them for the next flush, newer versions first
                    for k, series in batch.items():
                        self.dirty.setdefault(k, series)
                    self.gone |= {g for g in gone if g not in self.dirty}
                raise
            with self.lock:
                self.written.update(now)
                for at in merged:
                    self._reread(at)
        return len(batch)

    def _reread(self, at: At) -> None:
        """Memory's history of a live probe from the store (after another writer added to
        it), with what was observed since the flush began laid over it."""
        probe = self._probes.get(at[:2])
        if probe is None:
            return
        stored = probe_series(self.store, at[0], probe, self.since, MAX_MS, location=at[2])
        pending = sorted((k for k in self.dirty if k[0] == at), key=lambda k: k[1])
        since = [self.dirty.pop(k) for k in pending]
        self.gone = {g for g in self.gone if g[0] != at}
        try:
            mine = merge(stored, since)[0] if since else stored
        except ConflictError:
            mine = stored  # a result contradicting what was stored: the stored one stands
        self.series[at] = mine
        self.runs[at] = runs(mine, probe.stale_after_ms)
        self._touched.add(at[0])
        if since:
            # Series laid over another layout: merged at the next flush, not written by start.
            self.written[at] = -1
            for series in since:
                self.dirty[(at, series.start)] = series
        log.warning(
            "history written by another writer (an import) while probing: merged, and read again",
            extra={"fields": {"tenant": at[0], "probe": at[1], "location": at[2]}},
        )

    def tick(self, now: float) -> dict[str, dict[str, str]]:
        """Log states that changed by time passing alone (a probe going stale); return
        every tenant's probe states at ``now`` (for incident detection)."""
        with self.lock:
            self._touched = set()
            self._everything = False
            names = [tenant.name for tenant in self.cfg.tenants if tenant.name in self._live]
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
            names &= self._live  # the others' states are their own exporters' to log and detect
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
                ends = [
                    r[-1].end
                    for p in tenant.probes
                    for loc in self.where.get((name, p.name), ())
                    if (r := self.runs.get((name, p.name, loc))) and r[-1].end > now_ms
                ]
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

    def runs_of(self, tenant: str, probe: Probe, lo: int, hi: int) -> dict[str, list[Run]]:
        """The probe's runs covering ``[lo, hi)`` (ms) at each location: from memory, or
        from the store for time before memory begins."""
        if lo < self.since:
            return store_runs(self.store)(tenant, probe, lo, hi)
        with self.lock:
            return {loc: list(self.runs[(tenant, probe.name, loc)]) for loc in self.where.get((tenant, probe.name), ())}

    def lasts(self, tenant: Tenant) -> dict[tuple[str, str], tuple[int, Run | None]]:
        """Each probe's number of runs in memory and its last run at each location, by
        (probe, location): enough to tell whether a tenant's history changed shape,
        without copying it."""
        with self.lock:
            out = {}
            for p in tenant.probes:
                for loc in self.where.get((tenant.name, p.name), ()):
                    runs = self.runs[(tenant.name, p.name, loc)]
                    out[(p.name, loc)] = (len(runs), runs[-1] if runs else None)
            return out

    def snapshot(self, tenant: Tenant) -> dict[str, dict[str, list[Run]]]:
        """The in-memory runs of a tenant's probes, by probe name and location (copies)."""
        with self.lock:
            return {
                p.name: {
                    loc: list(self.runs[(tenant.name, p.name, loc)])
                    for loc in self.where.get((tenant.name, p.name), ())
                }
                for p in tenant.probes
            }

    def elsewhere(self) -> dict[At, Run]:
        """The last run of each history this exporter does not record itself (other
        locations, other shards), by (tenant, probe, location)."""
        with self.lock:
            return {at: runs[-1] for at in self.versions if (runs := self.runs.get(at))}

    def reporting_until(self) -> dict[str, int]:
        """Per location, until when (ms) it counts as reporting: the latest of its probes'
        last observation + 2 intervals (``sla_location_up``); 0 before any."""
        with self.lock:
            return {self.location: 0, **self._reporting}

    def _reported(self, at: At, t: int, probe: Probe) -> None:
        until = t + 2 * probe.interval_ms
        if until > self._reporting.get(at[2], 0):
            self._reporting[at[2]] = until

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
        lasts = {
            p.name: [
                (self.runs[(tenant.name, p.name, loc)] or [None])[-1]
                for loc in self.where.get((tenant.name, p.name), ())
            ]
            for p in tenant.probes
        }
        # A result that started after `now` (its run finished first, or the clock was read
        # before it arrived) is the newest knowledge: judge at that instant, not before it,
        # where its run would read as unknown.
        at = max([now] + [r.start for at_locations in lasts.values() for r in at_locations if r is not None])
        per_probe = {
            p.name: quorum_state_at(
                [probe_state_at(last, p.failure_threshold, at) for last in lasts[p.name]] or ["unknown"], tenant.quorum
            )
            for p in tenant.probes
        }
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
