#!/usr/bin/env python3
"""Generates the Grafana dashboards in grafana/dashboards/ from code, so that the three
dashboards share one style: the same variables, units, thresholds, colours and links.
Panels are built with Grafana's own typed builders (grafana-foundation-sdk, the optional
extra 'dashboards': pip install -e '.[dashboards]'); the exporter does not need them.

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
- tenant figures are one per tenant, ``min by (tenant)`` or ``max by (tenant)`` as
  spec.TENANT_AGGREGATION says (the rules and alerts aggregate the same way): on a shared
  store every exporter serves every tenant, and exporters that have not read the store's
  latest results yet must not show a second line or a better figure; one exporter gives the
  raw series; an HA pair scraping the same exporter does not count twice; it also drops
  ``job``/``instance`` so that table columns line up. Support series (counts, deadlines,
  breaches) are taken once per their own labels across the exporters (``once``) before
  they are summed;
- probe figures are per location, ``max by (probe, location)``: locations see a vendor
  differently (that is their point), and on a shared store every exporter shows every
  location's sla_probe_success, which the max takes once; the tenant's state is the one
  figure over all locations (its quorum). sla_probe_errors_total has no location label:
  it takes that of its exporter's own runs (``own_location``);
- Unix timestamps shown as dates are multiplied by 1000 (Grafana's dateTime units take
  milliseconds); deadlines are shown as time remaining, ``due - time()``, in seconds.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SDK_MISSING = (
    "grafana/generate.py builds the dashboards with Grafana's typed builders, the optional "
    "extra 'dashboards' (grafana-foundation-sdk): pip install -e '.[dashboards]' "
    "(make generate does this)"
)
try:
    from grafana_foundation_sdk.builders import (
        bargauge as bargauge_b,
        common as common_b,
        dashboard as db,
        gauge as gauge_b,
        prometheus as prometheus_b,
        stat as stat_b,
        statetimeline as statetimeline_b,
        table as table_b,
        timeseries as timeseries_b,
    )
    from grafana_foundation_sdk.cog import builder as cog
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as cm, dashboard as dm, prometheus as pm
except ModuleNotFoundError as error:  # the runtime package does not depend on it
    raise ModuleNotFoundError(SDK_MISSING) from error

HERE = Path(__file__).resolve().parent
DASHBOARDS_DIR = HERE / "dashboards"
if str(HERE.parent) not in sys.path:  # run as a script: the spec lives in this checkout
    sys.path.insert(0, str(HERE.parent))

from exporter import metrics  # noqa: E402
from slo import spec  # noqa: E402
from slo.spec import M  # noqa: E402

SCHEMA_VERSION = 39
TAGS = ["sla-exporter"]
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
TENANT = 'tenant=~"$tenant"'
TENANT_DETAIL_URL = "/d/sla-tenant/sla-tenant-detail?var-datasource=${datasource}&${__url_time_range}&var-tenant="
BURN_WINDOWS = spec.DASHBOARD_BURN_WINDOWS  # the burn-rate alerts' long windows

JSON = dict[str, Any]


# --------------------------------------------------------------------------- queries


def sel(metric: str) -> str:
    """`metric{tenant=~"$tenant"}`: every query is filtered by the tenant variable."""
    return f"{metric}{{{TENANT}}}"


def by(labels: str, metric: str, agg: str | None = None) -> str:
    """`max by (labels) (metric{tenant=~"$tenant"})`; a tenant figure's aggregation across
    the exporters serving it comes from the spec (min for sla_up, the budget left...)."""
    return f"{agg or spec.TENANT_AGGREGATION.get(metric, 'max')} by ({labels}) ({sel(metric)})"


def once(metric: str, expr: str | None = None, agg: str = "max") -> str:
    """`expr` (default: the metric, filtered by tenant) once per the metric's own labels,
    however many exporters on a shared store serve it: `max by (tenant, priority, source) (...)`."""
    labels = ", ".join(next(m.labels for m in metrics.ALL if m.name == metric))
    return f"{agg} by ({labels}) ({expr or sel(metric)})"


burn = spec.burn_rate  # tenant:sla_error_budget_burn:rate<window>

PROBE_AT = "{{probe}} @ {{location}}"  # the legend of a probe's series at one location


def own_location(expr: str) -> str:
    """`expr` (a per-probe series of one exporter without `location`, such as the errors
    counter) labelled with that exporter's own location: the one its
    sla_probe_duration_seconds carries, which only the exporter that ran the probe has."""
    return (
        f"{expr} * on (instance, job, tenant, probe) group_left (location) "
        f"group by (instance, job, tenant, probe, location) ({sel(M.PROBE_DURATION)})"
    )


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
PROJECTED = f"{by('tenant', spec.downtime_ratio(PACE))} * on () group_left () (max({M.MONTH_END}) - time())"
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
# Breaches over the dashboard's range, each (tenant, priority, target) once across exporters.
BREACHES_IN_RANGE = once(M.SUPPORT_BREACHES, f"increase({sel(M.SUPPORT_BREACHES)}[$__range])")
REQUEST_EARLIEST = by("tenant, request", REQUEST_DUE, "min")  # its delivery deadline
ALL_DUE = " or ".join(sel(m) for m in [*INCIDENT_DUE.values(), REQUEST_DUE])


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> prometheus_b.Dataquery:
    """One Prometheus query. Tables and 'now' figures are instant queries."""
    q = (
        prometheus_b.Dataquery()
        .datasource(DATASOURCE)
        .editor_mode(pm.QueryEditorMode.CODE)
        .expr(expr)
        .legend_format(legend or "__auto")
        .format(pm.PromQueryFormat.TABLE if table else pm.PromQueryFormat.TIME_SERIES)
    )
    return q.instant() if instant or table else q.range()


# --------------------------------------------------------------------------- field config


def steps(base: str, *pairs: tuple[float, str]) -> db.ThresholdsConfig:
    """Absolute thresholds: `base` colour below the first value, then (value, colour)."""
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=None, color=base), *(dm.Threshold(value=v, color=c) for v, c in pairs)])
    )


def colours(table: tuple[tuple[float | None, str], ...]) -> db.ThresholdsConfig:
    """Thresholds from one of the spec's colour tables [(from, colour)], the first from None."""
    (_, base), *rest = table
    return steps(base, *rest)


