"""Availability figures of a tenant for a month, read from the store.

The one place that joins the store, the maintenance calendar and the formula; the
report and the /metrics collector both call it.
"""

from __future__ import annotations

from exporter.availability import Figures, figures
from exporter.maintenance import maintenance_intervals
from exporter.model import Tenant
from exporter.states import probe_state, tenant_state
from exporter.store import Store


def tenant_figures(store: Store, tenant: Tenant, month_start: float, month_end: float, now: float | None = None) -> Figures:
    """Figures for the month ``[month_start, month_end)``, cut at ``now`` if given."""
    hi = month_end if now is None else max(month_start, min(now, month_end))
    probes = [
        probe_state(store.runs(tenant.name, p.name, month_start, hi), p.failure_threshold, month_start, hi)
        for p in tenant.probes
    ]
    state = tenant_state(probes, tenant.down_when, month_start, hi)
    maintenance = maintenance_intervals(tenant.windows, month_start, month_end)
    return figures(state, maintenance, month_start, month_end, tenant.target, now)
