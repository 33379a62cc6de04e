"""Tenant SLA figures: month-to-date availability, margin, budget, maintenance, the previous
month and the history counters, computed at scrape time from the recorder's history.

Sample output (abridged)::

    sla_up{tenant="acme-prod"} 1.0
    sla_availability_ratio{tenant="acme-prod"} 0.99987
    sla_target_ratio{tenant="acme-prod"} 0.9992
    sla_error_budget_remaining_seconds{tenant="acme-prod"} 1790.2
    sla_downtime_seconds_total{tenant="acme-prod"} 318.0

Closed months never change, so their figures are computed once per config and cached (a
``MonthTotals`` tuple each); each scrape computes only the month to date from memory, and
carries it on in constant time while no probe changes state (``_MonthToDate``).

The sixteen per-tenant families are given as text lines (``collectors.base.LinesFamily``),
kept per tenant as bytes with the tenant's label part written once: a scrape writes again
only the lines whose value changed (two or three of a tenant's sixteen, the month's
eligible time and what follows from it), with no ``Sample``, label dict or text-writer
matching per series. At 10,000 tenants that is 160,000 series a scrape.
"""

from __future__ import annotations

import array
import itertools
import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter import metrics as m
from exporter.engine import intervals as iv
from exporter.engine.accounting import corrected_views, probe_history, tenant_figures
from exporter.engine.availability import Figures, eligible_time, extend, figures
from exporter.engine.corrections import Correction, from_ledger
from exporter.engine.credits import credit_ratio
from exporter.engine.maintenance import maintenance_ms
from exporter.engine.months import (
    month_bounds_ms,
    month_of,
    months_from,
    previous_month,
)
from exporter.engine.states import Run, StateIntervals, tenant_state
from exporter.engine.units import instant_ms
from exporter.model import Config, Tenant
from exporter.probing.recorder import Recorder
from exporter.store.sqlite import Store
from exporter.web import exposition
from exporter.web.collectors.base import Families, LinesFamily, ScrapeTimer, describe, go_bytes, rewrite

METRICS = [
    m.UP,
    m.AVAILABILITY,
    m.TARGET,
    m.MARGIN,
    m.BUDGET,
    m.BUDGET_REMAINING,
    m.MAINTENANCE_ACTIVE,
    m.DOWNTIME_TOTAL,
    m.ELIGIBLE_TOTAL,
    m.OUTAGES_TOTAL,
    m.MONTH_DOWNTIME,
    m.MONTH_MAINTENANCE,
    m.MONTH_UNKNOWN,
    m.MONTH_ELIGIBLE,
    m.MONTH_START,
    m.MONTH_END,
    m.PREVIOUS_AVAILABILITY,
    m.SERVICE_CREDIT,
    m.CORRECTED,
]


class MonthTotals(NamedTuple):
    """What a closed month adds to the history counters, and its availability. (A tuple:
    the collector keeps one per tenant and closed month, 20,000 at 10,000 tenants.)"""

    downtime: int  # ms
    known_eligible: int  # ms
    outages: int
    down_at_start: bool  # an outage runs from the month's first instant
    down_at_end: bool  # an outage runs up to the month's last instant
    availability: float | None = None  # of the month (None for a sum of months)

    @classmethod
    def of(cls, f: Figures) -> MonthTotals:
        outages, down_at_start, down_at_end = _outage_totals(f)
        return cls(f.downtime, f.eligible - f.unknown, outages, down_at_start, down_at_end, f.availability)


def _outage_totals(f: Figures) -> tuple[int, bool, bool]:
    """The outages that cost budget, and whether one runs from the period's start or to its end."""
    counted = [o for o in f.outages if o.counted > 0]
    return len(counted), bool(counted) and counted[0].start <= f.start, bool(counted) and counted[-1].end >= f.end


