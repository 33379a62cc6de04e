"""Probe observations -> runs -> probe state -> tenant state (docs/semantics.md).

Two representations of a probe's history, both in integer milliseconds since the epoch:

- A ``Series`` is what the store keeps: observations with the same result at evenly spaced
  times ``start, start + step, ...`` (``count`` of them). It holds exactly what was observed
  and nothing that depends on the config, so a config change re-reads history
  consistently. The daemon stamps results with their scheduled slot, so a steady probe is
  one series a month; irregular (imported) times cost a series per one or two rows.
- A ``Run`` is what the calculation reads, for one ``stale_after``: a maximal sequence of
  consecutive observations with the same result and no gap longer than ``stale_after``.
  It covers ``[start, end)``, where ``end`` is where its last observation stops holding:
  the next observation, or ``last + stale_after``. A failed run of ``count >=
  failure_threshold`` is down. A gap longer than ``stale_after`` (unknown time) ends a
  run: failures on both sides of the monitor's own outage are not "consecutive".

Pure functions; time is always passed in. The interval functions work in any unit; the
callers pass integer milliseconds, so every comparison of a gap with ``stale_after`` is
exact.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import NamedTuple, TypeAlias

from exporter.engine import intervals as iv
from exporter.engine.intervals import Intervals


class Series(NamedTuple):
    """Observations with result ``success`` at ``start + i * step`` for ``i < count`` (ms).
    ``step`` is 0 when ``count`` is 1."""

    success: bool
    start: int
    step: int
    count: int  # type: ignore[assignment]  # the field shadows tuple.count(); mypy objects, Python does not

    @property
    def last(self) -> int:
        return self.start + self.step * (self.count - 1)

    def holds(self, t: int) -> bool:
        """Whether ``t`` is one of the series' observation times."""
        if not self.start <= t <= self.last:
            return False
        return t == self.start or (t - self.start) % self.step == 0

    def times(self) -> range:
        return range(self.start, self.last + 1, self.step or 1)


_STEPS: dict[int, int] = {}


def shared_step(step: int) -> int:
    """One int object per distinct step: a fleet's series mostly share a few steps (their
    probes' intervals), and a daemon keeps hundreds of thousands of series in memory, each
    step a 32-byte int of its own as read from the store (13 MB at 10,000 tenants).
    Bounded: irregular history (each series its own step) is not kept here."""
    got = _STEPS.get(step)
    if got is not None:
        return got
    if len(_STEPS) < 4096:
        _STEPS[step] = step
    return step


class Run(NamedTuple):
    # A NamedTuple: one or two are made for every probe result and every scrape reads them.
    success: bool
    start: int  # time of the first observation
    last: int  # time of the last observation
    end: int  # end of coverage of the last observation
    count: int  # type: ignore[assignment]  # observations in the run (shadows tuple.count(), as in Series)


class ConflictError(ValueError):
    """An observation contradicts recorded history at the same instant."""

    def __init__(self, time: int, success: bool, recorded: Series):
        self.time, self.success, self.series = time, success, recorded
        super().__init__(
            f"{'success' if success else 'failure'} at {time} ms contradicts the recorded "
            f"{'success' if recorded.success else 'failure'} at the same instant"
        )


def _joined(a: Series, b: Series) -> Series | None:
    """``a`` and ``b`` (``b`` after ``a``) as one series, or None when they are not one
    evenly spaced sequence with the same result."""
    if a.success != b.success:
        return None
    gap = b.start - a.last
    if a.count > 1 and b.count > 1:
        ok = a.step == b.step == gap
    else:
        ok = gap > 0 and (a.count == 1 or a.step == gap) and (b.count == 1 or b.step == gap)
    return Series(a.success, a.start, gap, a.count + b.count) if ok else None


def _split(s: Series, t: int) -> tuple[Series | None, Series | None]:
    """``s`` without ``t`` (not one of its times): the observations before and after it."""
    if t < s.start:
        return None, s
    if t > s.last:
        return s, None
    n = (t - s.start) // s.step + 1  # observations before t
    left = Series(s.success, s.start, s.step if n > 1 else 0, n)
    rest = s.count - n
    right = Series(s.success, s.start + n * s.step, s.step if rest > 1 else 0, rest)
    return left, right


