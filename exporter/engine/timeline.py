"""Month-to-date figures at a sequence of instants, as the daemon would have shown them.

For ``export`` (history into Prometheus): a month's state is computed once, and each
instant's month-to-date figures come from one sweep over it, instead of a month's
calculation per sample. At every instant ``t`` the figures are exactly those of
``availability.figures`` with ``now = t`` over the same state (the test holds them to it);
the state is the month's with hindsight, as the report computes it (a failed run that
later reaches its threshold is down from its first failure). Pure; integer milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

from exporter.engine import intervals as iv
from exporter.engine.availability import error_budget, met
from exporter.engine.intervals import Intervals
from exporter.engine.states import StateIntervals


class Sample(NamedTuple):
    """Figures over ``[month start, t)`` (ms) and the state of the last instant before ``t``."""

    t: int
    state: str  # up | down | unknown
    maintenance_active: bool
    eligible: int
    maintenance: int
    downtime: int
    unknown: int
    availability: float | None
    met: bool | None
    error_budget: int
    error_budget_remaining: int


def measure_before(intervals: Intervals, lo: int, times: Sequence[int]) -> list[int]:
    """For each of the increasing ``times``: the length of ``intervals ∩ [lo, t)``. One
    pass over both."""
    out: list[int] = []
    done = 0  # length of the intervals wholly before the current t
    i = 0
    for t in times:
        while i < len(intervals) and intervals[i][1] <= t:
            a, b = intervals[i]
            done += max(0, b - max(a, lo))
            i += 1
        partial = 0
        if i < len(intervals):
            a, _ = intervals[i]
            partial = max(0, t - max(a, lo))
        out.append(done + partial)
    return out


def holds_before(intervals: Intervals, times: Sequence[int]) -> list[bool]:
    """For each of the increasing ``times``: whether the instant just before it (``t - 1``
    ms) lies in ``intervals``."""
    out: list[bool] = []
    i = 0
    for t in times:
        while i < len(intervals) and intervals[i][1] < t:
            i += 1
        out.append(i < len(intervals) and intervals[i][0] <= t - 1 < intervals[i][1])
    return out


def samples(
    state: StateIntervals,
    maintenance: Intervals,
    month_start: int,
    month_end: int,
    target: float,
    times: Sequence[int],
    excluded: Intervals | None = None,
) -> Iterator[Sample]:
    """Month-to-date figures at each of ``times`` (increasing, within ``(month_start,
    month_end]``); ``state`` covers the month at least up to the last of them (with any
    corrections laid over it), ``maintenance`` is the tenant's merged windows over the
    whole month and ``excluded`` the month's time corrections exclude."""
    month_maintenance = iv.clip(maintenance, month_start, month_end)
    eligible_set = iv.subtract([(month_start, month_end)], month_maintenance)
    budget_base = month_end - month_start - iv.total(month_maintenance)
    if excluded:
        month_excluded = iv.clip(excluded, month_start, month_end)
        eligible_set = iv.subtract(eligible_set, month_excluded)
        budget_base -= iv.total(iv.subtract(month_excluded, month_maintenance))
    counted = iv.intersect(iv.clip(state.down, month_start, month_end), eligible_set)
    unknown = iv.intersect(iv.clip(state.unknown, month_start, month_end), eligible_set)
    budget = error_budget(target, budget_base)
    in_maintenance = measure_before(month_maintenance, month_start, times)
    eligible_time = measure_before(eligible_set, month_start, times)
    downtime = measure_before(counted, month_start, times)
    unknown_time = measure_before(unknown, month_start, times)
    down_now = holds_before(state.down, times)
    unknown_now = holds_before(state.unknown, times)
    up_now = holds_before(state.up, times)
    active = holds_before(month_maintenance, times)
    for k, t in enumerate(times):
        eligible = eligible_time[k]
        known = eligible - unknown_time[k]
        availability = (known - downtime[k]) / known if known > 0 else None
        now = "down" if down_now[k] else "unknown" if unknown_now[k] or not up_now[k] else "up"
        yield Sample(
            t=t,
            state=now,
            maintenance_active=active[k],
            eligible=eligible,
            maintenance=in_maintenance[k],
            downtime=downtime[k],
            unknown=unknown_time[k],
            availability=availability,
            met=met(known, downtime[k], target),
            error_budget=budget,
            error_budget_remaining=budget - downtime[k],
        )
