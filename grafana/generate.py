#!/usr/bin/env python3
"""Generates the Grafana dashboards in grafana/dashboards/ from code, so that the three
dashboards share one style: the same variables, units, thresholds, colours and links.

    python grafana/generate.py           # rewrite the JSON files (and everything else that
                                         # follows from slo/spec.py: same as python -m slo)
    python grafana/generate.py --check   # exit 1 naming each generated file that differs

The SLO parameters (burn windows, colour thresholds, metric and recording-rule names) come
from slo/spec.py, which also generates the Prometheus rules: `python -m slo` (make generate)
regenerates everything, this script included. Edit this file or the spec, run it, commit
the JSON it writes; `--check` (and a test) fail when the committed JSON is not what it
produces.

Colours: availability is never coloured against a fixed figure, since every tenant has its
own target. What is coloured is the tenant's margin (sla_margin_ratio, availability minus
its own target) with spec.MARGIN_COLOURS: red below its target, orange just above, green
with a comfortable margin.

Conventions of every query:
- tenants are selected with ``tenant=~"$tenant"`` (the All value is ``.+``);
- tenant figures are taken with ``max by (tenant)``: one exporter per tenant gives the
  same answer as the raw series, and an HA pair scraping the same exporter does not count
  twice; it also drops ``job``/``instance`` so that table columns line up;
- Unix timestamps shown as dates are multiplied by 1000 (Grafana's dateTime units take
  milliseconds); deadlines are shown as time remaining, ``due - time()``, in seconds.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DASHBOARDS_DIR = HERE / "dashboards"
if str(HERE.parent) not in sys.path:  # run as a script: the spec lives in this checkout
    sys.path.insert(0, str(HERE.parent))

from slo import spec  # noqa: E402
from slo.spec import M  # noqa: E402

SCHEMA_VERSION = 39
TAGS = ["sla-exporter"]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TENANT = 'tenant=~"$tenant"'
TENANT_DETAIL_URL = "/d/sla-tenant/sla-tenant-detail?var-datasource=${datasource}&${__url_time_range}&var-tenant="
BURN_WINDOWS = spec.DASHBOARD_BURN_WINDOWS  # the burn-rate alerts' long windows

JSON = dict[str, Any]


# --------------------------------------------------------------------------- queries


def sel(metric: str) -> str:
    """`metric{tenant=~"$tenant"}`: every query is filtered by the tenant variable."""
    return f"{metric}{{{TENANT}}}"


def by(labels: str, metric: str, agg: str = "max") -> str:
    """`max by (labels) (metric{tenant=~"$tenant"})`."""
    return f"{agg} by ({labels}) ({sel(metric)})"


burn = spec.burn_rate  # tenant:sla_error_budget_burn:rate<window>


def words(window: str) -> str:
    """'6h' -> '6 hours'."""
    n, unit = int(window[:-1]), {"m": "minute", "h": "hour", "d": "day"}[window[-1]]
    return f"{n} {unit}{'' if n == 1 else 's'}"


# 1 up, 0 down, -1 unknown (sla_up has no sample while the state is unknown)
TENANT_STATE = f"{by('tenant', M.UP)} or ({by('tenant', M.TARGET)} * 0 - 1)"
BUDGET_FRACTION = f"{by('tenant', M.BUDGET_REMAINING)} / {by('tenant', M.BUDGET)}"
# What the downtime ratio of the last hours (spec.PROJECTION_WINDOW, 6h) would use up from
# now to the end of the month.
PACE = spec.PROJECTION_WINDOW
PROJECTED = (
    f"{by('tenant', spec.downtime_ratio(PACE))}"
    f" * on () group_left () (max({M.MONTH_END}) - time())"
)
# Tenants whose remaining budget is below that: at this pace they miss the target.
AT_RISK = f"{by('tenant', M.BUDGET_REMAINING)} < on (tenant) ({PROJECTED})"
# Margin of the previous month against the tenant's current target.
PREVIOUS_MARGIN = f"{by('tenant', M.PREVIOUS_AVAILABILITY)} - on (tenant) {by('tenant', M.TARGET)}"
INCIDENT_DUE = {
    "response": M.SUPPORT_RESPONSE_DUE,
    "communication": M.SUPPORT_COMMUNICATION_DUE,
    "resolution": M.SUPPORT_RESOLUTION_DUE,
}
REQUEST_DUE = M.SUPPORT_REQUEST_DUE
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


def colours(table: tuple[tuple[float | None, str], ...]) -> JSON:
    """Thresholds from one of the spec's colour tables [(from, colour)], the first from None."""
    (_, base), *rest = table
    return steps(base, *((v, c) for v, c in rest))