@dataclass(slots=True)
class _MonthToDate:
    """A tenant's state from the month start to ``hi0`` and its figures to ``hi`` (the last
    scrape's "now"), and the shape of the runs they came from. While no probe starts a new
    run or crosses its failure threshold and none goes stale, a later scrape only carries
    the figures on to the new "now" (``availability.extend``, integer arithmetic with the
    maintenance time summed once per window set) instead of recomputing the month: that
    keeps a scrape of ten thousand tenants cheap. The state is kept only for a tenant with
    corrections (their figures are computed from it; ~1 KB a tenant otherwise), and not
    carried on each scrape: only its last stretch (``grows``) grows, and ``state_to`` gives
    it when asked."""

    shape: tuple  # flat, per history: probe, location, runs, last run's start, counts as up, threshold
    lo: int  # ms
    hi: int
    hi0: int
    state: StateIntervals | None  # over [lo, hi0)
    grows: str  # the state of the last stretch: up, down or unknown
    figures: Figures  # over [lo, hi)
    outages: tuple  # the ``figures.outages`` the totals below are of
    counted: int  # outages that cost budget
    down_at_start: bool

    def state_to(self, now: int) -> StateIntervals | None:
        """The state over ``[lo, now)``: the last stretch carried on."""
        if self.state is None or now == self.hi0:
            return self.state
        part = getattr(self.state, self.grows)
        return self.state._replace(**{self.grows: [*part[:-1], (part[-1][0], now)]})

    def totals(self) -> tuple[int, bool]:
        """(outages that cost budget, whether one runs from the month's start): they change
        only while the tenant is down."""
        f = self.figures
        if f.outages is not self.outages:
            self.outages = f.outages
            self.counted, self.down_at_start, _ = _outage_totals(f)
        return self.counted, self.down_at_start


def _shape(tenant: Tenant, lasts: dict[tuple[str, str], tuple[int, Run | None]]) -> tuple:
    threshold = {p.name: p.failure_threshold for p in tenant.probes}
    out: list = []
    for (probe, location), (n, last) in lasts.items():
        if last is None:
            out += (probe, location, n, None, None, None)
        else:
            limit = threshold[probe]
            out += (probe, location, n, last.start, last.success or last.count < limit, limit)
    return tuple(out)


def _same_runs(lasts: dict[tuple[str, str], tuple[int, Run | None]], shape: tuple, hi: int, now: int) -> bool:
    """Whether the runs still have ``shape`` (none new, none crossed its threshold) and each
    last run started before ``hi`` and still covers ``now``: without building the shape
    anew (a tuple per probe, every scrape, for every tenant)."""
    if len(lasts) * 6 != len(shape):
        return False
    i = 0
    for (probe, location), (n, last) in lasts.items():
        if shape[i] != probe or shape[i + 1] != location or shape[i + 2] != n:
            return False
        if last is None:
            if shape[i + 3] is not None:
                return False
        elif (
            shape[i + 3] != last.start
            or shape[i + 4] != (last.success or last.count < shape[i + 5])
            or not last.start < hi
            or now > last.end
        ):
            return False
        i += 6
    return True


def _state(tenant: Tenant, runs: dict[str, dict[str, list[Run]]], lo: int, hi: int) -> StateIntervals:
    """The tenant's state over ``[lo, hi)`` from its probes' runs at each location."""
    probes = [probe_history(runs.get(p.name, {}), p, tenant.quorum, lo, hi) for p in tenant.probes]
    return tenant_state(probes, tenant.down_when, lo, hi)


def _last_stretch(state: StateIntervals, hi: int) -> str | None:
    """Which state the stretch ending at ``hi`` is (up, down or unknown)."""
    for name in ("up", "down", "unknown"):
        part = getattr(state, name)
        if part and part[-1][1] == hi:
            return name
    return None


class _WindowSet(NamedTuple):
    """What the tenants sharing a set of maintenance windows share in a scrape."""

    maintenance: iv.Intervals
    eligible: iv.Intervals  # month start to now, outside maintenance
    upto_now: int  # ms of maintenance from the month start to now
    active: float  # 1.0 while a window is open


