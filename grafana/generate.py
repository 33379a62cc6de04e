#!/usr/bin/env python3
"""Generates the Grafana dashboards in grafana/dashboards/ from code, so that the three
dashboards share one style: the same variables, units, thresholds, colours and links.

    python grafana/generate.py           # rewrite the JSON files
    python grafana/generate.py --check   # exit 1 if a committed file differs

Standard library only. Edit this file, run it, commit the JSON it writes; a test checks
that the committed JSON is exactly what this file produces.

Conventions of every query:
- tenants are selected with ``tenant=~"$tenant"`` (the All value is ``.+``);
- tenant figures are taken with ``max by (tenant)``: one exporter per tenant gives the
  same answer as the raw series, and an HA pair scraping the same exporter does not count
  twice; it also drops ``job``/``instance`` so that table columns line up;
- Unix timestamps shown as dates are multiplied by 1000 (Grafana's dateTime units take
  milliseconds); deadlines are shown as time remaining, ``due - time()``, in seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DASHBOARDS_DIR = HERE / "dashboards"

SCHEMA_VERSION = 39
TAGS = ["sla-exporter"]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TARGET = 0.9992  # the contract's 99.92 %: drawn as the SLA line
TENANT = 'tenant=~"$tenant"'
TENANT_DETAIL_URL = "/d/sla-tenant/sla-tenant-detail?var-datasource=${datasource}&${__url_time_range}&var-tenant="
BURN_WINDOWS = ("1h", "6h", "1d", "3d")

JSON = dict[str, Any]


# --------------------------------------------------------------------------- queries


def sel(metric: str) -> str:
    """`metric{tenant=~"$tenant"}`: every query is filtered by the tenant variable."""
    return f"{metric}{{{TENANT}}}"


def by(labels: str, metric: str, agg: str = "max") -> str:
    """`max by (labels) (metric{tenant=~"$tenant"})`."""
    return f"{agg} by ({labels}) ({sel(metric)})"


def burn(window: str) -> str:
    return f"tenant:sla_error_budget_burn:rate{window}"


# 1 up, 0 down, -1 unknown (sla_up has no sample while the state is unknown)
TENANT_STATE = f"{by('tenant', 'sla_up')} or ({by('tenant', 'sla_target_ratio')} * 0 - 1)"
BUDGET_FRACTION = f"{by('tenant', 'sla_error_budget_remaining_seconds')} / {by('tenant', 'sla_error_budget_seconds')}"
# What the last 6 hours' downtime ratio would use up from now to the end of the month.
PROJECTED_6H = (
    f"{by('tenant', 'tenant:sla_downtime:ratio_rate6h')}"
    " * on () group_left () (max(sla_month_end_timestamp_seconds) - time())"
)
# Tenants whose remaining budget is below that: at this pace they miss the target.
AT_RISK = f"{by('tenant', 'sla_error_budget_remaining_seconds')} < on (tenant) ({PROJECTED_6H})"
INCIDENT_DUE = {
    "response": "sla_support_incident_response_due_timestamp_seconds",
    "communication": "sla_support_incident_communication_due_timestamp_seconds",
    "resolution": "sla_support_incident_resolution_due_timestamp_seconds",
}
REQUEST_DUE = "sla_support_service_request_delivery_due_timestamp_seconds"
ALL_DUE = " or ".join(sel(m) for m in [*INCIDENT_DUE.values(), REQUEST_DUE])


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> JSON:
    """One Prometheus query. Tables and 'now' figures are instant queries."""
    instant = instant or table
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "format": "table" if table else "time_series",
        "instant": instant,
        "legendFormat": legend or "__auto",
        "range": not instant,
    }


# --------------------------------------------------------------------------- field config


def steps(base: str, *pairs: tuple[float, str]) -> JSON:
    """Absolute thresholds: `base` colour below the first value, then (value, colour)."""
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}, *({"color": c, "value": v} for v, c in pairs)],
    }


SLA_STEPS = steps("red", (TARGET, "green"))  # availability against the 99.92 % target
MARGIN_STEPS = steps("red", (0, "green"))
BUDGET_FRACTION_STEPS = steps("red", (0, "orange"), (0.25, "green"))
BURN_STEPS = steps("green", (1, "orange"), (6, "red"))  # 1 = exactly the month's budget
DUE_STEPS = steps("red", (0, "orange"), (3600, "green"))  # overdue, within the hour, later
CERT_STEPS = steps("red", (7 * 86400, "orange"), (21 * 86400, "green"))
COUNT_BAD_STEPS = steps("green", (1, "red"))
COUNT_WARN_STEPS = steps("green", (1, "orange"))
NEUTRAL_STEPS = steps("blue")
TEXT_STEPS = steps("text")


def value_map(values: dict[Any, tuple[str, str]]) -> list[JSON]:
    """Value mappings: {value: (text, colour)}; an empty text keeps the value itself."""
    options = {}
    for i, (value, (text, color)) in enumerate(values.items()):
        result = {"color": color, "index": i}
        if text:
            result["text"] = text
        options[str(value)] = result
    return [{"type": "value", "options": options}]


def range_map(ranges: list[tuple[float, float, str, str]]) -> list[JSON]:
    """Range mappings: [(from, to, text, colour)]; an empty text keeps the value itself."""
    out = []
    for i, (lo, hi, text, color) in enumerate(ranges):
        result = {"color": color, "index": i}
        if text:
            result["text"] = text
        out.append({"type": "range", "options": {"from": lo, "to": hi, "result": result}})
    return out


UP_DOWN = value_map({1: ("up", "green"), 0: ("down", "red"), -1: ("unknown", "text")})
PROBE_OK = value_map({1: ("ok", "green"), 0: ("failing", "red")})
MAINTENANCE = value_map({1: ("maintenance", "blue"), 0: ("none", "transparent")})
HTTP_STATUS = range_map([
    (0, 0, "no response", "red"),
    (100, 399, "", "green"),
    (400, 499, "", "orange"),
    (500, 599, "", "red"),
])
PRIORITY = value_map({"P1": ("", "red"), "P2": ("", "orange"), "P3": ("", "yellow"), "P4": ("", "blue")})


def override(name: str, matcher: str = "byName", **props: Any) -> JSON:
    """Per-field settings: override('Availability', unit='percentunit')."""
    ids = {"cell": "custom.cellOptions", "line_style": "custom.lineStyle"}
    return {
        "matcher": {"id": matcher, "options": name},
        "properties": [{"id": ids.get(k, k), "value": v} for k, v in props.items()],
    }


# On a table's tenant column, and on series that carry a tenant label.
CELL_TENANT_LINK = [{"title": "Tenant detail: ${__value.raw}", "url": TENANT_DETAIL_URL + "${__value.raw}"}]
SERIES_TENANT_LINK = [{"title": "Tenant detail: ${__field.labels.tenant}",
                       "url": TENANT_DETAIL_URL + "${__field.labels.tenant}"}]


# --------------------------------------------------------------------------- panels


def panel(kind: str, title: str, targets: list[JSON], *, description: str, unit: str,
          decimals: int | None = None, min: float | None = None, max: float | None = None,
          thresholds: JSON = TEXT_STEPS, mappings: list[JSON] | None = None,
          color: JSON | None = None, custom: JSON | None = None, links: list[JSON] | None = None,
          no_value: str | None = None, overrides: list[JSON] | None = None, options: JSON,
          transformations: list[JSON] | None = None) -> JSON:
    defaults: JSON = {
        "color": color or {"mode": "thresholds"},
        "mappings": mappings or [],
        "thresholds": thresholds,
        "unit": unit,
    }
    for key, value in (("decimals", decimals), ("min", min), ("max", max), ("custom", custom),
                       ("links", links), ("noValue", no_value)):
        if value is not None:
            defaults[key] = value
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    p = {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options,
        "targets": targets,
        "title": title,
        "type": kind,
    }
    if transformations:
        p["transformations"] = transformations
    return p


def reduce(calc: str = "lastNotNull") -> JSON:
    return {"calcs": [calc], "fields": "", "values": False}


def stat(title: str, targets: list[JSON], *, text_mode: str = "auto", color_mode: str = "value",
         graph: bool = False, **kw: Any) -> JSON:
    return panel("stat", title, targets, options={
        "colorMode": color_mode,
        "graphMode": "area" if graph else "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": reduce(),
        "showPercentChange": False,
        "textMode": text_mode,
        "wideLayout": True,
    }, **kw)


def gauge(title: str, targets: list[JSON], **kw: Any) -> JSON:
    return panel("gauge", title, targets, options={
        "minVizHeight": 75,
        "minVizWidth": 75,
        "orientation": "auto",
        "reduceOptions": reduce(),
        "showThresholdLabels": False,
        "showThresholdMarkers": True,
        "sizing": "auto",
    }, **kw)


def bargauge(title: str, targets: list[JSON], **kw: Any) -> JSON:
    return panel("bargauge", title, targets, options={
        "displayMode": "basic",
        "maxVizHeight": 300,
        "minVizHeight": 16,
        "minVizWidth": 8,
        "namePlacement": "auto",
        "orientation": "horizontal",
        "reduceOptions": reduce(),
        "showUnfilled": True,
        "sizing": "auto",
        "valueMode": "color",
    }, **kw)


LEGEND = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}


def timeseries(title: str, targets: list[JSON], *, threshold_line: bool = False,
               legend: JSON = LEGEND, stack: bool = False, fill: int = 0, **kw: Any) -> JSON:
    custom = {
        "axisBorderShow": False,
        "axisCenteredZero": False,
        "axisColorMode": "text",
        "axisLabel": "",
        "axisPlacement": "auto",
        "barAlignment": 0,
        "drawStyle": "line",
        "fillOpacity": fill,
        "gradientMode": "none",
        "hideFrom": {"legend": False, "tooltip": False, "viz": False},
        "insertNulls": False,
        "lineInterpolation": "stepAfter",
        "lineWidth": 1,
        "pointSize": 4,
        "scaleDistribution": {"type": "linear"},
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "dashed" if threshold_line else "off"},
    }
    kw.setdefault("color", {"mode": "palette-classic"})
    return panel("timeseries", title, targets, custom=custom, options={
        "legend": legend,
        "tooltip": {"mode": "multi", "sort": "desc"},
    }, **kw)


def state_timeline(title: str, targets: list[JSON], **kw: Any) -> JSON:
    custom = {"fillOpacity": 80, "hideFrom": {"legend": False, "tooltip": False, "viz": False},
              "insertNulls": False, "lineWidth": 0, "spanNulls": False}
    return panel("state-timeline", title, targets, custom=custom, options={
        "alignValue": "left",
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "mergeValues": True,
        "rowHeight": 0.9,
        "showValue": "auto",
        "tooltip": {"mode": "single", "sort": "none"},
    }, **kw)


@dataclass
class Column:
    """One value column of a table: a query whose labels are the table's key columns."""

    name: str
    expr: str
    unit: str
    decimals: int | None = None
    thresholds: JSON | None = None
    mappings: list[JSON] | None = None
    cell: str = "color-text"  # or color-background, gauge, auto
    extra: dict[str, Any] = field(default_factory=dict)