def insert(series: Sequence[Series], observations: Iterable[tuple[int, bool]]) -> tuple[list[Series], int]:
    """Add observations to a probe's series; returns (new sorted series, observations that
    were new). ``series`` must be sorted with disjoint spans (as the store keeps them).

    An observation already recorded with the same result adds nothing (importing the same
    rows twice changes nothing); one recorded with the other result raises ConflictError,
    as do two new ones at the same instant with different results. One that falls between
    the times of a recorded series splits it, so that it counts in its place (its count, its
    coverage) whatever the order in which history arrived. One pass over both, sorted.
    """
    out: list[Series] = []
    old = iter(series)
    cur = next(old, None)
    added = 0
    prev: tuple[int, bool] | None = None
    for t, ok in sorted(observations):
        if prev is not None and prev[0] == t:
            if prev[1] != ok:
                raise ConflictError(t, ok, Series(prev[1], t, 0, 1))
            continue
        prev = (t, ok)
        while cur is not None and cur.last < t:  # recorded series wholly before t
            _push(out, cur)
            cur = next(old, None)
        if cur is not None and cur.start <= t:  # t falls in cur's span
            if cur.holds(t):
                if cur.success != ok:
                    raise ConflictError(t, ok, cur)
                continue
            left, cur = _split(cur, t)
            _push(out, left)
        _push(out, Series(ok, t, 0, 1))
        added += 1
    while cur is not None:
        _push(out, cur)
        cur = next(old, None)
    return out, added


def series_of(observations: Iterable[tuple[int, bool]]) -> list[Series]:
    """The series of observations sorted by time with distinct times: what ``insert``
    gives into nothing, without its checks (the importer's hot loop has made them)."""
    out: list[Series] = []
    ok = False
    start = step = count = last = 0
    for t, result in observations:
        if count and result == ok and (count == 1 or t - last == step):
            if count == 1:
                step = t - last
            count += 1
        else:
            if count:
                out.append(Series(ok, start, step if count > 1 else 0, count))
            ok, start, step, count = result, t, 0, 1
        last = t
    if count:
        out.append(Series(ok, start, step if count > 1 else 0, count))
    return out


def merge(series: Sequence[Series], new: Iterable[Series]) -> tuple[list[Series], int]:
    """``insert`` for observations given as series (sorted, disjoint spans): the same result
    and count, but a new series whose span meets no recorded one is taken whole, so adding a
    month of a steady probe costs one step, not one per observation. Where spans overlap,
    the new series' observations go through ``insert`` against just the recorded series
    they overlap (an import streams history in as series: ``importer``)."""
    if not series:
        return _appended(new)
    out: list[Series] = []
    pending = list(series)[::-1]  # recorded series still to place, next one last
    added = 0
    for s in new:
        while pending and pending[-1].last < s.start:
            _push(out, pending.pop())
        if pending and _within(s, pending[-1]):
            continue  # already recorded, all of it (the same file imported again)
        overlap: list[Series] = []
        while pending and pending[-1].start <= s.last:
            overlap.append(pending.pop())
        if not overlap:
            if out and out[-1].last >= s.start:  # only when ``new`` overlaps itself
                raise ValueError("new series must be sorted with disjoint spans")
            _push(out, s)
            added += s.count
            continue
        # Joins with ``out`` happen when the merged series are pushed below.
        merged, n = insert(overlap, ((t, s.success) for t in s.times()))
        added += n
        # A recorded series may reach past ``s``: what lies beyond goes back to pending.
        while merged and merged[-1].start > s.last:
            pending.append(merged.pop())
        if merged and merged[-1].last > s.last:
            head, tail = _until(merged[-1], s.last + 1), _split_after(merged[-1], s.last)
            merged[-1] = head
            if tail is not None:
                pending.append(tail)
        for m in merged:
            _push(out, m)
    while pending:
        _push(out, pending.pop())
    return out, added


