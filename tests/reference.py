"""A deliberately naive second implementation of docs/semantics.md, for the tests.

Written from the document alone, so that ``tests/test_reference.py`` can hold the engine to
it. It shares no calculation code with ``exporter``: only ``exporter.config`` is used, to
read a config file into its dataclasses (config parsing is not what is under test here), and
those are converted at once into the plain rules below with every duration in integer ms.

Method, deliberately brute force:

- every instant and duration is an int (ms since the epoch); no float ever enters a sum;
- per probe, the observations sorted by time become one piece ``[t_i, min(t_{i+1}, t_i + S))``
  each, labelled up or down by the run it belongs to (found by walking the list);
- for a tenant, every boundary (piece ends, window occurrence ends, the month edges and
  ``until``) is collected; between two consecutive boundaries nothing changes, so the state
  of each elementary segment is evaluated once at its start, by looking the instant up in
  every probe's pieces and in every window occurrence;
- corrections (the ledger's active entries) are looked up per elementary segment too: the
  covering one with the highest id decides; ``excluded`` segments count like maintenance
  for eligibility but separately;
- maintenance occurrences come straight from dateutil's rrule with DTSTART 2000-01-01 00:00
  (naive), days only, combined with the start time by the document's rule for local times,
  implemented here from UTC offsets rather than with ``fold``.

Results are exact: ``availability`` is a Fraction, durations are ms.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

MS = dt.timedelta(milliseconds=1)
EPOCH = dt.datetime(1970, 1, 1)  # naive: used for wall times taken "as if UTC"
DAY_MS = 86_400_000

# --- the rules, from a loaded config ----------------------------------------------------------


@dataclass(frozen=True)
class ProbeRules:
    name: str
    stale_after: int  # S, ms
    failure_threshold: int  # K


@dataclass(frozen=True)
class WindowRules:
    name: str
    start: dt.time  # local wall time
    duration: int  # ms
    timezone: str
    rrule: str | None
    date: dt.date | None


@dataclass(frozen=True)
class TenantRules:
    name: str
    probes: tuple[ProbeRules, ...]
    down_when: str
    target: Fraction  # the decimal as written
    windows: tuple[WindowRules, ...]
    quorum: int = 1  # locations that must see a probe down


@dataclass(frozen=True)
class Rules:
    timezone: str
    tenants: tuple[TenantRules, ...]

    def tenant(self, name: str) -> TenantRules:
        return next(t for t in self.tenants if t.name == name)


def _ms_field(obj, name: str) -> int:
    """A duration field of a config dataclass in integer ms (``<name>_ms`` if the model has
    one; otherwise float seconds, which came from an exact ms value)."""
    value = getattr(obj, name + "_ms", None)
    if value is not None:
        return int(value)
    return round(getattr(obj, name) * 1000)


def _target(value) -> Fraction:
    """The target as the decimal written in the config (a float is read as its repr)."""
    if isinstance(value, (Decimal, Fraction)):
        return Fraction(value)
    return Fraction(Decimal(repr(value)))


def rules_from_config(cfg) -> Rules:
    """Plain rules from ``exporter.config.load``'s result."""
    tenants = []
    for t in cfg.tenants:
        probes = tuple(ProbeRules(p.name, _ms_field(p, "stale_after"), int(p.failure_threshold)) for p in t.probes)
        windows = tuple(
            WindowRules(w.name, w.start, _ms_field(w, "duration"), w.timezone, w.rrule, w.date) for w in t.windows
        )
        tenants.append(TenantRules(t.name, probes, t.down_when, _target(t.target), windows, int(t.quorum)))
    return Rules(cfg.timezone, tuple(tenants))


def load_rules(path: str) -> Rules:
    from exporter import config  # config parsing only

    return rules_from_config(config.load(path))


# --- time -----------------------------------------------------------------------------------------