def colour_words(table: tuple[tuple[float | None, str], ...], fmt) -> str:
    """'red below 0, orange from 0, green from 0.02 %' for descriptions."""
    (_, base), *rest = table
    return ", ".join([f"{base} below {fmt(rest[0][0])}", *(f"{c} from {fmt(v)}" for v, c in rest)])


def points(ratio: float) -> str:
    return f"{ratio * 100:g} points" if ratio else "0"


MARGIN_STEPS = colours(spec.MARGIN_COLOURS)  # availability - the tenant's own target
MARGIN_WORDS = colour_words(spec.MARGIN_COLOURS, points)
SIGN_STEPS = steps("red", (0, "green"))  # budget left in seconds: spent or not
BUDGET_FRACTION_STEPS = colours(spec.BUDGET_LEFT_COLOURS)
BURN_STEPS = colours(spec.BURN_COLOURS)  # 1 = exactly the month's budget
BURN_WORDS = colour_words(spec.BURN_COLOURS, lambda v: f"{v:g}")
DUE_STEPS = colours(spec.DEADLINE_COLOURS)  # overdue, soon, later
CERT_STEPS = colours(spec.CERT_COLOURS)
CERT_WORDS = colour_words(spec.CERT_COLOURS, lambda v: f"{v / 86400:g} days")
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
    query = f"label_values({M.TARGET}, tenant)"
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
         f"Tenants whose state is up now ({M.UP} == 1)."),
        ("Tenants down", f"count(({TENANT_STATE}) == 0) or vector(0)", COUNT_BAD_STEPS,
         f"Tenants whose state is down now ({M.UP} == 0): some probe (down_when: any) or every probe "
         "(down_when: all) has failed failure_threshold times in a row."),
        ("Tenants unknown", f"count(({TENANT_STATE}) == -1) or vector(0)", COUNT_WARN_STEPS,
         f"Tenants with no known state now: {M.UP} has no sample because probe results are stale. "
         "Unknown time is neither up nor down."),
        ("In maintenance", f"count({by('tenant', M.MAINTENANCE_ACTIVE)} == 1) or vector(0)", NEUTRAL_STEPS,
         f"Tenants inside a maintenance window now ({M.MAINTENANCE_ACTIVE}). Downtime in maintenance is not counted."),
        ("Below target", f"count({by('tenant', M.MARGIN)} < 0) or vector(0)", COUNT_BAD_STEPS,
         f"Tenants whose month-to-date availability is below their target ({M.MARGIN} < 0)."),
        ("At risk", f"count({AT_RISK}) or vector(0)", COUNT_WARN_STEPS,
         f"Tenants whose remaining error budget is smaller than the downtime the last {words(PACE)}' pace "
         f"would add before the month ends (see the table 'Tenants at risk')."),
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
            Column("Maintenance", by("tenant", M.MAINTENANCE_ACTIVE), "none", mappings=MAINTENANCE),
            Column("Availability", by("tenant", M.AVAILABILITY), "percentunit", 3, cell="auto"),
            Column("Target", by("tenant", M.TARGET), "percentunit", 2, cell="auto"),
            Column("Margin", by("tenant", M.MARGIN), "percentunit", 3, MARGIN_STEPS, cell="color-background"),
            Column("Budget left", by("tenant", M.BUDGET_REMAINING), "s", 0, SIGN_STEPS),
            Column("Budget left %", BUDGET_FRACTION, "percentunit", 1, BUDGET_FRACTION_STEPS,
                   cell="gauge", extra={"min": 0, "max": 1}),
            *burn_cols,
            Column("Previous month", by("tenant", M.PREVIOUS_AVAILABILITY), "percentunit", 3, cell="auto"),
            Column("Previous margin", PREVIOUS_MARGIN, "percentunit", 3, MARGIN_STEPS),
        ],
        description="One row per tenant, worst margin first. Availability and budget are month to date in "
                    "the contract's calendar month. The Margin column carries the colour: availability minus "
                    f"the tenant's own target ({MARGIN_WORDS}), never a fixed availability. Burn rates are "
                    "downtime / eligible time over the window divided by (1 - target): 1 uses exactly the "
                    f"month's budget ({BURN_WORDS}). The previous month's margin is against today's target. "
                    "State 'unknown' means no fresh probe results. Click a tenant for its detail.",
        sort_by="Margin",
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK)],
    ), 24, 10)

    b.row("Month to date")
    b.add(bargauge("Margin this month", [target(by("tenant", M.MARGIN), "{{tenant}}", instant=True)],
                   description=f"Month-to-date availability minus each tenant's own target ({M.MARGIN}): how "
                               f"far above its target each tenant is, whatever that target ({MARGIN_WORDS}).",
                   unit="percentunit", decimals=3, thresholds=MARGIN_STEPS, links=SERIES_TENANT_LINK), 8, 8)
    b.add(bargauge("Error budget left", [target(BUDGET_FRACTION, "{{tenant}}", instant=True)],
                   description="Error budget remaining as a fraction of the whole month's budget "
                               f"({M.BUDGET_REMAINING} / {M.BUDGET}); below 0 the "
                               "budget is spent and the month misses the target.",
                   unit="percentunit", decimals=1, min=0, max=1, thresholds=BUDGET_FRACTION_STEPS,
                   links=SERIES_TENANT_LINK), 8, 8)
    b.add(bargauge("Previous month margin", [target(PREVIOUS_MARGIN, "{{tenant}}", instant=True)],
                   description="Availability of the previous calendar month (closed: it no longer changes) minus "
                               f"the tenant's current target ({MARGIN_WORDS}).",
                   unit="percentunit", decimals=3, thresholds=MARGIN_STEPS, links=SERIES_TENANT_LINK), 8, 8)
    b.add(timeseries("Availability (month to date)", [target(by("tenant", M.AVAILABILITY), "{{tenant}}")],
                     description="Month-to-date availability per tenant. Targets differ between tenants: 'SLA "
                                 "margin' shows each against its own. It starts again at each month's beginning.",
                     unit="percentunit", decimals=3, links=SERIES_TENANT_LINK), 12, 8)
    b.add(timeseries("SLA margin", [target(by("tenant", M.MARGIN), "{{tenant}}")],
                     description=f"Month-to-date availability minus the tenant's own target ({M.MARGIN}), in "
                                 "percentage points; below the dashed zero line the tenant is under its target, "
                                 f"and above the second line its margin is comfortable ({MARGIN_WORDS}).",
                     unit="percentunit", decimals=3, thresholds=MARGIN_STEPS, threshold_line=True,
                     links=SERIES_TENANT_LINK), 12, 8)
    b.add(timeseries("Error budget left (fraction)", [target(BUDGET_FRACTION, "{{tenant}}")],
                     description="Remaining error budget / the month's error budget.",
                     unit="percentunit", decimals=1, thresholds=BUDGET_FRACTION_STEPS, threshold_line=True,
                     links=SERIES_TENANT_LINK), 12, 8)
    b.add(timeseries("Error budget left (time)", [target(by("tenant", M.BUDGET_REMAINING),
                                                         "{{tenant}}")],
                     description="Downtime the month still allows: (1 - target) x the month's eligible time, minus "
                                 f"month-to-date downtime ({M.BUDGET_REMAINING}).",
                     unit="s", thresholds=SIGN_STEPS, threshold_line=True, links=SERIES_TENANT_LINK), 12, 8)

    b.row("Burn rate")
    b.add(table(
        "Tenants at risk",
        [("tenant", "Tenant")],
        [
            Column("Budget left", AT_RISK, "s", 0, SIGN_STEPS),
            Column(f"Downtime to month end at {PACE} pace", f"({PROJECTED}) and on (tenant) ({AT_RISK})", "s", 0,
                   cell="auto"),
            Column(f"Burn {PACE}", f"{by('tenant', burn(PACE))} and on (tenant) ({AT_RISK})", "suffix:x", 2,
                   BURN_STEPS),
        ],
        description=f"Tenants whose remaining error budget is below what the last {words(PACE)}' downtime ratio "
                    f"({spec.downtime_ratio(PACE)}) would use from now until {M.MONTH_END}. "
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
                         description=f"Up ({M.UP} 1), down (0) or unknown (no sample: probe results are stale).",
                         unit="none", mappings=UP_DOWN, links=SERIES_TENANT_LINK), 24, 8)
    b.add(state_timeline("Maintenance", [target(by("tenant", M.MAINTENANCE_ACTIVE), "{{tenant}}")],
                         description=f"Maintenance windows ({M.MAINTENANCE_ACTIVE}): excluded from the month's "
                                     "eligible time, so downtime inside them costs no budget.",
                         unit="none", mappings=MAINTENANCE, links=SERIES_TENANT_LINK), 24, 6)

    b.row("Exporter")
    b.add(stat("Config", [target(f"min({M.RELOAD_OK})", "config", instant=True)],
               description="Whether the last config (re)load succeeded; a refused config keeps the running one.",
               unit="none", mappings=value_map({1: ("loaded", "green"), 0: ("reload failed", "red")})), 4, 4)
    b.add(stat("Config loaded", [target(f"max({M.RELOAD_TIME}) * 1000",
                                        "loaded", instant=True)],
               description="When the config was last loaded successfully.", unit="dateTimeFromNow"), 4, 4)
    b.add(stat("Version", [target(f"count by (version) ({M.BUILD_INFO})", "{{version}}", instant=True)],
               description="sla-exporter versions being scraped.", unit="none", text_mode="name"), 4, 4)
    b.add(stat("Scrape duration", [target(f"max({M.SCRAPE_DURATION})", "scrape")],
               description="Time the exporter spent computing the SLA figures for the last scrape.",
               unit="s", graph=True), 4, 4)
    b.add(stat("Month started", [target(f"max({M.MONTH_START}) * 1000", "start", instant=True)],
               description="Start of the current calendar month in the contract's timezone.",
               unit="dateTimeAsIso"), 4, 4)
    b.add(stat("Month ends", [target(f"max({M.MONTH_END}) * 1000", "end", instant=True)],
               description="End of the current calendar month in the contract's timezone: the error budget "
                           "is reset then.", unit="dateTimeFromNow"), 4, 4)
    return dashboard(
        "sla-overview", "SLA overview",
        "All tenants: month-to-date availability, margin over each tenant's own target, error budget, "
        "burn rates, tenants at risk, previous month, state and maintenance now.",
        b, multi_tenant=True, time_from="now-7d")