class TenantCollector(Collector):
    def __init__(
        self,
        config: Callable[[], Config],
        recorder: Recorder,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
        scrape: ScrapeTimer | None = None,
        store: Store | None = None,
    ):
        self.config, self.recorder, self.clock, self.timer = config, recorder, clock, timer
        # The corrections ledger, read again when its newest id moves (the command line
        # may write it from another process): one index lookup a scrape.
        self.store = store
        self._ledger_head = 0
        self._corrections: dict[str, tuple[Correction, ...]] = {}
        self._corrected_cache: dict[str, tuple[tuple, Figures, dict[str, float]]] = {}
        self.scrape = scrape or ScrapeTimer()
        self._cache_cfg: Config | None = None
        self._closed: dict[tuple[str, int, int], MonthTotals] = {}  # (tenant, year, month) ->, once final
        self._mtd: dict[str, _MonthToDate] = {}
        self._maintenance: dict[tuple, tuple] = {}
        self._totals: dict[str, tuple[tuple[int, int], MonthTotals]] = {}  # tenant -> (month, months before it)
        self._labelsets: dict[tuple, dict] = {}
        self._text = _Text([])  # the per-tenant families' lines, kept between scrapes
        # One scrape at a time rewrites the kept text (a second waits, then finds it done).
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def _closed_month(self, cfg: Config, tenant: Tenant, y: int, mo: int, now: int) -> MonthTotals:
        """A closed month's availability and totals: all a scrape reads of it. (Its Figures
        with their outages, kept instead, were ~45 MB at 10,000 tenants.)"""
        key = (tenant.name, y, mo)
        kept = self._closed.get(key)
        if kept is not None:
            return kept
        lo, hi = month_bounds_ms(y, mo, cfg.timezone)
        f = tenant_figures(self.recorder.runs_of, tenant, lo, hi, corrections=self._corrections.get(tenant.name, ()))
        # The last results of a month hold into the next for up to stale_after: only then
        # is the month final. (A failed run shorter than the threshold at the month's end
        # may still grow to it later; that is rare, and a reload recomputes.)
        kept = MonthTotals.of(f)
        if now >= hi + max(p.stale_after_ms for p in tenant.probes):
            self._closed[key] = kept
        return kept

    def _history(
        self,
        cfg: Config,
        tenant: Tenant,
        current: tuple[int, int],
        mtd: Figures,
        mtd_outages: tuple[int, bool],
        now: int,
    ) -> tuple[int, int, int]:
        """(downtime, known eligible, outages) over all recorded history."""
        closed = self._closed_totals(cfg, tenant, current, now)
        # An outage that runs across midnight at month end is one outage, not two.
        joined = 1 if closed.down_at_end and mtd_outages[1] else 0
        return (
            closed.downtime + mtd.downtime,
            closed.known_eligible + mtd.eligible - mtd.unknown,
            closed.outages + mtd_outages[0] - joined,
        )

    def _closed_totals(self, cfg: Config, tenant: Tenant, current: tuple[int, int], now: int) -> MonthTotals:
        """The months before ``current`` summed up; cached once they are all final."""
        hit = self._totals.get(tenant.name)
        if hit is not None and hit[0] == current:
            return hit[1]
        starts = [s for s in (self.recorder.first_start(tenant.name, p.name) for p in tenant.probes) if s is not None]
        months = list(months_from(month_of(min(starts), cfg.timezone), current)) if starts else []
        totals = [self._closed_month(cfg, tenant, y, mo, now) for y, mo in months]
        joined = sum(1 for a, b in itertools.pairwise(totals) if a.down_at_end and b.down_at_start)
        summed = MonthTotals(
            downtime=sum(t.downtime for t in totals),
            known_eligible=sum(t.known_eligible for t in totals),
            outages=sum(t.outages for t in totals) - joined,
            down_at_start=False,
            down_at_end=bool(totals) and totals[-1].down_at_end,
        )
        if starts and all((tenant.name, y, mo) in self._closed for y, mo in months):
            self._totals[tenant.name] = (current, summed)  # every month in it is final
        return summed

    def _month_to_date(
        self, tenant: Tenant, lo: int, month_end: int, now: int, windows: _WindowSet
    ) -> tuple[Figures, str, tuple[int, bool]]:
        """This month's figures so far, the tenant's state now, and (outages that cost
        budget, whether one runs from the month's start)."""
        view = self.recorder.lasts(tenant)
        cached = self._mtd.get(tenant.name)
        # Still in the same runs, each of which covered the cached end: valid while every
        # last run still covers "now".
        if (
            cached is not None
            and cached.lo == lo
            and now >= cached.hi
            and _same_runs(view, cached.shape, cached.hi, now)
        ):
            if now > cached.hi:
                f = cached.figures
                cached.figures = extend(f, cached.grows, now, windows.maintenance, windows.upto_now - f.maintenance)
                cached.hi = now
            return cached.figures, cached.grows, cached.totals()
        return self._full(tenant, _shape(tenant, view), view, lo, month_end, now, windows)

    def _full(
        self, tenant, shape, view, lo, month_end, now, windows: _WindowSet
    ) -> tuple[Figures, str, tuple[int, bool]]:
        # The runs may have moved on since `shape` was read: then the next scrape sees a
        # different shape and computes again.
        state = _state(tenant, self.recorder.snapshot(tenant, lo), lo, now)
        f = figures(state, windows.maintenance, lo, month_end, tenant.target, now, windows.eligible)
        current = _state_at_end(state, now) if now > lo else self.recorder.state_now(tenant, now / 1000)[0]
        grows = _last_stretch(state, now)
        counted, down_at_start, _ = _outage_totals(f)
        if now > lo and grows is not None and all(last.end >= now for _, last in view.values() if last is not None):
            self._mtd[tenant.name] = _MonthToDate(
                shape,
                lo,
                now,
                now,
                state if tenant.name in self._corrections else None,
                grows,
                f,
                f.outages,
                counted,
                down_at_start,
            )
        else:  # a probe is stale: a late result could still fill the gap before "now"
            self._mtd.pop(tenant.name, None)
        return f, current, (counted, down_at_start)

    def _maintenance_of(self, tenant: Tenant, lo: int, hi: int) -> iv.Intervals:
        # Tenants mostly share the top-level windows: expand each set once a month. Keyed
        # by the windows tuple's identity (stable for a config; hashing frozen dataclasses
        # on every scrape for every tenant is not free); the entry keeps the tuple alive.
        key = (id(tenant.windows), lo)
        entry = self._maintenance.get(key)
        if entry is None or entry[0] is not tenant.windows:
            entry = self._maintenance[key] = (tenant.windows, maintenance_ms(tenant.windows, lo, hi))
        return entry[1]

    def _read_ledger(self, cfg: Config) -> None:
        """Take in new ledger entries: the corrections apply to every figure, closed months
        included, so the caches that hold corrected figures start again."""
        if self.store is None:
            return
        head = self.store.ledger_head()
        if head == self._ledger_head:
            return
        entries = self.store.ledger()
        self._corrections = {t.name: c for t in cfg.tenants if (c := from_ledger(entries, t.name))}
        self._ledger_head, self._closed, self._totals = head, {}, {}

    def _corrected(
        self,
        tenant: Tenant,
        corrections: tuple[Correction, ...],
        lo: int,
        month_end: int,
        now: int,
        maintenance: iv.Intervals,
        eligible: iv.Intervals,
    ) -> tuple[Figures, dict[str, float]]:
        """This month's figures with the tenant's corrections, and the seconds they change by
        category, from the measured state the month-to-date cache holds (or from the runs).
        Once "now" is past the last correction's end, the corrected figures are carried on
        like the measured ones while the runs keep their shape: no correction reaches the
        stretch added, so it adds what it adds to the measured figures."""
        cached = self._mtd.get(tenant.name)
        fresh = cached is not None and cached.lo == lo and cached.hi == now
        key = (self._ledger_head, lo, cached.shape if fresh else None)  # type: ignore[union-attr]
        hit = self._corrected_cache.get(tenant.name)
        if fresh and hit is not None and hit[0] == key and max(c.end for c in corrections) <= hit[1].end <= now:
            f = extend(hit[1], cached.grows, now, maintenance)  # type: ignore[union-attr]
            self._corrected_cache[tenant.name] = (key, f, hit[2])
            return f, hit[2]
        state = cached.state_to(now) if fresh else None  # type: ignore[union-attr]
        if state is None:
            state = _state(tenant, self.recorder.snapshot(tenant, lo), lo, now)
            if fresh and _last_stretch(state, now) == cached.grows:  # type: ignore[union-attr]
                cached.state, cached.hi0 = state, now  # type: ignore[union-attr]
        views = corrected_views(state, maintenance, corrections, lo, month_end, tenant.target, now, eligible)
        moved: dict[str, float] = {}
        for c in corrections:
            if c.start < now and c.end > lo:
                moved[c.category] = moved.get(c.category, 0.0) + views.changed.get(c.id, 0) / 1000
        if fresh:
            self._corrected_cache[tenant.name] = (key, views.corrected, moved)
        return views.corrected, moved

    def _windows(self, tenant: Tenant, lo: int, hi: int, now: int) -> _WindowSet:
        """What the tenants with ``tenant``'s windows share this scrape (computed once)."""
        maintenance = self._maintenance_of(tenant, lo, hi)
        upto = min(now, hi)
        return _WindowSet(
            maintenance,
            eligible_time(maintenance, lo, upto),
            iv.total(iv.clip(maintenance, lo, upto)),
            float(any(a <= now < b for a, b in maintenance)),
        )

    def collect(self) -> Iterator[Metric]:
        self.scrape.began = self.timer()
        with self._lock:
            families = list(self._collect())
        yield from families

    def _collect(self) -> Iterator[Metric]:
        cfg, now = self.config(), self.clock()
        if cfg is not self._cache_cfg:  # a reload may change windows, targets, thresholds
            self._cache_cfg, self._closed, self._mtd, self._maintenance, self._totals = cfg, {}, {}, {}, {}
            self._labelsets, self._text = {}, _Text(cfg.tenants)
            self._ledger_head = -1  # the tenants may have changed: sort the ledger again
        self._read_ledger(cfg)
        out = Families(METRICS, self._labelsets, lines=_PER_TENANT)
        current = month_of(now, cfg.timezone)
        now = instant_ms(now)  # the figures are computed in ms
        month_start, month_end = month_bounds_ms(*current, cfg.timezone)
        previous = previous_month(*current)
        window_sets: dict[int, _WindowSet] = {}  # by windows tuple (alive with cfg): tenants share them
        text = self._text
        kept = text.values
        changes: list[list[tuple[int, bytes | None]]] = [[] for _ in _PER_TENANT]  # by family: (tenant, line)
        for j, tenant in enumerate(cfg.tenants):
            name = tenant.name
            windows = window_sets.get(id(tenant.windows))
            if windows is None:
                windows = window_sets[id(tenant.windows)] = self._windows(tenant, month_start, month_end, now)
            f, state, mtd_outages = self._month_to_date(tenant, month_start, month_end, now, windows)
            corrections = self._corrections.get(name, ())
            if corrections and any(c.start < now and c.end > month_start for c in corrections):
                f, moved = self._corrected(
                    tenant, corrections, month_start, month_end, now, windows.maintenance, windows.eligible
                )
                mtd_outages = _outage_totals(f)[:2]
                for category, seconds in moved.items():
                    out.add(m.CORRECTED, {"tenant": name, "category": category}, seconds)
            downtime, known, outages = self._history(cfg, tenant, current, f, mtd_outages, now)
            availability = f.availability
            values = (
                _UP[state],
                availability,
                tenant.target,
                None if availability is None else availability - tenant.target,
                f.error_budget / 1000,
                f.error_budget_remaining / 1000,
                windows.active,
                f.downtime / 1000,
                f.maintenance / 1000,
                f.unknown / 1000,
                f.eligible / 1000,
                self._closed_month(cfg, tenant, *previous, now).availability,
                downtime / 1000,
                known / 1000,
                outages,
                credit_ratio(f, tenant.credits),
            )
            last = kept[j]
            if last is None or last != values:
                # Only the lines whose value changed are written again (a value equal to the
                # last one keeps its line, 0.0 after -0.0 too); which changed is found in C:
                # most scrapes change two or three of a tenant's sixteen values.
                part = text.part(j)
                for i in range(len(values)) if last is None else _changed(values, last):
                    v = values[i]
                    changes[i].append((j, None if v is None else b"%s%s%s\n" % (_NAMES[i], part, go_bytes(v))))
                kept[j] = values
        for i, metric in enumerate(_PER_TENANT):
            if changes[i]:
                text.rewrite(i, changes[i])
            if text.blobs[i]:
                fam: LinesFamily = out.fams[metric.name]  # type: ignore[assignment]
                fam.lines = [text.blobs[i]]  # its lines in one: LinesFamily.samples splits them
                lengths = text.lengths[i]
                fam.label_values = (
                    [k for k, n in zip(text.keys, lengths, strict=True) if n] if 0 in lengths else text.keys
                )
        out.put(m.MONTH_START, [], month_start / 1000)
        out.put(m.MONTH_END, [], month_end / 1000)
        yield from out.collect()


