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
from typing import TypeVar

# The unit of a set: integer milliseconds in the availability calculation (Intervals),
# float seconds for maintenance windows shown to people (maintenance_intervals).
T = TypeVar("T", int, float)

Interval = tuple[int, int]
Intervals = list[Interval]


def normalize(pairs: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """Sort, drop empty pairs, merge overlapping and touching ones."""
    ordered = sorted([p for p in pairs if p[0] < p[1]])
    if not ordered:
        return []
    out: list[tuple[T, T]] = []
    it = iter(ordered)
    cur_start, cur_end = next(it)  # the pair being grown, in locals (a report's hot loop)
    for start, end in it:
        if start <= cur_end:
            if end > cur_end:
                cur_end = end
        else:
            out.append((cur_start, cur_end))
            cur_start, cur_end = start, end
    out.append((cur_start, cur_end))
    return out


def union(*sets: list[tuple[T, T]]) -> list[tuple[T, T]]:
    return normalize([p for s in sets for p in s])


def intersect(a: list[tuple[T, T]], b: list[tuple[T, T]]) -> list[tuple[T, T]]:
    out: list[tuple[T, T]] = []
    if not a or not b:
        return out
    # The pairs unpacked into locals: the report intersects tens of thousands of sets.
    na, nb = len(a), len(b)
    i = j = 0
    a0, a1 = a[0]
    b0, b1 = b[0]
    while True:
        start = b0 if b0 > a0 else a0  # max(a0, b0), min(a1, b1): the first on a tie
        end = b1 if b1 < a1 else a1
        if start < end:
            out.append((start, end))
        # Advance whichever ends first; it cannot meet anything later in the other set.
        if a1 < b1:
            i += 1
            if i == na:
                return out
            a0, a1 = a[i]
        else:
            j += 1
            if j == nb:
                return out
            b0, b1 = b[j]


def intersect_all(sets: list[list[tuple[T, T]]]) -> list[tuple[T, T]]:
    """Intersection of several sets; the empty list intersects to the empty set."""
    if not sets:
        return []
    out = sets[0]
    for s in sets[1:]:
        out = intersect(out, s)
    return out


def subtract(a: list[tuple[T, T]], b: list[tuple[T, T]]) -> list[tuple[T, T]]:
    """Everything in ``a`` that is not in ``b``."""
    if not b:
        return [(start, end) for start, end in a if start < end]
    out: list[tuple[T, T]] = []
    nb = len(b)
    j = 0
    for start, end in a:
        while j < nb and b[j][1] <= start:
            j += 1
        k = j
        cur = start
        while k < nb:
            b0, b1 = b[k]
            if b0 >= end:
                break
            if b0 > cur:
                out.append((cur, b0))
            cur = max(cur, b1)
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def clip(a: list[tuple[T, T]], lo: T, hi: T) -> list[tuple[T, T]]:
    """``a`` restricted to ``[lo, hi)``; ``a`` itself when it lies inside already (sets are
    never mutated, so sharing is safe and saves the copy on the scrape path)."""
    if lo >= hi:
        return []
    if not a or (a[0][0] >= lo and a[-1][1] <= hi):
        return a
    return intersect(a, [(lo, hi)])


def total(a: list[tuple[T, T]]) -> T:
    return sum([end - start for start, end in a])