def table(title: str, keys: list[tuple[str, str]], columns: list[Column], *, description: str,
          sort_by: str | None = None, desc: bool = False, key_overrides: list[JSON] | None = None) -> JSON:
    """A table with one row per label set: every column is an instant query in table format,
    the results are merged on the `keys` labels [(label, column title)] and renamed."""
    value_field = (lambda ref: f"Value #{ref}") if len(columns) > 1 else (lambda ref: "Value")
    rename, index, overrides = {}, {}, []
    for i, (label, name) in enumerate(keys):
        rename[label], index[label] = name, i
    for i, col in enumerate(columns):
        ref = chr(ord("A") + i)
        rename[value_field(ref)], index[value_field(ref)] = col.name, len(keys) + i
        cell = {"type": col.cell, "mode": "basic"} if col.cell == "gauge" else {"type": col.cell}
        props: dict[str, Any] = {"unit": col.unit, "cell": cell}
        if col.decimals is not None:
            props["decimals"] = col.decimals
        if col.thresholds is not None:
            props["thresholds"] = col.thresholds
        if col.mappings is not None:
            props["mappings"] = col.mappings
        props.update(col.extra)
        overrides.append(override(col.name, **props))
    return panel(
        "table", title, [target(c.expr, table=True) for c in columns],
        description=description, unit="none", thresholds=TEXT_STEPS,
        custom={"align": "auto", "cellOptions": {"type": "auto"}, "filterable": False, "inspect": False},
        overrides=(key_overrides or []) + overrides,
        options={
            "cellHeight": "sm",
            "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
            "showHeader": True,
            "sortBy": [{"desc": desc, "displayName": sort_by}] if sort_by else [],
        },
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True},
                "includeByName": {},
                "indexByName": index,
                "renameByName": rename,
            }},
        ],
    )