def colour_words(table: tuple[tuple[float | None, str], ...], fmt) -> str:
    """'red below 0, orange from 0, green from 0.02 points' for descriptions."""
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


def result(i: int, text: str, color: str) -> dm.ValueMappingResult:
    """An empty text keeps the value itself."""
    return dm.ValueMappingResult(color=color, index=i, text=text or None)


def value_map(values: dict[Any, tuple[str, str]]) -> list[dm.ValueMap]:
    """Value mappings: {value: (text, colour)}."""
    return [dm.ValueMap(options={str(v): result(i, *tc) for i, (v, tc) in enumerate(values.items())})]


def range_map(ranges: list[tuple[float, float, str, str]]) -> list[dm.RangeMap]:
    """Range mappings: [(from, to, text, colour)]."""
    return [
        dm.RangeMap(options=dm.DashboardRangeMapOptions(from_val=lo, to=hi, result=result(i, text, color)))
        for i, (lo, hi, text, color) in enumerate(ranges)
    ]


UP_DOWN = value_map({1: ("up", "green"), 0: ("down", "red"), -1: ("unknown", "text")})
PROBE_OK = value_map({1: ("ok", "green"), 0: ("failing", "red")})
LOCATION_REPORTING = value_map({1: ("reporting", "green"), 0: ("not reporting", "red")})
MAINTENANCE = value_map({1: ("maintenance", "blue"), 0: ("none", "transparent")})
HTTP_STATUS = range_map(
    [
        (0, 0, "no response", "red"),
        (100, 399, "", "green"),
        (400, 499, "", "orange"),
        (500, 599, "", "red"),
    ]
)
PRIORITY = value_map({"P1": ("", "red"), "P2": ("", "orange"), "P3": ("", "yellow"), "P4": ("", "blue")})

Override = tuple[dm.MatcherConfig, list[dm.DynamicConfigValue]]


def built(value: Any) -> Any:
    """Override values are models: build builders, in lists too."""
    if isinstance(value, list):
        return [built(v) for v in value]
    return value.build() if isinstance(value, cog.Builder) else value


def override(name: str, matcher: str = "byName", **props: Any) -> Override:
    """Per-field settings: override('Availability', unit='percentunit')."""
    ids = {"cell": "custom.cellOptions", "line_style": "custom.lineStyle"}
    return (
        dm.MatcherConfig(id_val=matcher, options=name),
        [dm.DynamicConfigValue(id_val=ids.get(k, k), value=built(v)) for k, v in props.items()],
    )


def link(title: str, url: str) -> db.DashboardLink:
    return db.DashboardLink(title).url(url)


# On a table's tenant column, and on series that carry a tenant label.
CELL_TENANT_LINK = [link("Tenant detail: ${__value.raw}", TENANT_DETAIL_URL + "${__value.raw}")]
SERIES_TENANT_LINK = [link("Tenant detail: ${__field.labels.tenant}", TENANT_DETAIL_URL + "${__field.labels.tenant}")]


# --------------------------------------------------------------------------- panels


def panel(
    p: Any,
    title: str,
    targets: list[prometheus_b.Dataquery],
    *,
    description: str,
    unit: str,
    decimals: int | None = None,
    min: float | None = None,
    max: float | None = None,
    thresholds: db.ThresholdsConfig = TEXT_STEPS,
    mappings: list | None = None,
    color: dm.FieldColorModeId = dm.FieldColorModeId.THRESHOLDS,
    links: list[db.DashboardLink] | None = None,
    no_value: str | None = None,
    overrides: list[Override] | None = None,
) -> Any:
    """The settings every panel kind shares, on one of the SDK's panel builders."""
    p.title(title).description(description).datasource(DATASOURCE).unit(unit).thresholds(thresholds)
    p.color_scheme(db.FieldColor().mode(color)).mappings(mappings or [])
    for i, t in enumerate(targets):
        p.with_target(t.ref_id(chr(ord("A") + i)))
    for setter, value in (
        (p.decimals, decimals),
        (p.min, min),
        (p.max, max),
        (p.data_links, links),
        (p.no_value, no_value),
    ):
        if value is not None:
            setter(value)
    for matcher, props in overrides or []:
        p.with_override(matcher, props)
    return p


def reduce() -> common_b.ReduceDataOptions:
    return common_b.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def stat(
    title: str, targets: list, *, text_mode: str = "auto", color_mode: str = "value", graph: bool = False, **kw: Any
) -> stat_b.Panel:
    return panel(
        stat_b.Panel()
        .color_mode(cm.BigValueColorMode(color_mode))
        .text_mode(cm.BigValueTextMode(text_mode))
        .graph_mode(cm.BigValueGraphMode.AREA if graph else cm.BigValueGraphMode.NONE)
        .justify_mode(cm.BigValueJustifyMode.AUTO)
        .orientation(cm.VizOrientation.AUTO)
        .reduce_options(reduce()),
        title,
        targets,
        **kw,
    )


def gauge(title: str, targets: list, **kw: Any) -> gauge_b.Panel:
    return panel(
        gauge_b.Panel()
        .orientation(cm.VizOrientation.AUTO)
        .reduce_options(reduce())
        .show_threshold_labels(False)
        .show_threshold_markers(True),
        title,
        targets,
        **kw,
    )


def bargauge(title: str, targets: list, **kw: Any) -> bargauge_b.Panel:
    return panel(
        bargauge_b.Panel()
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .value_mode(cm.BarGaugeValueMode.COLOR)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .reduce_options(reduce())
        .show_unfilled(True)
        .min_viz_height(16)
        .min_viz_width(8),
        title,
        targets,
        **kw,
    )


