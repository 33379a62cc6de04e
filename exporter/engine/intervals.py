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
    out: list[tuple[T, T]] = []
    for start, end in sorted(p for p in pairs if p[0] < p[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def union(*sets: list[tuple[T, T]]) -> list[tuple[T, T]]:
    return normalize(p for s in sets for p in s)


def intersect(a: list[tuple[T, T]], b: list[tuple[T, T]]) -> list[tuple[T, T]]:
    out: list[tuple[T, T]] = []
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
    out: list[tuple[T, T]] = []
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


def clip(a: list[tuple[T, T]], lo: T, hi: T) -> list[tuple[T, T]]:
    """``a`` restricted to ``[lo, hi)``; ``a`` itself when it lies inside already (sets are
    never mutated, so sharing is safe and saves the copy on the scrape path)."""
    if lo >= hi:
        return []
    if not a or (a[0][0] >= lo and a[-1][1] <= hi):
        return a
    return intersect(a, [(lo, hi)])


def total(a: list[tuple[T, T]]) -> T:
    return sum(end - start for start, end in a)