# --------------------------------------------------------------------------- dashboards


class Board:
    """Lays panels out left to right on Grafana's 24-column grid, wrapping to new lines,
    and numbers them."""

    def __init__(self) -> None:
        self.panels: list[JSON] = []
        self.x = self.y = self.line_h = 0

    def _newline(self) -> None:
        self.y += self.line_h
        self.x = self.line_h = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append({"collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                            "id": len(self.panels) + 1, "panels": [], "title": title, "type": "row"})
        self.y += 1

    def add(self, p: JSON, w: int, h: int) -> None:
        if self.x + w > 24:
            self._newline()
        p["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        p["id"] = len(self.panels) + 1
        self.panels.append(p)
        self.x += w
        self.line_h = max(self.line_h, h)


def datasource_variable() -> JSON:
    return {"current": {}, "hide": 0, "includeAll": False, "label": "Data source", "multi": False,
            "name": "datasource", "options": [], "query": "prometheus", "refresh": 1, "regex": "",
            "skipUrlSync": False, "type": "datasource"}


def tenant_variable(multi: bool) -> JSON:
    query = "label_values(sla_target_ratio, tenant)"
    v = {
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {},
        "datasource": DATASOURCE,
        "definition": query,
        "hide": 0,
        "includeAll": multi,
        "label": "Tenant",
        "multi": multi,
        "name": "tenant",
        "options": [],
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }
    if multi:
        v["allValue"] = ".+"
    return v


BUILTIN_ANNOTATIONS = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def dashboard(uid: str, title: str, description: str, board: Board, *, multi_tenant: bool,
              time_from: str, annotations: list[JSON] | None = None) -> JSON:
    return {
        "annotations": {"list": [BUILTIN_ANNOTATIONS, *(annotations or [])]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"asDropdown": False, "icon": "external link", "includeVars": True, "keepTime": True,
                   "tags": TAGS, "targetBlank": False, "title": "SLA dashboards", "tooltip": "",
                   "type": "dashboards", "url": ""}],
        "liveNow": False,
        "panels": board.panels,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": TAGS,
        "templating": {"list": [datasource_variable(), tenant_variable(multi_tenant)]},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


def overview() -> JSON:
    b = Board()
    b.row("Now")
    now_stats = [
        ("Tenants up", f"count(({TENANT_STATE}) == 1) or vector(0)", steps("green"),
         "Tenants whose state is up now (sla_up == 1)."),
        ("Tenants down", f"count(({TENANT_STATE}) == 0) or vector(0)", COUNT_BAD_STEPS,
         "Tenants whose state is down now (sla_up == 0): some probe (down_when: any) or every probe "
         "(down_when: all) has failed failure_threshold times in a row."),
        ("Tenants unknown", f"count(({TENANT_STATE}) == -1) or vector(0)", COUNT_WARN_STEPS,
         "Tenants with no known state now: sla_up has no sample because probe results are stale. "
         "Unknown time is neither up nor down."),
        ("In maintenance", f"count({by('tenant', 'sla_maintenance_active')} == 1) or vector(0)", NEUTRAL_STEPS,
         "Tenants inside a maintenance window now (sla_maintenance_active). Downtime in maintenance is not counted."),
        ("Below target", f"count({by('tenant', 'sla_margin_ratio')} < 0) or vector(0)", COUNT_BAD_STEPS,
         "Tenants whose month-to-date availability is below their target (sla_margin_ratio < 0)."),
        ("At risk", f"count({AT_RISK}) or vector(0)", COUNT_WARN_STEPS,
         "Tenants whose remaining error budget is smaller than the downtime the last 6 hours' pace would "
         "add before the month ends (see the table 'Tenants at risk')."),
    ]
    for title, expr, thr, desc in now_stats:
        b.add(stat(title, [target(expr, title, instant=True)], description=desc, unit="none",
                   decimals=0, thresholds=thr), 4, 4)

    b.row("Tenants")
    burn_cols = [Column(f"Burn {w}", by("tenant", burn(w)), "suffix:x", 2, BURN_STEPS) for w in BURN_WINDOWS]
    b.add(table(
        "Tenants",
        [("tenant", "Tenant")],
        [
            Column("State", TENANT_STATE, "none", mappings=UP_DOWN, cell="color-background"),
            Column("Maintenance", by("tenant", "sla_maintenance_active"), "none", mappings=MAINTENANCE),
            Column("Availability", by("tenant", "sla_availability_ratio"), "percentunit", 3, SLA_STEPS),
            Column("Target", by("tenant", "sla_target_ratio"), "percentunit", 2, cell="auto"),
            Column("Margin", by("tenant", "sla_margin_ratio"), "percentunit", 3, MARGIN_STEPS),
            Column("Budget left", by("tenant", "sla_error_budget_remaining_seconds"), "s", 0, MARGIN_STEPS),
            Column("Budget left %", BUDGET_FRACTION, "percentunit", 1, BUDGET_FRACTION_STEPS,
                   cell="gauge", extra={"min": 0, "max": 1}),
            *burn_cols,
            Column("Previous month", by("tenant", "sla_previous_month_availability_ratio"), "percentunit", 3,
                   SLA_STEPS),
        ],
        description="One row per tenant, worst margin first. Availability and budget are month to date in "
                    "the contract's calendar month; burn rates are downtime / eligible time over the window "
                    "divided by (1 - target): 1 uses exactly the month's budget, orange from 1, red from 6. "
                    "State 'unknown' means no fresh probe results. Click a tenant for its detail.",
        sort_by="Margin",
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK)],
    ), 24, 10)

    b.row("Month to date")
    b.add(bargauge("Availability this month", [target(by("tenant", "sla_availability_ratio"), "{{tenant}}",
                                                      instant=True)],
                   description="Month-to-date availability, (eligible - unknown - downtime) / (eligible - unknown), "
                               "against the 99.92 % target (green at or above it).",
                   unit="percentunit", decimals=3, min=0.99, max=1, thresholds=SLA_STEPS, links=SERIES_TENANT_LINK),
          8, 8)
    b.add(bargauge("Error budget left", [target(BUDGET_FRACTION, "{{tenant}}", instant=True)],
                   description="Error budget remaining as a fraction of the whole month's budget "
                               "(sla_error_budget_remaining_seconds / sla_error_budget_seconds); below 0 the "
                               "budget is spent and the month misses the target.",
                   unit="percentunit", decimals=1, min=0, max=1, thresholds=BUDGET_FRACTION_STEPS,
                   links=SERIES_TENANT_LINK), 8, 8)
    b.add(bargauge("Previous month", [target(by("tenant", "sla_previous_month_availability_ratio"), "{{tenant}}",
                                             instant=True)],
                   description="Availability of the previous calendar month (closed: it no longer changes).",
                   unit="percentunit", decimals=3, min=0.99, max=1, thresholds=SLA_STEPS, links=SERIES_TENANT_LINK),
          8, 8)
    b.add(timeseries("Availability (month to date)", [target(by("tenant", "sla_availability_ratio"), "{{tenant}}")],
                     description="Month-to-date availability per tenant; the dashed line is the 99.92 % target. "
                                 "It starts again at each month's beginning.",
                     unit="percentunit", decimals=3, thresholds=SLA_STEPS, threshold_line=True,
                     links=SERIES_TENANT_LINK), 12, 8)
    b.add(timeseries("SLA margin", [target(by("tenant", "sla_margin_ratio"), "{{tenant}}")],
                     description="Month-to-date availability minus the target (sla_margin_ratio), in percentage "
                                 "points; below the dashed zero line the tenant is under target.",
                     unit="percentunit", decimals=3, thresholds=MARGIN_STEPS, threshold_line=True,
                     links=SERIES_TENANT_LINK), 12, 8)
    b.add(timeseries("Error budget left (fraction)", [target(BUDGET_FRACTION, "{{tenant}}")],
                     description="Remaining error budget / the month's error budget.",
                     unit="percentunit", decimals=1, thresholds=MARGIN_STEPS, threshold_line=True,
                     links=SERIES_TENANT_LINK), 12, 8)
    b.add(timeseries("Error budget left (time)", [target(by("tenant", "sla_error_budget_remaining_seconds"),
                                                         "{{tenant}}")],
                     description="Downtime the month still allows: (1 - target) x the month's eligible time, minus "
                                 "month-to-date downtime (sla_error_budget_remaining_seconds).",
                     unit="s", thresholds=MARGIN_STEPS, threshold_line=True, links=SERIES_TENANT_LINK), 12, 8)

    b.row("Burn rate")
    b.add(table(
        "Tenants at risk",
        [("tenant", "Tenant")],
        [
            Column("Budget left", AT_RISK, "s", 0, MARGIN_STEPS),
            Column("Downtime to month end at 6h pace", f"({PROJECTED_6H}) and on (tenant) ({AT_RISK})", "s", 0,
                   cell="auto"),
            Column("Burn 6h", f"{by('tenant', burn('6h'))} and on (tenant) ({AT_RISK})", "suffix:x", 2, BURN_STEPS),
        ],
        description="Tenants whose remaining error budget is below what the last 6 hours' downtime ratio "
                    "(tenant:sla_downtime:ratio_rate6h) would use from now until sla_month_end_timestamp_seconds. "
                    "Empty is good. Maintenance still to come is not subtracted, so the projection errs on the "
                    "safe side.",
        sort_by="Budget left",
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK)],
    ), 24, 6)
    for pair in (BURN_WINDOWS[:2], BURN_WINDOWS[2:]):
        b.add(timeseries(f"Burn rate {' and '.join(pair)}",
                         [target(by("tenant", burn(w)), f"{{{{tenant}}}} {w}") for w in pair],
                         description="Error budget burn rate: downtime / eligible time over the window, divided by "
                                     "(1 - target). 1 (dashed) spends exactly the month's budget; above it the "
                                     "budget runs out before the month ends.",
                         unit="suffix:x", decimals=2, thresholds=steps("green", (1, "red")), threshold_line=True,
                         links=SERIES_TENANT_LINK), 12, 8)

    b.row("State")
    b.add(state_timeline("Tenant state", [target(TENANT_STATE, "{{tenant}}")],
                         description="Up (sla_up 1), down (0) or unknown (no sample: probe results are stale).",
                         unit="none", mappings=UP_DOWN, links=SERIES_TENANT_LINK), 24, 8)
    b.add(state_timeline("Maintenance", [target(by("tenant", "sla_maintenance_active"), "{{tenant}}")],
                         description="Maintenance windows (sla_maintenance_active): excluded from the month's "
                                     "eligible time, so downtime inside them costs no budget.",
                         unit="none", mappings=MAINTENANCE, links=SERIES_TENANT_LINK), 24, 6)

    b.row("Exporter")
    b.add(stat("Config", [target("min(sla_exporter_config_last_reload_successful)", "config", instant=True)],
               description="Whether the last config (re)load succeeded; a refused config keeps the running one.",
               unit="none", mappings=value_map({1: ("loaded", "green"), 0: ("reload failed", "red")})), 4, 4)
    b.add(stat("Config loaded", [target("max(sla_exporter_config_last_reload_success_timestamp_seconds) * 1000",
                                        "loaded", instant=True)],
               description="When the config was last loaded successfully.", unit="dateTimeFromNow"), 4, 4)
    b.add(stat("Version", [target("count by (version) (sla_exporter_build_info)", "{{version}}", instant=True)],
               description="sla-exporter versions being scraped.", unit="none", text_mode="name"), 4, 4)
    b.add(stat("Scrape duration", [target("max(sla_exporter_scrape_duration_seconds)", "scrape")],
               description="Time the exporter spent computing the SLA figures for the last scrape.",
               unit="s", graph=True), 4, 4)
    b.add(stat("Month started", [target("max(sla_month_start_timestamp_seconds) * 1000", "start", instant=True)],
               description="Start of the current calendar month in the contract's timezone.",
               unit="dateTimeAsIso"), 4, 4)
    b.add(stat("Month ends", [target("max(sla_month_end_timestamp_seconds) * 1000", "end", instant=True)],
               description="End of the current calendar month in the contract's timezone: the error budget "
                           "is reset then.", unit="dateTimeFromNow"), 4, 4)
    return dashboard(
        "sla-overview", "SLA overview",
        "All tenants: month-to-date availability against the 99.92 % target, margin, error budget, "
        "burn rates, tenants at risk, previous month, state and maintenance now.",
        b, multi_tenant=True, time_from="now-7d")