def legend() -> common_b.VizLegendOptions:
    return (
        common_b.VizLegendOptions()
        .display_mode(cm.LegendDisplayMode.LIST)
        .placement(cm.LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs([])
    )


def hide_nothing() -> common_b.HideSeriesConfig:
    return common_b.HideSeriesConfig().legend(False).tooltip(False).viz(False)


def timeseries(
    title: str, targets: list, *, threshold_line: bool = False, stack: bool = False, fill: int = 0, **kw: Any
) -> timeseries_b.Panel:
    p = (
        timeseries_b.Panel()
        .draw_style(cm.GraphDrawStyle.LINE)
        .line_interpolation(cm.LineInterpolation.STEP_AFTER)
        .line_width(1)
        .fill_opacity(fill)
        .gradient_mode(cm.GraphGradientMode.NONE)
        .point_size(4)
        .show_points(cm.VisibilityMode.NEVER)
        .span_nulls(False)
        .insert_nulls(False)
        .axis_placement(cm.AxisPlacement.AUTO)
        .axis_color_mode(cm.AxisColorMode.TEXT)
        .axis_label("")
        .axis_centered_zero(False)
        .bar_alignment(cm.BarAlignment.CENTER)
        .hide_from(hide_nothing())
        .scale_distribution(common_b.ScaleDistributionConfig().type(cm.ScaleDistribution.LINEAR))
        .stacking(common_b.StackingConfig().group("A").mode(cm.StackingMode.NORMAL if stack else cm.StackingMode.NONE))
        .thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(
                cm.GraphTresholdsStyleMode.DASHED if threshold_line else cm.GraphTresholdsStyleMode.OFF
            )
        )
        .legend(legend())
        .tooltip(common_b.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )
    kw.setdefault("color", dm.FieldColorModeId.PALETTE_CLASSIC)
    return panel(p, title, targets, **kw)


def state_timeline(title: str, targets: list, **kw: Any) -> statetimeline_b.Panel:
    return panel(
        statetimeline_b.Panel()
        .fill_opacity(80)
        .line_width(0)
        .hide_from(hide_nothing())
        .align_value(cm.TimelineValueAlignment.LEFT)
        .merge_values(True)
        .row_height(0.9)
        .show_value(cm.VisibilityMode.AUTO)
        .legend(legend())
        .tooltip(common_b.VizTooltipOptions().mode(cm.TooltipDisplayMode.SINGLE).sort(cm.SortOrder.NONE)),
        title,
        targets,
        **kw,
    )


@dataclass
class Column:
    """One value column of a table: a query whose labels are the table's key columns."""

    name: str
    expr: str
    unit: str
    decimals: int | None = None
    thresholds: db.ThresholdsConfig | None = None
    mappings: list | None = None
    cell: str = "color-text"  # or color-background, gauge, auto
    extra: dict[str, Any] = field(default_factory=dict)


def table(
    title: str,
    keys: list[tuple[str, str]],
    columns: list[Column],
    *,
    description: str,
    sort_by: str | None = None,
    desc: bool = False,
    key_overrides: list[Override] | None = None,
) -> table_b.Panel:
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
        for key in ("decimals", "thresholds", "mappings"):
            if getattr(col, key) is not None:
                props[key] = getattr(col, key)
        overrides.append(override(col.name, **props, **col.extra))
    p = (
        table_b.Panel()
        .cell_height(cm.TableCellHeight.SM)
        .show_header(True)
        .footer(common_b.TableFooterOptions().show(False).count_rows(False).fields("").reducer(["sum"]))
        .sort_by([common_b.TableSortByFieldState().display_name(sort_by).desc(desc)] if sort_by else [])
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "includeByName": {},
                    "indexByName": index,
                    "renameByName": rename,
                },
            )
        )
    )
    return panel(
        p,
        title,
        [target(c.expr, table=True) for c in columns],
        description=description,
        unit="none",
        overrides=(key_overrides or []) + overrides,
    )


# --------------------------------------------------------------------------- dashboards


class Board:
    """Rows and panels in order, each panel with its width (of Grafana's 24 columns) and
    height; the SDK's dashboard builder lays them out left to right."""

    def __init__(self) -> None:
        self.items: list[str | Any] = []

    def row(self, title: str) -> None:
        self.items.append(title)

    def add(self, p: Any, w: int, h: int) -> None:
        self.items.append(p.span(w).height(h))


