"""The monthly report as one self-contained HTML page: figures against the target, margin,
budget and credit per tenant, a day-by-day availability chart and the month's timeline
(inline SVG), the corrections with their reasons and authors, and the month's support
cases. No external asset (no fonts, scripts or images to fetch), and print CSS for A4, so
that the file can be mailed, archived, or printed to PDF as it is.

Built with the standard library (``html.escape`` and f-strings): the page is small and
fixed, and every value that comes from users (names, reasons, titles) goes through one
escaping function, ``_e``.
"""

from __future__ import annotations

import datetime as dt
import html as _html
from zoneinfo import ZoneInfo

from exporter.engine.accounting import Views, day_figures
from exporter.engine.months import local_midnight, month_bounds_ms
from exporter.engine.units import format_duration, format_percent
from exporter.model import Config
from exporter.report import compute, parse_month, select
from exporter.store.sqlite import Store
from exporter.support import deadlines

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 9.5pt; color: #111;
       max-width: 186mm; margin: 0 auto; padding: 6mm 0; line-height: 1.35; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 13pt; margin: 6mm 0 2mm; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; break-after: avoid; }
p.meta { color: #444; margin: 0 0 3mm; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; }
th, td { border-bottom: 0.3mm solid #ccc; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.met { color: #0a6b2d; font-weight: 600; } .missed { color: #b00020; font-weight: 600; }
.muted { color: #666; }
.revoked { text-decoration: line-through; color: #777; }
svg { display: block; width: 100%; height: auto; margin: 1mm 0 2mm; }
svg text { font-family: inherit; font-size: 9px; fill: #333; }
section.tenant { break-before: page; }
table, svg, .keep { break-inside: avoid; }
tr { break-inside: avoid; }
.legend span { display: inline-block; margin-right: 5mm; }
.sw { display: inline-block; width: 3mm; height: 3mm; vertical-align: middle; margin-right: 1mm; }
@media screen { body { padding: 10mm; } }
"""

_W = 720  # SVG user units across; the page scales it to the text width


def _e(value: object) -> str:
    return _html.escape("" if value is None else str(value), quote=True)


def html(cfg: Config, store: Store, month: str | tuple[int, int], tenant: str | None, now: float | None) -> str:
    """The page for ``month`` ("YYYY-MM" or (year, month)) and ``tenant`` (None: every
    tenant) as of ``now`` (epoch seconds): the figures of ``report.document``."""
    year, mon = parse_month(month)
    tenants = select(cfg, tenant)
    doc, views = compute(cfg, store, year, mon, tenants, now)
    names = {t.name for t in tenants}
    start, end = month_bounds_ms(year, mon, cfg.timezone)
    at = (end / 1000) if now is None else now
    incidents = [i for i in store.incidents() if i.tenant in names and start <= i.opened * 1000 < end]
    requests = [r for r in store.requests() if r.tenant in names and start <= r.opened * 1000 < end]
    return _page(cfg, doc, views, incidents, requests, at, year, mon)


def _page(cfg, doc, views, incidents, requests, at, year, mon) -> str:
    tz = ZoneInfo(cfg.timezone)
    status = "complete" if doc["complete"] else f"in progress: figures to {_when(doc['until'])}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>SLA report {_e(doc['month'])}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{CSS}</style></head><body>",
        f"<h1>SLA report {_e(doc['month'])}</h1>",
        f'<p class="meta">{_e(_when(doc["start"]))} to {_e(_when(doc["end"]))} ({_e(doc["timezone"])}); '
        f"{_e(status)}. Figures include the corrections listed; the measured figures are shown beside "
        f"them. Generated {_e(dt.datetime.fromtimestamp(at, tz).strftime('%Y-%m-%d %H:%M %Z'))}.</p>",
        _summary(doc),
    ]
    for row in doc["tenants"]:
        tenant = cfg.tenant(row["tenant"])
        parts.append(
            _tenant(
                cfg,
                doc,
                row,
                views[row["tenant"]],
                [i for i in incidents if i.tenant == row["tenant"]],
                [r for r in requests if r.tenant == row["tenant"]],
                at,
                year,
                mon,
                tenant.credits if tenant else (),
            )
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _when(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S %z")


def _pct(ratio: float | None) -> str:
    return format_percent(ratio)


def _margin(row: dict) -> str:
    if row["availability"] is None:
        return "n/a"
    return f"{(row['availability'] - row['target']) * 100:+.3f} pp"


def _met(row: dict, complete: bool = True) -> str:
    if row["met"] is None:
        return '<span class="muted">n/a</span>'
    return '<span class="met">met</span>' if row["met"] else '<span class="missed">missed</span>'


def _credit(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:g}%"


def _summary(doc: dict) -> str:
    rows = [
        "<table><thead><tr><th>Tenant</th><th class=n>Target</th><th class=n>Availability</th>"
        "<th class=n>Margin</th><th>Met</th><th class=n>Budget left</th><th class=n>Credit</th></tr></thead><tbody>"
    ]
    for r in doc["tenants"]:
        rows.append(
            f"<tr><td>{_e(r['tenant'])}</td><td class=n>{_pct(r['target'])}</td>"
            f"<td class=n>{_pct(r['availability'])}</td><td class=n>{_margin(r)}</td><td>{_met(r)}</td>"
            f"<td class=n>{_e(format_duration(r['error_budget_remaining_seconds']))}</td>"
            f"<td class=n>{_credit(r['credit_ratio'])}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _figures_table(row: dict) -> str:
    m = row["measured"]
    lines = [
        ("Availability", _pct(row["availability"]), _pct(m["availability"])),
        ("Target met", _met(row), _met(m)),
        ("Margin", _margin(row), _margin({**m, "target": row["target"]})),
        ("Eligible time", format_duration(row["eligible_seconds"]), format_duration(m["eligible_seconds"])),
        ("Maintenance", format_duration(row["maintenance_seconds"]), format_duration(m["maintenance_seconds"])),
        ("Excluded by corrections", format_duration(row["excluded_seconds"]), format_duration(m["excluded_seconds"])),
        ("Downtime", format_duration(row["downtime_seconds"]), format_duration(m["downtime_seconds"])),
        ("Unknown", format_duration(row["unknown_seconds"]), format_duration(m["unknown_seconds"])),
        ("Error budget", format_duration(row["error_budget_seconds"]), format_duration(m["error_budget_seconds"])),
        (
            "Budget remaining",
            format_duration(row["error_budget_remaining_seconds"]),
            format_duration(m["error_budget_remaining_seconds"]),
        ),
        ("Outages", str(len(row["outages"])), str(len(m["outages"]))),
        ("Service credit", _credit(row["credit_ratio"]), _credit(m["credit_ratio"])),
    ]
    body = "".join(
        f"<tr><td>{_e(name)}</td><td class=n>{a}</td><td class='n muted'>{b}</td></tr>" for name, a, b in lines
    )
    return (
        "<table class=keep><thead><tr><th>Figure</th><th class=n>Reported (corrected)</th>"
        f"<th class=n>As measured</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _days(cfg: Config, year: int, mon: int) -> list[tuple[dt.date, int, int]]:
    first = dt.date(year, mon, 1)
    out = []
    day = first
    while day.month == mon:
        nxt = day + dt.timedelta(days=1)
        out.append(
            (day, round(local_midnight(day, cfg.timezone) * 1000), round(local_midnight(nxt, cfg.timezone) * 1000))
        )
        day = nxt
    return out


def _daily_chart(cfg: Config, v: Views, target: float, year: int, mon: int) -> str:
    days = _days(cfg, year, mon)
    values: list[float | None] = []
    for _, lo, hi in days:
        eligible, down, unknown = day_figures(v, lo, hi)
        known = eligible - unknown
        values.append((known - down) / known if known > 0 else None)
    seen = [x for x in values if x is not None]
    low = min([*seen, target])
    floor = max(0.0, int((low - max(1 - low, 0.0005) * 0.5) * 1000) / 1000)  # a little below, 0.1 % steps
    height, top, left, bottom = 150, 8, 46, 22
    plot_h = height - top - bottom
    step = (_W - left - 4) / len(days)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - floor) / (1 - floor)) if floor < 1 else top

    bars = []
    for i, ((day, _, _), value) in enumerate(zip(days, values, strict=True)):
        x = left + i * step
        if value is not None:
            colour = "#2e7d32" if value >= target else "#c62828"
            bars.append(
                f'<rect x="{x + 1:.1f}" y="{y(value):.1f}" width="{step - 2:.1f}" '
                f'height="{top + plot_h - y(value):.1f}" fill="{colour}"><title>{day.isoformat()}: '
                f"{_pct(value)}</title></rect>"
            )
        if day.day == 1 or day.day % 5 == 0:
            bars.append(f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle">{day.day}</text>')
    axis = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{_W - 4}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">100%</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">{floor * 100:g}%</text>',
        f'<line x1="{left}" y1="{y(target):.1f}" x2="{_W - 4}" y2="{y(target):.1f}" stroke="#1565c0" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{_W - 6}" y="{y(target) - 3:.1f}" text-anchor="end" fill="#1565c0">target {_pct(target)}</text>',
    ]
    return (
        f'<svg viewBox="0 0 {_W} {height}" role="img" aria-label="availability by day">'
        + "".join(axis + bars)
        + "</svg>"
    )


def _timeline(doc: dict, row: dict, v: Views) -> str:
    start = dt.datetime.fromisoformat(doc["start"]).timestamp() * 1000
    end = dt.datetime.fromisoformat(doc["end"]).timestamp() * 1000
    left, width, height = 4, _W - 8, 58

    def x(ms: float) -> float:
        return left + width * (min(max(ms, start), end) - start) / (end - start)

    def rects(intervals, y0, h, fill, extra="") -> list[str]:
        return [
            f'<rect x="{x(a):.2f}" y="{y0}" width="{max(x(b) - x(a), 0.8):.2f}" height="{h}" fill="{fill}"{extra}/>'
            for a, b in intervals
        ]

    shapes = [f'<rect x="{left}" y="6" width="{width}" height="30" fill="#e8f5e9"/>']
    shapes += rects(v.maintenance, 2, 38, "#9e9e9e", ' fill-opacity="0.45"')
    shapes += rects(v.excluded, 2, 38, "#7e57c2", ' fill-opacity="0.35"')
    shapes += rects(v.state.unknown, 6, 30, "#f9a825")
    shapes += rects(v.state.down, 6, 30, "#c62828")
    ticks = []
    for i, day in enumerate(_day_starts(doc)):
        if i % 7 == 0:
            ticks.append(
                f'<line x1="{x(day[1]):.1f}" y1="36" x2="{x(day[1]):.1f}" y2="42" stroke="#666"/>'
                f'<text x="{x(day[1]) + 2:.1f}" y="52">{day[0]}</text>'
            )
    legend = (
        '<p class="legend muted"><span><i class="sw" style="background:#e8f5e9"></i>up</span>'
        '<span><i class="sw" style="background:#c62828"></i>down</span>'
        '<span><i class="sw" style="background:#f9a825"></i>unknown</span>'
        '<span><i class="sw" style="background:#9e9e9e"></i>maintenance</span>'
        '<span><i class="sw" style="background:#b39ddb"></i>excluded by a correction</span></p>'
    )
    return (
        f'<svg viewBox="0 0 {_W} {height}" role="img" aria-label="the month\'s timeline">'
        + "".join(shapes + ticks)
        + "</svg>"
        + legend
    )


def _day_starts(doc: dict) -> list[tuple[str, float]]:
    tz = ZoneInfo(doc["timezone"])
    first = dt.datetime.fromisoformat(doc["start"]).date()
    out, day = [], first
    while day.month == first.month:
        out.append((day.strftime("%d %b"), local_midnight(day, tz) * 1000))
        day += dt.timedelta(days=1)
    return out


def _outages(row: dict) -> str:
    if not row["outages"]:
        return '<p class="muted">No outages.</p>'
    body = "".join(
        f"<tr><td>{_e(_when(o['start']))}</td><td>{_e(_when(o['end']))}</td>"
        f"<td class=n>{_e(format_duration(o['seconds']))}</td>"
        f"<td class=n>{_e(format_duration(o['counted_seconds']))}</td></tr>"
        for o in row["outages"]
    )
    return (
        "<table><thead><tr><th>Start</th><th>End</th><th class=n>Duration</th><th class=n>Counted</th></tr>"
        f"</thead><tbody>{body}</tbody></table>"
    )


def _corrections(row: dict) -> str:
    if not row["corrections"]:
        return '<p class="muted">No corrections.</p>'
    body = []
    for c in row["corrections"]:
        revoked = c["revoked"]
        note = (
            ""
            if revoked is None
            else f'<br><span class="muted">revoked (entry {revoked["id"]}) by {_e(revoked["by"])} '
            f"on {_e(_when(revoked['recorded_at']))}: {_e(revoked['reason'])}</span>"
        )
        cls = ' class="revoked"' if revoked else ""
        body.append(
            f"<tr><td class=n>{c['id']}</td><td><span{cls}>{_e(_when(c['from']))} to {_e(_when(c['to']))}</span></td>"
            f"<td>{_e(c['as'])}</td><td>{_e(c['category'])}</td>"
            f"<td>{_e(c['reason'])}{note}</td><td>{_e(c['by'])}<br><span class=muted>"
            f"{_e(_when(c['recorded_at']))}</span></td><td class=n>{_e(format_duration(c['seconds']))}</td></tr>"
        )
    return (
        "<table><thead><tr><th class=n>Id</th><th>Period</th><th>As</th><th>Category</th><th>Reason</th>"
        "<th>Recorded by</th><th class=n>Changed</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _support(cfg: Config, incidents, requests, at: float) -> str:
    if not incidents and not requests:
        return '<p class="muted">No support cases opened this month.</p>'
    tz = ZoneInfo(cfg.support.calendar.timezone)

    def when(t: float | None) -> str:
        return "" if t is None else dt.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M")

    body = []
    for inc in incidents:
        st = deadlines.evaluate(cfg.support, inc, at)
        verdict = (
            '<span class="met">all met</span>'
            if not st.breaches
            else '<span class="missed">missed: '
            + _e(", ".join(sorted({f"{b.target} ({b.priority})" for b in st.breaches})))
            + "</span>"
        )
        body.append(
            f"<tr><td>{_e(inc.id)}</td><td>incident {_e(st.priority)}{' defect' if inc.defect else ''}</td>"
            f"<td>{_e(inc.title or '')}</td><td>{_e(when(inc.opened))}</td><td>{_e(when(st.closed_at)) or 'open'}</td>"
            f"<td>{verdict}</td></tr>"
        )
    for req in requests:
        missed = deadlines.request_breached(cfg.support, req, at)
        due = deadlines.delivery_due(cfg.support, req.opened)
        verdict = (
            f'<span class="missed">missed (due {_e(when(due))})</span>'
            if missed
            else f'<span class="met">met</span> <span class="muted">(due {_e(when(due))})</span>'
        )
        body.append(
            f"<tr><td>{_e(req.id)}</td><td>service request</td><td>{_e(req.title or '')}</td>"
            f"<td>{_e(when(req.opened))}</td><td>{_e(when(req.delivered)) or 'open'}</td><td>{verdict}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Id</th><th>Kind</th><th>Title</th><th>Opened</th><th>Closed</th>"
        "<th>Deadlines</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _locations(row: dict) -> str:
    """The rule that combined several locations (nothing for a single exporter's history)."""
    locations, k = row.get("locations") or [], row.get("quorum", 1)
    if len(locations) <= 1 and k == 1:
        return ""
    return (
        f'<p class="meta">Probed from {len(locations)} location{"s" if len(locations) != 1 else ""} '
        f"({_e(', '.join(locations))}) with a quorum of {k}: a probe counts as down while at least {k} "
        f"see it down, and as unknown while fewer than {k} have a result.</p>"
    )


def _tenant(cfg, doc, row, v: Views, incidents, requests, at, year, mon, credits) -> str:
    tiers = (
        ", ".join(f"{c.credit * 100:g}% below {c.below * 100:g}%" for c in sorted(credits, key=lambda c: -c.below))
        if credits
        else "none configured"
    )
    return "\n".join(
        [
            '<section class="tenant">',
            f"<h2>{_e(row['tenant'])} <span class=muted>({_e(row['environment'])})</span></h2>",
            f'<p class="meta">Availability <b>{_pct(row["availability"])}</b> against a target of '
            f"{_pct(row['target'])}: {_met(row)}, margin {_margin(row)}. Service credit "
            f"{_credit(row['credit_ratio'])} (tiers: {_e(tiers)}).</p>",
            _locations(row),
            _figures_table(row),
            "<h3>Availability by day</h3>",
            _daily_chart(cfg, v, row["target"], year, mon),
            "<h3>The month: outages, maintenance, exclusions</h3>",
            _timeline(doc, row, v),
            _outages(row),
            "<h3>Corrections</h3>",
            _corrections(row),
            "<h3>Support cases</h3>",
            _support(cfg, incidents, requests, at),
            "</section>",
        ]
    )
