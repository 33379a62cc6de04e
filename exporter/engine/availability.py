"""The availability formula of docs/semantics.md, for a month or month to date. Pure.

    maintenance = union(windows) ∩ period        eligible = period − maintenance
    downtime    = down ∩ eligible                unknown  = unknown ∩ eligible
    availability = (eligible − unknown − downtime) / (eligible − unknown)   (None when 0)
    error_budget = (1 − target) × eligible of the WHOLE month
    error_budget_remaining = error_budget − downtime        met = availability ≥ target

Times and durations are integer milliseconds, so every figure is exact: the budget is
rounded to the millisecond (half to even) from the target as written, and ``met`` is
decided in exact arithmetic, not on the rounded ratio.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

from exporter.engine import intervals as iv
from exporter.engine.intervals import Intervals, T
from exporter.engine.states import StateIntervals


class Outage(NamedTuple):
    """A maximal stretch of tenant downtime within the period; ``counted`` is the
    part outside maintenance, the part that costs budget."""

    start: int
    end: int
    duration: int  # ms
    counted: int  # ms outside maintenance


class Figures(NamedTuple):
    # A NamedTuple, not a dataclass: the collector builds one per tenant per scrape.
    # All times and durations in integer milliseconds.
    start: int  # period start (month start)
    end: int  # period end: month end, or "now" for month to date
    month_end: int
    target: float
    eligible: int
    maintenance: int
    downtime: int
    unknown: int
    availability: float | None
    met: bool | None
    error_budget: int
    error_budget_remaining: int
    outages: tuple[Outage, ...]
    excluded: int = 0  # ms taken out of eligible time by corrections (outside maintenance)


def figures(
    state: StateIntervals,
    maintenance: Intervals,
    month_start: int,
    month_end: int,
    target: float,
    now: int | None = None,
    eligible_set: Intervals | None = None,
    excluded: Intervals | None = None,
) -> Figures:
    """Figures for ``[month_start, min(now, month_end))``.

    ``state`` must cover at least that period; ``maintenance`` is the tenant's merged
    windows for the whole month (the budget is a whole-month figure). ``eligible_set``, the
    period minus maintenance, may be passed in when many tenants share the same windows.
    ``excluded`` (corrections ``as: excluded``, for the whole month) is taken out of
    eligible time like maintenance, and out of the budget's base.
    """
    end = month_end if now is None else max(month_start, min(now, month_end))
    month_maintenance = iv.clip(maintenance, month_start, month_end)
    if eligible_set is None:
        eligible_set = eligible_time(maintenance, month_start, end)
    excluded_ms = 0
    budget_base = month_end - month_start - iv.total(month_maintenance)
    if excluded:
        month_excluded = iv.clip(excluded, month_start, month_end)
        before = iv.total(eligible_set)
        eligible_set = iv.subtract(eligible_set, month_excluded)
        excluded_ms = before - iv.total(eligible_set)
        budget_base -= iv.total(iv.subtract(month_excluded, month_maintenance))
    eligible = iv.total(eligible_set)
    down = iv.clip(state.down, month_start, end)
    counted = iv.intersect(down, eligible_set)
    downtime = iv.total(counted)
    unknown = iv.total(iv.intersect(iv.clip(state.unknown, month_start, end), eligible_set))
    known = eligible - unknown
    availability = (known - downtime) / known if known > 0 else None
    budget = error_budget(target, budget_base)
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
        met=met(known, downtime, target),
        error_budget=budget,
        error_budget_remaining=budget - downtime,
        outages=outages,
        excluded=excluded_ms,
    )


def error_budget(target: float, eligible: int) -> int:
    """``(1 − target) × eligible`` with ``target`` as written in the config (0.9992, not the
    float's 0.99919999…), rounded to the millisecond, half to even."""
    return int(((1 - Decimal(repr(target))) * eligible).to_integral_value(ROUND_HALF_EVEN))


def met(known: int, downtime: int, target: float) -> bool | None:
    """``(known − downtime) / known ≥ target``, decided exactly; None when nothing is known."""
    if known <= 0:
        return None
    num, den = _as_written(target)
    return (known - downtime) * den >= num * known  # integers: exact whatever the size


@functools.lru_cache(maxsize=1024)
def _as_written(target: float) -> tuple[int, int]:
    """``target`` as written in the config (its repr), as an exact fraction: the collector
    decides ``met`` for every tenant on every scrape, and a config has few targets."""
    return Decimal(repr(target)).as_integer_ratio()


def extend(f: Figures, state: str, now: int, maintenance: Intervals, in_maintenance: int | None = None) -> Figures:
    """``f`` carried on from ``f.end`` to ``now`` with the tenant in ``state`` all along (up,
    down or unknown): the same figures ``figures`` gives for the longer period, in constant
    time. The collector uses it between scrapes while no probe changes state.
    ``in_maintenance``: the maintenance time in ``[f.end, min(now, month end))`` when the
    caller knows it (tenants share windows: the collector sums them once a scrape)."""
    lo, hi = f.end, min(now, f.month_end)
    if hi <= lo:
        return f
    if in_maintenance is None:
        in_maintenance = iv.total(iv.clip(maintenance, lo, hi))
    grown = (hi - lo) - in_maintenance  # eligible time added
    downtime = f.downtime + (grown if state == "down" else 0)
    unknown = f.unknown + (grown if state == "unknown" else 0)
    eligible = f.eligible + grown
    known = eligible - unknown
    availability = (known - downtime) / known if known > 0 else None
    outages = f.outages
    if state == "down":
        last = outages[-1] if outages and outages[-1].end == lo else None
        longer = (
            Outage(last.start, hi, hi - last.start, last.counted + grown) if last else Outage(lo, hi, hi - lo, grown)
        )
        outages = (outages[:-1] if last else outages) + (longer,)
    return Figures(
        start=f.start,
        end=hi,
        month_end=f.month_end,
        target=f.target,
        eligible=eligible,
        maintenance=f.maintenance + in_maintenance,
        downtime=downtime,
        unknown=unknown,
        availability=availability,
        met=met(known, downtime, f.target),
        error_budget=f.error_budget,
        error_budget_remaining=f.error_budget - downtime,
        outages=outages,
        excluded=f.excluded,
    )


def eligible_time(maintenance: list[tuple[T, T]], start: T, end: T) -> list[tuple[T, T]]:
    """``[start, end)`` minus maintenance (in any unit, as ``intervals``)."""
    return iv.subtract([(start, end)], maintenance) if start < end else []


def _outages(down: Intervals, counted: Intervals) -> Iterator[Outage]:
    # Each counted piece lies inside exactly one down interval: one merge-walk suffices.
    j = 0
    for start, end in down:
        inside = 0
        while j < len(counted) and counted[j][0] < end:
            inside += counted[j][1] - counted[j][0]
            j += 1
        yield Outage(start, end, end - start, inside)
