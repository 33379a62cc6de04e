"""Availability figures of a tenant for a month, from its probes' runs.

The one place that joins the history, the maintenance calendar and the formula; the
report (runs from the store) and the /metrics collector (runs from the live recorder)
both call it.
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.availability import Figures, figures
from exporter.maintenance import maintenance_intervals
from exporter.model import Tenant
from exporter.states import Run, StateIntervals, probe_state, tenant_state

# (tenant, probe, lo, hi) -> the probe's runs that may cover [lo, hi], sorted.
RunsOf = Callable[[str, str, float, float], list[Run]]


def tenant_history(runs_of: RunsOf, tenant: Tenant, lo: float, hi: float) -> StateIntervals:
    probes = [probe_state(runs_of(tenant.name, p.name, lo, hi), p.failure_threshold, lo, hi) for p in tenant.probes]
    return tenant_state(probes, tenant.down_when, lo, hi)


def tenant_figures(runs_of: RunsOf, tenant: Tenant, month_start: float, month_end: float, now: float | None = None) -> Figures:
    """Figures for the month ``[month_start, month_end)``, cut at ``now`` if given."""
    hi = month_end if now is None else max(month_start, min(now, month_end))
    state = tenant_history(runs_of, tenant, month_start, hi)
    maintenance = maintenance_intervals(tenant.windows, month_start, month_end)
    return figures(state, maintenance, month_start, month_end, tenant.target, now)
