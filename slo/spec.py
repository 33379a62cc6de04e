"""The SLO parameters: the one source of prometheus/rules.yml, prometheus/alerts.yml, the
generated promtool tests in prometheus/tests/ (first line GENERATED) and grafana/dashboards/*.json.

    python -m slo            rewrite every generated file   (make generate)
    python -m slo --check    write nothing; exit 1 naming each stale file   (CI runs this)

This module is data only. The templates around it are slo/rules.py (recording rules and
alerts), slo/promtool.py (promtool tests) and grafana/generate.py (dashboards); metric
names come from exporter/metrics.py. After an edit: run `make generate`, read the diff, run
the tests (promtool test rules prometheus/tests/*.yml; pytest tests/test_prometheus_*.py
tests/test_dashboards.py).

How to change...
- a burn-rate alert (multi-window, multi-burn-rate): its line in BURN_ALERTS. `long` is the
  window that must have burned `factor` times the sustainable rate, `short` (about 1/12 of
  it) the one that says it still does. A window that is new is recorded by itself
  (tenant:sla_downtime:ratio_rate<W> and tenant:sla_error_budget_burn:rate<W>); those in
  PINNED_WINDOWS stay recorded whatever the alerts use, because other tools read them. The
  dashboards draw the `long` windows. Then update the alert's section in docs/runbook.md
  (a test checks that it names the factor) and the hand-computed scenarios in
  prometheus/tests/burn_rate_*_test.yml, which pin today's numbers; the generated
  prometheus/tests/spec_<alert>_test.yml follow by themselves.
- a severity or a `for:` duration: ALERTS (routing by severity: prometheus/alertmanager.example.yml).
  The hand-written promtool scenarios in prometheus/tests/ time their expectations by these
  durations and expect these severities (a test names any severity that disagrees).
- a threshold of another alert: the constants after ALERTS (certificate days, the P1
  response lead, the at-risk windows...).
- a dashboard colour: the *_COLOURS tables at the end, each a list of (from value, colour)
  with the first `from` None (below everything). Availability is never coloured against a
  fixed figure (tenants have different targets): the colour sits on the tenant's margin
  (sla_margin_ratio = availability - its own target). MARGIN_COLOURS is red below 0
  (target missed), orange for a small margin, green from MARGIN_COMFORTABLE. Margins are
  ratios: 0.0002 is 0.02 percentage points, about 8.6 minutes of a 30-day month.

Durations are Prometheus durations ("5m", "1h", "1d"): the names of recorded series contain them.
"""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace
from typing import NamedTuple

from exporter import metrics

# -- metric names -----------------------------------------------------------------------------

# Every metric the exporter emits, by its constant in exporter/metrics.py: M.AVAILABILITY is
# "sla_availability_ratio". Series that the exporter does not emit are spelled below.
M = SimpleNamespace(**{key: value.name for key, value in vars(metrics).items() if isinstance(value, metrics.Metric)})
EXPORTER_JOB = "sla-exporter"  # the documented scrape job name (alerts.yml, SLAExporterDown)


def downtime_ratio(window: str) -> str:
    """Share of eligible time that was downtime over the window (recorded, pinned name)."""
    return f"tenant:sla_downtime:ratio_rate{window}"


def burn_rate(window: str) -> str:
    """That share in units of the error budget, 1 - target (recorded, pinned name)."""
    return f"tenant:sla_error_budget_burn:rate{window}"


# -- one figure per tenant, whatever the number of exporters serving it -------------------------

