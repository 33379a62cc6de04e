"""Availability figures of a tenant for a month, from its probes' recorded history.

The one place that joins the history, the maintenance calendar and the formula; the
report (history from the store) and the /metrics collector (history from the live
recorder) both call it. Times are integer milliseconds since the epoch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple, Protocol

from exporter.engine import corrections as corr, intervals as iv
from exporter.engine.availability import Figures, eligible_time, figures
from exporter.engine.intervals import Intervals
from exporter.engine.maintenance import maintenance_ms
from exporter.engine.states import (
    Run,
    Series,
    StateIntervals,
    probe_state,
    quorum_state,
    runs,
    tenant_state,
)
from exporter.model import DEFAULT_LOCATION, Probe, Tenant, Window

# (tenant name, probe, lo, hi) -> {location: the probe's runs there that cover [lo, hi),
# sorted}, for every location that recorded the probe.
RunsOf = Callable[[str, Probe, int, int], dict[str, list[Run]]]

_MORE = 16  # series fetched at a time when a run reaches past the range


class SeriesSource(Protocol):
    def series(self, tenant: str, probe: str, lo: int, hi: int, location: str = ...) -> list[Series]: ...
    def series_before(self, tenant: str, probe: str, t: int, n: int, location: str = ...) -> list[Series]: ...
    def series_after(self, tenant: str, probe: str, t: int, n: int, location: str = ...) -> list[Series]: ...
    def locations(self, tenant: str, probe: str) -> list[str]: ...


def probe_series(
    source: SeriesSource,
    tenant: str,
    probe: Probe,
    lo: int,
    hi: int,
    until: int | None = None,
    location: str = DEFAULT_LOCATION,
) -> list[Series]:
    """The series of ``probe`` needed to read ``[lo, hi)`` exactly: those with a time in
    it, the one before it, and further ones while a run at an edge of the range is a
    failed run still shorter than the threshold (whether it is down depends on how far it
    reaches: failures before the month count toward the threshold, and so do failures
    after a closed month)."""
    return _read(source, tenant, probe, lo, hi, until, location)[0]


def probe_runs(
    source: SeriesSource,
    tenant: str,
    probe: Probe,
    lo: int,
    hi: int,
    until: int | None = None,
    location: str = DEFAULT_LOCATION,
) -> list[Run]:
    """The runs of ``probe`` at ``location`` that cover ``[lo, hi)``, read from ``source``
    under the probe's ``stale_after``, leaving out observations at or after ``until``."""
    return _read(source, tenant, probe, lo, hi, until, location)[1]


def probe_read(
    source: SeriesSource,
    tenant: str,
    probe: Probe,
    lo: int,
    hi: int,
    location: str = DEFAULT_LOCATION,
) -> tuple[list[Series], list[Run]]:
    """``probe_series`` and ``probe_runs`` at once: the runs are made anyway to read the
    series (the daemon's start reads every probe's)."""
    return _read(source, tenant, probe, lo, hi, None, location)


def _read(
    source: SeriesSource, tenant: str, probe: Probe, lo: int, hi: int, until: int | None, location: str
) -> tuple[list[Series], list[Run]]:
    stale, threshold = probe.stale_after_ms, probe.failure_threshold
    have = source.series(tenant, probe.name, lo, hi, location)
    while True:
        got = runs(have, stale, until)
        more = False
        # Only while the run at the edge of the range is the first (last) one read: once
        # an earlier (later) observation does not join it, nothing further can.
        if got and _short_failure(got[0], threshold) and got[0].end > lo:
            before = source.series_before(tenant, probe.name, have[0].start, _MORE, location)
            if before:
                have, more = before + have, True
        if (
            got
            and _short_failure(got[-1], threshold)
            and got[-1].start < hi
            and got[-1].last == have[-1].last
            and (until is None or have[-1].last < until)
        ):
            after = source.series_after(tenant, probe.name, have[-1].start, _MORE, location)
            if after:
                have, more = have + after, True
        if not more:
            return have, got


def _short_failure(run: Run, threshold: int) -> bool:
    return not run.success and run.count < threshold


class Prefetched:
    """A ``SeriesSource`` whose ``series`` for one range ``[lo, hi]`` were read for every
    probe at every location at once (``Store.all_series``); other ranges and the rare
    reads past an edge go to ``source``."""

    def __init__(self, source: SeriesSource, lo: int, hi: int, series: dict[tuple[str, str, str], list[Series]]):
        self.source, self.lo, self.hi, self.read = source, lo, hi, series

    def series(self, tenant: str, probe: str, lo: int, hi: int, location: str = DEFAULT_LOCATION) -> list[Series]:
        if (lo, hi) == (self.lo, self.hi):
            return self.read.get((tenant, probe, location), [])
        return self.source.series(tenant, probe, lo, hi, location)

    def series_before(self, tenant: str, probe: str, t: int, n: int, location: str = DEFAULT_LOCATION) -> list[Series]:
        return self.source.series_before(tenant, probe, t, n, location)

    def series_after(self, tenant: str, probe: str, t: int, n: int, location: str = DEFAULT_LOCATION) -> list[Series]:
        return self.source.series_after(tenant, probe, t, n, location)

    def locations(self, tenant: str, probe: str) -> list[str]:
        return self.source.locations(tenant, probe)


