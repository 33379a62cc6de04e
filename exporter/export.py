"""History into Prometheus: a month's series as OpenMetrics text with timestamps, for
``promtool tsdb create-blocks-from openmetrics``.

Every ``step`` from the month start, each tenant's month-to-date figures as the daemon
exposes them (same metric names and labels, so the bundled rules and dashboards read
imported months as they read live ones), and each probe's ``sla_probe_success``. A sample
at ``t`` carries the figures over ``[month start, t)``; the last one, at the month's end,
is exactly the report's. The state is the month's as the report computes it, with
hindsight, with the ledger's corrections laid over it (docs/semantics.md); a month in
progress ends at "now". The counters
``sla_downtime_seconds_total`` and ``sla_eligible_seconds_total`` count from the start of
the recorded history, as the daemon's do.

Sample output (abridged)::

    # TYPE sla_availability_ratio gauge
    # HELP sla_availability_ratio Month-to-date availability: ...
    sla_availability_ratio{tenant="acme-prod"} 0.99987 1790812860.000
    ...
    # EOF

OpenMetrics wants each family's samples together; a tenant's samples of every family come
from one sweep, so each family is written to its own temporary file and the files are
joined at the end: memory stays bounded by one tenant's month.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from typing import IO

from exporter import metrics as m
from exporter.engine.accounting import store_runs, tenant_figures, tenant_views
from exporter.engine.corrections import Correction, from_ledger
from exporter.engine.months import month_bounds_ms, month_of, months_from
from exporter.engine.states import Run
from exporter.engine.timeline import Sample, samples
from exporter.engine.units import instant_ms
from exporter.model import Config, Tenant
from exporter.store.sqlite import Store

# Tenant families and how each sample's value is read (None: no sample, as on /metrics).
_TENANT: list[tuple[m.Metric, Callable[[Sample, Tenant], float | None]]] = [
    (m.UP, lambda s, t: None if s.state == "unknown" else float(s.state == "up")),
    (m.AVAILABILITY, lambda s, t: s.availability),
    (m.TARGET, lambda s, t: t.target),
    (m.MARGIN, lambda s, t: None if s.availability is None else s.availability - t.target),
    (m.BUDGET, lambda s, t: s.error_budget / 1000),
    (m.BUDGET_REMAINING, lambda s, t: s.error_budget_remaining / 1000),
    (m.MAINTENANCE_ACTIVE, lambda s, t: float(s.maintenance_active)),
    (m.MONTH_DOWNTIME, lambda s, t: s.downtime / 1000),
    (m.MONTH_MAINTENANCE, lambda s, t: s.maintenance / 1000),
    (m.MONTH_UNKNOWN, lambda s, t: s.unknown / 1000),
    (m.MONTH_ELIGIBLE, lambda s, t: s.eligible / 1000),
]
_COUNTERS = [m.DOWNTIME_TOTAL, m.ELIGIBLE_TOTAL]  # from the start of recorded history
_FAMILIES = [metric for metric, _ in _TENANT] + _COUNTERS + [m.PROBE_SUCCESS, m.MONTH_START, m.MONTH_END]


def openmetrics(
    out: IO[str],
    cfg: Config,
    store: Store,
    year: int,
    month: int,
    tenants: list[Tenant],
    step_ms: int,
    now: float,
) -> int:
    """Write the month's series to ``out``; returns the number of samples."""
    start, end = month_bounds_ms(year, month, cfg.timezone)
    now_ms = instant_ms(now)
    hi = min(end, now_ms)
    times = list(range(start + step_ms, hi + 1, step_ms))
    if times and times[-1] != hi and hi == end:
        times.append(end)  # the month's final figures, whatever the step
    until = now_ms if now_ms < end else None
    runs_of = store_runs(store, until)
    entries = store.ledger()
    written = 0
    with tempfile.TemporaryDirectory(prefix="sla-export-") as tmp:
        files = {metric.name: open(f"{tmp}/{i}", "w+", encoding="utf-8") for i, metric in enumerate(_FAMILIES)}  # noqa: SIM115 - closed below
        try:
            stamps = [_stamp(t) for t in times]
            for tenant in tenants:
                corrections = from_ledger(entries, tenant.name)
                written += _tenant(files, cfg, store, tenant, runs_of, corrections, start, end, times, stamps)
            for metric, value in ((m.MONTH_START, start / 1000), (m.MONTH_END, end / 1000)):
                written += _lines(files[metric.name], metric.name, "", ((s, value) for s in stamps))
            for metric in _FAMILIES:
                family = metric.name.removesuffix("_total") if metric.kind == "counter" else metric.name
                out.write(f"# TYPE {family} {'counter' if metric.kind == 'counter' else 'gauge'}\n")
                out.write(f"# HELP {family} {_escape_help(metric.help)}\n")
                handle = files[metric.name]
                handle.seek(0)
                shutil.copyfileobj(handle, out)
            out.write("# EOF\n")
        finally:
            for handle in files.values():
                handle.close()
    return written