def _appended(new: Iterable[Series]) -> tuple[list[Series], int]:
    """``merge`` into no recorded series: each new one pushed in turn, ``_push`` and
    ``_joined`` inlined with the last one's fields in locals (an import of irregular times
    into a new store merges a series per row or two, a Python call each was a tenth of it)."""
    out: list[Series] = []
    added = 0
    have = False
    p_ok, p_start, p_step, p_count, p_last = False, 0, 0, 0, 0  # the last series in ``out``
    for s in new:
        ok, start, step, count = s
        added += count
        if have:
            if p_last >= start:
                raise ValueError("new series must be sorted with disjoint spans")
            if ok == p_ok:
                gap = start - p_last  # > 0
                if p_count > 1 and count > 1:
                    join = p_step == step == gap
                else:
                    join = (p_count == 1 or p_step == gap) and (count == 1 or step == gap)
                if join:
                    p_step, p_count = gap, p_count + count
                    p_last = start + step * (count - 1)
                    out[-1] = Series(p_ok, p_start, p_step, p_count)
                    continue
        out.append(s)
        have = True
        p_ok, p_start, p_step, p_count = s
        p_last = start + step * (count - 1)
    return out, added


def _within(s: Series, o: Series) -> bool:
    """Whether every observation of ``s`` is one of ``o`` with the same result."""
    if s.success != o.success or not o.start <= s.start <= s.last <= o.last:
        return False
    if o.count == 1:
        return True  # then s is that one observation
    return (s.start - o.start) % o.step == 0 and (s.count == 1 or s.step % o.step == 0)


def _split_after(s: Series, t: int) -> Series | None:
    """The observations of ``s`` after ``t`` (``s.start <= t``), or None."""
    if s.last <= t:
        return None
    n = (t - s.start) // s.step + 1  # observations at or before t
    rest = s.count - n
    return Series(s.success, s.start + n * s.step, s.step if rest > 1 else 0, rest)


def _push(out: list[Series], s: Series | None) -> None:
    """Append ``s`` to ``out``, joined with the last series when they continue each other."""
    if s is None:
        return
    joined = _joined(out[-1], s) if out else None
    if joined is None:
        out.append(s)
    else:
        out[-1] = joined


def append(series: list[Series], t: int, ok: bool) -> Series:
    """Add an observation later than every recorded one (the live path) in place; returns
    the series that now holds it (the last one)."""
    _push(series, Series(ok, t, 0, 1))
    return series[-1]


def runs(series: Iterable[Series], stale_after: int, until: int | None = None) -> list[Run]:
    """The runs that ``series`` (sorted, disjoint) form under ``stale_after``; observations
    at or after ``until`` are left out (the month in progress is cut at "now")."""
    out: list[Run] = []
    # ``_add_block`` inlined, the run being grown held in locals and made a Run once
    # complete: the report and the daemon's start read every series of every probe (some
    # 300,000 at 10,000 tenants), and the calls and tuples were most of the cost.
    new = tuple.__new__
    have = False  # whether (r_ok, r_start, r_last, r_end, r_count) holds a run not yet in ``out``
    r_ok, r_start, r_last, r_end, r_count = False, 0, 0, 0, 0
    for s in series:
        ok, first, step, count = s
        last = first + step * (count - 1)
        if until is not None and last >= until:
            if first >= until:
                break
            ok, first, step, count = _until(s, until)
            last = first + step * (count - 1)
        if count > 1 and step > stale_after:  # every observation a run of its own
            if have:
                out.append(new(Run, (r_ok, r_start, r_last, r_end, r_count)))
            for t in range(first, last + 1, step):
                _add_block(out, ok, t, t, 1, stale_after)
            r_ok, r_start, r_last, r_end, r_count = out.pop()  # the last one may grow
            have = True
            continue
        if have:
            if r_ok == ok and first - r_last <= stale_after:
                r_ok, r_last, r_end, r_count = ok, last, last + stale_after, r_count + count
                continue
            # an observation holds only until the next one
            out.append(new(Run, (r_ok, r_start, r_last, first if first < r_end else r_end, r_count)))
        r_ok, r_start, r_last, r_end, r_count = ok, first, last, last + stale_after, count
        have = True
    if have:
        out.append(new(Run, (r_ok, r_start, r_last, r_end, r_count)))
    return out


