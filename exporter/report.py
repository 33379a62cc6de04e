"""The monthly report: one document (the pinned JSON shape) rendered as json, csv or a
table for people. The month in progress is cut at "now", exactly as /metrics does
(docs/semantics.md), and says so: ``"complete": false, "until": <now>``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

from exporter.engine.accounting import Prefetched, Views, store_runs, tenant_views
from exporter.engine.availability import Figures
from exporter.engine.corrections import from_ledger
from exporter.engine.credits import credit_ratio
from exporter.engine.months import month_bounds_ms
from exporter.engine.units import format_duration, format_percent, instant_ms
from exporter.errors import UserError
from exporter.model import Config, LedgerEntry, Tenant
from exporter.store import ledger
from exporter.store.sqlite import Store

SECONDS_KEYS = (
    "eligible_seconds",
    "maintenance_seconds",
    "downtime_seconds",
    "unknown_seconds",
    "error_budget_seconds",
    "error_budget_remaining_seconds",
)


def rfc3339(t: float, tz: ZoneInfo) -> str:
    """Epoch seconds as RFC 3339 in ``tz``."""
    return dt.datetime.fromtimestamp(t, tz).isoformat()


def rfc3339_ms(ms: int, tz: ZoneInfo) -> str:
    """Epoch milliseconds as RFC 3339 in ``tz``, exact (no float on the way)."""
    # replace(), not + timedelta: adding to an aware time is wall-clock arithmetic, which
    # loses the fold (the second 03:30 of a fall-back night). Whole seconds (most times)
    # need no replace(): a report formats some 150,000 of them at 10,000 tenants.
    stamp = dt.datetime.fromtimestamp(ms // 1000, tz)
    return (stamp.replace(microsecond=ms % 1000 * 1000) if ms % 1000 else stamp).isoformat()


def _seconds(ms: int) -> float:
    return ms / 1000


def build(cfg: Config, store: Store, year: int, month: int, tenants: list[Tenant], now: float | None = None) -> dict:
    """The report of ``year-month``; with ``now`` (epoch seconds) inside the month, the
    month to date: cut at ``now``, observations from ``now`` on left out. The error budget
    still refers to the whole month. The tenants' figures are corrected (the ledger's
    active corrections applied); ``measured`` holds them without corrections."""
    return compute(cfg, store, year, month, tenants, now)[0]


def document(cfg: Config, store: Store, month: str | tuple[int, int], tenant: str | None, now: float | None) -> dict:
    """The JSON document of ``month`` ("YYYY-MM" or (year, month)) for ``tenant`` (None:
    every tenant) as of ``now``: what ``report --format json`` prints."""
    year, mon = parse_month(month)
    return build(cfg, store, year, mon, select(cfg, tenant), now)


def parse_month(month: str | tuple[int, int]) -> tuple[int, int]:
    """ "YYYY-MM" or (year, month) -> (year, month); ValueError naming what was expected."""
    if isinstance(month, tuple):
        return month
    try:
        stamp = dt.datetime.strptime(month, "%Y-%m")
    except (TypeError, ValueError):
        raise ValueError(f"expected a month YYYY-MM, got {month!r}") from None
    return stamp.year, stamp.month


def select(cfg: Config, name: str | None) -> list[Tenant]:
    """Every tenant, or the one named; UnknownTenant (a UserError) naming the known ones."""
    if name is None:
        return list(cfg.tenants)
    tenant = cfg.tenant(name)
    if tenant is None:
        known = ", ".join(t.name for t in cfg.tenants)
        raise UnknownTenant(f"unknown tenant {name!r} (the config has: {known})")
    return [tenant]


class UnknownTenant(UserError):
    pass


def compute(
    cfg: Config, store: Store, year: int, month: int, tenants: list[Tenant], now: float | None = None
) -> tuple[dict, dict[str, Views]]:
    """The document, and each tenant's views (for the HTML report's charts)."""
    tz = ZoneInfo(cfg.timezone)
    start, end = month_bounds_ms(year, month, cfg.timezone)
    now_ms = None if now is None else instant_ms(now)
    in_progress = now_ms is not None and now_ms < end
    until = max(start, now_ms) if in_progress else end
    # Every probe's series of the month in one read: a query per probe was half the time.
    source = Prefetched(store, start, until, store.all_series(start, until))
    runs_of = store_runs(source, until if in_progress else None)
    entries = store.ledger()
    rows = []
    views: dict[str, Views] = {}
    for tenant in tenants:
        v = tenant_views(runs_of, tenant, start, end, until if in_progress else None, from_ledger(entries, tenant.name))
        views[tenant.name] = v
        corrected = _figures(v.corrected, tenant, tz)
        # Without corrections both views are the same figures: formatted once (the outages'
        # times are most of the cost), a dict of their own for each.
        measured = dict(corrected) if v.measured is v.corrected else _figures(v.measured, tenant, tz)
        rows.append(
            {
                "tenant": tenant.name,
                "environment": tenant.environment,
                "target": tenant.target,
                # Where the history came from, and how many of them must agree (docs/semantics.md).
                "locations": sorted({loc for p in tenant.probes for loc in store.locations(tenant.name, p.name)}),
                "quorum": tenant.quorum,
                **corrected,
                "measured": measured,
                "corrections": _corrections(entries, tenant.name, start, end, v.changed, tz),
            }
        )
    doc = {
        "month": f"{year:04d}-{month:02d}",
        "timezone": cfg.timezone,
        "start": rfc3339_ms(start, tz),
        "end": rfc3339_ms(end, tz),
        "complete": not in_progress,
        "until": rfc3339_ms(until, tz),
        "tenants": rows,
    }
    return doc, views


def _figures(f: Figures, tenant: Tenant, tz: ZoneInfo) -> dict:
    return {
        "availability": f.availability,
        "met": f.met,
        "eligible_seconds": _seconds(f.eligible),
        "maintenance_seconds": _seconds(f.maintenance),
        "downtime_seconds": _seconds(f.downtime),
        "unknown_seconds": _seconds(f.unknown),
        "error_budget_seconds": _seconds(f.error_budget),
        "error_budget_remaining_seconds": _seconds(f.error_budget_remaining),
        "outages": [
            {
                "start": rfc3339_ms(o.start, tz),
                "end": rfc3339_ms(o.end, tz),
                "seconds": _seconds(o.duration),
                "counted_seconds": _seconds(o.counted),
            }
            for o in f.outages
        ],
        "excluded_seconds": _seconds(f.excluded),
        "credit_ratio": credit_ratio(f, tenant.credits),
    }


def _corrections(
    entries: list[LedgerEntry], tenant: str, start: int, end: int, changed: dict[int, int], tz: ZoneInfo
) -> list[dict]:
    """The tenant's corrections that touch ``[start, end)``, revoked ones included (with
    their revocation), each with the seconds of the period whose state it changes."""
    revocations = {e.revokes: e for e in entries if e.kind == "revocation" and e.tenant == tenant}
    out = []
    for e in entries:
        if e.kind != "correction" or e.tenant != tenant or not (e.start < end and e.end > start):  # type: ignore[operator]
            continue
        r = revocations.get(e.id)
        out.append(
            {
                **ledger.entry_doc(e, tz),
                "seconds": _seconds(changed.get(e.id, 0)),
                "revoked": None
                if r is None
                else {k: v for k, v in ledger.entry_doc(r, tz).items() if k in _REVOCATION},
            }
        )
    return out


_REVOCATION = ("id", "reason", "by", "recorded_at")


def to_json(doc: dict) -> str:
    """``json.dumps(doc, indent=2)`` and a newline, byte for byte (tests/test_report.py
    checks it against the stdlib), written in one pass: with ``indent`` the stdlib takes
    its pure-Python encoder, whose nested generators were a second of a report of 10,000
    tenants (Python 3.14's C encoder indents; 3.11's does not). Scalars go through the
    functions the stdlib uses; a document that is not plain JSON data (keys other than
    strings, say) is left to the stdlib whole."""
    out: list[str] = []
    try:
        _dump(doc, "\n", out)
    except _NotPlain:
        return json.dumps(doc, indent=2) + "\n"
    out.append("\n")
    return "".join(out)


class _NotPlain(Exception):
    pass


_quoted = json.encoder.encode_basestring_ascii  # json.dumps' own (C) string escaping
_repr_float = float.__repr__
_repr_int = int.__repr__
_CONSTANTS = {None: "null", True: "true", False: "false"}


def _scalar(value: object) -> str | None:
    """The JSON of a str, int, float, bool or None as json.dumps writes it; None for
    anything else (containers)."""
    kind = type(value)
    if kind is str:
        return _quoted(value)  # type: ignore[arg-type]
    if kind is float:
        text = _repr_float(value)  # type: ignore[arg-type]
        return json.dumps(value) if text in ("nan", "inf", "-inf") else text
    if kind is int:
        return _repr_int(value)  # type: ignore[arg-type]
    if kind is bool or value is None:
        return _CONSTANTS[value]  # type: ignore[index]
    return None


def _dump(value: object, level: str, out: list[str]) -> None:
    """Append ``value`` as ``json.dumps(value, indent=2)`` writes it at the depth whose
    line break and indentation is ``level``."""
    text = _scalar(value)
    if text is not None:
        out.append(text)
        return
    kind = type(value)
    if kind is dict:
        if not value:
            out.append("{}")
            return
        inner = level + "  "
        sep = "{" + inner
        for k, v in value.items():  # type: ignore[attr-defined]
            if type(k) is not str:
                raise _NotPlain
            text = _scalar(v)
            if text is None:
                out.append(sep + _quoted(k) + ": ")
                _dump(v, inner, out)
            else:
                out.append(sep + _quoted(k) + ": " + text)
            sep = "," + inner
        out.append(level + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = level + "  "
        sep = "[" + inner
        for v in value:  # type: ignore[attr-defined]
            text = _scalar(v)
            if text is None:
                out.append(sep)
                _dump(v, inner, out)
            else:
                out.append(sep + text)
            sep = "," + inner
        out.append(level + "]")
    else:
        raise _NotPlain


def _cell(value: float | bool | None) -> str:
    """A CSV cell: empty for null, true/false, floats as repr (exact)."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def to_csv(doc: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # The pinned columns first; what came later (corrections, credits, locations) after them.
    header = [
        "month",
        "tenant",
        "environment",
        "target",
        "availability",
        "met",
        *SECONDS_KEYS,
        "outages",
        "excluded_seconds",
        "corrections",
        "measured_availability",
        "credit_ratio",
        "locations",
        "quorum",
    ]
    writer.writerow(header)
    for row in doc["tenants"]:
        writer.writerow(
            [doc["month"], row["tenant"], row["environment"], row["target"], _cell(row["availability"])]
            + [_cell(row["met"])]
            + [row[k] for k in SECONDS_KEYS]
            + [len(row["outages"]), row["excluded_seconds"]]
            + [sum(1 for c in row["corrections"] if c["revoked"] is None)]
            + [_cell(row["measured"]["availability"]), _cell(row["credit_ratio"])]
            + [" ".join(row["locations"]), row["quorum"]]
        )
    return out.getvalue()


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]


