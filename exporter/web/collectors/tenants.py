"""Tenant SLA figures: month-to-date availability, margin, budget, maintenance, the previous
month and the history counters, computed at scrape time from the recorder's history.

Sample output (abridged)::

    sla_up{tenant="acme-prod"} 1.0
    sla_availability_ratio{tenant="acme-prod"} 0.99987
    sla_target_ratio{tenant="acme-prod"} 0.9992
    sla_error_budget_remaining_seconds{tenant="acme-prod"} 1790.2
    sla_downtime_seconds_total{tenant="acme-prod"} 318.0

Closed months never change, so their figures are computed once per config and cached;
each scrape computes only the month to date from memory, and carries it on in constant
time while no probe changes state.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

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
from exporter.web.collectors.base import Families, ScrapeTimer, describe

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


@dataclass(frozen=True)
class MonthTotals:
    """What a closed month adds to the history counters."""

    downtime: int  # ms
    known_eligible: int  # ms
    outages: int
    down_at_start: bool  # an outage runs from the month's first instant
    down_at_end: bool  # an outage runs up to the month's last instant

    @classmethod
    def of(cls, f: Figures) -> MonthTotals:
        counted = [o for o in f.outages if o.counted > 0]
        return cls(
            downtime=f.downtime,
            known_eligible=f.eligible - f.unknown,
            outages=len(counted),
            down_at_start=bool(counted) and counted[0].start <= f.start,
            down_at_end=bool(counted) and counted[-1].end >= f.end,
        )


@dataclass
class _MonthToDate:
    """A tenant's state and figures from the month start to ``hi``, and the shape of the
    runs they came from. While no probe starts a new run or crosses its failure threshold
    and none goes stale, a later scrape only carries the last stretch on to the new "now"
    (``availability.extend``) instead of recomputing the month: that keeps a scrape of a
    thousand tenants cheap."""

    shape: tuple
    lo: int  # ms
    hi: int
    state: StateIntervals
    figures: Figures
    now: str  # the state of the last stretch: up, down or unknown


def _shape(tenant: Tenant, lasts: dict[tuple[str, str], tuple[int, Run | None]]) -> tuple:
    threshold = {p.name: p.failure_threshold for p in tenant.probes}
    return tuple(
        None if last is None else (key, n, last.start, last.success or last.count < threshold[key[0]])
        for key, (n, last) in lasts.items()
    )


def _state(tenant: Tenant, runs: dict[str, dict[str, list[Run]]], lo: int, hi: int) -> StateIntervals:
    """The tenant's state over ``[lo, hi)`` from its probes' runs at each location."""
    probes = [probe_history(runs.get(p.name, {}), p, tenant.quorum, lo, hi) for p in tenant.probes]
    return tenant_state(probes, tenant.down_when, lo, hi)


def _extend(state: StateIntervals, hi: int, now: int) -> tuple[StateIntervals, str] | None:
    """``state`` (ending at ``hi``) with its last stretch carried on to ``now``, and which
    state that stretch is."""
    for name in ("up", "down", "unknown"):
        part = getattr(state, name)
        if part and part[-1][1] == hi:
            grown = [*part[:-1], (part[-1][0], now)]
            return state._replace(**{name: grown}), name
    return None


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
        self._closed: dict[tuple[str, int, int], tuple[float | None, MonthTotals]] = {}
        self._mtd: dict[str, _MonthToDate] = {}
        self._maintenance: dict[tuple, tuple] = {}
        self._totals: dict[tuple, MonthTotals] = {}
        self._labelsets: dict[tuple, dict] = {}
        self._samples: dict[str, tuple[tuple, tuple]] = {}  # tenant -> (values, samples) of the last scrape

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def _closed_month(self, cfg: Config, tenant: Tenant, y: int, mo: int, now: int) -> tuple[float | None, MonthTotals]:
        """A closed month's availability and totals: all a scrape reads of it. (Its Figures
        with their outages, kept instead, were ~45 MB at 10,000 tenants.)"""
        key = (tenant.name, y, mo)
        if key in self._closed:
            return self._closed[key]
        lo, hi = month_bounds_ms(y, mo, cfg.timezone)
        f = tenant_figures(self.recorder.runs_of, tenant, lo, hi, corrections=self._corrections.get(tenant.name, ()))
        # The last results of a month hold into the next for up to stale_after: only then
        # is the month final. (A failed run shorter than the threshold at the month's end
        # may still grow to it later; that is rare, and a reload recomputes.)
        kept = (f.availability, MonthTotals.of(f))
        if now >= hi + max(p.stale_after_ms for p in tenant.probes):
            self._closed[key] = kept
        return kept

    def _history(self, cfg: Config, tenant: Tenant, current: tuple[int, int], mtd: Figures, now: int):
        """(downtime, known eligible, outages) over all recorded history."""
        closed = self._closed_totals(cfg, tenant, current, now)
        this = MonthTotals.of(mtd)
        # An outage that runs across midnight at month end is one outage, not two.
        joined = 1 if closed.down_at_end and this.down_at_start else 0
        return (
            closed.downtime + this.downtime,
            closed.known_eligible + this.known_eligible,
            closed.outages + this.outages - joined,
        )

    def _closed_totals(self, cfg: Config, tenant: Tenant, current: tuple[int, int], now: int) -> MonthTotals:
        """The months before ``current`` summed up; cached once they are all final."""
        key = ("closed", tenant.name, *current)
        if key in self._totals:
            return self._totals[key]
        starts = [s for s in (self.recorder.first_start(tenant.name, p.name) for p in tenant.probes) if s is not None]
        months = list(months_from(month_of(min(starts), cfg.timezone), current)) if starts else []
        totals = [self._closed_month(cfg, tenant, y, mo, now)[1] for y, mo in months]
        joined = sum(1 for a, b in itertools.pairwise(totals) if a.down_at_end and b.down_at_start)
        summed = MonthTotals(
            downtime=sum(t.downtime for t in totals),
            known_eligible=sum(t.known_eligible for t in totals),
            outages=sum(t.outages for t in totals) - joined,
            down_at_start=False,
            down_at_end=bool(totals) and totals[-1].down_at_end,
        )
        if starts and all((tenant.name, y, mo) in self._closed for y, mo in months):
            self._totals[key] = summed  # every month in it is final
        return summed

    def _month_to_date(
        self, tenant: Tenant, lo: int, month_end: int, now: int, maintenance: iv.Intervals, eligible: iv.Intervals
    ) -> tuple[Figures, str]:
        """This month's figures so far and the tenant's state now."""
        view = self.recorder.lasts(tenant)
        shape = _shape(tenant, view)
        cached = self._mtd.get(tenant.name)
        lasts = [last for _, last in view.values() if last is not None]
        # Still in the same runs, each of which covered the cached end: valid while every
        # last run still covers "now".
        if (
            cached
            and cached.shape == shape
            and cached.lo == lo
            and now >= cached.hi
            and all(last.start < cached.hi and now <= last.end for last in lasts)
        ):
            if now > cached.hi:
                grown = _extend(cached.state, cached.hi, now)
                if grown is None:
                    return self._full(tenant, shape, lasts, lo, month_end, now, maintenance, eligible)
                cached.state, cached.now = grown
                cached.figures = extend(cached.figures, cached.now, now, maintenance)
                cached.hi = now
            return cached.figures, cached.now
        return self._full(tenant, shape, lasts, lo, month_end, now, maintenance, eligible)

    def _full(self, tenant, shape, lasts, lo, month_end, now, maintenance, eligible) -> tuple[Figures, str]:
        # The runs may have moved on since `shape` was read: then the next scrape sees a
        # different shape and computes again.
        state = _state(tenant, self.recorder.snapshot(tenant), lo, now)
        f = figures(state, maintenance, lo, month_end, tenant.target, now, eligible)
        current = _state_at_end(state, now) if now > lo else self.recorder.state_now(tenant, now / 1000)[0]
        if now > lo and all(last.end >= now for last in lasts):
            self._mtd[tenant.name] = _MonthToDate(shape, lo, now, state, f, current)
        else:  # a probe is stale: a late result could still fill the gap before "now"
            self._mtd.pop(tenant.name, None)
        return f, current

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
            f = extend(hit[1], cached.now, now, maintenance)  # type: ignore[union-attr]
            self._corrected_cache[tenant.name] = (key, f, hit[2])
            return f, hit[2]
        state = cached.state if fresh else _state(tenant, self.recorder.snapshot(tenant), lo, now)  # type: ignore[union-attr]
        views = corrected_views(state, maintenance, corrections, lo, month_end, tenant.target, now, eligible)
        moved: dict[str, float] = {}
        for c in corrections:
            if c.start < now and c.end > lo:
                moved[c.category] = moved.get(c.category, 0.0) + views.changed.get(c.id, 0) / 1000
        if fresh:
            self._corrected_cache[tenant.name] = (key, views.corrected, moved)
        return views.corrected, moved

    def collect(self) -> Iterator[Metric]:
        self.scrape.began = self.timer()
        cfg, now = self.config(), self.clock()
        if cfg is not self._cache_cfg:  # a reload may change windows, targets, thresholds
            self._cache_cfg, self._closed, self._mtd, self._maintenance, self._totals = cfg, {}, {}, {}, {}
            self._labelsets, self._samples = {}, {}
            self._ledger_head = -1  # the tenants may have changed: sort the ledger again
        self._read_ledger(cfg)
        out = Families(METRICS, self._labelsets)
        shared = self._labelsets
        appends = [out.samples[metric.name].append for metric in _PER_TENANT]
        current = month_of(now, cfg.timezone)
        now = instant_ms(now)  # the figures are computed in ms
        month_start, month_end = month_bounds_ms(*current, cfg.timezone)
        previous = previous_month(*current)
        eligible_sets: dict[int, iv.Intervals] = {}  # by maintenance set: tenants share windows
        for tenant in cfg.tenants:
            labels = shared.get(("tenant", tenant.name))
            if labels is None:
                labels = shared[("tenant", tenant.name)] = {"tenant": tenant.name}
            maintenance = self._maintenance_of(tenant, month_start, month_end)
            eligible = eligible_sets.get(id(maintenance))
            if eligible is None:
                eligible = eligible_sets[id(maintenance)] = eligible_time(maintenance, month_start, min(now, month_end))
            f, state = self._month_to_date(tenant, month_start, month_end, now, maintenance, eligible)
            corrections = self._corrections.get(tenant.name, ())
            if corrections and any(c.start < now and c.end > month_start for c in corrections):
                f, moved = self._corrected(tenant, corrections, month_start, month_end, now, maintenance, eligible)
                for category, seconds in moved.items():
                    out.add(m.CORRECTED, {"tenant": tenant.name, "category": category}, seconds)
            credit = credit_ratio(f, tenant.credits)
            if credit is not None:
                out.add(m.SERVICE_CREDIT, labels, credit)
            downtime, known, outages = self._history(cfg, tenant, current, f, now)
            previous_availability = self._closed_month(cfg, tenant, *previous, now)[0]
            values = (
                None if state == "unknown" else float(state == "up"),
                f.availability,
                tenant.target,
                None if f.availability is None else f.availability - tenant.target,
                f.error_budget / 1000,
                f.error_budget_remaining / 1000,
                float(any(a <= now < b for a, b in maintenance)),
                f.downtime / 1000,
                f.maintenance / 1000,
                f.unknown / 1000,
                f.eligible / 1000,
                previous_availability,
                downtime / 1000,
                known / 1000,
                outages,
            )
            # Most values hold from one scrape to the next: their sample objects are kept,
            # and the text writer reuses the line of a sample it has seen (by identity).
            last = self._samples.get(tenant.name)
            if last is None or last[0] != values:
                last = self._samples[tenant.name] = (values, _samples(labels, values, last))
            for append, sample in zip(appends, last[1], strict=True):
                if sample is not None:  # one label dict per tenant, shared by its samples
                    append(sample)
        out.put(m.MONTH_START, [], month_start / 1000)
        out.put(m.MONTH_END, [], month_end / 1000)
        yield from out.collect()


# The per-tenant samples, in the order of the values ``collect`` computes.
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
]


def _samples(labels: dict, values: tuple, last: tuple[tuple, tuple] | None) -> tuple[Sample | None, ...]:
    """A tenant's samples of ``values`` (None: no sample), reusing the last scrape's where
    the value is the same."""
    if last is None:
        return tuple(
            None if v is None else Sample(m.name, labels, v, None) for m, v in zip(_PER_TENANT, values, strict=True)
        )
    return tuple(
        None if v is None else (old if old is not None and old_v == v else Sample(m.name, labels, v, None))
        for m, v, old_v, old in zip(_PER_TENANT, values, last[0], last[1], strict=True)
    )


def _state_at_end(state: StateIntervals, end: int) -> str:
    """The state of the last instant before ``end``."""
    for name in ("down", "unknown", "up"):
        part = getattr(state, name)
        if part and part[-1][1] >= end:
            return name
    return "unknown"