def _add_block(out: list[Run], ok: bool, first: int, last: int, count: int, stale_after: int) -> None:
    """Add ``count`` observations with result ``ok`` from ``first`` to ``last`` (no gap
    longer than ``stale_after`` between them), later than every one in ``out``."""
    if out:
        prev = out[-1]
        if prev.success == ok and first - prev.last <= stale_after:
            out[-1] = Run(ok, prev.start, last, last + stale_after, prev.count + count)
            return
        if first < prev.end:  # an observation holds only until the next one
            out[-1] = Run(prev.success, prev.start, prev.last, first, prev.count)
    out.append(Run(ok, first, last, last + stale_after, count))


def _until(s: Series, until: int) -> Series:
    """``s`` without its observations at or after ``until`` (``s.start < until``)."""
    n = s.count if s.last < until else (until - 1 - s.start) // (s.step or 1) + 1
    return Series(s.success, s.start, s.step if n > 1 else 0, n)


def append_run(run_list: list[Run], t: int, ok: bool, stale_after: int) -> None:
    """Add an observation later than every one in ``run_list`` (the live path), in place:
    the same runs ``runs`` gives for the longer history."""
    _add_block(run_list, ok, t, t, 1, stale_after)


def extended(last: Series | None, t: int, ok: bool) -> Series:
    """``append`` given only the last series: the series that holds an observation later
    than every recorded one (``last`` continued, or a new one)."""
    new = Series(ok, t, 0, 1)
    if last is None:
        return new
    return _joined(last, new) or new


def next_run(last: Run | None, t: int, ok: bool, stale_after: int) -> tuple[Run | None, Run]:
    """``append_run`` given only the last run: (the run that is complete now, or None when
    ``last`` goes on; the new last run). The complete run ends where the new one starts
    when it held until then."""
    if last is not None:
        if last.success == ok and t - last.last <= stale_after:
            return None, Run(ok, last.start, t, t + stale_after, last.count + 1)
        if t < last.end:
            last = Run(last.success, last.start, last.last, t, last.count)
    return last, Run(ok, t, t, t + stale_after, 1)


# Runs packed four ints each (start, last, end, count; the count negative for a failed run)
# in an array: 32 bytes a run instead of a tuple and its ints (~170 bytes). The daemon keeps
# every probe's runs since the previous month (~370,000 at 10,000 tenants x 3 probes).
Packed: TypeAlias = "array[int] | tuple[()]"  # () when empty: no array for the many probes with one run


def pack(runs: Iterable[Run], into: Packed = ()) -> Packed:
    """``into`` with ``runs`` added after its own (in place when it is an array)."""
    flat = [x for r in runs for x in (r[1], r[2], r[3], r[4] if r[0] else -r[4])]
    if not flat:
        return into
    if not into:
        return array("q", flat)
    into.extend(flat)
    return into


def unpack(packed: Packed) -> list[Run]:
    """The runs ``pack`` packed, as new tuples (a scrape's full recompute asks for every
    probe's: the ints made in C by ``tolist``, ~0.7 us a run)."""
    if not packed:
        return []
    new = tuple.__new__
    it = iter(packed.tolist())
    return [new(Run, (c > 0, a, b, e, c if c > 0 else -c)) for a, b, e, c in zip(it, it, it, it, strict=True)]


class StateIntervals(NamedTuple):
    """Up, down and unknown time over a range; the three partition it."""

    up: Intervals
    down: Intervals
    unknown: Intervals