def _local(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S %z")


def to_table(doc: dict) -> str:
    lines = [f"Month {doc['month']} in {doc['timezone']}: {_local(doc['start'])} to {_local(doc['end'])}"]
    if not doc.get("complete", True):
        lines.append(f"IN PROGRESS: figures to {_local(doc['until'])} (now); the budget is the whole month's")
    lines.append("")
    met_header = "MET" if doc.get("complete", True) else "MET SO FAR"
    rows = [
        [
            "TENANT",
            "ENVIRONMENT",
            "TARGET",
            "AVAILABILITY",
            met_header,
            "ELIGIBLE",
            "MAINTENANCE",
            "DOWNTIME",
            "UNKNOWN",
            "BUDGET",
            "REMAINING",
            "OUTAGES",
        ]
    ]
    for r in doc["tenants"]:
        met = "n/a" if r["met"] is None else ("yes" if r["met"] else "NO")
        rows.append(
            [r["tenant"], r["environment"], format_percent(r["target"]), format_percent(r["availability"]), met]
            + [format_duration(r[k]) for k in SECONDS_KEYS]
            + [str(len(r["outages"]))]
        )
    lines += _table(rows, right=set(range(2, 12)) - {4})
    for r in doc["tenants"]:
        if not r["outages"]:
            continue
        lines += ["", f"Outages of {r['tenant']}:"]
        orows = [["START", "END", "DURATION", "COUNTED"]] + [
            [_local(o["start"]), _local(o["end"]), format_duration(o["seconds"]), format_duration(o["counted_seconds"])]
            for o in r["outages"]
        ]
        lines += ["  " + line for line in _table(orows, right={2, 3})]
    owed = [r for r in doc["tenants"] if r.get("credit_ratio")]
    if owed:
        lines += ["", "Service credits owed: " + ", ".join(f"{r['tenant']} {r['credit_ratio'] * 100:g}%" for r in owed)]
    for r in doc["tenants"]:
        if not r.get("corrections"):
            continue
        lines += [
            "",
            f"Corrections of {r['tenant']} (figures above include them; measured availability "
            f"{format_percent(r['measured']['availability'])}):",
        ]
        crows = [["ID", "FROM", "TO", "AS", "CATEGORY", "CHANGED", "BY", "REASON"]] + [
            [
                str(c["id"]),
                _local(c["from"]),
                _local(c["to"]),
                c["as"] + (f" (revoked by {c['revoked']['id']})" if c["revoked"] else ""),
                c["category"],
                format_duration(c["seconds"]),
                c["by"],
                c["reason"],
            ]
            for c in r["corrections"]
        ]
        lines += ["  " + line for line in _table(crows, right={0, 5})]
    return "\n".join(lines) + "\n"


FORMATS = {"json": to_json, "csv": to_csv, "table": to_table}
