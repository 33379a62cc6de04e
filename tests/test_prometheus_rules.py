"""The Prometheus rules in prometheus/: promtool's checks and unit tests, amtool's check of
the example Alertmanager config, and consistency with the SLO spec (slo/spec.py, which
generates rules.yml, alerts.yml and some of the promtool tests), the exporter's metric
table (exporter.metrics), the runbook and the alert table of docs/prometheus-grafana.md.

promtool and amtool come with Debian's `prometheus` and `prometheus-alertmanager` packages
(.ci/run installs them). Without them the tool tests are skipped locally, and fail when the
environment variable CI is set: CI must never pass by skipping.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporter import metrics
from realproc import binary

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from slo import promtool as spec_tests, rules as spec_rules, spec  # noqa: E402

PROM = REPO / "prometheus"
RULES, ALERTS = PROM / "rules.yml", PROM / "alerts.yml"
RUNBOOK = REPO / "docs" / "runbook.md"
RUNBOOK_URL = "https://github.com/sla-exporter/sla-exporter/blob/main/docs/runbook.md#"
# Pinned: other tools read these recorded names. The spec may add windows, never drop these.
WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
SEVERITIES = {"page", "ticket", "warning"}
# One series per tenant across the exporters serving it (the tenant alerts read them).
TENANT_SERIES = [
    "tenant:sla_up:min",
    "tenant:sla_maintenance_active:max",
    "tenant:sla_error_budget_remaining_seconds:min",
    "tenant:sla_month_downtime_seconds:max",
]
# Alerts that stay per exporter: its own health, and the probes it ran.
PER_EXPORTER = {
    "SLAExporterDown",
    "SLAExporterMetricsAbsent",
    "SLAExporterConfigReloadFailed",
    "SLAExporterStoreNotWritable",
    "SLAProbeFailing",
    "SLAProbeResultsStale",
    "SLATLSCertificateExpiringSoon",
    "SLATLSCertificateExpiryImminent",
}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)


def load(path: Path) -> list[dict]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def alerts() -> list[dict]:
    return [r for r in load(ALERTS) if "alert" in r]


def recorded() -> set[str]:
    return {r["record"] for r in load(RULES) if "record" in r}


# -- the tools ----------------------------------------------------------------------------


def test_promtool_check_rules():
    r = run(binary("promtool"), "check", "rules", str(RULES), str(ALERTS))
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_unit_tests():
    files = sorted(str(p) for p in (PROM / "tests").glob("*.yml"))
    assert files, "no promtool unit tests in prometheus/tests/"
    r = run(binary("promtool"), "test", "rules", *files)
    assert r.returncode == 0, r.stdout + r.stderr


def test_alertmanager_example_config_is_valid():
    amtool = binary("amtool")
    config = str(PROM / "alertmanager.example.yml")
    r = run(amtool, "check-config", config)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    "labels, receiver",
    [
        (["severity=page", "alertname=SLAErrorBudgetBurnFast", "tenant=acme"], "pager"),
        (["severity=ticket", "alertname=SLAErrorBudgetBurnSlow", "tenant=acme"], "tickets"),
        (["severity=warning", "alertname=SLATenantDown", "tenant=acme"], "chat"),
        (["alertname=SomethingElse"], "chat"),
    ],
)
def test_alertmanager_example_routes_by_severity(labels, receiver):
    r = run(
        binary("amtool"), "config", "routes", "test", "--config.file", str(PROM / "alertmanager.example.yml"), *labels
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == receiver


# -- consistency, pure Python ---------------------------------------------------------------

IDENT = re.compile(r"(?<![\w:.\"'])[A-Za-z_:][\w:]*")
SELECTOR = re.compile(r"\b(sla_\w+)\{([^}]*)\}")


def exprs() -> list[tuple[str, str]]:
    return [(r.get("record") or r["alert"], r["expr"]) for r in load(RULES) + load(ALERTS)]


def test_recording_rule_names_are_the_pinned_ones():
    names = [r["record"] for r in load(RULES) if "record" in r]
    expected = [f"tenant:sla_downtime:ratio_rate{w}" for w in spec.RECORDED_WINDOWS] + [
        f"tenant:sla_error_budget_burn:rate{w}" for w in spec.RECORDED_WINDOWS
    ]
    expected += list(TENANT_SERIES)
    assert sorted(names) == sorted(expected)
    assert set(WINDOWS) <= set(spec.RECORDED_WINDOWS), "a pinned recorded window was dropped"
    for w in spec.RECORDED_WINDOWS:
        rule = next(r for r in load(RULES) if r.get("record") == f"tenant:sla_downtime:ratio_rate{w}")
        assert f"rate(sla_downtime_seconds_total[{w}])" in rule["expr"]
        assert f"rate(sla_eligible_seconds_total[{w}])" in rule["expr"]


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
def test_tenant_alerts_are_one_per_tenant_not_per_exporter(rule):
    """On a shared store every exporter serves every tenant: an alert about a tenant reads
    its series aggregated across the exporters (the recorded tenant:* series or an
    aggregation by the metric's own labels), so it has no instance to name. promtool
    cases with two exporters: prometheus/tests/shared_store_test.yml."""
    text = " ".join(rule["annotations"].values())
    if rule["alert"] in PER_EXPORTER or rule["alert"] == "SLALocationNotReporting":
        return
    assert "$labels.instance" not in text and "$labels.job" not in text
    tenant_metrics = {m.name for m in metrics.ALL if "tenant" in m.labels}
    for ident in IDENT.findall(rule["expr"]):
        if ident in tenant_metrics:
            # every raw tenant series sits inside an aggregation `by (tenant...`
            assert re.search(rf"(min|max) by \(tenant[\w, ]*\) \(\s*(\w+\()?{ident}\b", rule["expr"]), (
                rule["alert"],
                ident,
            )


def test_every_metric_referenced_is_emitted_or_recorded():
    emitted = {m.name for m in metrics.ALL}
    rules = recorded()
    unknown = []
    for name, expr in exprs():
        for ident in IDENT.findall(expr):
            if (ident.startswith("sla_") and ident not in emitted) or (":" in ident and ident not in rules):
                unknown.append((name, ident))
    assert not unknown, f"not in exporter.metrics.ALL nor recorded in rules.yml: {unknown}"


def test_label_matchers_use_the_metrics_labels():
    labels = {m.name: set(m.labels) | {"instance", "job"} for m in metrics.ALL}
    wrong = []
    for name, expr in exprs():
        for metric, matchers in SELECTOR.findall(expr):
            for label in re.findall(r"(\w+)\s*[=!~]", matchers):
                if label not in labels.get(metric, set()):
                    wrong.append((name, metric, label))
    assert not wrong


def test_groups_keep_the_default_interval():
    for path in (RULES, ALERTS):
        for group in yaml.safe_load(path.read_text())["groups"]:
            assert "interval" not in group, f"{path.name}: group {group['name']} sets an interval"


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runbook_anchors() -> set[str]:
    return {github_anchor(m) for m in re.findall(r"^#{1,6} (.+)$", RUNBOOK.read_text(), re.M)}


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
def test_alert_has_labels_annotations_and_a_runbook_section(rule):
    assert re.fullmatch(r"SLA[A-Z][A-Za-z0-9]+", rule["alert"])
    assert rule["labels"]["severity"] in SEVERITIES
    assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
    url = rule["annotations"]["runbook_url"]
    assert url.startswith(RUNBOOK_URL)
    anchor = url.removeprefix(RUNBOOK_URL)
    assert anchor == rule["alert"].lower()
    assert anchor in runbook_anchors(), f"docs/runbook.md has no section #{anchor}"


def test_every_runbook_alert_section_belongs_to_an_alert():
    names = {r["alert"] for r in alerts()}
    sections = re.findall(r"^## (SLA\w+)$", RUNBOOK.read_text(), re.M)
    assert sorted(sections) == sorted(names)


def test_every_alert_has_promtool_tests_that_see_it_fire():
    fired, quiet = set(), set()
    for path in (PROM / "tests").glob("*.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {r["alert"] for r in alerts()}
    assert names - fired == set(), "alerts never seen firing in prometheus/tests"
    assert names - quiet == set(), "alerts never checked for not firing in prometheus/tests"


def test_every_alert_is_in_the_docs_table():
    doc = (REPO / "docs" / "prometheus-grafana.md").read_text()
    missing = [r["alert"] for r in alerts() if f"`{r['alert']}`" not in doc]
    assert not missing, f"the alert table of docs/prometheus-grafana.md lacks {missing}"


# -- the spec (slo/spec.py) and the files agree ------------------------------------------------------


def test_rules_and_alerts_are_what_the_spec_generates():
    """`python -m slo --check` in CI says the same; this names the file from pytest too."""
    assert RULES.read_text() == spec_rules.rules_yml(), "prometheus/rules.yml is stale: run make generate"
    assert ALERTS.read_text() == spec_rules.alerts_yml(), "prometheus/alerts.yml is stale: run make generate"
    for path, text in spec_tests.outputs().items():
        assert (REPO / path).read_text() == text, f"{path} is stale: run make generate"


def test_alerts_carry_the_spec_severities_and_durations():
    rules = {r["alert"]: r for r in alerts()}
    assert sorted(rules) == sorted(spec.all_alert_names())
    for name, rule in rules.items():
        assert rule["labels"] == {"severity": spec.severity(name)}, name
    for name, a in spec.ALERTS.items():
        assert rules[name].get("for") == a.for_, name
    for a in spec.BURN_ALERTS:
        f = f"{a.factor:g}"
        assert "for" not in rules[a.name]
        assert rules[a.name]["expr"].split() == [
            f"tenant:sla_error_budget_burn:rate{a.long}",
            ">",
            f,
            "and",
            f"tenant:sla_error_budget_burn:rate{a.short}",
            ">",
            f,
        ]


def test_promtool_tests_expect_the_spec_severities():
    """Hand-written scenarios too: a severity changed in the spec shows up here by name."""
    for path in (PROM / "tests").glob("*.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                for exp in case.get("exp_alerts") or []:
                    assert exp["exp_labels"]["severity"] == spec.severity(case["alertname"]), (
                        f"{path.name}: {case['alertname']} expected with severity {exp['exp_labels']['severity']}, "
                        f"the spec says {spec.severity(case['alertname'])}"
                    )


def test_promtool_tests_evaluate_recording_rules_before_alerts():
    for path in (PROM / "tests").glob("*.yml"):
        data = yaml.safe_load(path.read_text())
        if "../alerts.yml" in data["rule_files"]:
            assert data.get("group_eval_order") == spec_rules.group_order(), path.name


def test_runbook_states_the_spec_windows_and_factors():
    text = RUNBOOK.read_text()
    assert f"for W in {', '.join(spec.RECORDED_WINDOWS)}" in " ".join(text.split())
    for a in spec.BURN_ALERTS:
        section = text.split(f"## {a.name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"{a.factor:g}" in section, f"docs/runbook.md#{a.name.lower()} does not name the factor {a.factor:g}"