def probe_state(runs: Iterable[Run], failure_threshold: int, lo: int, hi: int) -> StateIntervals:
    """State of one probe over ``[lo, hi)`` from its runs."""
    # One pass for runs in order with disjoint coverage (what ``runs`` and ``append_run``
    # make): spans of the same state that touch are merged as they come, and the gaps
    # between them are the unknown time. Anything else takes the general path below.
    if not isinstance(runs, list | tuple):
        runs = list(runs)
    up: Intervals = []
    down: Intervals = []
    unknown: Intervals = []
    cursor = lo
    for run in runs:
        start = run[1] if run[1] > lo else lo
        end = run[3] if run[3] < hi else hi
        if start >= end:
            continue
        if start < cursor:
            return _probe_state(runs, failure_threshold, lo, hi)
        if start > cursor:
            unknown.append((cursor, start))
        into = up if run[0] or run[4] < failure_threshold else down
        if into and into[-1][1] == start:
            into[-1] = (into[-1][0], end)
        else:
            into.append((start, end))
        cursor = end
    if cursor < hi:
        unknown.append((cursor, hi))
    return StateIntervals(up, down, unknown)


def _probe_state(runs: Iterable[Run], failure_threshold: int, lo: int, hi: int) -> StateIntervals:
    up: Intervals = []
    down: Intervals = []
    for run in runs:
        span = (max(run.start, lo), min(run.end, hi))
        if span[0] < span[1]:
            (up if run.success or run.count < failure_threshold else down).append(span)
    up_n, down_n = iv.normalize(up), iv.normalize(down)
    return StateIntervals(up_n, down_n, iv.subtract([(lo, hi)], iv.union(up_n, down_n)) if lo < hi else [])


def tenant_state(probes: Sequence[StateIntervals], down_when: str, lo: int, hi: int) -> StateIntervals:
    """Combine probe states: ``any`` = down while any probe is down, else unknown while
    any is unknown; ``all`` = down while every probe is down, up while any is up."""
    whole: Intervals = [(lo, hi)] if lo < hi else []
    if down_when == "all":
        down = iv.intersect_all([p.down for p in probes])
        up = iv.union(*(p.up for p in probes))
        return StateIntervals(up, down, iv.subtract(whole, iv.union(up, down)))
    if not any(p.down or p.unknown for p in probes):  # the common case: up all along
        return StateIntervals(whole, [], [])
    down = iv.union(*(p.down for p in probes))
    unknown = iv.subtract(iv.union(*(p.unknown for p in probes)), down)
    return StateIntervals(iv.subtract(whole, iv.union(down, unknown)), down, unknown)


def quorum_state(locations: Sequence[StateIntervals], quorum: int, lo: int, hi: int) -> StateIntervals:
    """A probe's state over ``[lo, hi)`` from its states at several locations: down while at
    least ``quorum`` locations see it down; otherwise unknown while fewer than ``quorum``
    have a known state (up or down); otherwise up. One location with quorum 1 is that
    location's state. One sweep over the locations' boundaries."""
    if len(locations) == 1 and quorum == 1:
        return locations[0]
    events: dict[int, list[int]] = {}  # t -> [change in down, change in known]
    for loc in locations:
        for part, down in ((loc.down, 1), (loc.up, 0)):
            for a, b in part:
                a, b = max(a, lo), min(b, hi)
                if a < b:
                    events.setdefault(a, [0, 0])
                    events.setdefault(b, [0, 0])
                    events[a][0] += down
                    events[a][1] += 1
                    events[b][0] -= down
                    events[b][1] -= 1
    up: Intervals = []
    down_out: Intervals = []
    unknown: Intervals = []
    n_down = n_known = 0
    cursor = lo
    for t in [*sorted(events), hi]:
        if t > cursor:
            target = down_out if n_down >= quorum else unknown if n_known < quorum else up
            target.append((cursor, min(t, hi)))
            cursor = t
        if t >= hi:
            break
        change = events[t]
        n_down, n_known = n_down + change[0], n_known + change[1]
    return StateIntervals(iv.normalize(up), iv.normalize(down_out), iv.normalize(unknown))


def quorum_state_at(states: Sequence[str], quorum: int) -> str:
    """``quorum_state`` at one instant, from each location's state there."""
    if sum(s == "down" for s in states) >= quorum:
        return "down"
    return "unknown" if sum(s != "unknown" for s in states) < quorum else "up"


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
