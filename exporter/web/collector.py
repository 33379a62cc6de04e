"""The one custom Prometheus collector: every SLA figure is computed at scrape time from
the recorder's history, so /metrics is always as fresh as the last probe result.

Sample output (abridged)::

    sla_up{tenant="acme-prod"} 1.0
    sla_availability_ratio{tenant="acme-prod"} 0.99987
    sla_target_ratio{tenant="acme-prod"} 0.9992
    sla_error_budget_remaining_seconds{tenant="acme-prod"} 1790.2
    sla_downtime_seconds_total{tenant="acme-prod"} 318.0
    sla_probe_success{probe="agent-ui",tenant="acme-prod"} 1.0

Closed months never change, so their figures are computed once per config and cached;
each scrape computes only the month to date from memory.
"""

from __future__ import annotations

import collections
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.registry import Collector

from exporter import __version__
from exporter import metrics as m
from exporter.engine import intervals as iv
from exporter.engine.accounting import tenant_figures
from exporter.engine.availability import Figures, eligible_time, extend, figures
from exporter.engine.maintenance import maintenance_ms
from exporter.model import Config, Tenant
from exporter.engine.months import month_bounds_ms, month_of
from exporter.probing.recorder import Recorder
from exporter.store.sqlite import Store
from exporter.support.deadlines import SERVICE_REQUEST, delivery_due, evaluate, request_breached
from exporter.engine.states import Run, StateIntervals, probe_state, tenant_state
from exporter.engine.units import instant_ms


@dataclass
class ExporterStatus:
    """The exporter's own health, for its metrics and /-/ready."""

    reload_ok: bool = False
    reload_time: float | None = None  # of the last successful (re)load
    store_writable: bool = True
    store_write_errors: int = 0
    network_up: bool | None = None  # the canaries' last verdict; None without canaries
    clock_steps: int = 0
    last_clock_step: float | None = None  # seconds, negative: backwards


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


def _family(metric: m.Metric) -> GaugeMetricFamily | CounterMetricFamily:
    if metric.kind == "counter":
        return CounterMetricFamily(metric.name.removesuffix("_total"), metric.help, labels=metric.labels)
    return GaugeMetricFamily(metric.name, metric.help, labels=metric.labels)


def _months(y: int, mo: int, until: tuple[int, int]) -> Iterator[tuple[int, int]]:
    while (y, mo) < until:
        yield y, mo
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)


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


def _shape(tenant: Tenant, lasts: dict[str, tuple[int, Run | None]]) -> tuple:
    out = []
    for p in tenant.probes:
        n, last = lasts[p.name]
        out.append(None if last is None else (n, last.start, last.success or last.count < p.failure_threshold))
    return tuple(out)


def _extend(state: StateIntervals, hi: int, now: int) -> tuple[StateIntervals, str] | None:
    """``state`` (ending at ``hi``) with its last stretch carried on to ``now``, and which
    state that stretch is."""
    for name in ("up", "down", "unknown"):
        part = getattr(state, name)
        if part and part[-1][1] == hi:
            grown = part[:-1] + [(part[-1][0], now)]
            return state._replace(**{name: grown}), name
    return None