def _tenant(
    files,
    cfg: Config,
    store: Store,
    tenant: Tenant,
    runs_of,
    corrections: tuple[Correction, ...],
    start,
    end,
    times,
    stamps,
) -> int:
    if not times:
        return 0
    hi = times[-1]
    # The corrected state over the period, as the report reads it (docs/semantics.md).
    v = tenant_views(runs_of, tenant, start, end, hi if hi < end else None, corrections)
    labels = f'tenant="{_escape(tenant.name)}"'
    rows = list(samples(v.state, v.maintenance, start, end, tenant.target, times, v.excluded))
    written = 0
    for metric, value in _TENANT:
        values = ((s, value(row, tenant)) for s, row in zip(stamps, rows, strict=True))
        written += _lines(files[metric.name], metric.name, labels, values)
    downtime, known = _history_before(cfg, store, tenant, runs_of, corrections, start)
    for metric, total in (
        (m.DOWNTIME_TOTAL, lambda r: downtime + r.downtime),
        (m.ELIGIBLE_TOTAL, lambda r: known + r.eligible - r.unknown),
    ):
        values = ((s, total(r) / 1000) for s, r in zip(stamps, rows, strict=True))
        written += _lines(files[metric.name], metric.name, labels, values)
    for probe in tenant.probes:
        for location, runs in sorted(runs_of(tenant.name, probe, start, hi).items()):
            probe_labels = f'{labels},probe="{_escape(probe.name)}",location="{_escape(location)}"'
            results = _results_before(runs, times)
            written += _lines(
                files[m.PROBE_SUCCESS.name], m.PROBE_SUCCESS.name, probe_labels, zip(stamps, results, strict=True)
            )
    return written


def _history_before(
    cfg: Config, store: Store, tenant: Tenant, runs_of, corrections: tuple[Correction, ...], start: int
) -> tuple[int, int]:
    """(downtime, known eligible) of the tenant's recorded history before ``start`` (ms):
    the counters' value at the month start, as the daemon counts them."""
    firsts = [f for f in (store.first_start(tenant.name, p.name) for p in tenant.probes) if f is not None]
    if not firsts:
        return 0, 0
    downtime = known = 0
    for y, mo in months_from(month_of(min(firsts), cfg.timezone), month_of(start / 1000, cfg.timezone)):
        lo, hi = month_bounds_ms(y, mo, cfg.timezone)
        f = tenant_figures(runs_of, tenant, lo, hi, corrections=corrections)
        downtime, known = downtime + f.downtime, known + f.eligible - f.unknown
    return downtime, known


def _results_before(runs: list[Run], times: list[int]) -> list[float | None]:
    """The probe's last result at each of ``times`` (as of the instant before it): 1/0,
    None once it is stale (no run covers that instant)."""
    out: list[float | None] = []
    i = 0
    for t in times:
        while i < len(runs) and runs[i].end < t:
            i += 1
        run = runs[i] if i < len(runs) else None
        out.append(float(run.success) if run is not None and run.start <= t - 1 < run.end else None)
    return out


def _lines(handle: IO[str], name: str, labels: str, values: Iterable[tuple[str, float | None]]) -> int:
    """Write one series' samples; returns how many (None values are left out)."""
    series = f"{name}{{{labels}}}" if labels else name
    chunk = [f"{series} {value!r} {stamp}\n" for stamp, value in values if value is not None]
    handle.writelines(chunk)
    return len(chunk)


def _stamp(t: int) -> str:
    """Epoch ms as OpenMetrics seconds, exact."""
    return f"{t // 1000}.{t % 1000:03d}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
