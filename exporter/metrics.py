"""Every metric name the exporter emits, with its help text: the one place they are
spelled. docs/metrics.md is generated from this table (tools/metrics_doc.py; CI checks it)."""

from __future__ import annotations

from typing import NamedTuple


class Metric(NamedTuple):
    name: str  # full name as exposed (counters include _total)
    kind: str  # gauge | counter | info
    labels: tuple[str, ...]
    help: str


T, TP = ("tenant",), ("tenant", "probe")
TPL = ("tenant", "probe", "location")  # a probe's runs at one location

UP = Metric("sla_up", "gauge", T, "1 if the tenant is up now, 0 if down; no sample while its state is unknown.")
AVAILABILITY = Metric(
    "sla_availability_ratio",
    "gauge",
    T,
    "Month-to-date availability: (eligible - unknown - downtime) / (eligible - unknown); "
    "no sample while nothing eligible is known.",
)
TARGET = Metric("sla_target_ratio", "gauge", T, "The tenant's availability target.")
MARGIN = Metric("sla_margin_ratio", "gauge", T, "Month-to-date availability minus the target (negative: below target).")
BUDGET = Metric(
    "sla_error_budget_seconds",
    "gauge",
    T,
    "Downtime the whole month allows: (1 - target) x the month's eligible seconds.",
)
BUDGET_REMAINING = Metric(
    "sla_error_budget_remaining_seconds",
    "gauge",
    T,
    "Error budget minus month-to-date downtime (negative: budget exceeded).",
)
MAINTENANCE_ACTIVE = Metric(
    "sla_maintenance_active", "gauge", T, "1 while a maintenance window of the tenant is in progress."
)
DOWNTIME_TOTAL = Metric(
    "sla_downtime_seconds_total", "counter", T, "Downtime outside maintenance over all recorded history."
)
ELIGIBLE_TOTAL = Metric(
    "sla_eligible_seconds_total",
    "counter",
    T,
    "Time outside maintenance with a known state (up or down) over all recorded history.",
)
OUTAGES_TOTAL = Metric(
    "sla_outages_total",
    "counter",
    T,
    "Outages (stretches of tenant downtime) that cost error budget, over all recorded history.",
)
MONTH_DOWNTIME = Metric("sla_month_downtime_seconds", "gauge", T, "Month-to-date downtime outside maintenance.")
MONTH_MAINTENANCE = Metric("sla_month_maintenance_seconds", "gauge", T, "Month-to-date maintenance time.")
MONTH_UNKNOWN = Metric(
    "sla_month_unknown_seconds",
    "gauge",
    T,
    "Month-to-date time outside maintenance with no probe result (the monitor's own gaps).",
)
MONTH_ELIGIBLE = Metric("sla_month_eligible_seconds", "gauge", T, "Month-to-date time outside maintenance.")
MONTH_START = Metric(
    "sla_month_start_timestamp_seconds",
    "gauge",
    (),
    "When the current calendar month began in the configured timezone (Unix time).",
)
MONTH_END = Metric(
    "sla_month_end_timestamp_seconds",
    "gauge",
    (),
    "When the current calendar month ends in the configured timezone (Unix time).",
)
PREVIOUS_AVAILABILITY = Metric(
    "sla_previous_month_availability_ratio",
    "gauge",
    T,
    "Availability of the previous calendar month; no sample when none is known.",
)
SERVICE_CREDIT = Metric(
    "sla_service_credit_ratio",
    "gauge",
    T,
    "Month-to-date service credit owed (share of the fee, from sla.credits): the credit of the lowest tier "
    "availability is below, 0 while the target is met; no sample when availability is unknown.",
)
CORRECTED = Metric(
    "sla_corrected_seconds",
    "gauge",
    ("tenant", "category"),
    "Month-to-date seconds whose state the tenant's active corrections change (up, down or excluded), by "
    "category; a sample per category with an active correction in the month.",
)
PROBE_SUCCESS = Metric(
    "sla_probe_success",
    "gauge",
    TPL,
    "1 if the probe's last result at the location succeeded, 0 if it failed; no sample once it is stale. "
    "This exporter's own location from its runs, the others from the shared store.",
)
LOCATION_UP = Metric(
    "sla_location_up",
    "gauge",
    ("location",),
    "1 if results from the location were recorded within the last 2 intervals of a probe, else 0 "
    "(a location whose exporter stopped, or lost its network).",
)
PROBE_DURATION = Metric(
    "sla_probe_duration_seconds", "gauge", TPL, "How long the probe's last run from this exporter's location took."
)
PROBE_STATUS = Metric(
    "sla_probe_http_status_code", "gauge", TPL, "HTTP status code of the probe's last response, 0 when there was none."
)
PROBE_CERT_EXPIRY = Metric(
    "sla_probe_tls_cert_expiry_timestamp_seconds",
    "gauge",
    TPL,
    "When the target's TLS certificate expires (Unix time), from the last https probe.",
)
PROBE_ERRORS = Metric(
    "sla_probe_errors_total",
    "counter",
    ("tenant", "probe", "reason"),
    "Failed probe runs by reason since the exporter started: the vendor's (timeout, connection, "
    "tls, dns, status, body, redirect) and the monitor's own (config, resources, resolver, network, "
    "internal, clock), which are never counted as downtime.",
)
SUPPORT_OPEN = Metric(
    "sla_support_incidents_open",
    "gauge",
    ("tenant", "priority", "source"),
    "Open support incidents by priority; source is filed (through the API) or detected (from probes).",
)
SUPPORT_RESPONSE_DUE = Metric(
    "sla_support_incident_response_due_timestamp_seconds",
    "gauge",
    ("tenant", "incident", "priority"),
    "When the initial response to an open incident is due (Unix time); no sample once it has been given.",
)
SUPPORT_COMMUNICATION_DUE = Metric(
    "sla_support_incident_communication_due_timestamp_seconds",
    "gauge",
    ("tenant", "incident", "priority"),
    "When the next communication on an open incident is due (Unix time).",
)
SUPPORT_RESOLUTION_DUE = Metric(
    "sla_support_incident_resolution_due_timestamp_seconds",
    "gauge",
    ("tenant", "incident", "priority"),
    "When a resolution, workaround or action plan for an open incident is due (Unix time); P1 only by default.",
)
SUPPORT_BREACHES = Metric(
    "sla_support_breaches_total",
    "counter",
    ("tenant", "priority", "target"),
    "Support deadlines missed, by priority (P1-P4, or service-request) and target "
    "(response, communication, resolution, delivery).",
)
SUPPORT_REQUESTS_OPEN = Metric("sla_support_service_requests_open", "gauge", ("tenant",), "Open service requests.")
SUPPORT_REQUEST_DUE = Metric(
    "sla_support_service_request_delivery_due_timestamp_seconds",
    "gauge",
    ("tenant", "request"),
    "When an open service request is due for delivery (Unix time).",
)
BUILD_INFO = Metric(
    "sla_exporter_build_info",
    "gauge",
    ("version", "python_version"),
    "A metric with a constant 1 labelled by the exporter's version.",
)
RELOAD_OK = Metric(
    "sla_exporter_config_last_reload_successful",
    "gauge",
    (),
    "1 if the last config (re)load succeeded, 0 if it was refused.",
)
RELOAD_TIME = Metric(
    "sla_exporter_config_last_reload_success_timestamp_seconds",
    "gauge",
    (),
    "When the config was last loaded successfully (Unix time).",
)
STORE_WRITABLE = Metric(
    "sla_exporter_store_writable",
    "gauge",
    (),
    "1 if the last write to the store succeeded, 0 while it fails (disk full, read-only); "
    "probing goes on and history is kept in memory until writes succeed.",
)
STORE_ERRORS = Metric("sla_exporter_store_write_errors_total", "counter", (), "Failed writes to the store.")
LEADER = Metric(
    "sla_exporter_leader",
    "gauge",
    (),
    "1 if this exporter runs its shard's once-only jobs (incident detection), 0 while another "
    "exporter sharing its PostgreSQL store does; always 1 on SQLite.",
)
PROBE_FAULTS = Metric(
    "sla_exporter_probe_faults",
    "gauge",
    ("reason",),
    "Probes whose last run failed for a reason of the monitor's own (config, resources, resolver, "
    "network, internal, clock): their time is unknown, never the vendor's downtime.",
)
NETWORK_UP = Metric(
    "sla_exporter_network_up",
    "gauge",
    (),
    "1 if a connectivity canary answered at the last check, 0 if none did (failures that our network "
    "could cause then count as unknown); no sample without monitor.canaries.",
)
CLOCK_STEPS = Metric(
    "sla_exporter_clock_steps_total",
    "counter",
    (),
    "Wall-clock steps of more than 2 s against the monotonic clock (probes are rescheduled).",
)
CLOCK_LAST_STEP = Metric(
    "sla_exporter_clock_last_step_seconds",
    "gauge",
    (),
    "Size of the last wall-clock step (negative: backwards); no sample before the first.",
)
SCRAPE_DURATION = Metric(
    "sla_exporter_scrape_duration_seconds", "gauge", (), "Time this scrape spent computing the SLA figures."
)
WEB_CONFIG_RELOAD_OK = Metric(
    "sla_exporter_web_config_last_reload_successful",
    "gauge",
    (),
    "1 if the web config file (--web.config.file) was accepted at the last (re)load, or none "
    "is used; 0 if it was refused and the running TLS and basic-auth settings stayed.",
)
WEB_CONNECTIONS_OPEN = Metric(
    "sla_exporter_web_connections_open",
    "gauge",
    (),
    "HTTP connections to the exporter open now (idle keep-alive ones included).",
)
WEB_CONNECTIONS_LIMIT = Metric(
    "sla_exporter_web_connections_limit",
    "gauge",
    (),
    "The most HTTP connections the exporter keeps open at once; derived from the "
    "open-files limit, so that probes and the store always have descriptors left.",
)
WEB_CONNECTIONS_DROPPED = Metric(
    "sla_exporter_web_connections_dropped_total",
    "counter",
    (),
    "Connections closed because the exporter was at its connection limit: the one "
    "idle the longest, or the new one when none was idle.",
)

ALL = [v for v in globals().values() if isinstance(v, Metric)]