class SLACollector(Collector):
    def __init__(
        self,
        config: Callable[[], Config],
        recorder: Recorder,
        status: ExporterStatus,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
        store: Store | None = None,
    ):
        self.config, self.recorder, self.status, self.clock, self.timer = config, recorder, status, clock, timer
        self.store = store  # support incidents and service requests; None: no support metrics
        self._closed_breaches: dict[str, collections.Counter] = {}
        self._cache_cfg: Config | None = None
        self._closed: dict[tuple[str, int, int], Figures] = {}
        self._mtd: dict[str, _MonthToDate] = {}
        self._maintenance: dict[tuple, tuple] = {}
        self._totals: dict[tuple, MonthTotals] = {}
        self._probe_samples: dict[tuple[str, str], tuple] = {}
        self._labelsets: dict[tuple, dict] = {}

    def describe(self) -> list[Metric]:
        return [_family(metric) for metric in m.ALL]

    # -- history -----------------------------------------------------------------------------

    def _closed_month(self, cfg: Config, tenant: Tenant, y: int, mo: int, now: int) -> Figures:
        key = (tenant.name, y, mo)
        if key in self._closed:
            return self._closed[key]
        lo, hi = month_bounds_ms(y, mo, cfg.timezone)
        f = tenant_figures(self.recorder.runs_of, tenant, lo, hi)
        # The last results of a month hold into the next for up to stale_after: only then
        # is the month final. (A failed run shorter than the threshold at the month's end
        # may still grow to it later; that is rare, and a reload recomputes.)
        if now >= hi + max(p.stale_after_ms for p in tenant.probes):
            self._closed[key] = f
        return f

    def _history(self, cfg: Config, tenant: Tenant, current: tuple[int, int], mtd: Figures, now: int):
        """(downtime, known eligible, outages) over all recorded history."""
        closed = self._closed_totals(cfg, tenant, current, now)
        this = MonthTotals.of(mtd)
        # An outage that runs across midnight at month end is one outage, not two.
        joined = 1 if closed.down_at_end and this.down_at_start else 0
        return (closed.downtime + this.downtime, closed.known_eligible + this.known_eligible,
                closed.outages + this.outages - joined)

    def _closed_totals(self, cfg: Config, tenant: Tenant, current: tuple[int, int], now: int) -> MonthTotals:
        """The months before ``current`` summed up; cached once they are all final."""
        key = ("closed", tenant.name, *current)
        if key in self._totals:
            return self._totals[key]
        starts = [s for s in (self.recorder.first_start(tenant.name, p.name) for p in tenant.probes) if s is not None]
        months = list(_months(*month_of(min(starts), cfg.timezone), current)) if starts else []
        totals = [MonthTotals.of(self._closed_month(cfg, tenant, y, mo, now)) for y, mo in months]
        joined = sum(1 for a, b in zip(totals, totals[1:]) if a.down_at_end and b.down_at_start)
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

    def _month_to_date(self, tenant: Tenant, lo: int, month_end: int, now: int,
                       maintenance: iv.Intervals, eligible: iv.Intervals) -> tuple[Figures, str]:
        """This month's figures so far and the tenant's state now."""
        view = self.recorder.lasts(tenant)
        shape = _shape(tenant, view)
        cached = self._mtd.get(tenant.name)
        lasts = [last for _, last in view.values() if last is not None]
        if cached and cached.shape == shape and cached.lo == lo and now >= cached.hi:
            # Still in the same runs, each of which covered the cached end: valid while
            # every last run still covers "now".
            if all(last.start < cached.hi and now <= last.end for last in lasts):
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
        runs = self.recorder.snapshot(tenant)
        probes = [probe_state(runs.get(p.name, []), p.failure_threshold, lo, now) for p in tenant.probes]
        state = tenant_state(probes, tenant.down_when, lo, now)
        f = figures(state, maintenance, lo, month_end, tenant.target, now, eligible)
        current = _state_at_end(state, now) if now > lo else self.recorder.state_now(tenant, now / 1000)[0]
        if now > lo and all(last.end >= now for last in lasts):
            self._mtd[tenant.name] = _MonthToDate(shape, lo, now, state, f, current)
        else:  # a probe is stale: a late result could still fill the gap before "now"
            self._mtd.pop(tenant.name, None)
        return f, current

    def _support(self, cfg: Config, now: float, put: Callable) -> None:
        """Support clocks. Detected incidents count as open but have no deadlines or
        breaches: the vendor can only answer what was filed."""
        opened: collections.Counter = collections.Counter()
        breaches: collections.Counter = collections.Counter()
        for inc in self.store.incidents(open_only=False):
            if inc.id in self._closed_breaches:  # a closed incident never changes
                breaches.update(self._closed_breaches[inc.id])
                continue
            st = evaluate(cfg.support, inc, now)
            mine = collections.Counter((inc.tenant, b.priority, b.target) for b in st.breaches)
            if inc.source == "detected":
                mine = collections.Counter()  # no breaches: see above
            else:
                mine[(inc.tenant, st.priority, "response")] += 0  # the tenant has filed cases
            if not st.open:
                self._closed_breaches[inc.id] = mine
            breaches.update(mine)
            if not st.open:
                continue
            opened[(inc.tenant, st.priority, inc.source)] += 1
            if inc.source == "detected":
                continue
            labels = [inc.tenant, inc.id, st.priority]
            put(m.SUPPORT_RESPONSE_DUE, labels, st.response_due)
            put(m.SUPPORT_COMMUNICATION_DUE, labels, st.communication_due)
            put(m.SUPPORT_RESOLUTION_DUE, labels, st.resolution_due)
        requests_open: collections.Counter = collections.Counter()
        for req in self.store.requests():
            if request_breached(cfg.support, req, now):
                breaches[(req.tenant, SERVICE_REQUEST, "delivery")] += 1
            requests_open[req.tenant] += 0  # 0 rather than nothing once a tenant has requests
            if req.delivered is None:
                requests_open[req.tenant] += 1
                put(m.SUPPORT_REQUEST_DUE, [req.tenant, req.id], delivery_due(cfg.support, req.opened))
        # Zeros for every target a tenant with support cases has, so that increase() sees
        # its first breach (a counter that appears at 1 looks like no increase).
        for tenant in {key[0] for key in breaches} | set(requests_open):
            t = cfg.tenant(tenant)
            for p in cfg.support.priorities:
                if t is not None and not t.production and p.name in cfg.support.production_only:
                    continue
                for target, seconds in (("response", p.initial_response), ("communication", p.communication),
                                        ("resolution", p.resolution)):
                    if seconds is not None:
                        breaches.setdefault((tenant, p.name, target), 0)
            breaches.setdefault((tenant, SERVICE_REQUEST, "delivery"), 0)
        for (tenant, priority, source), n in sorted(opened.items()):
            put(m.SUPPORT_OPEN, [tenant, priority, source], n)
        for labels, n in sorted(breaches.items()):
            put(m.SUPPORT_BREACHES, list(labels), n)
        for tenant, n in sorted(requests_open.items()):
            put(m.SUPPORT_REQUESTS_OPEN, [tenant], n)

    def _maintenance_of(self, tenant: Tenant, lo: int, hi: int) -> iv.Intervals:
        # Tenants mostly share the top-level windows: expand each set once a month. Keyed
        # by the windows tuple's identity (stable for a config; hashing frozen dataclasses
        # on every scrape for every tenant is not free); the entry keeps the tuple alive.
        key = (id(tenant.windows), lo)
        entry = self._maintenance.get(key)
        if entry is None or entry[0] is not tenant.windows:
            entry = self._maintenance[key] = (tenant.windows, maintenance_ms(tenant.windows, lo, hi))
        return entry[1]

    # -- scrape ------------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        began = self.timer()
        cfg, now = self.config(), self.clock()
        if cfg is not self._cache_cfg:  # a reload may change windows, targets, thresholds
            self._cache_cfg, self._closed, self._mtd, self._maintenance, self._totals = cfg, {}, {}, {}, {}
            self._probe_samples, self._labelsets = {}, {}
        fam = {metric.name: _family(metric) for metric in m.ALL}
        samples = {metric.name: fam[metric.name].samples for metric in m.ALL}

        shared = self._labelsets

        def put(metric: m.Metric, labels: list[str], value: float | None) -> None:
            # Samples appended directly (what add_metric does, minus a dict per sample: a
            # tenant's label dict is shared by its samples, kept between scrapes and never
            # changed, which also lets the text writer find its lines by identity).
            if value is not None:
                key = (metric.labels, *labels)
                labelset = shared.get(key)
                if labelset is None:
                    labelset = shared[key] = dict(zip(metric.labels, labels))
                samples[metric.name].append(Sample(metric.name, labelset, value, None))

        current = month_of(now, cfg.timezone)
        now_s, now = now, instant_ms(now)  # the figures are computed in ms
        month_start, month_end = month_bounds_ms(*current, cfg.timezone)
        previous = (current[0] - 1, 12) if current[1] == 1 else (current[0], current[1] - 1)
        results = self.recorder.last_results()
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
            downtime, known, outages = self._history(cfg, tenant, current, f, now)
            previous_availability = self._closed_month(cfg, tenant, *previous, now).availability
            for metric, value in (
                (m.UP, None if state == "unknown" else float(state == "up")),
                (m.AVAILABILITY, f.availability),
                (m.TARGET, tenant.target),
                (m.MARGIN, None if f.availability is None else f.availability - tenant.target),
                (m.BUDGET, f.error_budget / 1000),
                (m.BUDGET_REMAINING, f.error_budget_remaining / 1000),
                (m.MAINTENANCE_ACTIVE, float(any(a <= now < b for a, b in maintenance))),
                (m.MONTH_DOWNTIME, f.downtime / 1000),
                (m.MONTH_MAINTENANCE, f.maintenance / 1000),
                (m.MONTH_UNKNOWN, f.unknown / 1000),
                (m.MONTH_ELIGIBLE, f.eligible / 1000),
                (m.PREVIOUS_AVAILABILITY, previous_availability),
                (m.DOWNTIME_TOTAL, downtime / 1000),
                (m.ELIGIBLE_TOTAL, known / 1000),
                (m.OUTAGES_TOTAL, outages),
            ):
                if value is not None:  # one label dict per tenant, shared by its samples
                    samples[metric.name].append(Sample(metric.name, labels, value, None))
            for probe in tenant.probes:
                r = results.get((tenant.name, probe.name))
                if r is None:
                    continue
                fresh = now_s < r.started + probe.stale_after
                cached = self._probe_samples.get((tenant.name, probe.name))
                if cached is None or cached[0] is not r or cached[1] != fresh:
                    # Built once per result: a probe's samples only change when it reports.
                    tp = {"tenant": tenant.name, "probe": probe.name}
                    built = [(metric, Sample(metric.name, tp, value, None)) for metric, value in (
                        # A fault of ours says nothing of the target: no sample, like unknown.
                        (m.PROBE_SUCCESS, float(r.success) if fresh and not r.ours else None),
                        (m.PROBE_DURATION, r.duration),
                        (m.PROBE_STATUS, float(r.status_code or 0)), (m.PROBE_CERT_EXPIRY, r.cert_expiry),
                    ) if value is not None]
                    cached = self._probe_samples[(tenant.name, probe.name)] = (r, fresh, built)
                for metric, sample in cached[2]:
                    samples[metric.name].append(sample)
        if self.store is not None:
            self._support(cfg, now_s, put)
        for (tenant_name, probe_name, reason), count in sorted(self.recorder.error_counts().items()):
            put(m.PROBE_ERRORS, [tenant_name, probe_name, reason], count)
        put(m.MONTH_START, [], month_start / 1000)
        put(m.MONTH_END, [], month_end / 1000)
        put(m.BUILD_INFO, [__version__, platform.python_version()], 1)
        put(m.RELOAD_OK, [], float(self.status.reload_ok))
        put(m.RELOAD_TIME, [], self.status.reload_time)
        put(m.STORE_WRITABLE, [], float(self.status.store_writable))
        put(m.STORE_ERRORS, [], self.status.store_write_errors)
        faults = collections.Counter(r.reason for r in self.recorder.current_faults().values())
        for reason, n in sorted(faults.items()):
            put(m.PROBE_FAULTS, [reason], n)
        put(m.NETWORK_UP, [], None if self.status.network_up is None else float(self.status.network_up))
        put(m.CLOCK_STEPS, [], self.status.clock_steps)
        put(m.CLOCK_LAST_STEP, [], self.status.last_clock_step)
        put(m.SCRAPE_DURATION, [], self.timer() - began)
        yield from (family for family in fam.values() if family.samples)


def _state_at_end(state: StateIntervals, end: int) -> str:
    """The state of the last instant before ``end``."""
    for name in ("down", "unknown", "up"):
        part = getattr(state, name)
        if part and part[-1][1] >= end:
            return name
    return "unknown"