def store_runs(source: SeriesSource, until: int | None = None) -> RunsOf:
    """A ``RunsOf`` reading ``source`` (the store), cut at ``until``."""
    return lambda tenant, probe, lo, hi: {
        loc: probe_runs(source, tenant, probe, lo, hi, until, loc) for loc in source.locations(tenant, probe.name)
    }


def probe_history(at: dict[str, list[Run]], probe: Probe, quorum: int, lo: int, hi: int) -> StateIntervals:
    """A probe's state over ``[lo, hi)`` from its runs at each location (``at``), under
    the tenant's quorum (docs/semantics.md, "Locations")."""
    states = [probe_state(r, probe.failure_threshold, lo, hi) for r in at.values()]
    return quorum_state(states or [probe_state([], probe.failure_threshold, lo, hi)], quorum, lo, hi)


def tenant_history(runs_of: RunsOf, tenant: Tenant, lo: int, hi: int) -> StateIntervals:
    probes = [probe_history(runs_of(tenant.name, p, lo, hi), p, tenant.quorum, lo, hi) for p in tenant.probes]
    return tenant_state(probes, tenant.down_when, lo, hi)


def tenant_figures(
    runs_of: RunsOf,
    tenant: Tenant,
    month_start: int,
    month_end: int,
    now: int | None = None,
    corrections: tuple[corr.Correction, ...] = (),
) -> Figures:
    """Figures for the month ``[month_start, month_end)`` (ms), cut at ``now`` if given,
    with the tenant's active ``corrections`` applied."""
    return tenant_views(runs_of, tenant, month_start, month_end, now, corrections).corrected


class Views(NamedTuple):
    """Both views of a month: with the corrections and as measured, and per correction
    the ms of the period whose state it changes."""

    corrected: Figures
    measured: Figures
    changed: dict[int, int]
    state: StateIntervals  # the corrected state over the period
    maintenance: Intervals  # the month's maintenance
    excluded: Intervals  # the month's time excluded by corrections


def day_figures(v: Views, lo: int, hi: int) -> tuple[int, int, int]:
    """(eligible, downtime, unknown) ms of ``[lo, hi)`` within the period of ``v``, with
    its corrections: the pieces of a day-by-day chart."""
    hi = min(hi, v.corrected.end)
    if hi <= lo:
        return 0, 0, 0
    eligible = iv.subtract([(lo, hi)], iv.union(v.maintenance, v.excluded))
    down = iv.total(iv.intersect(iv.clip(v.state.down, lo, hi), eligible))
    unknown = iv.total(iv.intersect(iv.clip(v.state.unknown, lo, hi), eligible))
    return iv.total(eligible), down, unknown


def tenant_views(
    runs_of: RunsOf,
    tenant: Tenant,
    month_start: int,
    month_end: int,
    now: int | None = None,
    corrections: tuple[corr.Correction, ...] = (),
) -> Views:
    hi = month_end if now is None else max(month_start, min(now, month_end))
    state = tenant_history(runs_of, tenant, month_start, hi)
    maintenance = _maintenance(tenant.windows, month_start, month_end)
    eligible = _eligible(tenant.windows, month_start, month_end, hi)
    return corrected_views(state, maintenance, corrections, month_start, month_end, tenant.target, now, eligible)


def corrected_views(
    state: StateIntervals,
    maintenance: Intervals,
    corrections: tuple[corr.Correction, ...],
    month_start: int,
    month_end: int,
    target: float,
    now: int | None = None,
    eligible_set: Intervals | None = None,
) -> Views:
    """The figures of ``state`` (over the period) as measured and with the active
    ``corrections`` laid over it (docs/semantics.md, "Corrections")."""
    measured = figures(state, maintenance, month_start, month_end, target, now, eligible_set)
    whole = corr.overlay(corrections, month_start, month_end) if corrections else corr.EMPTY
    if not whole.all:
        return Views(measured, measured, {c.id: 0 for c in corrections}, state, maintenance, [])
    end = measured.end
    period = corr.overlay(corrections, month_start, end)
    fixed = corr.apply(state, period)
    f = figures(fixed, maintenance, month_start, month_end, target, now, eligible_set, excluded=whole.excluded)
    eligible = eligible_set if eligible_set is not None else eligible_time(maintenance, month_start, end)
    changed = corr.changed(state, period, corrections, eligible)
    return Views(f, measured, changed, fixed, maintenance, whole.excluded)


@functools.lru_cache(maxsize=256)
def _maintenance(windows: tuple[Window, ...], start: int, end: int) -> Intervals:
    # Tenants mostly share the top-level windows: a report expands each set once a month.
    # (Pure and never mutated downstream, so sharing the list is safe.)
    return maintenance_ms(windows, start, end)


@functools.lru_cache(maxsize=256)
def _eligible(windows: tuple[Window, ...], start: int, end: int, hi: int) -> Intervals:
    # The month to ``hi`` minus maintenance, shared like the windows (``figures`` would
    # compute the same for every tenant).
    return eligible_time(_maintenance(windows, start, end), start, hi)
