"""Half-open interval sets on the time line.

The functions work in any numeric unit; the availability calculation passes integer
milliseconds since the epoch, so that every sum and comparison is exact.

A set is a list of ``(start, end)`` pairs, sorted, with ``start < end``, pairwise
disjoint and not touching (touching pairs are merged). Every function takes sets in
that normal form and returns one; ``normalize`` makes one from any pairs.
Pure functions, no I/O: the whole availability calculation is built from these.
"""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[int, int]
Intervals = list[Interval]


def normalize(pairs: Iterable[Interval]) -> Intervals:
    """Sort, drop empty pairs, merge overlapping and touching ones."""
    out: Intervals = []
    for start, end in sorted(p for p in pairs if p[0] < p[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def union(*sets: Intervals) -> Intervals:
    return normalize(p for s in sets for p in s)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        # Advance whichever ends first; it cannot meet anything later in the other set.
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def intersect_all(sets: list[Intervals]) -> Intervals:
    """Intersection of several sets; the empty list intersects to the empty set."""
    if not sets:
        return []
    out = sets[0]
    for s in sets[1:]:
        out = intersect(out, s)
    return out


def subtract(a: Intervals, b: Intervals) -> Intervals:
    """Everything in ``a`` that is not in ``b``."""
    out: Intervals = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        cur = start
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def clip(a: Intervals, lo: float, hi: float) -> Intervals:
    """``a`` restricted to ``[lo, hi)``; ``a`` itself when it lies inside already (sets are
    never mutated, so sharing is safe and saves the copy on the scrape path)."""
    if lo >= hi:
        return []
    if not a or (a[0][0] >= lo and a[-1][1] <= hi):
        return a
    return intersect(a, [(lo, hi)])


def total(a: Intervals) -> float:
    return sum(end - start for start, end in a)
