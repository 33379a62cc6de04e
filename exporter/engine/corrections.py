"""Corrections: the ledger's entries laid over the measured tenant state. Pure.

A correction says that over ``[start, end)`` the tenant was ``up`` or ``down`` whatever was
measured, or that the time is ``excluded`` (not eligible, like maintenance). Where active
corrections overlap, the most recent one (the highest id: ids grow with recording order)
decides. Revoked corrections are not active; a revocation is an entry of its own, so that
the ledger is only ever appended to (docs/semantics.md, "Corrections").

Times are integer milliseconds, as in the rest of the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from exporter.engine import intervals as iv
from exporter.engine.intervals import Intervals
from exporter.engine.states import StateIntervals
from exporter.model import LedgerEntry

STATES = ("up", "down", "excluded")
CATEGORIES = ("false-positive", "force-majeure", "customer-caused", "maintenance", "other")


class Correction(NamedTuple):
    """An active correction: the fields the calculation needs."""

    id: int
    start: int  # ms, included
    end: int  # ms, excluded
    state: str  # up | down | excluded
    category: str


class Overlay(NamedTuple):
    """Which correction decides where: ``parts[id]`` is the time it decides (the most
    recent active one wins); ``up``, ``down`` and ``excluded`` their unions; ``all`` the
    time any correction decides."""

    parts: dict[int, Intervals]
    up: Intervals
    down: Intervals
    excluded: Intervals
    all: Intervals


EMPTY = Overlay({}, [], [], [], [])


def active(entries: Iterable[Correction], revoked: Iterable[int]) -> list[Correction]:
    """The corrections of ``entries`` not revoked, in id order."""
    gone = set(revoked)
    return sorted((c for c in entries if c.id not in gone), key=lambda c: c.id)


def overlay(corrections: Iterable[Correction], lo: int, hi: int) -> Overlay:
    """The time each active correction decides within ``[lo, hi)``: later ids win."""
    covered: Intervals = []
    parts: dict[int, Intervals] = {}
    by_state: dict[str, list[Intervals]] = {s: [] for s in STATES}
    for c in sorted(corrections, key=lambda c: c.id, reverse=True):
        span = iv.clip([(c.start, c.end)] if c.start < c.end else [], lo, hi)
        mine = iv.subtract(span, covered)
        if not span:
            continue
        covered = iv.union(covered, span)
        parts[c.id] = mine
        by_state[c.state].append(mine)
    if not parts:
        return EMPTY
    up, down, excluded = (iv.union(*by_state[s]) if by_state[s] else [] for s in STATES)
    return Overlay(parts, up, down, excluded, covered)


def apply(state: StateIntervals, ov: Overlay) -> StateIntervals:
    """The measured ``state`` with the corrections of ``ov`` laid over it: ``up`` and
    ``down`` replace whatever was measured (unknown time included); excluded time keeps
    its measured state (it is taken out of eligible time by the figures instead, so that
    outages stay whole, as with maintenance)."""
    if not ov.all:
        return state
    decided = iv.union(ov.up, ov.down)
    return StateIntervals(
        up=iv.union(iv.subtract(state.up, decided), ov.up),
        down=iv.union(iv.subtract(state.down, decided), ov.down),
        unknown=iv.subtract(state.unknown, decided),
    )


def changed(
    state: StateIntervals, ov: Overlay, corrections: Iterable[Correction], eligible: Intervals
) -> dict[int, int]:
    """Per correction, the ms of ``eligible`` time (the period outside maintenance) whose
    state it changes: ``up`` over measured down or unknown time, ``down`` over measured up
    or unknown time, ``excluded`` over any eligible time. Time another correction decides
    counts for that one only."""
    out: dict[int, int] = {}
    for c in corrections:
        mine = iv.intersect(ov.parts.get(c.id, []), eligible)
        if c.state == "up":
            mine = iv.subtract(mine, state.up)
        elif c.state == "down":
            mine = iv.subtract(mine, state.down)
        out[c.id] = iv.total(mine)
    return out


def from_ledger(entries: Iterable[LedgerEntry], tenant: str) -> tuple[Correction, ...]:
    """The active corrections of ``tenant`` in ``entries`` (the ledger), in id order."""
    mine = [e for e in entries if e.tenant == tenant]
    revoked = {e.revokes for e in mine if e.kind == "revocation"}
    return tuple(
        Correction(e.id, e.start, e.end, e.state, e.category)  # type: ignore[arg-type]
        for e in mine
        if e.kind == "correction" and e.id not in revoked
    )


def refusal(start: int, end: int, now: int, max_age_ms: int) -> str | None:
    """Why a correction of ``[start, end)`` recorded at ``now`` is refused, or None. A
    correction describes the past and may not reach further back than ``max_age_ms``:
    ``now − max_age ≤ start < end ≤ now``."""
    if end <= start:
        return "'to' must be after 'from'"
    if end > now:
        return "'to' is in the future: a correction describes what has happened"
    if start < now - max_age_ms:
        return f"'from' is older than sla.corrections.max_age ({_days(max_age_ms)}): corrections are refused there"
    return None


def _days(ms: int) -> str:
    return f"{ms // 86_400_000}d" if ms % 86_400_000 == 0 else f"{ms / 1000:g}s"