def tenant_detail() -> JSON:
    b = Board()
    one = lambda metric: f"max({sel(metric)})"  # noqa: E731  one tenant, any number of scrapes
    b.row("Now")
    b.add(stat("State", [target(f"max({TENANT_STATE})", "state", instant=True)],
               description="Up, down, or unknown (no fresh probe results).", unit="none", mappings=UP_DOWN,
               color_mode="background"), 3, 4)
    b.add(stat("Availability", [target(one("sla_availability_ratio"), "availability", instant=True)],
               description="Month-to-date availability: (eligible - unknown - downtime) / (eligible - unknown). "
                           "Green at or above 99.92 %.",
               unit="percentunit", decimals=3, thresholds=SLA_STEPS), 3, 4)
    b.add(stat("Target", [target(one("sla_target_ratio"), "target", instant=True)],
               description="The tenant's availability target.", unit="percentunit", decimals=2), 3, 4)
    b.add(stat("SLA margin", [target(one("sla_margin_ratio"), "margin", instant=True)],
               description="Availability minus target; negative: below target.", unit="percentunit",
               decimals=3, thresholds=MARGIN_STEPS), 3, 4)
    b.add(gauge("Error budget left", [target(f"max({BUDGET_FRACTION})", "budget left", instant=True)],
                description="Remaining error budget as a fraction of the whole month's budget.",
                unit="percentunit", decimals=1, min=0, max=1, thresholds=BUDGET_FRACTION_STEPS), 3, 4)
    b.add(stat("Budget left", [target(one("sla_error_budget_remaining_seconds"), "budget left", instant=True)],
               description="Downtime the month still allows (sla_error_budget_remaining_seconds); negative: "
                           "exceeded.", unit="s", thresholds=MARGIN_STEPS), 3, 4)
    b.add(stat("Maintenance", [target(one("sla_maintenance_active"), "maintenance", instant=True)],
               description="Whether a maintenance window is in progress now.", unit="none", mappings=MAINTENANCE),
          3, 4)
    b.add(stat("Previous month", [target(one("sla_previous_month_availability_ratio"), "previous", instant=True)],
               description="Availability of the previous calendar month.", unit="percentunit", decimals=3,
               thresholds=SLA_STEPS), 3, 4)

    b.row("This month")
    month_stats = [
        ("Downtime", one("sla_month_downtime_seconds"), "s", TEXT_STEPS,
         "Month-to-date downtime outside maintenance: what the budget pays for."),
        ("Unknown time", one("sla_month_unknown_seconds"), "s", TEXT_STEPS,
         "Month-to-date time outside maintenance with no probe result: the monitor's own gaps, counted "
         "neither up nor down."),
        ("Maintenance time", one("sla_month_maintenance_seconds"), "s", NEUTRAL_STEPS,
         "Month-to-date time inside maintenance windows."),
        ("Eligible time", one("sla_month_eligible_seconds"), "s", TEXT_STEPS,
         "Month-to-date time outside maintenance."),
        ("Outages in range", f"round(max(increase({sel('sla_outages_total')}[$__range])))", "none", COUNT_WARN_STEPS,
         "Outages (stretches of downtime that cost budget) that began in the dashboard's time range."),
        ("Month ends", "max(sla_month_end_timestamp_seconds) * 1000", "dateTimeFromNow", TEXT_STEPS,
         "When the calendar month ends in the contract's timezone and the budget starts again."),
    ]
    for title, expr, unit, thr, desc in month_stats:
        b.add(stat(title, [target(expr, title, instant=True)], description=desc, unit=unit, thresholds=thr,
                   decimals=0 if unit == "none" else None), 4, 4)
    b.add(timeseries("Availability against target", [
        target(one("sla_availability_ratio"), "availability"),
        target(one("sla_target_ratio"), "target"),
    ], description="Month-to-date availability and the tenant's target (dashed).", unit="percentunit", decimals=3,
        overrides=[override("B", "byFrameRefID", line_style={"dash": [10, 10], "fill": "dash"},
                            color={"fixedColor": "red", "mode": "fixed"})]), 12, 8)
    b.add(timeseries("Downtime against budget", [
        target(one("sla_month_downtime_seconds"), "downtime"),
        target(one("sla_month_unknown_seconds"), "unknown"),
        target(one("sla_error_budget_seconds"), "error budget"),
    ], description="Month-to-date downtime and unknown time against the month's error budget (dashed): downtime "
                   "above the line misses the target.", unit="s",
        overrides=[override("C", "byFrameRefID", line_style={"dash": [10, 10], "fill": "dash"},
                            color={"fixedColor": "red", "mode": "fixed"})]), 12, 8)
    b.add(timeseries("Burn rate", [target(one(burn(w)), w) for w in BURN_WINDOWS],
                     description="Error budget burn rate over 1h, 6h, 1d and 3d: downtime / eligible time divided "
                                 "by (1 - target). 1 (dashed) spends exactly the month's budget.",
                     unit="suffix:x", decimals=2, thresholds=steps("green", (1, "red")), threshold_line=True),
          12, 8)
    b.add(timeseries("Error budget left", [target(f"max({BUDGET_FRACTION})", "budget left")],
                     description="Remaining error budget as a fraction of the month's budget.",
                     unit="percentunit", decimals=1, thresholds=MARGIN_STEPS, threshold_line=True), 12, 8)

    b.row("State")
    b.add(state_timeline("Tenant, probes and maintenance", [
        target(f"max({TENANT_STATE})", "tenant"),
        target(by("probe", "sla_probe_success"), "{{probe}}"),
        target(one("sla_maintenance_active"), "maintenance"),
    ], description="The tenant's state (up/down/unknown), each probe's last result (gaps: stale, unknown) and "
                   "maintenance windows, in which downtime is not counted.",
        unit="none", mappings=UP_DOWN,
        overrides=[override("B", "byFrameRefID", mappings=PROBE_OK),
                   override("C", "byFrameRefID", mappings=MAINTENANCE)]), 24, 8)

    b.row("Probes")
    b.add(table(
        "Probes now",
        [("probe", "Probe")],
        [
            Column("Last result", by("probe", "sla_probe_success"), "none", mappings=PROBE_OK,
                   cell="color-background"),
            Column("Duration", by("probe", "sla_probe_duration_seconds"), "s", cell="auto"),
            Column("HTTP status", by("probe", "sla_probe_http_status_code"), "none", mappings=HTTP_STATUS),
            Column("Certificate expires in", f"{by('probe', 'sla_probe_tls_cert_expiry_timestamp_seconds')} - time()",
                   "s", 0, CERT_STEPS),
            Column("Errors in range",
                   f"round(sum by (probe) (increase({sel('sla_probe_errors_total')}[$__range])))", "none", 0,
                   COUNT_WARN_STEPS),
        ],
        description="Each probe (channel or endpoint) now: last result, how long it took, HTTP status (0: no "
                    "response), time left on the TLS certificate, failed runs in the time range.",
        sort_by="Probe",
    ), 12, 8)
    b.add(bargauge("Certificate expiry", [
        target(f"{by('probe', 'sla_probe_tls_cert_expiry_timestamp_seconds')} - time()", "{{probe}}", instant=True)],
        description="Time until each probe's TLS certificate expires: red under 7 days, orange under 21.",
        unit="s", min=0, max=90 * 86400, thresholds=CERT_STEPS), 12, 8)
    b.add(timeseries("Probe success", [
        target(f"avg by (probe) (avg_over_time({sel('sla_probe_success')}[$__rate_interval]))", "{{probe}}")],
        description="Share of scrapes in which each probe's last result was a success.",
        unit="percentunit", min=0, max=1, decimals=1), 12, 8)
    b.add(timeseries("Probe latency", [target(by("probe", "sla_probe_duration_seconds"), "{{probe}}")],
                     description="How long each probe's last run took (connect plus the whole body).",
                     unit="s"), 12, 8)
    b.add(state_timeline("HTTP status codes", [target(by("probe", "sla_probe_http_status_code"), "{{probe}}")],
                         description="HTTP status of each probe's last response; 0: no response (timeout, "
                                     "connection, DNS or TLS error).", unit="none", mappings=HTTP_STATUS), 12, 8)
    b.add(timeseries("Probe errors by reason", [
        target(f"sum by (probe, reason) (rate({sel('sla_probe_errors_total')}[$__rate_interval]))",
               "{{probe}} {{reason}}")],
        description="Failed probe runs per second by reason: timeout, connection, tls, dns, status, body, "
                    "redirect, config.", unit="reqps", fill=30, stack=True), 12, 8)
    maintenance_annotation = {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": f"{one('sla_maintenance_active')} == 1",
        "hide": False,
        "iconColor": "blue",
        "name": "Maintenance",
        "step": "60s",
        "tagKeys": "",
        "textFormat": "Maintenance window: downtime is not counted",
        "titleFormat": "Maintenance",
        "useValueForTime": False,
    }
    return dashboard(
        "sla-tenant", "SLA tenant detail",
        "One tenant: availability and error budget this month, burn rates, outages, tenant and probe state "
        "with maintenance windows, probe latency, HTTP status, TLS certificates and probe errors.",
        b, multi_tenant=False, time_from="now-24h", annotations=[maintenance_annotation])