def tenant_detail() -> JSON:
    b = Board()
    one = lambda metric: f"max({sel(metric)})"  # noqa: E731  one tenant, any number of scrapes
    b.row("Now")
    b.add(stat("State", [target(f"max({TENANT_STATE})", "state", instant=True)],
               description="Up, down, or unknown (no fresh probe results).", unit="none", mappings=UP_DOWN,
               color_mode="background"), 3, 4)
    b.add(stat("Availability", [target(one(M.AVAILABILITY), "availability", instant=True)],
               description="Month-to-date availability: (eligible - unknown - downtime) / (eligible - unknown). "
                           "Not coloured: targets differ between tenants, so the SLA margin next to it carries "
                           "the colour.",
               unit="percentunit", decimals=3), 3, 4)
    b.add(stat("Target", [target(one(M.TARGET), "target", instant=True)],
               description="The tenant's availability target.", unit="percentunit", decimals=2), 3, 4)
    b.add(stat("SLA margin", [target(one(M.MARGIN), "margin", instant=True)],
               description=f"Availability minus the tenant's own target; negative: below target ({MARGIN_WORDS}).",
               unit="percentunit", decimals=3, thresholds=MARGIN_STEPS, color_mode="background"), 3, 4)
    b.add(gauge("Error budget left", [target(f"max({BUDGET_FRACTION})", "budget left", instant=True)],
                description="Remaining error budget as a fraction of the whole month's budget.",
                unit="percentunit", decimals=1, min=0, max=1, thresholds=BUDGET_FRACTION_STEPS), 3, 4)
    b.add(stat("Budget left", [target(one(M.BUDGET_REMAINING), "budget left", instant=True)],
               description=f"Downtime the month still allows ({M.BUDGET_REMAINING}); negative: "
                           "exceeded.", unit="s", thresholds=SIGN_STEPS), 3, 4)
    b.add(stat("Maintenance", [target(one(M.MAINTENANCE_ACTIVE), "maintenance", instant=True)],
               description="Whether a maintenance window is in progress now.", unit="none", mappings=MAINTENANCE),
          3, 4)
    b.add(stat("Previous month", [target(one(M.PREVIOUS_AVAILABILITY), "previous", instant=True),
                                  target(f"max({PREVIOUS_MARGIN})", "margin", instant=True)],
               description="Availability of the previous calendar month, and its margin over the tenant's "
                           f"current target ({MARGIN_WORDS}).", unit="percentunit", decimals=3,
               text_mode="value_and_name", overrides=[override("B", "byFrameRefID", thresholds=MARGIN_STEPS)]),
          3, 4)

    b.row("This month")
    month_stats = [
        ("Downtime", one(M.MONTH_DOWNTIME), "s", TEXT_STEPS,
         "Month-to-date downtime outside maintenance: what the budget pays for."),
        ("Unknown time", one(M.MONTH_UNKNOWN), "s", TEXT_STEPS,
         "Month-to-date time outside maintenance with no probe result: the monitor's own gaps, counted "
         "neither up nor down."),
        ("Maintenance time", one(M.MONTH_MAINTENANCE), "s", NEUTRAL_STEPS,
         "Month-to-date time inside maintenance windows."),
        ("Eligible time", one(M.MONTH_ELIGIBLE), "s", TEXT_STEPS,
         "Month-to-date time outside maintenance."),
        ("Outages in range", f"round(max(increase({sel(M.OUTAGES_TOTAL)}[$__range])))", "none", COUNT_WARN_STEPS,
         "Outages (stretches of downtime that cost budget) that began in the dashboard's time range."),
        ("Month ends", f"max({M.MONTH_END}) * 1000", "dateTimeFromNow", TEXT_STEPS,
         "When the calendar month ends in the contract's timezone and the budget starts again."),
    ]
    for title, expr, unit, thr, desc in month_stats:
        b.add(stat(title, [target(expr, title, instant=True)], description=desc, unit=unit, thresholds=thr,
                   decimals=0 if unit == "none" else None), 4, 4)
    b.add(timeseries("Availability against target", [
        target(one(M.AVAILABILITY), "availability"),
        target(one(M.TARGET), "target"),
    ], description="Month-to-date availability and the tenant's target (dashed).", unit="percentunit", decimals=3,
        overrides=[override("B", "byFrameRefID", line_style={"dash": [10, 10], "fill": "dash"},
                            color={"fixedColor": "red", "mode": "fixed"})]), 12, 8)
    b.add(timeseries("Downtime against budget", [
        target(one(M.MONTH_DOWNTIME), "downtime"),
        target(one(M.MONTH_UNKNOWN), "unknown"),
        target(one(M.BUDGET), "error budget"),
    ], description="Month-to-date downtime and unknown time against the month's error budget (dashed): downtime "
                   "above the line misses the target.", unit="s",
        overrides=[override("C", "byFrameRefID", line_style={"dash": [10, 10], "fill": "dash"},
                            color={"fixedColor": "red", "mode": "fixed"})]), 12, 8)
    b.add(timeseries("Burn rate", [target(one(burn(w)), w) for w in BURN_WINDOWS],
                     description=f"Error budget burn rate over {', '.join(BURN_WINDOWS)}: downtime / eligible "
                                 "time divided by (1 - target). 1 (dashed) spends exactly the month's budget.",
                     unit="suffix:x", decimals=2, thresholds=steps("green", (1, "red")), threshold_line=True),
          12, 8)
    b.add(timeseries("Error budget left", [target(f"max({BUDGET_FRACTION})", "budget left")],
                     description="Remaining error budget as a fraction of the month's budget.",
                     unit="percentunit", decimals=1, thresholds=BUDGET_FRACTION_STEPS, threshold_line=True), 12, 8)

    b.row("State")
    b.add(state_timeline("Tenant, probes and maintenance", [
        target(f"max({TENANT_STATE})", "tenant"),
        target(by("probe", M.PROBE_SUCCESS), "{{probe}}"),
        target(one(M.MAINTENANCE_ACTIVE), "maintenance"),
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
            Column("Last result", by("probe", M.PROBE_SUCCESS), "none", mappings=PROBE_OK,
                   cell="color-background"),
            Column("Duration", by("probe", M.PROBE_DURATION), "s", cell="auto"),
            Column("HTTP status", by("probe", M.PROBE_STATUS), "none", mappings=HTTP_STATUS),
            Column("Certificate expires in", f"{by('probe', M.PROBE_CERT_EXPIRY)} - time()",
                   "s", 0, CERT_STEPS),
            Column("Errors in range",
                   f"round(sum by (probe) (increase({sel(M.PROBE_ERRORS)}[$__range])))", "none", 0,
                   COUNT_WARN_STEPS),
        ],
        description="Each probe (channel or endpoint) now: last result, how long it took, HTTP status (0: no "
                    "response), time left on the TLS certificate, failed runs in the time range.",
        sort_by="Probe",
    ), 12, 8)
    b.add(bargauge("Certificate expiry", [
        target(f"{by('probe', M.PROBE_CERT_EXPIRY)} - time()", "{{probe}}", instant=True)],
        description=f"Time until each probe's TLS certificate expires: {CERT_WORDS} (the certificate alerts' "
                    "thresholds).",
        unit="s", min=0, max=90 * 86400, thresholds=CERT_STEPS), 12, 8)
    b.add(timeseries("Probe success", [
        target(f"avg by (probe) (avg_over_time({sel(M.PROBE_SUCCESS)}[$__rate_interval]))", "{{probe}}")],
        description="Share of scrapes in which each probe's last result was a success.",
        unit="percentunit", min=0, max=1, decimals=1), 12, 8)
    b.add(timeseries("Probe latency", [target(by("probe", M.PROBE_DURATION), "{{probe}}")],
                     description="How long each probe's last run took (connect plus the whole body).",
                     unit="s"), 12, 8)
    b.add(state_timeline("HTTP status codes", [target(by("probe", M.PROBE_STATUS), "{{probe}}")],
                         description="HTTP status of each probe's last response; 0: no response (timeout, "
                                     "connection, DNS or TLS error).", unit="none", mappings=HTTP_STATUS), 12, 8)
    b.add(timeseries("Probe errors by reason", [
        target(f"sum by (probe, reason) (rate({sel(M.PROBE_ERRORS)}[$__rate_interval]))",
               "{{probe}} {{reason}}")],
        description="Failed probe runs per second by reason: timeout, connection, tls, dns, status, body, "
                    "redirect, config.", unit="reqps", fill=30, stack=True), 12, 8)
    maintenance_annotation = {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": f"{one(M.MAINTENANCE_ACTIVE)} == 1",
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
    b.add(stat("Open incidents", [target(f"sum by (priority) ({sel(M.SUPPORT_OPEN)})", "{{priority}}",
                                         instant=True)],
               description="Open support incidents by priority, filed through the API or detected from probes "
                           "(detected ones have no deadlines: the vendor answers what was filed).",
               unit="none", decimals=0, thresholds=COUNT_WARN_STEPS, text_mode="value_and_name", no_value="0",
               overrides=[override("P1", thresholds=COUNT_BAD_STEPS)]), 8, 4)
    b.add(stat("Open service requests", [target(f"sum({sel(M.SUPPORT_REQUESTS_OPEN)})", "open",
                                                instant=True)],
               description="Open minor service requests (delivery due by the configured support terms).",
               unit="none", decimals=0,
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
        f"round(sum(increase({sel(M.SUPPORT_BREACHES)}[$__range]))) or vector(0)", "breaches",
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
                    "response already given or no resolution target). The deadlines follow the support terms "
                    "in the exporter's config (`sla-exporter deadlines` prints them). Earliest deadline first.",
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
        description="Open minor service requests and their delivery deadline under the configured support terms.",
        sort_by="Delivery due in",
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK)],
    ), 12, 8)
    b.add(bargauge("Open incidents by tenant", [
        target(f"sum by (tenant, priority, source) ({sel(M.SUPPORT_OPEN)}) > 0",
               "{{tenant}} {{priority}} {{source}}", instant=True)],
        description="Open incidents per tenant, priority and source: filed through the API (deadlines run) "
                    "or detected from probes (no deadlines until filed).", unit="none", decimals=0, min=0,
        thresholds=COUNT_WARN_STEPS, links=SERIES_TENANT_LINK), 12, 8)

    b.row("Breaches")
    b.add(bargauge("Breaches by priority and target", [target(
        f"round(sum by (priority, target) (increase({sel(M.SUPPORT_BREACHES)}[$__range]))) > 0",
        "{{priority}} {{target}}", instant=True)],
        description="Deadlines missed in the time range, by priority (P1-P4, service-request) and target "
                    "(response, communication, resolution, delivery).",
        unit="none", decimals=0, min=0, thresholds=COUNT_BAD_STEPS), 12, 8)
    b.add(table(
        "Breaches by tenant",
        [("tenant", "Tenant"), ("priority", "Priority"), ("target", "Target")],
        [Column("Breaches", f"round(sum by (tenant, priority, target) "
                            f"(increase({sel(M.SUPPORT_BREACHES)}[$__range]))) > 0",
                "none", 0, COUNT_BAD_STEPS)],
        description="Deadlines missed in the time range per tenant.",
        sort_by="Breaches", desc=True,
        key_overrides=[override("Tenant", links=CELL_TENANT_LINK),
                       override("Priority", mappings=PRIORITY, cell={"type": "color-text"})],
    ), 12, 8)
    b.add(timeseries("Open incidents", [target(f"sum by (priority) ({sel(M.SUPPORT_OPEN)})",
                                               "{{priority}}")],
                     description="Open incidents over time by priority (stacked).", unit="none", decimals=0,
                     stack=True, fill=30), 12, 8)
    b.add(timeseries("Open service requests", [target(by("tenant", M.SUPPORT_REQUESTS_OPEN, "sum"),
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
    """The dashboards are one part of what follows from slo/spec.py: regenerate (or --check)
    all of it, as `python -m slo` does."""
    from slo.__main__ import main as generate_all

    return generate_all(argv)


if __name__ == "__main__":
    sys.exit(main())