def offset_ms(instant: int, zone: ZoneInfo) -> int:
    """UTC offset of ``zone`` at ``instant`` (UTC -> local is never ambiguous)."""
    local = dt.datetime.fromtimestamp(instant // 1000, dt.UTC).astimezone(zone)
    return local.utcoffset() // MS


def wall_to_ms(wall: dt.datetime, zone: ZoneInfo) -> int:
    """The instant of naive local wall time ``wall`` in ``zone``, by the document's rule: the
    one instant if there is one; the first if ambiguous; read with the offset before the
    gap if it does not exist. (Assumes at most one offset change within two days, true of
    every zone the tests use.)"""
    w = (wall - EPOCH) // MS  # the wall time read as if it were UTC
    before = offset_ms(w - 2 * DAY_MS, zone)
    after = offset_ms(w + 2 * DAY_MS, zone)
    candidates = sorted({w - before, w - after})
    valid = [u for u in candidates if offset_ms(u, zone) == w - u]
    if valid:
        return valid[0]  # ambiguous: the first one
    return w - before  # nonexistent: the offset before the gap


def local_date(instant: int, zone: ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(instant // 1000, dt.UTC).astimezone(zone).date()


def month_bounds_ms(year: int, month: int, timezone: str) -> tuple[int, int]:
    zone = ZoneInfo(timezone)
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return wall_to_ms(dt.datetime(year, month, 1), zone), wall_to_ms(dt.datetime(*nxt, 1), zone)


_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_time_ms(text: str) -> int:
    """RFC 3339 with an offset -> ms since the epoch, sub-millisecond digits truncated."""
    m = _TIME_RE.match(text.strip())
    if not m:
        raise ValueError(f"not an RFC 3339 time with an offset: {text!r}")
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    wall = (dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s)) - EPOCH) // MS
    wall += int((frac or "").ljust(3, "0")[:3])
    offset = 0 if z else (1 if sign == "+" else -1) * (int(oh) * 60 + int(om)) * 60_000
    return wall - offset


def seconds_to_ms(now: float) -> int:
    """An instant given in seconds, read as the decimal it prints as, truncated to the ms."""
    return int((Decimal(repr(now)) * 1000).to_integral_value(rounding="ROUND_FLOOR"))


# --- maintenance windows --------------------------------------------------------------------------

ANCHOR = dt.datetime(2000, 1, 1)  # DTSTART of every rule, naive local, 00:00


def _rule_days(text: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """Days in [first, last] that the RRULE ``text`` selects, anchored at 2000-01-01; UNTIL
    names the last day that may be selected (its time, and any Z, ignored)."""
    s = "".join(text.split()).upper()
    s = s.removeprefix("RRULE:")
    kept, until = [], None
    for part in s.strip(";").split(";"):
        name, _, value = part.partition("=")
        if name == "UNTIL":
            until = dt.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
        else:
            kept.append(part)
    rule = rrulestr(";".join(kept), dtstart=ANCHOR)
    lo = dt.datetime.combine(first, dt.time())
    hi = dt.datetime.combine(last, dt.time())
    days = [d.date() for d in rule.between(lo, hi, inc=True)]
    return [d for d in days if until is None or d <= until]


def occurrences(window: WindowRules, lo: int, hi: int) -> list[tuple[int, int]]:
    """Occurrences ``[s, s + duration)`` of ``window`` that overlap ``[lo, hi)``, unclipped."""
    zone = ZoneInfo(window.timezone)
    pad = window.duration // DAY_MS + 2  # an occurrence may begin up to `duration` before lo
    first = local_date(lo, zone) - dt.timedelta(days=pad)
    last = local_date(hi, zone) + dt.timedelta(days=1)
    if window.rrule is not None:
        days = _rule_days(window.rrule, first, last)
    else:
        days = [window.date] if first <= window.date <= last else []
    out = []
    for day in days:
        s = wall_to_ms(dt.datetime.combine(day, window.start), zone)
        e = s + window.duration
        if s < hi and e > lo:
            out.append((s, e))
    return out


# --- observations ----------------------------------------------------------------------------------


class Refused(Exception):
    """An import the document says must be refused; ``line`` is the offending line."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass
class History:
    """What was observed: per (tenant, probe, location), instant (ms) -> success."""

    obs: dict[tuple[str, str, str], dict[int, bool]] = field(default_factory=dict)

    def import_csv(self, text: str, rules: Rules, location: str = "default") -> int:
        """Import one CSV file, all or nothing. Returns the number of new observations;
        raises Refused for a bad or conflicting row (and keeps nothing from the file).
        Rows without a location (no fifth column, or an empty one) are ``location``'s."""
        rows = list(csv.reader(text.splitlines()))
        header = [c.strip().lower() for c in rows[0]] if rows else []
        if header not in (["time", "tenant", "probe", "success"], ["time", "tenant", "probe", "success", "location"]):
            raise Refused(1, "bad header")
        width = len(header)
        known = {(t.name, p.name) for t in rules.tenants for p in t.probes}
        pending: dict[tuple[str, str, str, int], tuple[bool, int]] = {}
        for n, row in enumerate(rows[1:], start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                raise Refused(n, f"expected {width} fields")
            time_text, tenant, probe, ok_text = (c.strip() for c in row[:4])
            place = (row[4].strip() if width == 5 else "") or location
            try:
                t = parse_time_ms(time_text)
            except ValueError as e:
                raise Refused(n, str(e)) from None
            ok = {"1": True, "0": False, "true": True, "false": False}.get(ok_text.lower())
            if ok is None:
                raise Refused(n, f"bad success {ok_text!r}")
            if (tenant, probe) not in known:
                raise Refused(n, "unknown probe")
            recorded = self.obs.get((tenant, probe, place), {}).get(t)
            if recorded is not None and recorded != ok:
                raise Refused(n, "contradicts the store")
            key = (tenant, probe, place, t)
            if key in pending and pending[key][0] != ok:
                raise Refused(n, f"contradicts line {pending[key][1]}")
            pending.setdefault(key, (ok, n))
        new = 0
        for (tenant, probe, place, t), (ok, _) in pending.items():
            series = self.obs.setdefault((tenant, probe, place), {})
            if t not in series:
                series[t] = ok
                new += 1
        return new

    def of(self, tenant: str, probe: str, location: str = "default") -> list[tuple[int, bool]]:
        return sorted(self.obs.get((tenant, probe, location), {}).items())

    def locations(self, tenant: str, probe: str) -> list[str]:
        return sorted({loc for t, p, loc in self.obs if (t, p) == (tenant, probe)})


# --- probe state -----------------------------------------------------------------------------------


def probe_pieces(observations: list[tuple[int, bool]], stale_after: int, threshold: int) -> list[tuple[int, int, str]]:
    """One piece ``(start, end, "up" | "down")`` per observation: its coverage, labelled by
    its run. ``observations`` sorted by time, one per instant. Uncovered time is unknown."""
    n = len(observations)
    pieces = []
    i = 0
    while i < n:
        j = i  # extend the run while the result is the same and the gap is at most S
        while (
            j + 1 < n
            and observations[j + 1][1] == observations[i][1]
            and observations[j + 1][0] - observations[j][0] <= stale_after
        ):
            j += 1
        failed = not observations[i][1]
        state = "down" if failed and (j - i + 1) >= threshold else "up"
        for k in range(i, j + 1):
            t = observations[k][0]
            end = t + stale_after
            if k + 1 < n:
                end = min(end, observations[k + 1][0])
            pieces.append((t, end, state))
        i = j + 1
    return pieces


def state_at(pieces: list[tuple[int, int, str]], starts: list[int], x: int) -> str:
    i = bisect.bisect_right(starts, x) - 1
    if i >= 0 and pieces[i][0] <= x < pieces[i][1]:
        return pieces[i][2]
    return "unknown"


def quorum(states: list[str], k: int) -> str:
    """A probe's state from its locations' states at one instant (docs/semantics.md)."""
    if states.count("down") >= k:
        return "down"
    return "unknown" if len(states) - states.count("unknown") < k else "up"


def tenant_state(states: list[str], down_when: str) -> str:
    if down_when == "all":
        if all(s == "down" for s in states):
            return "down"
        return "up" if "up" in states else "unknown"
    if "down" in states:
        return "down"
    return "unknown" if "unknown" in states else "up"


# --- the figures ------------------------------------------------------------------------------------


def _in_any(x: int, intervals: list[tuple[int, int]]) -> bool:
    return any(s <= x < e for s, e in intervals)


def _covered_length(intervals: list[tuple[int, int]], lo: int, hi: int) -> int:
    """|union(intervals) ∩ [lo, hi)| by elementary segments."""
    points = sorted({lo, hi} | {p for s, e in intervals for p in (s, e) if lo < p < hi})
    return sum(b - a for a, b in pairwise(points) if _in_any(a, intervals))


def _decider(corrections: list[tuple[int, int, int, str]], x: int) -> tuple[int, int, int, str] | None:
    """The active correction that decides instant ``x``: of those covering it, the most
    recent (highest id); None when none covers it."""
    covering = [c for c in corrections if c[1] <= x < c[2]]
    return max(covering) if covering else None


def tenant_figures(
    tenant: TenantRules,
    history: History,
    m0: int,
    m1: int,
    until: int,
    cut: int | None,
    corrections: list[tuple[int, int, int, str]] = (),  # type: ignore[assignment]
) -> dict:
    """Figures of one tenant for month [m0, m1) over the period [m0, until); observations
    at or after ``cut`` are ignored (None: use them all). ``corrections``: the tenant's
    active corrections ``(id, start, end, as)`` (the document's "Corrections")."""
    windows = [o for w in tenant.windows for o in occurrences(w, m0, m1)]
    probes = []  # per probe, per location: (pieces, their starts)
    for p in tenant.probes:
        at = []
        for loc in history.locations(tenant.name, p.name):
            obs = [(t, ok) for t, ok in history.of(tenant.name, p.name, loc) if cut is None or t < cut]
            pieces = probe_pieces(obs, p.stale_after, p.failure_threshold)
            at.append((pieces, [pc[0] for pc in pieces]))
        probes.append(at)
    points = {m0, until}
    for at in probes:
        for pieces, _ in at:
            for s, e, _state in pieces:
                points.update((s, e))
    for s, e in windows:
        points.update((s, e))
    for _, s, e, _as in corrections:
        points.update((s, e))
    points = sorted(x for x in points if m0 <= x <= until)
    totals = {"maintenance": 0, "eligible": 0, "downtime": 0, "unknown": 0, "excluded": 0}
    changed = {c[0]: 0 for c in corrections}
    outages: list[list[int]] = []  # [start, end, counted]
    for a, b in pairwise(points):
        length = b - a
        in_window = _in_any(a, windows)
        measured = tenant_state(
            [quorum([state_at(pcs, starts, a) for pcs, starts in at], tenant.quorum) for at in probes],
            tenant.down_when,
        )
        decider = _decider(corrections, a)
        state = decider[3] if decider is not None and decider[3] in ("up", "down") else measured
        excluded = decider is not None and decider[3] == "excluded"
        if decider is not None and not in_window and (excluded or decider[3] != measured):
            changed[decider[0]] += length
        if in_window:
            totals["maintenance"] += length
        elif excluded:
            totals["excluded"] += length
        else:
            totals["eligible"] += length
            if state == "down":
                totals["downtime"] += length
            elif state == "unknown":
                totals["unknown"] += length
        if state == "down":
            counted = 0 if in_window or excluded else length
            if outages and outages[-1][1] == a:
                outages[-1][1] = b
                outages[-1][2] += counted
            else:
                outages.append([a, b, counted])
    known = totals["eligible"] - totals["unknown"]
    availability = Fraction(known - totals["downtime"], known) if known > 0 else None
    # The budget's base: the whole month outside maintenance and excluded time.
    month_points = (
        {m0, m1} | {x for s, e in windows for x in (s, e)} | {x for _, s, e, _ in corrections for x in (s, e)}
    )
    month_eligible = 0
    for a, b in pairwise(sorted(x for x in month_points if m0 <= x <= m1)):
        decider = _decider(corrections, a)
        if not _in_any(a, windows) and not (decider is not None and decider[3] == "excluded"):
            month_eligible += b - a
    budget = round((1 - tenant.target) * month_eligible)  # Fraction: half to even
    return {
        "tenant": tenant.name,
        "availability": availability,
        "met": None if availability is None else availability >= tenant.target,
        "eligible_ms": totals["eligible"],
        "maintenance_ms": totals["maintenance"],
        "downtime_ms": totals["downtime"],
        "unknown_ms": totals["unknown"],
        "excluded_ms": totals["excluded"],
        "error_budget_ms": budget,
        "error_budget_remaining_ms": budget - totals["downtime"],
        "outages": [(s, e, e - s, c) for s, e, c in outages],
        "changed_ms": changed,
    }


def report(
    rules: Rules,
    history: History,
    year: int,
    month: int,
    tenants: list[str] | None = None,
    now_ms: int | None = None,
    corrections: list[tuple[int, str, int, int, str]] = (),  # type: ignore[assignment]
) -> dict:
    """The month's figures for ``tenants`` (default all), complete or at ``now_ms``;
    ``corrections``: the active ones, ``(id, tenant, start, end, as)``."""
    m0, m1 = month_bounds_ms(year, month, rules.timezone)
    if now_ms is None or now_ms >= m1:
        complete, until, cut = True, m1, None
    else:
        complete, until, cut = False, max(m0, now_ms), now_ms
    names = tenants if tenants is not None else [t.name for t in rules.tenants]
    return {
        "month": f"{year:04d}-{month:02d}",
        "timezone": rules.timezone,
        "start_ms": m0,
        "end_ms": m1,
        "complete": complete,
        "until_ms": until,
        "tenants": [
            tenant_figures(
                rules.tenant(n), history, m0, m1, until, cut, [(i, s, e, a) for i, t, s, e, a in corrections if t == n]
            )
            for n in names
        ],
    }