# On a shared store (PostgreSQL) every exporter serves every tenant: the same figures, computed
# from the same store, under different `instance` labels. The recording rules, the alerts and
# the dashboards take one figure per tenant across them, aggregated `by (tenant)` like the burn
# rates (tenant names are one namespace per Prometheus; `by`, not `without (instance)`, so
# that target labels such as a Kubernetes pod's do not split a tenant either). One exporter
# (SQLite, the common case) gives its own figure, without the instance label.
#
# Exporters disagree only while one has not read the store's latest results yet, for a few
# seconds, so the aggregation takes the figure of the one that has read the most. Within a
# month downtime only grows: that is the largest downtime and the smallest remaining budget
# (or availability). sla_up is min: a 0 is always some exporter's verdict on the vendor (our
# own faults are unknown, no sample), so the first exporter to see an outage raises it and
# the laggard only delays the all-clear by its lag, far inside SLATenantDown's `for:`.
# Maintenance is max: a window that one exporter's config knows of suppresses the alert.
TENANT_AGGREGATION = {
    M.UP: "min",
    M.AVAILABILITY: "min",
    M.TARGET: "max",  # the higher target is the smaller budget: the safe side
    M.MARGIN: "min",
    M.BUDGET: "min",
    M.BUDGET_REMAINING: "min",
    M.MAINTENANCE_ACTIVE: "max",
    M.MONTH_DOWNTIME: "max",
    M.MONTH_UNKNOWN: "max",
    M.MONTH_MAINTENANCE: "max",
    M.MONTH_ELIGIBLE: "max",
    M.PREVIOUS_AVAILABILITY: "min",
    M.SERVICE_CREDIT: "max",
}
# Recorded one per tenant with that aggregation, as tenant:<metric>:<min|max>: the alerts
# read these (SLATenantDown, SLAErrorBudgetExhausted, SLAMonthlyTargetAtRisk).
TENANT_RECORDED = (M.UP, M.MAINTENANCE_ACTIVE, M.BUDGET_REMAINING, M.MONTH_DOWNTIME)


def tenant_series(metric: str) -> str:
    """The recorded one-per-tenant series of a tenant gauge: 'tenant:sla_up:min'."""
    assert metric in TENANT_RECORDED, metric
    return f"tenant:{metric}:{TENANT_AGGREGATION[metric]}"


# -- burn-rate alerts ---------------------------------------------------------------------------


class BurnAlert(NamedTuple):
    name: str
    severity: str  # page | ticket | warning
    long: str  # enough budget spent over this window to matter...
    short: str  # ...and still burning over this one
    factor: float  # times the rate that spends exactly the month's budget
    why: str  # one line for alerts.yml: why this speed gets this severity


# Google SRE Workbook, "Alerting on SLOs", table 5-8; fastest first. No `for:`: the short
# window already debounces.
BURN_ALERTS = (
    BurnAlert("SLAErrorBudgetBurnFast", "page", long="1h", short="5m", factor=14.4, why="Every real outage pages."),
    BurnAlert(
        "SLAErrorBudgetBurnMedium",
        "page",
        long="6h",
        short="30m",
        factor=6,
        why="Intermittent failures or a partial outage that never reaches the fast threshold.",
    ),
    BurnAlert(
        "SLAErrorBudgetBurnSlow",
        "ticket",
        long="1d",
        short="2h",
        factor=3,
        why="No emergency, but the month will be missed unless someone raises it with the vendor.",
    ),
    BurnAlert(
        "SLAErrorBudgetBurnChronic",
        "ticket",
        long="3d",
        short="6h",
        factor=1,
        why="On course to spend exactly the whole budget, with no margin left for the next real outage.",
    ),
)

# Recorded whatever the alerts use: other tools (dashboards, reports) read these names.
PINNED_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


# -- the other alerts ---------------------------------------------------------------------------


class Alert(NamedTuple):
    severity: str  # page | ticket | warning
    for_: str | None = None  # None: fires at the first evaluation that matches


ALERTS = {
    # error budget of the calendar month
    "SLAErrorBudgetExhausted": Alert("ticket"),  # a state until the month ends
    "SLAMonthlyTargetAtRisk": Alert("ticket", "30m"),  # a rate that only touches the line
    # tenants and probes
    "SLATenantDown": Alert("warning", "2m"),  # rides out one failed run at the default 30s interval
    "SLAProbeFailing": Alert("warning", "10m"),  # more than a blip, less than the hour
    "SLAProbeResultsStale": Alert("ticket", "5m"),
    "SLATLSCertificateExpiringSoon": Alert("warning", "15m"),  # one backend with an old certificate
    "SLATLSCertificateExpiryImminent": Alert("ticket", "15m"),
    # the exporter
    "SLAExporterDown": Alert("ticket", "5m"),  # longer than a restart or a reload
    "SLAExporterMetricsAbsent": Alert("ticket", "10m"),
    "SLAExporterConfigReloadFailed": Alert("warning", "10m"),  # time to fix a typo
    "SLAExporterStoreNotWritable": Alert("ticket", "5m"),  # longer than a lock or a backup
    # A failing monitor like SLAExporterDown (its time turns unknown, no vendor outage): a
    # ticket. 5m: longer than a restart of the location's exporter; sla_location_up itself
    # already allows 2 probe intervals.
    "SLALocationNotReporting": Alert("ticket", "5m"),
    # vendor support deadlines
    "SLASupportP1ResponseDueSoon": Alert("page"),  # a `for:` would eat into the lead time
    "SLASupportDeadlineOverdue": Alert("ticket"),
    "SLASupportDeadlineBreached": Alert("ticket"),
}