def tenant_variable(multi: bool) -> db.QueryVariable:
    v = (
        db.QueryVariable("tenant")
        .label("Tenant")
        .datasource(DATASOURCE)
        .hide(dm.VariableHide.DONT_HIDE)
        .query({"qryType": 1, "query": TENANT_VALUES, "refId": "PrometheusVariableQueryEditor-VariableQuery"})
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .regex("")
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        v.all_value(".+").current(dm.VariableOption(selected=True, text=["All"], value=["$__all"]))
    return v


TENANT_VALUES = f"label_values({M.TARGET}, tenant)"


def annotation(name: str, expr: str, colour: str) -> db.AnnotationQuery:
    return db.AnnotationQuery().name(name).datasource(DATASOURCE).enable(True).hide(False).icon_color(colour).expr(expr)


def sdk_gaps(d: JSON, annotations: dict[str, JSON]) -> JSON:
    """What this version of the SDK (Grafana 10.1's schema) cannot say, added to its JSON:
    the built-in annotation's builtIn flag, a Prometheus annotation's step and text, the
    query variable's definition (what Grafana's editor shows). It also puts an all-zero id
    and an interval variable's auto settings on every variable: dropped."""
    d["annotations"]["list"][0]["builtIn"] = 1
    for a in d["annotations"]["list"]:
        a.update(annotations.get(a["name"], {}))
    for v in d["templating"]["list"]:
        for junk in ("id", "auto", "auto_count", "auto_min"):
            v.pop(junk, None)
        if v["name"] == "tenant":
            v["definition"] = TENANT_VALUES
    return d


def dashboard(
    uid: str,
    title: str,
    description: str,
    board: Board,
    *,
    multi_tenant: bool,
    time_from: str,
    annotations: list[tuple[db.AnnotationQuery, JSON]] = (),
) -> JSON:
    """annotations: (query, its settings the SDK lacks)."""
    d = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .live_now(False)
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time(time_from, "now")
        .timezone("")
        .week_start("")
        .fiscal_year_start_month(0)
        .version(1)
        .link(
            db.DashboardLink("SLA dashboards")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags(TAGS)
            .as_dropdown(False)
            .icon("external link")
            .include_vars(True)
            .keep_time(True)
            .target_blank(False)
            .tooltip("")
            .url("")
        )
        .with_variable(
            db.DatasourceVariable("datasource")
            .label("Data source")
            .type("prometheus")
            .hide(dm.VariableHide.DONT_HIDE)
            .multi(False)
            .include_all(False)
            .regex("")
        )
        .with_variable(tenant_variable(multi_tenant))
        .annotation(
            db.AnnotationQuery()
            .name("Annotations & Alerts")
            .type("dashboard")
            .enable(True)
            .hide(True)
            .datasource(dm.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .icon_color("rgba(0, 211, 255, 1)")
        )
    )
    for query, _ in annotations:
        d.annotation(query)
    for i, item in enumerate(board.items, start=1):  # rows and panels numbered in order
        if isinstance(item, str):
            d.with_row(db.Row(item).id(i))
        else:
            d.with_panel(item.id(i))
    model = d.build()
    model.schema_version = SCHEMA_VERSION  # no builder method
    return sdk_gaps(
        json.loads(json.dumps(model, cls=JSONEncoder)), {query.build().name: extra for query, extra in annotations}
    )


def overview() -> JSON:
    b = Board()
    b.row("Now")
    now_stats = [
        (
            "Tenants up",
            f"count(({TENANT_STATE}) == 1) or vector(0)",
            steps("green"),
            f"Tenants whose state is up now ({M.UP} == 1).",
        ),
        (
            "Tenants down",
            f"count(({TENANT_STATE}) == 0) or vector(0)",
            COUNT_BAD_STEPS,
            f"Tenants whose state is down now ({M.UP} == 0): some probe (down_when: any) or every probe "
            "(down_when: all) has failed failure_threshold times in a row.",
        ),
        (
            "Tenants unknown",
            f"count(({TENANT_STATE}) == -1) or vector(0)",
            COUNT_WARN_STEPS,
            f"Tenants with no known state now: {M.UP} has no sample because probe results are stale. "
            "Unknown time is neither up nor down.",
        ),
        (
            "In maintenance",
            f"count({by('tenant', M.MAINTENANCE_ACTIVE)} == 1) or vector(0)",
            NEUTRAL_STEPS,
            f"Tenants inside a maintenance window now ({M.MAINTENANCE_ACTIVE}). "
            "Downtime in maintenance is not counted.",
        ),
        (
            "Below target",
            f"count({by('tenant', M.MARGIN)} < 0) or vector(0)",
            COUNT_BAD_STEPS,
            f"Tenants whose month-to-date availability is below their target ({M.MARGIN} < 0).",
        ),
        (
            "At risk",
            f"count({AT_RISK}) or vector(0)",
            COUNT_WARN_STEPS,
            f"Tenants whose remaining error budget is smaller than the downtime the last {words(PACE)}' pace "
            f"would add before the month ends (see the table 'Tenants at risk').",
        ),
    ]
    for title, expr, thr, desc in now_stats:
        b.add(
            stat(title, [target(expr, title, instant=True)], description=desc, unit="none", decimals=0, thresholds=thr),
            4,
            4,
        )

    b.row("Tenants")
    burn_cols = [Column(f"Burn {w}", by("tenant", burn(w)), "suffix:x", 2, BURN_STEPS) for w in BURN_WINDOWS]
    b.add(
        table(
            "Tenants",
            [("tenant", "Tenant")],
            [
                Column("State", TENANT_STATE, "none", mappings=UP_DOWN, cell="color-background"),
                Column("Maintenance", by("tenant", M.MAINTENANCE_ACTIVE), "none", mappings=MAINTENANCE),
                Column("Availability", by("tenant", M.AVAILABILITY), "percentunit", 3, cell="auto"),
                Column("Target", by("tenant", M.TARGET), "percentunit", 2, cell="auto"),
                Column("Margin", by("tenant", M.MARGIN), "percentunit", 3, MARGIN_STEPS, cell="color-background"),
                Column("Budget left", by("tenant", M.BUDGET_REMAINING), "s", 0, SIGN_STEPS),
                Column(
                    "Budget left %",
                    BUDGET_FRACTION,
                    "percentunit",
                    1,
                    BUDGET_FRACTION_STEPS,
                    cell="gauge",
                    extra={"min": 0, "max": 1},
                ),
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
        ),
        24,
        10,
    )

    b.row("Month to date")
    b.add(
        bargauge(
            "Margin this month",
            [target(by("tenant", M.MARGIN), "{{tenant}}", instant=True)],
            description=f"Month-to-date availability minus each tenant's own target ({M.MARGIN}): how "
            f"far above its target each tenant is, whatever that target ({MARGIN_WORDS}).",
            unit="percentunit",
            decimals=3,
            thresholds=MARGIN_STEPS,
            links=SERIES_TENANT_LINK,
        ),
        8,
        8,
    )
    b.add(
        bargauge(
            "Error budget left",
            [target(BUDGET_FRACTION, "{{tenant}}", instant=True)],
            description="Error budget remaining as a fraction of the whole month's budget "
            f"({M.BUDGET_REMAINING} / {M.BUDGET}); below 0 the "
            "budget is spent and the month misses the target.",
            unit="percentunit",
            decimals=1,
            min=0,
            max=1,
            thresholds=BUDGET_FRACTION_STEPS,
            links=SERIES_TENANT_LINK,
        ),
        8,
        8,
    )
    b.add(
        bargauge(
            "Previous month margin",
            [target(PREVIOUS_MARGIN, "{{tenant}}", instant=True)],
            description="Availability of the previous calendar month (closed: it no longer changes) minus "
            f"the tenant's current target ({MARGIN_WORDS}).",
            unit="percentunit",
            decimals=3,
            thresholds=MARGIN_STEPS,
            links=SERIES_TENANT_LINK,
        ),
        8,
        8,
    )
    b.add(
        timeseries(
            "Availability (month to date)",
            [target(by("tenant", M.AVAILABILITY), "{{tenant}}")],
            description="Month-to-date availability per tenant. Targets differ between tenants: 'SLA "
            "margin' shows each against its own. It starts again at each month's beginning.",
            unit="percentunit",
            decimals=3,
            links=SERIES_TENANT_LINK,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "SLA margin",
            [target(by("tenant", M.MARGIN), "{{tenant}}")],
            description=f"Month-to-date availability minus the tenant's own target ({M.MARGIN}), in "
            "percentage points; below the dashed zero line the tenant is under its target, "
            f"and above the second line its margin is comfortable ({MARGIN_WORDS}).",
            unit="percentunit",
            decimals=3,
            thresholds=MARGIN_STEPS,
            threshold_line=True,
            links=SERIES_TENANT_LINK,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Error budget left (fraction)",
            [target(BUDGET_FRACTION, "{{tenant}}")],
            description="Remaining error budget / the month's error budget.",
            unit="percentunit",
            decimals=1,
            thresholds=BUDGET_FRACTION_STEPS,
            threshold_line=True,
            links=SERIES_TENANT_LINK,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Error budget left (time)",
            [target(by("tenant", M.BUDGET_REMAINING), "{{tenant}}")],
            description="Downtime the month still allows: (1 - target) x the month's eligible time, minus "
            f"month-to-date downtime ({M.BUDGET_REMAINING}).",
            unit="s",
            thresholds=SIGN_STEPS,
            threshold_line=True,
            links=SERIES_TENANT_LINK,
        ),
        12,
        8,
    )

    b.row("Burn rate")
    b.add(
        table(
            "Tenants at risk",
            [("tenant", "Tenant")],
            [
                Column("Budget left", AT_RISK, "s", 0, SIGN_STEPS),
                Column(
                    f"Downtime to month end at {PACE} pace",
                    f"({PROJECTED}) and on (tenant) ({AT_RISK})",
                    "s",
                    0,
                    cell="auto",
                ),
                Column(
                    f"Burn {PACE}", f"{by('tenant', burn(PACE))} and on (tenant) ({AT_RISK})", "suffix:x", 2, BURN_STEPS
                ),
            ],
            description=f"Tenants whose remaining error budget is below what the last {words(PACE)}' downtime ratio "
            f"({spec.downtime_ratio(PACE)}) would use from now until {M.MONTH_END}. "
            "Empty is good. Maintenance still to come is not subtracted, so the projection errs on the "
            "safe side.",
            sort_by="Budget left",
            key_overrides=[override("Tenant", links=CELL_TENANT_LINK)],
        ),
        24,
        6,
    )
    for pair in (BURN_WINDOWS[:2], BURN_WINDOWS[2:]):
        b.add(
            timeseries(
                f"Burn rate {' and '.join(pair)}",
                [target(by("tenant", burn(w)), f"{{{{tenant}}}} {w}") for w in pair],
                description="Error budget burn rate: downtime / eligible time over the window, divided by "
                "(1 - target). 1 (dashed) spends exactly the month's budget; above it the "
                "budget runs out before the month ends.",
                unit="suffix:x",
                decimals=2,
                thresholds=steps("green", (1, "red")),
                threshold_line=True,
                links=SERIES_TENANT_LINK,
            ),
            12,
            8,
        )

    b.row("State")
    b.add(
        state_timeline(
            "Tenant state",
            [target(TENANT_STATE, "{{tenant}}")],
            description=f"Up ({M.UP} 1), down (0) or unknown (no sample: probe results are stale).",
            unit="none",
            mappings=UP_DOWN,
            links=SERIES_TENANT_LINK,
        ),
        24,
        8,
    )
    b.add(
        state_timeline(
            "Maintenance",
            [target(by("tenant", M.MAINTENANCE_ACTIVE), "{{tenant}}")],
            description=f"Maintenance windows ({M.MAINTENANCE_ACTIVE}): excluded from the month's "
            "eligible time, so downtime inside them costs no budget.",
            unit="none",
            mappings=MAINTENANCE,
            links=SERIES_TENANT_LINK,
        ),
        24,
        6,
    )

    b.row("Exporter")
    b.add(
        stat(
            "Config",
            [target(f"min({M.RELOAD_OK})", "config", instant=True)],
            description="Whether the last config (re)load succeeded; a refused config keeps the running one.",
            unit="none",
            mappings=value_map({1: ("loaded", "green"), 0: ("reload failed", "red")}),
        ),
        4,
        4,
    )
    b.add(
        stat(
            "Config loaded",
            [target(f"max({M.RELOAD_TIME}) * 1000", "loaded", instant=True)],
            description="When the config was last loaded successfully.",
            unit="dateTimeFromNow",
        ),
        4,
        4,
    )
    b.add(
        stat(
            "Version",
            [target(f"count by (version) ({M.BUILD_INFO})", "{{version}}", instant=True)],
            description="sla-exporter versions being scraped.",
            unit="none",
            text_mode="name",
        ),
        4,
        4,
    )
    b.add(
        stat(
            "Scrape duration",
            [target(f"max({M.SCRAPE_DURATION})", "scrape")],
            description="Time the exporter spent computing the SLA figures for the last scrape.",
            unit="s",
            graph=True,
        ),
        4,
        4,
    )
    b.add(
        stat(
            "Month started",
            [target(f"max({M.MONTH_START}) * 1000", "start", instant=True)],
            description="Start of the current calendar month in the contract's timezone.",
            unit="dateTimeAsIso",
        ),
        4,
        4,
    )
    b.add(
        stat(
            "Month ends",
            [target(f"max({M.MONTH_END}) * 1000", "end", instant=True)],
            description="End of the current calendar month in the contract's timezone: the error budget is reset then.",
            unit="dateTimeFromNow",
        ),
        4,
        4,
    )
    b.add(
        state_timeline(
            "Locations reporting",
            [target(f"max by (location) ({M.LOCATION_UP})", "{{location}}")],
            description=f"Whether results from each probe location (run --location) were recorded within the last 2 "
            f"probe intervals, as any exporter sees it ({M.LOCATION_UP}; SLALocationNotReporting after "
            f"{words(spec.ALERTS['SLALocationNotReporting'].for_)} not reporting). A location not reporting "
            f"leaves its probes' time unknown, and tenants whose quorum needs it unknown too.",
            unit="none",
            mappings=LOCATION_REPORTING,
        ),
        24,
        5,
    )
    return dashboard(
        "sla-overview",
        "SLA overview",
        "All tenants: month-to-date availability, margin over each tenant's own target, error budget, "
        "burn rates, tenants at risk, previous month, state and maintenance now.",
        b,
        multi_tenant=True,
        time_from="now-7d",
    )


def tenant_detail() -> JSON:
    b = Board()
    one = lambda metric: f"{spec.TENANT_AGGREGATION.get(metric, 'max')}({sel(metric)})"  # noqa: E731  one tenant, any number of exporters
    b.row("Now")
    b.add(
        stat(
            "State",
            [target(f"max({TENANT_STATE})", "state", instant=True)],
            description="Up, down, or unknown (no fresh probe results).",
            unit="none",
            mappings=UP_DOWN,
            color_mode="background",
        ),
        3,
        4,
    )
    b.add(
        stat(
            "Availability",
            [target(one(M.AVAILABILITY), "availability", instant=True)],
            description="Month-to-date availability: (eligible - unknown - downtime) / (eligible - unknown). "
            "Not coloured: targets differ between tenants, so the SLA margin next to it carries "
            "the colour.",
            unit="percentunit",
            decimals=3,
        ),
        3,
        4,
    )
    b.add(
        stat(
            "Target",
            [target(one(M.TARGET), "target", instant=True)],
            description="The tenant's availability target.",
            unit="percentunit",
            decimals=2,
        ),
        3,
        4,
    )
    b.add(
        stat(
            "SLA margin",
            [target(one(M.MARGIN), "margin", instant=True)],
            description=f"Availability minus the tenant's own target; negative: below target ({MARGIN_WORDS}).",
            unit="percentunit",
            decimals=3,
            thresholds=MARGIN_STEPS,
            color_mode="background",
        ),
        3,
        4,
    )
    b.add(
        gauge(
            "Error budget left",
            [target(f"max({BUDGET_FRACTION})", "budget left", instant=True)],
            description="Remaining error budget as a fraction of the whole month's budget.",
            unit="percentunit",
            decimals=1,
            min=0,
            max=1,
            thresholds=BUDGET_FRACTION_STEPS,
        ),
        3,
        4,
    )
    b.add(
        stat(
            "Budget left",
            [target(one(M.BUDGET_REMAINING), "budget left", instant=True)],
            description=f"Downtime the month still allows ({M.BUDGET_REMAINING}); negative: exceeded.",
            unit="s",
            thresholds=SIGN_STEPS,
        ),
        3,
        4,
    )
    b.add(
        stat(
            "Maintenance",
            [target(one(M.MAINTENANCE_ACTIVE), "maintenance", instant=True)],
            description="Whether a maintenance window is in progress now.",
            unit="none",
            mappings=MAINTENANCE,
        ),
        3,
        4,
    )
    b.add(
        stat(
            "Previous month",
            [
                target(one(M.PREVIOUS_AVAILABILITY), "previous", instant=True),
                target(f"max({PREVIOUS_MARGIN})", "margin", instant=True),
            ],
            description="Availability of the previous calendar month, and its margin over the tenant's "
            f"current target ({MARGIN_WORDS}).",
            unit="percentunit",
            decimals=3,
            text_mode="value_and_name",
            overrides=[override("B", "byFrameRefID", thresholds=MARGIN_STEPS)],
        ),
        3,
        4,
    )

    b.row("This month")
    month_stats = [
        (
            "Downtime",
            one(M.MONTH_DOWNTIME),
            "s",
            TEXT_STEPS,
            "Month-to-date downtime outside maintenance: what the budget pays for.",
        ),
        (
            "Unknown time",
            one(M.MONTH_UNKNOWN),
            "s",
            TEXT_STEPS,
            "Month-to-date time outside maintenance with no probe result: the monitor's own gaps, counted "
            "neither up nor down.",
        ),
        (
            "Maintenance time",
            one(M.MONTH_MAINTENANCE),
            "s",
            NEUTRAL_STEPS,
            "Month-to-date time inside maintenance windows.",
        ),
        ("Eligible time", one(M.MONTH_ELIGIBLE), "s", TEXT_STEPS, "Month-to-date time outside maintenance."),
        (
            "Outages in range",
            f"round(max(increase({sel(M.OUTAGES_TOTAL)}[$__range])))",
            "none",
            COUNT_WARN_STEPS,
            "Outages (stretches of downtime that cost budget) that began in the dashboard's time range.",
        ),
        (
            "Month ends",
            f"max({M.MONTH_END}) * 1000",
            "dateTimeFromNow",
            TEXT_STEPS,
            "When the calendar month ends in the contract's timezone and the budget starts again.",
        ),
    ]
    for title, expr, unit, thr, desc in month_stats:
        b.add(
            stat(
                title,
                [target(expr, title, instant=True)],
                description=desc,
                unit=unit,
                thresholds=thr,
                decimals=0 if unit == "none" else None,
            ),
            4,
            4,
        )
    b.add(
        timeseries(
            "Availability against target",
            [
                target(one(M.AVAILABILITY), "availability"),
                target(one(M.TARGET), "target"),
            ],
            description="Month-to-date availability and the tenant's target (dashed).",
            unit="percentunit",
            decimals=3,
            overrides=[
                override(
                    "B",
                    "byFrameRefID",
                    line_style={"dash": [10, 10], "fill": "dash"},
                    color={"fixedColor": "red", "mode": "fixed"},
                )
            ],
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Downtime against budget",
            [
                target(one(M.MONTH_DOWNTIME), "downtime"),
                target(one(M.MONTH_UNKNOWN), "unknown"),
                target(one(M.BUDGET), "error budget"),
            ],
            description="Month-to-date downtime and unknown time against the month's error budget (dashed): downtime "
            "above the line misses the target.",
            unit="s",
            overrides=[
                override(
                    "C",
                    "byFrameRefID",
                    line_style={"dash": [10, 10], "fill": "dash"},
                    color={"fixedColor": "red", "mode": "fixed"},
                )
            ],
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Burn rate",
            [target(one(burn(w)), w) for w in BURN_WINDOWS],
            description=f"Error budget burn rate over {', '.join(BURN_WINDOWS)}: downtime / eligible "
            "time divided by (1 - target). 1 (dashed) spends exactly the month's budget.",
            unit="suffix:x",
            decimals=2,
            thresholds=steps("green", (1, "red")),
            threshold_line=True,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Error budget left",
            [target(f"max({BUDGET_FRACTION})", "budget left")],
            description="Remaining error budget as a fraction of the month's budget.",
            unit="percentunit",
            decimals=1,
            thresholds=BUDGET_FRACTION_STEPS,
            threshold_line=True,
        ),
        12,
        8,
    )

    b.row("State")
    b.add(
        state_timeline(
            "Tenant, probes and maintenance",
            [
                target(f"max({TENANT_STATE})", "tenant"),
                target(by("probe, location", M.PROBE_SUCCESS), PROBE_AT),
                target(one(M.MAINTENANCE_ACTIVE), "maintenance"),
            ],
            description="The tenant's state (up/down/unknown: its probes under down_when, its locations under "
            "locations.quorum), each probe's last result at each location (gaps: stale, unknown) and "
            "maintenance windows, in which downtime is not counted.",
            unit="none",
            mappings=UP_DOWN,
            overrides=[
                override("B", "byFrameRefID", mappings=PROBE_OK),
                override("C", "byFrameRefID", mappings=MAINTENANCE),
            ],
        ),
        24,
        8,
    )

    b.row("Probes")
    b.add(
        table(
            "Probes now",
            [("probe", "Probe"), ("location", "Location")],
            [
                Column(
                    "Last result",
                    by("probe, location", M.PROBE_SUCCESS),
                    "none",
                    mappings=PROBE_OK,
                    cell="color-background",
                ),
                Column("Duration", by("probe, location", M.PROBE_DURATION), "s", cell="auto"),
                Column("HTTP status", by("probe, location", M.PROBE_STATUS), "none", mappings=HTTP_STATUS),
                Column(
                    "Certificate expires in",
                    f"{by('probe, location', M.PROBE_CERT_EXPIRY)} - time()",
                    "s",
                    0,
                    CERT_STEPS,
                ),
                Column(
                    "Errors in range",
                    f"round(sum by (probe, location) ({own_location(f'increase({sel(M.PROBE_ERRORS)}[$__range])')}))",
                    "none",
                    0,
                    COUNT_WARN_STEPS,
                ),
            ],
            description="Each probe (channel or endpoint) at each location now: last result, how long it took, HTTP "
            "status (0: no response), time left on the TLS certificate, failed runs in the time range. Only the "
            "last result comes from every location on a shared store; the rest from the exporters being "
            "scraped, each for its own location.",
            sort_by="Probe",
        ),
        12,
        8,
    )
    b.add(
        bargauge(
            "Certificate expiry",
            [target(f"{by('probe', M.PROBE_CERT_EXPIRY, 'min')} - time()", "{{probe}}", instant=True)],
            description=f"Time until each probe's TLS certificate expires, the earliest any location sees (a "
            f"location may reach another backend with another certificate; the Probes now table has each): "
            f"{CERT_WORDS} (the certificate alerts' thresholds).",
            unit="s",
            min=0,
            max=90 * 86400,
            thresholds=CERT_STEPS,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Probe success",
            [
                target(
                    f"avg by (probe, location) (avg_over_time({sel(M.PROBE_SUCCESS)}[$__rate_interval]))",
                    PROBE_AT,
                )
            ],
            description="Share of scrapes in which each probe's last result at each location was a success.",
            unit="percentunit",
            min=0,
            max=1,
            decimals=1,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Probe latency",
            [target(by("probe, location", M.PROBE_DURATION), PROBE_AT)],
            description="How long each probe's last run took from each location (connect plus the whole body).",
            unit="s",
        ),
        12,
        8,
    )
    b.add(
        state_timeline(
            "HTTP status codes",
            [target(by("probe, location", M.PROBE_STATUS), PROBE_AT)],
            description="HTTP status of each probe's last response at each location; 0: no response (timeout, "
            "connection, DNS or TLS error).",
            unit="none",
            mappings=HTTP_STATUS,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Probe errors by reason",
            [
                target(
                    f"sum by (probe, location, reason) "
                    f"({own_location(f'rate({sel(M.PROBE_ERRORS)}[$__rate_interval])')})",
                    "{{probe}} @ {{location}} {{reason}}",
                )
            ],
            description="Failed probe runs per second by location and reason: timeout, connection, tls, dns, "
            "status, body, redirect, config.",
            unit="reqps",
            fill=30,
            stack=True,
        ),
        12,
        8,
    )
    maintenance = (
        annotation("Maintenance", f"{one(M.MAINTENANCE_ACTIVE)} == 1", "blue"),
        {
            "step": "60s",
            "tagKeys": "",
            "textFormat": "Maintenance window: downtime is not counted",
            "titleFormat": "Maintenance",
            "useValueForTime": False,
        },
    )
    return dashboard(
        "sla-tenant",
        "SLA tenant detail",
        "One tenant: availability and error budget this month, burn rates, outages, tenant and probe state "
        "with maintenance windows, probe latency, HTTP status, TLS certificates and probe errors.",
        b,
        multi_tenant=False,
        time_from="now-24h",
        annotations=[maintenance],
    )


def support() -> JSON:
    b = Board()
    b.row("Now")
    b.add(
        stat(
            "Open incidents",
            [target(f"sum by (priority) ({once(M.SUPPORT_OPEN)})", "{{priority}}", instant=True)],
            description="Open support incidents by priority, filed through the API or detected from probes "
            "(detected ones have no deadlines: the vendor answers what was filed).",
            unit="none",
            decimals=0,
            thresholds=COUNT_WARN_STEPS,
            text_mode="value_and_name",
            no_value="0",
            overrides=[override("P1", thresholds=COUNT_BAD_STEPS)],
        ),
        8,
        4,
    )
    b.add(
        stat(
            "Open service requests",
            [target(f"sum({once(M.SUPPORT_REQUESTS_OPEN)})", "open", instant=True)],
            description="Open minor service requests (delivery due by the configured support terms).",
            unit="none",
            decimals=0,
            thresholds=NEUTRAL_STEPS,
            no_value="0",
        ),
        4,
        4,
    )
    # Each deadline once across the exporters serving it: counted per metric and summed,
    # since `or` would keep one of an incident's several past deadlines (same labels).
    past_due = " + ".join(
        f"(count(group by (tenant, incident, priority, request) ({sel(m)} < time())) or vector(0))"
        for m in [*INCIDENT_DUE.values(), REQUEST_DUE]
    )
    b.add(
        stat(
            "Overdue deadlines",
            [
                target(
                    past_due,
                    "overdue",
                    instant=True,
                )
            ],
            description="Response, communication, resolution and delivery deadlines already past.",
            unit="none",
            decimals=0,
            thresholds=COUNT_BAD_STEPS,
        ),
        4,
        4,
    )
    b.add(
        stat(
            "Next deadline in",
            [target(f"min({ALL_DUE}) - time()", "next", instant=True)],
            description="Time to the earliest open deadline; negative: overdue.",
            unit="s",
            thresholds=DUE_STEPS,
            no_value="none open",
        ),
        4,
        4,
    )
    b.add(
        stat(
            "Breaches in range",
            [target(f"round(sum({BREACHES_IN_RANGE})) or vector(0)", "breaches", instant=True)],
            description="Support deadlines missed in the dashboard's time range.",
            unit="none",
            decimals=0,
            thresholds=COUNT_BAD_STEPS,
        ),
        4,
        4,
    )

    b.row("Deadlines")
    labels = "tenant, incident, priority"
    b.add(
        table(
            "Incident deadlines",
            [("tenant", "Tenant"), ("incident", "Incident"), ("priority", "Priority")],
            [
                *(
                    Column(f"{name.capitalize()} due in", f"{by(labels, metric, 'min')} - time()", "s", 0, DUE_STEPS)
                    for name, metric in INCIDENT_DUE.items()
                ),
                Column(
                    "Next due at",
                    f"min by ({labels}) ({' or '.join(sel(m) for m in INCIDENT_DUE.values())}) * 1000",
                    "dateTimeAsIso",
                    cell="auto",
                ),
            ],
            description="Open incidents and the time left to each deadline (negative: overdue; blank: none, e.g. "
            "response already given or no resolution target). The deadlines follow the support terms "
            "in the exporter's config (`sla-exporter deadlines` prints them). Earliest deadline first.",
            sort_by="Next due at",
            key_overrides=[
                override("Tenant", links=CELL_TENANT_LINK),
                override("Priority", mappings=PRIORITY, cell={"type": "color-text"}),
            ],
        ),
        24,
        10,
    )
    b.add(
        table(
            "Service requests",
            [("tenant", "Tenant"), ("request", "Request")],
            [
                Column("Delivery due in", f"{REQUEST_EARLIEST} - time()", "s", 0, DUE_STEPS),
                Column("Delivery due at", f"{REQUEST_EARLIEST} * 1000", "dateTimeAsIso", cell="auto"),
            ],
            description="Open minor service requests and their delivery deadline under the configured support terms.",
            sort_by="Delivery due in",
            key_overrides=[override("Tenant", links=CELL_TENANT_LINK)],
        ),
        12,
        8,
    )
    b.add(
        bargauge(
            "Open incidents by tenant",
            [
                target(
                    f"{once(M.SUPPORT_OPEN)} > 0",
                    "{{tenant}} {{priority}} {{source}}",
                    instant=True,
                )
            ],
            description="Open incidents per tenant, priority and source: filed through the API (deadlines run) "
            "or detected from probes (no deadlines until filed).",
            unit="none",
            decimals=0,
            min=0,
            thresholds=COUNT_WARN_STEPS,
            links=SERIES_TENANT_LINK,
        ),
        12,
        8,
    )

    b.row("Breaches")
    b.add(
        bargauge(
            "Breaches by priority and target",
            [
                target(
                    f"round(sum by (priority, target) ({BREACHES_IN_RANGE})) > 0",
                    "{{priority}} {{target}}",
                    instant=True,
                )
            ],
            description="Deadlines missed in the time range, by priority (P1-P4, service-request) and target "
            "(response, communication, resolution, delivery).",
            unit="none",
            decimals=0,
            min=0,
            thresholds=COUNT_BAD_STEPS,
        ),
        12,
        8,
    )
    b.add(
        table(
            "Breaches by tenant",
            [("tenant", "Tenant"), ("priority", "Priority"), ("target", "Target")],
            [
                Column(
                    "Breaches",
                    f"round({BREACHES_IN_RANGE}) > 0",
                    "none",
                    0,
                    COUNT_BAD_STEPS,
                )
            ],
            description="Deadlines missed in the time range per tenant.",
            sort_by="Breaches",
            desc=True,
            key_overrides=[
                override("Tenant", links=CELL_TENANT_LINK),
                override("Priority", mappings=PRIORITY, cell={"type": "color-text"}),
            ],
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Open incidents",
            [target(f"sum by (priority) ({once(M.SUPPORT_OPEN)})", "{{priority}}")],
            description="Open incidents over time by priority (stacked).",
            unit="none",
            decimals=0,
            stack=True,
            fill=30,
        ),
        12,
        8,
    )
    b.add(
        timeseries(
            "Open service requests",
            [target(by("tenant", M.SUPPORT_REQUESTS_OPEN), "{{tenant}}")],
            description="Open service requests over time per tenant (stacked).",
            unit="none",
            decimals=0,
            stack=True,
            fill=30,
            links=SERIES_TENANT_LINK,
        ),
        12,
        8,
    )
    return dashboard(
        "sla-support",
        "SLA support",
        "Support incidents and service requests against the contract's deadlines: open incidents by "
        "priority, time left to each response, communication, resolution and delivery deadline, and breaches.",
        b,
        multi_tenant=True,
        time_from="now-7d",
    )


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
