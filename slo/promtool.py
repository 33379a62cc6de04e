"""promtool unit tests that follow from the spec (slo/spec.py):

- prometheus/tests/recording_rules_test.yml: every recorded window measures the same steady
  downtime ratio and burn rate; a window wholly in maintenance is NaN.
- prometheus/tests/spec_<alert>_test.yml: for every line of BURN_ALERTS, a tenant that
  starts burning budget at a steady rate between the alert's factor and the next faster
  one's: the alert must fire exactly when the long window crosses the factor (not one step
  earlier), with the value in its description, leave the faster alert quiet, stop once the
  short window is clean although the long one is still above, and never fire for a tenant
  whose same hours are maintenance (flat counters).

The edges are computed here with exact fractions; promtool checks them against the rules.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

from slo import rules, spec
from slo.spec import M, burn_rate, downtime_ratio, seconds

HEADER = (
    rules.GENERATED + "# promtool unit tests; run from the repository root: "
    "promtool test rules prometheus/tests/*.yml\n"
)
EXPORTER = 'instance="exporter:9929", job="sla-exporter"'
BUDGET = Fraction(1, 100)  # target 99 %: burn = downtime ratio / 0.01


def duration(s: int) -> str:
    """5400 -> '1h30m' (promtool's eval_time)."""
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            out += f"{s // size}{unit}"
            s %= size
    return out or "0s"


def series(name: str, tenant: str, values: str) -> str:
    return f"      - series: '{name}{{{EXPORTER}, tenant=\"{tenant}\"}}'\n        values: '{values}'\n"


def _group_order() -> str:
    return f"group_eval_order: [{', '.join(rules.group_order())}]\n"


# -- recording rules -------------------------------------------------------------------------------


def recording_rules_test() -> str:
    windows = spec.RECORDED_WINDOWS
    longest = seconds(windows[-1])
    n = longest // 300 + 6  # 5-minute samples past the longest window
    at = duration(longest + 300)
    out = (
        HEADER
        + f"""rule_files: [../rules.yml]
evaluation_interval: 5m

tests:
  # {rules.amount(duration(longest))} and five minutes of 5-minute samples, every window full at {at}.
  #   acme   down 30 s of every eligible 5 minutes (ratio 0.1), target 99.92 %: budget
  #          0.0008, burn 125 over every window.
  #   shared two exporters (instances a and b) serve the same tenant from a shared store,
  #          b one sample behind a (it has not read the store's latest yet): one series,
  #          ratio 0.1 as either sees it (max of the rates, by tenant); target 99 %: burn 10.
  #   maint  {rules.amount(duration(longest))} of maintenance: both counters flat, every window 0 / 0 = NaN, and
  #          NaN fails every comparison, so no burn alert can fire.
  # Values are rounded to 0.001: (1 - 0.9992) is not exact in binary floating point.
  - interval: 5m
    input_series:
"""
    )
    rows = [
        (M.TARGET, "exporter:9929", "acme", f"0.9992x{n}"),
        (M.ELIGIBLE_TOTAL, "exporter:9929", "acme", f"0+300x{n}"),
        (M.DOWNTIME_TOTAL, "exporter:9929", "acme", f"0+30x{n}"),
        (M.TARGET, "a:9929", "shared", f"0.99x{n}"),
        (M.TARGET, "b:9929", "shared", f"0.99x{n}"),
        (M.ELIGIBLE_TOTAL, "a:9929", "shared", f"0+300x{n}"),
        (M.ELIGIBLE_TOTAL, "b:9929", "shared", f"0 0+300x{n - 1}"),
        (M.DOWNTIME_TOTAL, "a:9929", "shared", f"0+30x{n}"),
        (M.DOWNTIME_TOTAL, "b:9929", "shared", f"0 0+30x{n - 1}"),
        (M.TARGET, "exporter:9929", "maint", f"0.9992x{n}"),
        (M.ELIGIBLE_TOTAL, "exporter:9929", "maint", f"5000x{n}"),
        (M.DOWNTIME_TOTAL, "exporter:9929", "maint", f"70x{n}"),
    ]
    for metric, instance, tenant, values in rows:
        out += (
            f'      - series: \'{metric}{{instance="{instance}", job="sla-exporter", tenant="{tenant}"}}\'\n'
            f"        values: '{values}'\n"
        )
    out += "    promql_expr_test:\n"
    for name, (acme, shared) in [(downtime_ratio, ("0.1", "0.1")), (burn_rate, ("125", "10"))]:
        for w in windows:
            out += (
                f'      - expr: round({name(w)}{{tenant!="maint"}}, 0.001)\n'
                f"        eval_time: {at}\n"
                f"        exp_samples: [{{labels: '{{tenant=\"acme\"}}', value: {acme}}}, "
                f"{{labels: '{{tenant=\"shared\"}}', value: {shared}}}]\n"
            )
    out += f"""      # maint: all {2 * len(windows)} series exist, and none is >= 0 or < 0 (NaN).
      - expr: count({{__name__=~"tenant:sla_.+", tenant="maint"}})
        eval_time: {at}
        exp_samples: [{{value: {2 * len(windows)}}}]
      - expr: '{{__name__=~"tenant:sla_.+", tenant="maint"}} >= 0 or {{__name__=~"tenant:sla_.+", tenant="maint"}} < 0'
        eval_time: {at}
        exp_samples: []
"""
    return out


# -- burn-rate alerts --------------------------------------------------------------------------------


def humanize(x: float) -> str:
    """Prometheus's `humanize` for 1 <= x < 1000: four significant digits."""
    assert 1 <= x < 1000, x
    return f"{x:.4g}"


def step_of(a: spec.BurnAlert) -> int:
    """Seconds between samples: the longest of 1m, 5m, 10m that puts 5 or more in the short window."""
    short = seconds(a.short)
    return max(s for s in (60, 300, 600) if short % s == 0 and short // s >= 5)


def scenario(i: int) -> tuple[str, str]:
    """(test case, comment) for BURN_ALERTS[i]."""
    a = spec.BURN_ALERTS[i]
    faster = spec.BURN_ALERTS[i - 1] if i else None
    long_s, short_s = seconds(a.long), seconds(a.short)
    step = step_of(a)
    factor = Fraction(str(a.factor))
    # Downtime seconds per step: a burn between the factor and the next faster one (or 1.25x).
    aim = (factor + Fraction(str(faster.factor))) / 2 if faster else factor * Fraction(5, 4)
    d = max(1, round(aim * BUDGET * step))

    def burn(k: int, window: int) -> Fraction:  # k steps down, all inside the window
        return Fraction(k * d, window) / BUDGET

    def clear(k: int) -> bool:  # far enough from the factor for floating point
        return abs(burn(k, long_s) - factor) > factor * Fraction(1, 10**6)

    while not clear(math.floor(factor * BUDGET * long_s / d)) or not clear(
        math.floor(factor * BUDGET * long_s / d) + 1
    ):
        d += 1
    rate = Fraction(d, step) / BUDGET
    assert factor < rate and (faster is None or rate < Fraction(str(faster.factor))) and d <= step, (a, d)
    n0 = long_s // step  # steps up before the burn starts: the long window starts clean
    k_fire = math.floor(factor * BUDGET * long_s / d) + 1  # first step with the long window above
    k_stop = k_fire + 2  # steps down; then up again
    assert k_stop * step + short_s <= long_s, "the long window still holds all the downtime when the short one is clean"
    total = n0 + k_stop + short_s // step + 2
    t = lambda k: duration((n0 + k) * step)  # noqa: E731  k steps after the burn starts

    def firing(k: int) -> str:
        value = humanize(float(burn(k, long_s)))
        r = rules.burn_alert(a)
        description = r.description.replace("{{ $labels.tenant }}", "acme").replace("{{ $value | humanize }}", value)
        return (
            f"      - alertname: {a.name}\n"
            f"        eval_time: {t(k)}\n"
            f"        exp_alerts:\n"
            f"          - exp_labels: {{severity: {a.severity}, tenant: acme}}\n"
            f"            exp_annotations:\n"
            f"              summary: {json.dumps(r.summary.replace('{{ $labels.tenant }}', 'acme'))}\n"
            f"              description: {json.dumps(description, ensure_ascii=False)}\n"
            f"              runbook_url: {spec.RUNBOOK_URL}{a.name.lower()}\n"
        )

    f = rules.num(a.factor)
    comment = (
        f"  # {a.name}: {f}x over {a.long} and {a.short}. Samples every {duration(step)}, target 99 %.\n"
        f"  #   acme   up for {a.long}, then down {d} s of every {duration(step)} (burn {float(rate):.4g}"
        + (f", below {faster.name}'s {rules.num(faster.factor)}x" if faster else "")
        + ").\n"
        f"  #          After k steps the {a.long} window holds {d}k s of downtime: burn {d}k / {long_s} / 0.01;\n"
        f"  #          k={k_fire - 1}: {float(burn(k_fire - 1, long_s)):.4g} (quiet), "
        f"k={k_fire}: {float(burn(k_fire, long_s)):.4g} (fires). Up again after k={k_stop}: quiet once the\n"
        f"  #          {a.short} window is clean, while the {a.long} window is still above {f}.\n"
        f"  #   maint  the same hours in maintenance: both counters flat, 0 / 0 = NaN, never fires.\n"
    )
    down = f"0x{n0} {d}+{d}x{k_stop - 1} {k_stop * d}x{total - n0 - k_stop - 1}"
    case = (
        f"  - name: {a.name} from the spec\n"
        f"    interval: {duration(step)}\n"
        f"    input_series:\n"
        + series(M.TARGET, "acme", f"0.99x{total}")
        + series(M.ELIGIBLE_TOTAL, "acme", f"0+{step}x{total}")
        + series(M.DOWNTIME_TOTAL, "acme", down)
        + series(M.TARGET, "maint", f"0.99x{total}")
        + series(M.ELIGIBLE_TOTAL, "maint", f"0+{step}x{n0} {n0 * step}x{total - n0 - 1}")
        + series(M.DOWNTIME_TOTAL, "maint", f"0x{total}")
        + "    alert_rule_test:\n"
        + f"      - {{alertname: {a.name}, eval_time: {t(k_fire - 1)}, exp_alerts: []}}\n"
        + firing(k_fire)
        + (f"      - {{alertname: {faster.name}, eval_time: {t(k_fire)}, exp_alerts: []}}\n" if faster else "")
        + firing(k_stop)
        + f"      - {{alertname: {a.name}, eval_time: {duration((n0 + k_stop) * step + short_s)}, exp_alerts: []}}\n"
        + "    promql_expr_test:\n"
        + f"      - expr: {burn_rate(a.long)} > bool {f}\n"
        + f"        eval_time: {duration((n0 + k_stop) * step + short_s)}\n"
        + "        exp_samples: [{labels: '{tenant=\"acme\"}', value: 1}, {labels: '{tenant=\"maint\"}', value: 0}]\n"
    )
    return case, comment


def burn_rate_test(i: int) -> str:
    """One file per alert: promtool's evaluation interval is per file, and each alert's
    samples are as far apart as its short window allows (a 3-day window in 1-minute steps
    would take promtool most of a minute)."""
    a = spec.BURN_ALERTS[i]
    case, comment = scenario(i)
    return (
        HEADER + f"#\n# {a.name} as BURN_ALERTS in slo/spec.py defines it; the edges are computed from its\n"
        f"# windows and factor (slo/promtool.py).\n"
        f"rule_files: [../rules.yml, ../alerts.yml]\nevaluation_interval: {duration(step_of(a))}\n"
        f"# Recording rules first at every evaluation, as the alerts read them.\n{_group_order()}"
        f"\ntests:\n{comment}{case}"
    )


def outputs() -> dict[str, str]:
    """Path relative to the repository -> content."""
    out = {"prometheus/tests/recording_rules_test.yml": recording_rules_test()}
    for i, a in enumerate(spec.BURN_ALERTS):
        out[f"prometheus/tests/spec_{a.name}_test.yml"] = burn_rate_test(i)
    return out