# The per-tenant gauges and counters, given as text lines (collectors.base.LinesFamily), in
# the order of the values ``collect`` computes.
_PER_TENANT = [
    m.UP,
    m.AVAILABILITY,
    m.TARGET,
    m.MARGIN,
    m.BUDGET,
    m.BUDGET_REMAINING,
    m.MAINTENANCE_ACTIVE,
    m.MONTH_DOWNTIME,
    m.MONTH_MAINTENANCE,
    m.MONTH_UNKNOWN,
    m.MONTH_ELIGIBLE,
    m.PREVIOUS_AVAILABILITY,
    m.DOWNTIME_TOTAL,
    m.ELIGIBLE_TOTAL,
    m.OUTAGES_TOTAL,
    m.SERVICE_CREDIT,
]
_NAMES = [metric.name.encode() for metric in _PER_TENANT]  # as the lines begin (a counter's with _total)
_UP = {"up": 1.0, "down": 0.0, "unknown": None}  # sla_up of a state (unknown: no sample)


def _changed(values: tuple, last: tuple) -> Iterator[int]:
    return itertools.compress(range(len(values)), map(operator.ne, values, last))


class _Text:
    """The per-tenant families' text kept between scrapes: each family's lines as one bytes
    object, tenant by tenant in config order (one object instead of 10,000 lines of ~90
    bytes, and nothing to join again in an unchanged family), each tenant's line length in
    it (0: no line), each tenant's last values and the label part of its lines."""

    def __init__(self, tenants: Iterable[Tenant]):
        self.keys = [(t.name,) for t in tenants]  # each tenant's label values
        n = len(self.keys)
        self.values: list[tuple | None] = [None] * n
        self.parts: list[bytes | None] = [None] * n
        self.blobs = [b""] * len(_PER_TENANT)
        self.lengths = [array.array("I", bytes(4 * n)) for _ in _PER_TENANT]  # a line is short

    def part(self, j: int) -> bytes:
        """The label part of tenant ``j``'s lines (what follows the name up to the value)."""
        part = self.parts[j]
        if part is None:
            part = self.parts[j] = exposition.label_part({"tenant": self.keys[j][0]}).encode()
        return part

    def rewrite(self, i: int, changes: list[tuple[int, bytes | None]]) -> None:
        """Family ``i`` with the lines of some tenants replaced (by tenant, ascending): the
        runs of lines between them are copied as slices of the last text, in one join."""
        self.blobs[i] = rewrite(self.blobs[i], self.lengths[i], changes)


def _state_at_end(state: StateIntervals, end: int) -> str:
    """The state of the last instant before ``end``."""
    for name in ("down", "unknown", "up"):
        part = getattr(state, name)
        if part and part[-1][1] >= end:
            return name
    return "unknown"
