"""Live probe history for the daemon.

Probe results are kept as series (what was observed, as the store keeps it) and as runs
under each probe's ``stale_after`` (what the figures read). Memory holds every run from the
start of the previous month on, so a scrape never reads the disk, and of the series only
each history's last one, which new results extend; the series are written to the store in
batches (``flush``, a group commit about once a second). The earlier series are read from
the store on the rare paths that need them: a result dated before the newest one, a new
``stale_after`` or threshold, history another writer (an import) added meanwhile. A crash
loses at most the results since the last flush: the time after the last flushed result
reads as unknown, never as a wrong state. Times are integer milliseconds; a result is
stamped with its scheduled slot (``Result.stamp``), so a steady probe is one series a month.

History is kept per location: this exporter's own (``--location``), recorded live, and
the other locations that write to the same store, read from it by ``feed`` (only the
probes written since the last read). The figures combine the locations with the tenant's
quorum (docs/semantics.md, "Locations").

Thread-safe: probe runs call ``observe``, the housekeeping thread ``flush``, ``feed`` and
``tick_changed``, scrapes call ``runs_of`` and ``last_results``. Lock order: the
recorder's, then the store's.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import itertools
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from exporter.engine.accounting import Prefetched, SeriesSource, probe_read, probe_series, store_runs
from exporter.engine.states import (
    ConflictError,
    Packed,
    Run,
    Series,
    extended,
    insert,
    merge,
    next_run,
    pack,
    probe_state_at,
    quorum_state_at,
    runs,
    shared_step,
    tenant_state_at,
    unpack,
)
from exporter.engine.units import instant_ms
from exporter.model import DEFAULT_LOCATION, OUR_REASONS, Config, Probe, Tenant
from exporter.store.sqlite import MAX_MS, Store

log = logging.getLogger("sla_exporter")

Key = tuple[str, str]  # (tenant, probe)
At = tuple[str, str, str]  # (tenant, probe, location): one location's history of a probe


@dataclass(frozen=True, slots=True)
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


class _History:
    """One location's history of a probe, as memory keeps it: its runs (the last one as a
    ``Run``, the earlier ones packed) and its last series."""

    __slots__ = ("at", "done", "run", "stale", "tail", "threshold", "version", "written")

    def __init__(self, at: At):
        self.at = at
        self.tail: Series | None = None  # the last series; the store has the earlier ones
        self.done: Packed = ()  # the runs before the last (``states.pack``)
        self.run: Run | None = None  # the last run
        self.stale = self.threshold = 0  # the stale_after and threshold the runs were read under
        self.version: int | None = None  # fed from the store: its write count when read
        self.written: int | None = None  # recorded here: the store's write count after our last write (-1: merge)

    def read(self, series: list[Series], probe: Probe, got: list[Run] | None = None) -> None:
        """Take ``series`` (all that memory covers, in order) as the history; ``got``: its
        runs under ``probe`` when made already."""
        if series:
            last = series[-1]
            self.tail = Series(last.success, last.start, shared_step(last.step), last.count)
        else:
            self.tail = None
        if got is None:
            got = runs(series, probe.stale_after_ms)
        self.run = got.pop() if got else None
        self.done = pack(got)
        # One int object per distinct value (stale_after_ms makes one on each call).
        self.stale, self.threshold = shared_step(probe.stale_after_ms), probe.failure_threshold

    def runs(self, lo: int | None = None, hi: int = MAX_MS) -> list[Run]:
        """Its runs; with ``lo``, only those that cover time in ``[lo, hi)`` (only they
        are made: a closed month's figures ask for one month of the two in memory)."""
        done, run = self.done, self.run
        if lo is not None:
            if done:  # in order, with disjoint coverage: the ends and starts ascend
                first = bisect.bisect_right(done[2::4], lo)
                done = done[4 * first : 4 * (first + bisect.bisect_left(done[4 * first :: 4], hi))]
            if run is not None and not (run.end > lo and run.start < hi):
                run = None
        out = unpack(done)
        if run is not None:
            out.append(run)
        return out

    def count(self) -> int:
        """How many runs."""
        return len(self.done) // 4 + (self.run is not None)

    def trim(self, since: int) -> None:
        """Forget the runs that end by ``since`` and the last series if it is older than
        the first run kept."""
        kept = [r for r in self.runs() if r.end > since]
        cut = kept[0].start if kept else since
        self.run = kept.pop() if kept else None
        self.done = pack(kept)
        if self.tail is not None and self.tail.last < cut:
            self.tail = None


class _Line:
    """What the recorder keeps of one probe: its histories, and what the logs and the
    probe gauges read. (One object with slots instead of a dict entry and key in each of
    several dicts.)"""

    __slots__ = ("first", "histories", "result", "state")

    def __init__(self) -> None:
        self.histories: tuple[_History, ...] = ()  # by location, sorted
        self.result: Result | None = None  # the last result here
        self.state: str | None = None  # the last state logged
        self.first: float | None = None  # when its history begins at any location (epoch s)


_NO_HISTORIES: tuple[_History, ...] = ()


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
        self.location = sys.intern(location)
        self.live = live or (lambda _tenant: True)
        self.lines: dict[Key, _Line] = {}
        self._fed: dict[At, _History] = {}  # the histories read from the store (not recorded here)
        self._reporting: dict[str, int] = {}  # location -> reporting_until
        self.dirty: dict[tuple[At, int], Series] = {}
        self.gone: set[tuple[At, int]] = set()  # series (by start) to delete at the next flush
        # The batch a flush is writing, until the store has it: reads of the store lay it over.
        self._inflight: tuple[dict[tuple[At, int], Series], set[tuple[At, int]]] | None = None
        self.errors: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.states: dict[str, str] = {}  # last logged state of tenants (probes': in their line)
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
        with self.lock, self.store.lock:  # the store's: a flush meanwhile writes all of its batch or none
            self.cfg = cfg
            self._probes = probes
            self._live = {t.name for t in cfg.tenants if self.live(t.name)}
            self._everything = True
            keys = {key: key for key in probes}  # the config's tuple and strings, not a copy per history
            missing = [key for key in probes if key not in self.lines]
            for key in missing:
                self.lines[key] = _Line()
            have = {h.at: h for line in self.lines.values() for h in line.histories}
            wanted = set(versions)
            wanted |= {(*key, self.location) for key in probes if key[0] in self._live}
            new = sorted(wanted - have.keys())
            changed = [
                h
                for at, h in have.items()
                if at in wanted
                and (h.stale, h.threshold) != (probes[at[:2]].stale_after_ms, probes[at[:2]].failure_threshold)
            ]
            todo: dict[At, _History | None] = dict.fromkeys(new)
            todo.update((h.at, h) for h in changed)
            if len(todo) > 1:
                # At start, every probe's history in one read (a query per probe was most of
                # the time to ready at 10,000 tenants), taken in probe by probe: memory never
                # holds the whole read, only what it keeps of it.
                for at, got in self.store.each_series(self.since, MAX_MS):
                    if at in todo:
                        have[at] = self._load(at, todo.pop(at), probes, versions, keys, {at: got})
                for at, h in todo.items():  # nothing stored in the range
                    have[at] = self._load(at, h, probes, versions, keys, {})
            else:
                for at, h in todo.items():
                    have[at] = self._load(at, h, probes, versions, keys, None)
            for at in have.keys() - wanted:  # removed from config: its stored history stays
                self._fed.pop(at, None)
            placed: dict[Key, list[_History]] = {}
            for at, h in sorted(have.items()):
                if at in wanted:
                    placed.setdefault(at[:2], []).append(h)
            for key, line in self.lines.items():
                line.histories = tuple(placed.get(key, _NO_HISTORIES))
            for key in self.faults.keys() - probes.keys():
                del self.faults[key]
            if len(missing) > 1:  # at start: one query, not one a probe
                known = self.store.first_starts()
                for key in missing:
                    self.lines[key].first = known.get(key)
            elif missing:
                self.lines[missing[0]].first = self.store.first_start(*missing[0])

    def _load(
        self,
        at: At,
        h: _History | None,
        probes: dict[Key, Probe],
        versions: dict[At, int],
        keys: dict[Key, Key],
        read: dict[At, list[Series]] | None,
    ) -> _History:
        """Read a history new to memory (``h`` None), or again under a new stale_after or
        threshold; ``read``: its series in the range memory covers, read for the whole
        fleet (None: not read yet)."""
        probe = probes[at[:2]]
        source: SeriesSource = self.store if read is None else Prefetched(self.store, self.since, MAX_MS, read)
        if h is not None:
            # Under a new stale_after or threshold a run at the start of memory may reach
            # further back: read again from the store, as far as it does.
            h.read(self._series(h, probe, source)[0], probe)
            return h
        h = _History((*keys[at[:2]], sys.intern(at[2])))
        if at[2] == self.location and at[0] in self._live:
            h.written = versions.get(at, 0)
        else:
            h.version = versions.get(at, 0)
            self._fed[h.at] = h
        got, made = probe_read(source, at[0], probe, self.since, MAX_MS, location=at[2])
        h.read(got, probe, made)
        if got:
            self._reported(h.at, got[-1].last, probe)
        return h

    def _histories(self, tenant: str, probe: str) -> tuple[_History, ...]:
        line = self.lines.get((tenant, probe))
        return _NO_HISTORIES if line is None else line.histories

    def _find(self, at: At) -> _History | None:
        for h in self._histories(at[0], at[1]):
            if h.at[2] == at[2]:
                return h
        return None

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
                if (t, p) in probes
                and (loc != self.location or t not in live)
                and ((h := self._fed.get((t, p, loc))) is None or h.version != v)
            ]
        for at, version in stale:
            probe = probes[at[:2]]
            got, made = probe_read(self.store, at[0], probe, self.since, MAX_MS, location=at[2])
            first = self.store.first_start(*at[:2])
            with self.lock:
                if self._probes is not probes:
                    return 0  # a reload meanwhile: configure read everything again
                line = self.lines[at[:2]]
                h = self._find(at)
                if h is None:  # one more location of the probe: into its sorted tuple
                    h = _History((at[0], probe.name, sys.intern(at[2])))
                    line.histories = tuple(sorted((*line.histories, h), key=lambda x: x.at[2]))
                h.read(got, probe, made)
                h.version = version
                self._fed[h.at] = h
                if got:
                    self._reported(h.at, got[-1].last, probe)
                line.first = first
                self._touched.add(at[0])
        return len(stale)

    def _series(self, h: _History, probe: Probe, source: SeriesSource | None = None) -> tuple[list[Series], bool]:
        """A history's series as memory's view of them stands: the store's, with what is
        not written yet laid over them (by start, as ``flush`` writes them); and whether
        that is this writer's own layout, so that a change can be written series by
        series. When another writer added series meanwhile it is not: then the pending
        series are merged in, observation by observation (``flush`` merges them too)."""
        at = h.at
        with self.store.lock:  # a flush writing meanwhile: the store has all of its batch or none
            stored = probe_series(source or self.store, at[0], probe, self.since, MAX_MS, location=at[2])
            layers = [self._inflight] if self._inflight is not None else []
        layers.append((self.dirty, self.gone))
        pending: list[tuple[int, Series | None]] = []
        for batch, gone in layers:  # a flush deletes, then writes
            pending += [(g[1], None) for g in gone if g[0] == at]
            pending += [(k[1], s) for k, s in batch.items() if k[0] == at]
        if not pending:
            return stored, h.written != -1
        by_start: dict[int, Series] = {s.start: s for s in stored}
        for start, s in pending:
            if s is None:
                by_start.pop(start, None)
            else:
                by_start[start] = s
        laid = sorted(by_start.values(), key=lambda s: s.start)
        if h.written != -1 and all(a.last < b.start for a, b in itertools.pairwise(laid)):
            return laid, True
        return _merged(stored, (s for _, s in pending if s is not None)), False

    def trim(self, since: float) -> None:
        """Forget what memory no longer needs before ``since`` (called when a month begins)."""
        with self.lock:
            self._everything = True
            self.since = instant_ms(since)
            for line in self.lines.values():
                for h in line.histories:
                    h.trim(self.since)

    # -- writing --------------------------------------------------------------------------

    def observe(self, tenant: str, probe: str, result: Result) -> None:
        key = (tenant, probe)
        with self.lock:
            spec = self._probes.get(key)
            if spec is None or tenant not in self._live:
                return  # a run of a probe that a reload just removed
            line = self.lines[key]
            line.result = result
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
            t, ok = result.time_ms, result.success
            h = next(h for h in line.histories if h.at[2] == self.location)
            if h.tail is not None and t <= h.tail.last:
                if not self._insert(h, spec, t, ok):
                    return
            else:
                tail = h.tail = extended(h.tail, t, ok)
                self.dirty[(h.at, tail.start)] = tail
                done, h.run = next_run(h.run, t, ok, spec.stale_after_ms)
                if done is not None:
                    h.done = pack((done,), h.done)
                self._reported(h.at, t, spec)
            if line.first is None:
                line.first = t / 1000
            self._log_changes(tenant, t, result.reason)

    def _insert(self, h: _History, spec: Probe, t: int, ok: bool) -> bool:
        """A result dated before the newest one (the wall clock stepped back): recorded in its
        place like a backfilled import row, so history stays one consistent set of
        observations. False when it adds nothing (the same instant already recorded). Reads
        the history's earlier series from the store: memory keeps only the last."""
        at = h.at
        if t < self.since:
            log.warning(
                "result dated before the history kept in memory, ignored",
                extra={"fields": {"tenant": at[0], "probe": at[1]}},
            )
            return False
        mine, own = self._series(h, spec)
        try:
            new, added = insert(mine, [(t, ok)])
        except ConflictError:
            log.warning(
                "result at the same instant as a recorded one with the other result, ignored",
                extra={"fields": {"tenant": at[0], "probe": at[1]}},
            )
            return False
        if not added:
            return False
        if own:
            before = {s.start: s for s in mine}
            after = {s.start: s for s in new}
            for start in before.keys() - after.keys():
                self.dirty.pop((at, start), None)
                self.gone.add((at, start))
            for start, series in after.items():
                if before.get(start) != series:
                    self.dirty[(at, start)] = series
        else:
            # Another writer's series are in it: the flush merges what is pending into the
            # store, so the observation goes as one of its own.
            self.dirty.setdefault((at, t), Series(ok, t, 0, 1))
            h.written = -1
        h.read(new, spec)
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
            expected = {}
            for at in {at for at, _ in batch} | {at for at, _ in gone}:
                h = self._find(at)
                expected[at] = 0 if h is None or h.written is None else h.written
            if batch or gone:
                self._inflight = (batch, gone)
        if batch or gone:
            try:
                with self.store.lock:  # readers of the store see the batch written, or in _inflight
                    now, merged = self.store.save_series(
                        ((*at, series) for (at, _), series in batch.items()),
                        [(*at, start) for at, start in gone],
                        versions=expected,
                    )
                    self._inflight = None
            except BaseException:  # also an interrupt: nothing may stay marked as being written
                with self.lock:  # keep them for the next flush, newer versions first
                    for k, series in batch.items():
                        self.dirty.setdefault(k, series)
                    self.gone |= {g for g in gone if g not in self.dirty}
                    self._inflight = None
                raise
            with self.lock:
                for at, version in now.items():
                    if (h := self._find(at)) is not None:
                        h.written = version
                for at in merged:
                    self._reread(at)
        return len(batch)

    def _reread(self, at: At) -> None:
        """Memory's history of a live probe from the store (after another writer added to
        it), with what was observed since the flush began laid over it."""
        probe = self._probes.get(at[:2])
        h = self._find(at)
        if probe is None or h is None:
            return
        stored = probe_series(self.store, at[0], probe, self.since, MAX_MS, location=at[2])
        pending = sorted((k for k in self.dirty if k[0] == at), key=lambda k: k[1])
        since = [self.dirty.pop(k) for k in pending]
        self.gone = {g for g in self.gone if g[0] != at}
        h.read(_merged(stored, since), probe)
        self._touched.add(at[0])
        if since:
            # Series laid over another layout: merged at the next flush, not written by start.
            h.written = -1
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
                    h.run.end
                    for p in tenant.probes
                    for h in self._histories(name, p.name)
                    if h.run is not None and h.run.end > now_ms
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
            return {h.at[2]: h.runs(lo, hi) for h in self._histories(tenant, probe.name)}

    def lasts(self, tenant: Tenant) -> dict[tuple[str, str], tuple[int, Run | None]]:
        """Each probe's number of runs in memory and its last run at each location, by
        (probe, location): enough to tell whether a tenant's history changed shape,
        without copying it."""
        lines, name = self.lines, tenant.name
        with self.lock:  # every tenant on every scrape: inlined
            out = {}
            for p in tenant.probes:
                line = lines.get((name, p.name))
                if line is not None:
                    for h in line.histories:
                        run = h.run
                        out[(p.name, h.at[2])] = (len(h.done) // 4 + (run is not None), run)
            return out

    def snapshot(self, tenant: Tenant, since: int | None = None) -> dict[str, dict[str, list[Run]]]:
        """The in-memory runs of a tenant's probes, by probe name and location (copies);
        with ``since`` (ms), only those that cover time from then on (only they are made)."""
        with self.lock:
            return {
                p.name: {h.at[2]: h.runs(since) for h in self._histories(tenant.name, p.name)} for p in tenant.probes
            }

    def elsewhere(self) -> dict[At, Run]:
        """The last run of each history this exporter does not record itself (other
        locations, other shards), by (tenant, probe, location)."""
        with self.lock:
            return {at: h.run for at, h in self._fed.items() if h.run is not None}

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
            line = self.lines.get((tenant, probe))
            return None if line is None else line.first

    def last_results(self) -> dict[Key, Result]:
        with self.lock:
            return {key: line.result for key, line in self.lines.items() if line.result is not None}

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
        lasts = {p.name: [h.run for h in self._histories(tenant.name, p.name)] for p in tenant.probes}
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
            line = self.lines.get((tenant_name, probe))
            if line is not None and line.state != new:
                fields = {"tenant": tenant_name, "probe": probe}
                if _logged(line.state, new, "probe state change", fields, reason if new != "up" else None):
                    line.state = new
        old = self.states.get(tenant_name)
        if old != state and _logged(old, state, "tenant state change", {"tenant": tenant_name}):
            self.states[tenant_name] = state
        return probes

    def logged_states(self) -> dict[Key | str, str]:
        """The last state logged of each probe and tenant."""
        with self.lock:
            out: dict[Key | str, str] = {k: line.state for k, line in self.lines.items() if line.state is not None}
            out.update(self.states)
            return out


def _logged(old: str | None, new: str, what: str, fields: dict, reason: str | None = None) -> bool:
    """Log a change of state; False when it is none (nothing known yet is not a change)."""
    if old == new or (old is None and new == "unknown"):
        return False
    if old is not None or new == "down":  # the first result being up is no news
        fields = {**fields, "from": old or "unknown", "to": new}
        if "probe" in fields:
            fields["reason"] = reason
        log.info(what, extra={"fields": fields})
    return True


def _merged(stored: list[Series], pending: Iterable[Series]) -> list[Series]:
    """``pending`` (in any layout, overlapping each other) merged into ``stored`` one series
    at a time; one that contradicts what is stored is left out (the stored one came first,
    as ``Store.save_series`` merges)."""
    out = stored
    for s in pending:
        try:
            out = merge(out, [s])[0]
        except ConflictError:
            continue
    return out