def support() -> JSON:
    b = Board()
    b.row("Now")
    b.add(stat("Open incidents", [target(f"sum by (priority) ({sel('sla_support_incidents_open')})", "{{priority}}",
                                         instant=True)],
               description="Open support incidents by priority, filed through the API or detected from probes "
                           "(detected ones have no deadlines: the vendor answers what was filed).",
               unit="none", decimals=0, thresholds=COUNT_WARN_STEPS, text_mode="value_and_name", no_value="0",
               overrides=[override("P1", thresholds=COUNT_BAD_STEPS)]), 8, 4)
    b.add(stat("Open service requests", [target(f"sum({sel('sla_support_service_requests_open')})", "open",
                                                instant=True)],
               description="Open minor service requests (3 business days to deliver).", unit="none", decimals=0,
               thresholds=NEUTRAL_STEPS, no_value="0"), 4, 4)
    b.add(stat("Overdue deadlines", [target(
        f"count({' or '.join(f'{sel(m)} < time()' for m in [*INCIDENT_DUE.values(), REQUEST_DUE])}) or vector(0)",
        "overdue", instant=True)],
        description="Response, communication, resolution and delivery deadlines already past.",
        unit="none", decimals=0, thresholds=COUNT_BAD_STEPS), 4, 4)
    b.add(stat("Next deadline in", [target(f"min({ALL_DUE}) - time()", "next", instant=True)],
               description="Time to the earliest open deadline; negative: overdue.", unit="s",
               thresholds=DUE_STEPS, no_value="none open"), 4, 4)
    b.add(stat("Breaches in range", [target(
        f"round(sum(increase({sel('sla_support_breaches_total')}[$__range]))) or vector(0)", "breaches",
        instant=True)],
        description="Support deadlines missed in the dashboard's time range.", unit="none", decimals=0,
        thresholds=COUNT_BAD_STEPS), 4, 4)

    b.row("Deadlines")
    labels = "tenant, incident, priority"
    b.add(table(
        "Incident deadlines",
        [("tenant", "Tenant"), ("incident", "Incident"), ("priority", "Priority")],
        [
            *(Column(f"{name.capitalize()} due in", f"{by(labels, metric)} - time()", "s", 0, DUE_STEPS)
              for name, metric in INCIDENT_DUE.items()),
            Column("Next due at", f"min by ({labels}) ({' or '.join(sel(m) for m in INCIDENT_DUE.values())}) * 1000",
                   "dateTimeAsIso", cell="auto"),
        ],
        description="Open incidents and the time left to each deadline (negative: overdue; blank: none, e.g. "
                    "response already given or no resolution target). Initial response P1 1 h, P2 4 h, "
                    "P3 1 business day, P4 2; communication P1 every 1 h, P2 6 h, P3 3 business days, P4 5; "
                    "resolution P1 4 h. Earliest deadline first.",
        sort_by="Next due at",
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK),
                       override("Priority", mappings=PRIORITY, cell={"type": "color-text"})],
    ), 24, 10)
    b.add(table(
        "Service requests",
        [("tenant", "Tenant"), ("request", "Request")],
        [
            Column("Delivery due in", f"{by('tenant, request', REQUEST_DUE)} - time()", "s", 0, DUE_STEPS),
            Column("Delivery due at", f"{by('tenant, request', REQUEST_DUE)} * 1000", "dateTimeAsIso", cell="auto"),
        ],
        description="Open minor service requests and their delivery deadline (3 business days).",
        sort_by="Delivery due in",
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK)],
    ), 12, 8)
    b.add(bargauge("Open incidents by tenant", [
        target(f"sum by (tenant, priority, source) ({sel('sla_support_incidents_open')}) > 0",
               "{{tenant}} {{priority}} {{source}}", instant=True)],
        description="Open incidents per tenant, priority and source: filed through the API (deadlines run) "
                    "or detected from probes (no deadlines until filed).", unit="none", decimals=0, min=0,
        thresholds=COUNT_WARN_STEPS, links=SERIES_TENANT_LINK), 12, 8)

    b.row("Breaches")
    b.add(bargauge("Breaches by priority and target", [target(
        f"round(sum by (priority, target) (increase({sel('sla_support_breaches_total')}[$__range]))) > 0",
        "{{priority}} {{target}}", instant=True)],
        description="Deadlines missed in the time range, by priority (P1-P4, service-request) and target "
                    "(response, communication, resolution, delivery).",
        unit="none", decimals=0, min=0, thresholds=COUNT_BAD_STEPS), 12, 8)
    b.add(table(
        "Breaches by tenant",
        [("tenant", "Tenant"), ("priority", "Priority"), ("target", "Target")],
        [Column("Breaches", f"round(sum by (tenant, priority, target) "
                            f"(increase({sel('sla_support_breaches_total')}[$__range]))) > 0",
                "none", 0, COUNT_BAD_STEPS)],
        description="Deadlines missed in the time range per tenant.",
        sort_by="Breaches", desc=True,
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK),
                       override("Priority", mappings=PRIORITY, cell={"type": "color-text"})],
    ), 12, 8)
    b.add(timeseries("Open incidents", [target(f"sum by (priority) ({sel('sla_support_incidents_open')})",
                                               "{{priority}}")],
                     description="Open incidents over time by priority (stacked).", unit="none", decimals=0,
                     stack=True, fill=30), 12, 8)
    b.add(timeseries("Open service requests", [target(by("tenant", "sla_support_service_requests_open", "sum"),
                                                      "{{tenant}}")],
                     description="Open service requests over time per tenant (stacked).", unit="none", decimals=0,
                     stack=True, fill=30, links=SERIES_TENANT_LINK), 12, 8)
    return dashboard(
        "sla-support", "SLA support",
        "Support incidents and service requests against the contract's deadlines: open incidents by "
        "priority, time left to each response, communication, resolution and delivery deadline, and breaches.",
        b, multi_tenant=True, time_from="now-7d")


DASHBOARDS = {
    "sla-overview.json": overview,
    "sla-tenant.json": tenant_detail,
    "sla-support.json": support,
}


def build() -> dict[str, JSON]:
    """Every dashboard by file name."""
    return {name: make() for name, make in DASHBOARDS.items()}


def render(dashboard_json: JSON) -> str:
    return json.dumps(dashboard_json, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file differs; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name, dash in build().items():
        path = DASHBOARDS_DIR / name
        text = render(dash)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        DASHBOARDS_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print(f"out of date (run python grafana/generate.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
