"""Probe observations -> runs -> probe state -> tenant state (PRODUCT.md "Semantics").

A *run* is what the store keeps: a maximal sequence of consecutive observations of one
probe with the same result and no gap longer than ``stale_after`` between them. It covers
``[start, end)``, where ``end`` is where the last observation stops holding: the next
observation, or ``last + stale_after``. Keeping runs instead of observations makes the
history grow with state changes, not with probe count; the failure threshold is applied
when reading (a failed run of ``count >= failure_threshold`` is down), so the stored data
never depends on it.

A gap longer than ``stale_after`` (unknown time) ends a run: failures on both sides of the
monitor's own outage are not "consecutive".

Pure functions; time is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from exporter import intervals as iv
from exporter.intervals import Intervals


class Run(NamedTuple):
    # A NamedTuple: one or two are made for every probe result and every scrape reads them.
    success: bool
    start: float  # time of the first observation
    last: float  # time of the last observation
    end: float  # end of coverage of the last observation
    count: int  # observations in the run


class ConflictError(ValueError):
    """An observation contradicts recorded history at the same instant."""

    def __init__(self, time: float, success: bool, run: Run):
        self.time, self.success, self.run = time, success, run
        super().__init__(
            f"{'success' if success else 'failure'} at {time} contradicts the recorded "
            f"{'success' if run.success else 'failure'} run {run.start}..{run.last}"
        )


def merge(runs: Sequence[Run], observations: Iterable[tuple[float, bool]], stale_after: float) -> list[Run]:
    """Merge observations into a probe's runs; returns the new sorted run list.

    ``runs`` must be sorted and disjoint (as the store keeps them). An observation that
    falls inside a recorded run with the same result is already accounted for and adds
    nothing, which makes importing the same data twice a no-op. One that falls inside a
    recorded run with the other result raises ConflictError.
    """
    fresh: list[Run] = []
    obs = sorted(observations)
    i = 0
    for n, (t, ok) in enumerate(obs):
        if n and obs[n - 1][0] == t:
            if obs[n - 1][1] != ok:
                raise ConflictError(t, ok, Run(obs[n - 1][1], t, t, t, 1))
            continue
        while i < len(runs) and runs[i].last < t:
            i += 1
        if i < len(runs) and runs[i].start <= t:
            if runs[i].success != ok:
                raise ConflictError(t, ok, runs[i])
            continue
        fresh.append(Run(ok, t, t, t + stale_after, 1))
    if not fresh:
        return list(runs)
    out: list[Run] = []
    for run in sorted([*runs, *fresh], key=lambda r: r.start):
        if out:
            prev = out[-1]
            if prev.success == run.success and run.start - prev.last <= stale_after:
                out[-1] = Run(prev.success, prev.start, run.last, run.end, prev.count + run.count)
                continue
            if run.start < prev.end:  # an observation holds only until the next one
                out[-1] = Run(prev.success, prev.start, prev.last, run.start, prev.count)
        out.append(run)
    return out


class StateIntervals(NamedTuple):
    """Up, down and unknown time over a range; the three partition it."""

    up: Intervals
    down: Intervals
    unknown: Intervals


def probe_state(runs: Iterable[Run], failure_threshold: int, lo: float, hi: float) -> StateIntervals:
    """State of one probe over ``[lo, hi)`` from its runs."""
    up: list[tuple[float, float]] = []
    down: list[tuple[float, float]] = []
    for run in runs:
        span = (max(run.start, lo), min(run.end, hi))
        if span[0] < span[1]:
            (up if run.success or run.count < failure_threshold else down).append(span)
    up_n, down_n = iv.normalize(up), iv.normalize(down)
    return StateIntervals(up_n, down_n, iv.subtract([(lo, hi)], iv.union(up_n, down_n)) if lo < hi else [])


def tenant_state(probes: Sequence[StateIntervals], down_when: str, lo: float, hi: float) -> StateIntervals:
    """Combine probe states: ``any`` = down while any probe is down, else unknown while
    any is unknown; ``all`` = down while every probe is down, up while any is up."""
    whole = [(lo, hi)] if lo < hi else []
    if down_when == "all":
        down = iv.intersect_all([p.down for p in probes])
        up = iv.union(*(p.up for p in probes))
        return StateIntervals(up, down, iv.subtract(whole, iv.union(up, down)))
    down = iv.union(*(p.down for p in probes))
    unknown = iv.subtract(iv.union(*(p.unknown for p in probes)), down)
    return StateIntervals(iv.subtract(whole, iv.union(down, unknown)), down, unknown)


def probe_state_at(last: Run | None, failure_threshold: int, t: float) -> str:
    """The state of a probe at instant ``t`` from its last run: up, down or unknown. The
    same as ``probe_state`` over an instant, without the interval algebra: the daemon asks
    this for every probe every second."""
    if last is None or not last.start <= t < last.end:
        return "unknown"
    return "up" if last.success or last.count < failure_threshold else "down"


def tenant_state_at(probe_states: Sequence[str], down_when: str) -> str:
    """``tenant_state`` for one instant, from the probes' states at that instant."""
    if down_when == "all":
        if probe_states and all(s == "down" for s in probe_states):
            return "down"
        return "up" if "up" in probe_states else "unknown"
    if "down" in probe_states:
        return "down"
    return "unknown" if "unknown" in probe_states else "up"
