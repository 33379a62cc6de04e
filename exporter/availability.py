"""The availability formula of PRODUCT.md, for a month or month to date. Pure.

    maintenance = union(windows) ∩ period        eligible = period − maintenance
    downtime    = down ∩ eligible                unknown  = unknown ∩ eligible
    availability = (eligible − unknown − downtime) / (eligible − unknown)   (None when 0)
    error_budget = (1 − target) × eligible of the WHOLE month
    error_budget_remaining = error_budget − downtime        met = availability ≥ target
"""

from __future__ import annotations

from typing import NamedTuple

from exporter import intervals as iv
from exporter.intervals import Intervals
from exporter.states import StateIntervals


class Outage(NamedTuple):
    """A maximal stretch of tenant downtime within the period; ``counted_seconds`` is the
    part outside maintenance, the part that costs budget."""

    start: float
    end: float
    seconds: float
    counted_seconds: float


class Figures(NamedTuple):
    # A NamedTuple, not a dataclass: the collector builds one per tenant per scrape.
    start: float  # period start (month start)
    end: float  # period end: month end, or "now" for month to date
    month_end: float
    target: float
    eligible: float
    maintenance: float
    downtime: float
    unknown: float
    availability: float | None
    met: bool | None
    error_budget: float
    error_budget_remaining: float
    outages: tuple[Outage, ...]


def figures(
    state: StateIntervals,
    maintenance: Intervals,
    month_start: float,
    month_end: float,
    target: float,
    now: float | None = None,
    eligible_set: Intervals | None = None,
) -> Figures:
    """Figures for ``[month_start, min(now, month_end))``.

    ``state`` must cover at least that period; ``maintenance`` is the tenant's merged
    windows for the whole month (the budget is a whole-month figure). ``eligible_set``, the
    period minus maintenance, may be passed in when many tenants share the same windows.
    """
    end = month_end if now is None else max(month_start, min(now, month_end))
    month_maintenance = iv.clip(maintenance, month_start, month_end)
    if eligible_set is None:
        eligible_set = eligible_time(maintenance, month_start, end)
    eligible = iv.total(eligible_set)
    down = iv.clip(state.down, month_start, end)
    counted = iv.intersect(down, eligible_set)
    downtime = iv.total(counted)
    unknown = iv.total(iv.intersect(iv.clip(state.unknown, month_start, end), eligible_set))
    known = eligible - unknown
    availability = (known - downtime) / known if known > 0 else None
    # Rounded to the microsecond: (1 - 0.9992) is 0.0008000000000000229 as a float.
    budget = round((1 - target) * (month_end - month_start - iv.total(month_maintenance)), 6)
    outages = tuple(_outages(down, counted))
    return Figures(
        start=month_start,
        end=end,
        month_end=month_end,
        target=target,
        eligible=eligible,
        maintenance=iv.total(iv.clip(month_maintenance, month_start, end)),
        downtime=downtime,
        unknown=unknown,
        availability=availability,
        met=None if availability is None else availability >= target,
        error_budget=budget,
        error_budget_remaining=budget - downtime,
        outages=outages,
    )


def extend(f: Figures, state: str, now: float, maintenance: Intervals) -> Figures:
    """``f`` carried on from ``f.end`` to ``now`` with the tenant in ``state`` all along (up,
    down or unknown): the same figures ``figures`` gives for the longer period, in constant
    time. The collector uses it between scrapes while no probe changes state."""
    lo, hi = f.end, min(now, f.month_end)
    if hi <= lo:
        return f
    in_maintenance = iv.total(iv.clip(maintenance, lo, hi))
    grown = (hi - lo) - in_maintenance  # eligible time added
    downtime = f.downtime + (grown if state == "down" else 0.0)
    unknown = f.unknown + (grown if state == "unknown" else 0.0)
    eligible = f.eligible + grown
    known = eligible - unknown
    availability = (known - downtime) / known if known > 0 else None
    outages = f.outages
    if state == "down":
        last = outages[-1] if outages and outages[-1].end == lo else None
        longer = (Outage(last.start, hi, hi - last.start, last.counted_seconds + grown) if last
                  else Outage(lo, hi, hi - lo, grown))
        outages = (outages[:-1] if last else outages) + (longer,)
    return Figures(
        start=f.start, end=hi, month_end=f.month_end, target=f.target, eligible=eligible,
        maintenance=f.maintenance + in_maintenance, downtime=downtime, unknown=unknown,
        availability=availability, met=None if availability is None else availability >= f.target,
        error_budget=f.error_budget, error_budget_remaining=f.error_budget - downtime, outages=outages,
    )


def eligible_time(maintenance: Intervals, start: float, end: float) -> Intervals:
    """``[start, end)`` minus maintenance."""
    return iv.subtract([(start, end)], maintenance) if start < end else []


def _outages(down: Intervals, counted: Intervals):
    # Each counted piece lies inside exactly one down interval: one merge-walk suffices.
    j = 0
    for start, end in down:
        seconds = 0.0
        while j < len(counted) and counted[j][0] < end:
            seconds += counted[j][1] - counted[j][0]
            j += 1
        yield Outage(start, end, end - start, seconds)