AT_RISK_WINDOWS = ("6h", "1d")  # SLAMonthlyTargetAtRisk: both downtime rates must project a miss
CERT_WARNING_DAYS = 14  # SLATLSCertificateExpiringSoon; the dashboards' orange
CERT_CRITICAL_DAYS = 3  # SLATLSCertificateExpiryImminent; the dashboards' red
P1_RESPONSE_LEAD = "15m"  # SLASupportP1ResponseDueSoon pages this long before the deadline
BREACH_LOOKBACK = "1h"  # SLASupportDeadlineBreached: breaches counted over this window
EXPORTER_SEEN_WITHIN = "1d"  # SLAExporterDown: a job counts if it exposed build info this recently

SEVERITIES = ("page", "ticket", "warning")
RUNBOOK_URL = "https://github.com/sla-exporter/sla-exporter/blob/main/docs/runbook.md#"


# -- dashboard colours: (from value, colour), the first from None ---------------------------------

MARGIN_COMFORTABLE = 0.0002  # sla_margin_ratio from which a tenant is green
MARGIN_COLOURS = ((None, "red"), (0, "orange"), (MARGIN_COMFORTABLE, "green"))
BUDGET_LEFT_COLOURS = ((None, "red"), (0, "orange"), (0.25, "green"))  # share of the month's budget left
# Burn rate: orange from 1 (spends the whole budget by month end), red from the lowest factor
# that pages.
BURN_COLOURS = ((None, "green"), (1, "orange"), (min(a.factor for a in BURN_ALERTS if a.severity == "page"), "red"))
DEADLINE_SOON = 3600  # seconds: an open support deadline closer than this is orange
DEADLINE_COLOURS = ((None, "red"), (0, "orange"), (DEADLINE_SOON, "green"))  # time left; < 0 overdue
CERT_COLOURS = ((None, "red"), (CERT_CRITICAL_DAYS * 86400, "orange"), (CERT_WARNING_DAYS * 86400, "green"))


# -- derived ------------------------------------------------------------------------------------

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def seconds(duration: str) -> int:
    """'1h30m' -> 5400 (Prometheus durations as used here: s, m, h, d, w)."""
    parts = re.findall(r"(\d+)([smhdw])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


# Every recorded window, shortest first: the pinned ones and any an alert uses.
RECORDED_WINDOWS = tuple(
    sorted({*PINNED_WINDOWS, *(w for a in BURN_ALERTS for w in (a.long, a.short)), *AT_RISK_WINDOWS}, key=seconds)
)
DASHBOARD_BURN_WINDOWS = tuple(sorted({a.long for a in BURN_ALERTS}, key=seconds))  # 1h 6h 1d 3d
PROJECTION_WINDOW = AT_RISK_WINDOWS[0]  # the dashboards' "at this pace" projection


def all_alert_names() -> list[str]:
    return [a.name for a in BURN_ALERTS] + list(ALERTS)


def severity(alert: str) -> str:
    for a in BURN_ALERTS:
        if a.name == alert:
            return a.severity
    return ALERTS[alert].severity


def _check() -> None:
    names = all_alert_names()
    assert len(names) == len(set(names)), "an alert is named twice"
    for name in names:
        assert re.fullmatch(r"SLA[A-Z][A-Za-z0-9]+", name), name
        assert severity(name) in SEVERITIES, name
    for a in BURN_ALERTS:
        assert seconds(a.short) < seconds(a.long) and a.factor > 0, a
    assert [a.factor for a in BURN_ALERTS] == sorted((a.factor for a in BURN_ALERTS), reverse=True), (
        "BURN_ALERTS go fastest first"
    )
    for colours in (MARGIN_COLOURS, BUDGET_LEFT_COLOURS, BURN_COLOURS, DEADLINE_COLOURS, CERT_COLOURS):
        assert colours[0][0] is None and all(a < b for (a, _), (b, _) in itertools.pairwise(colours[1:])), colours
    for a in ALERTS.values():
        if a.for_ is not None:
            seconds(a.for_)


_check()
