import datetime as dt
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from exporter.config import schema, sections as config  # the schema tables
from exporter.config.loader import ConfigError, Problem, load, load_text, summary
from exporter.model import EnvRef

# The example of docs/configuration.md, plus what it leaves out: unquoted times, probe_defaults overrides,
# a second tenant with its own window, SLA override and header from the environment.
FULL = """\
timezone: Europe/Helsinki
sla:
  target: 99.92%            # or 0.9992
probe_defaults: {interval: 30s, timeout: 10s, failure_threshold: 1}
maintenance_windows:
  - {name: weekly, rrule: "FREQ=WEEKLY;BYDAY=SU", start: 02:00, duration: 2h}
  - {name: quarterly, rrule: "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA", start: 22:00, duration: 6h}
  - {name: announced, date: 2026-09-30, start: "23:00", duration: 2h}
tenants:
  - name: acme-prod
    environment: production          # production | non-production
    down_when: any                    # any | all
    sla: {target: 99.92%}             # optional per-tenant override
    maintenance_windows: []           # optional, added to the top-level ones
    probes:
      - {name: agent-ui, url: "https://acme.example.com/health", interval: 30s, timeout: 10s,
         failure_threshold: 2, expect_status: [200]}
  - name: acme-test
    environment: non-production
    down_when: all
    sla: {target: 0.995}
    maintenance_windows:
      - {name: nightly, rrule: FREQ=DAILY, start: 1:30, duration: 1h30m, timezone: UTC}
    probes:
      - name: api
        url: http://test.acme.example.com:8080/ping
        interval: 1m
        expect_status: 204
        expect_body: pong
        expect_body_regex: "^p.ng$"
        headers: {Authorization: {env: ACME_TOKEN}, X-Tenant: acme}
        tls_verify: false
      - {name: ui, url: "https://test.acme.example.com/", stale_after: 5m}
"""


@pytest.fixture(scope="module")
def full():
    return load_text(FULL, "config.yaml")


def _window(cfg, tenant, name):
    return next(w for w in cfg.tenant(tenant).windows if w.name == name)


def _probe(cfg, tenant, name):
    return next(p for p in cfg.tenant(tenant).probes if p.name == name)


@pytest.mark.parametrize(
    "get, expected",
    [
        (lambda c: c.source, "config.yaml"),
        (lambda c: c.timezone, "Europe/Helsinki"),
        (lambda c: c.target, 0.9992),
        (lambda c: [w.name for w in c.windows], ["weekly", "quarterly", "announced"]),
        (lambda c: c.windows[0].start, dt.time(2, 0)),  # unquoted 02:00
        (lambda c: c.windows[1].start, dt.time(22, 0)),  # unquoted 22:00, not 79200
        (lambda c: c.windows[0].duration, 7200.0),
        (lambda c: c.windows[0].timezone, "Europe/Helsinki"),
        (lambda c: c.windows[1].rrule, "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA"),
        (lambda c: (c.windows[2].date, c.windows[2].rrule), (dt.date(2026, 9, 30), None)),
        (lambda c: [t.name for t in c.tenants], ["acme-prod", "acme-test"]),
        (lambda c: c.tenant("acme-prod").windows == c.windows, True),  # top-level only
        (lambda c: [w.name for w in c.tenant("acme-test").windows], ["weekly", "quarterly", "announced", "nightly"]),
        (lambda c: _window(c, "acme-test", "nightly").start, dt.time(1, 30)),  # unquoted 1:30, not 90
        (lambda c: _window(c, "acme-test", "nightly").duration, 5400.0),
        (lambda c: _window(c, "acme-test", "nightly").timezone, "UTC"),
        (lambda c: (c.tenant("acme-prod").environment, c.tenant("acme-prod").production), ("production", True)),
        (lambda c: (c.tenant("acme-test").environment, c.tenant("acme-test").production), ("non-production", False)),
        (lambda c: (c.tenant("acme-prod").down_when, c.tenant("acme-test").down_when), ("any", "all")),
        (lambda c: (c.tenant("acme-prod").target, c.tenant("acme-test").target), (0.9992, 0.995)),
        (lambda c: _probe(c, "acme-prod", "agent-ui").failure_threshold, 2),
        (lambda c: _probe(c, "acme-prod", "agent-ui").expect_status, (200,)),
        (lambda c: _probe(c, "acme-prod", "agent-ui").stale_after, 60.0),  # 2 x interval
        (lambda c: _probe(c, "acme-test", "api").interval, 60.0),
        (lambda c: _probe(c, "acme-test", "api").timeout, 10.0),  # from probe_defaults
        (lambda c: _probe(c, "acme-test", "api").stale_after, 120.0),  # 2 x its own interval
        (lambda c: _probe(c, "acme-test", "api").expect_status, (204,)),
        (lambda c: _probe(c, "acme-test", "api").expect_body, "pong"),
        (lambda c: _probe(c, "acme-test", "api").expect_body_regex, "^p.ng$"),
        (
            lambda c: _probe(c, "acme-test", "api").headers,
            (("Authorization", EnvRef("ACME_TOKEN")), ("X-Tenant", "acme")),
        ),
        (lambda c: _probe(c, "acme-test", "api").tls_verify, False),
        (lambda c: _probe(c, "acme-test", "ui").interval, 30.0),
        (lambda c: _probe(c, "acme-test", "ui").stale_after, 300.0),
        (lambda c: _probe(c, "acme-test", "ui").expect_status, ()),
        (lambda c: _probe(c, "acme-test", "ui").headers, ()),
        (lambda c: _probe(c, "acme-test", "ui").ca_file, None),
        (lambda c: _probe(c, "acme-test", "ui").tls_verify, True),
    ],
)
def test_full_config_resolves(full, get, expected):
    assert get(full) == expected


MINIMAL = """\
tenants:
  - name: acme
    probes:
      - {name: ui, url: "https://acme.example.com/"}
"""


@pytest.mark.parametrize(
    "get, expected",
    [
        (lambda c: c.timezone, "Europe/Helsinki"),
        (lambda c: c.target, 0.9992),
        (lambda c: c.windows, ()),
        (lambda c: c.tenants[0].environment, "production"),
        (lambda c: c.tenants[0].down_when, "any"),
        (lambda c: c.tenants[0].target, 0.9992),
        (lambda c: c.tenants[0].windows, ()),
        (lambda c: c.tenants[0].probes[0].interval, 30.0),
        (lambda c: c.tenants[0].probes[0].timeout, 10.0),
        (lambda c: c.tenants[0].probes[0].failure_threshold, 1),
        (lambda c: c.tenants[0].probes[0].stale_after, 60.0),
        (lambda c: c.tenants[0].probes[0].expect_status, ()),
        (lambda c: c.tenants[0].probes[0].tls_verify, True),
        (lambda c: c.source, "<config>"),
    ],
)
def test_built_in_defaults(get, expected):
    assert get(load_text(MINIMAL)) == expected


def test_short_interval_caps_the_default_timeout():
    cfg = load_text(MINIMAL.replace('/"}', '/", interval: 5s}'))
    assert (cfg.tenants[0].probes[0].timeout, cfg.tenants[0].probes[0].stale_after) == (5.0, 10.0)


def _probe_yaml(fields):
    return f"""\
tenants:
  - name: acme
    probes:
      - {{name: ui, url: "https://acme.example.com/", {fields}}}
"""


def _window_yaml(fields):
    return f"""\
maintenance_windows:
  - {{name: weekly, start: "02:00", {fields}}}
{MINIMAL}"""


# (yaml, the exact error text). A trailing "..." means "starts with": that message belongs to
# another module (exporter.maintenance) and may be reworded there.
INVALID = {
    "unknown timezone": (
        "timezone: Europe/Helsinky\n" + MINIMAL,
        "c.yaml:1: timezone: unknown timezone 'Europe/Helsinky'",
    ),
    "unknown window timezone": (
        _window_yaml("rrule: FREQ=DAILY, duration: 1h, timezone: Mars/Base"),
        "c.yaml:2: maintenance_windows[0].timezone: unknown timezone 'Mars/Base'",
    ),
    "invalid rrule": (
        _window_yaml("rrule: FREQ=FORTNIGHTLY, duration: 1h"),
        "c.yaml:2: maintenance_windows[0].rrule: invalid rrule...",
    ),
    "zero duration": (
        _window_yaml("rrule: FREQ=DAILY, duration: 0s"),
        "c.yaml:2: maintenance_windows[0].duration: must be greater than 0, got '0s'",
    ),
    "negative duration": (
        _window_yaml("rrule: FREQ=DAILY, duration: -2h"),
        "c.yaml:2: maintenance_windows[0].duration: expected a duration such as 30s, 2h or 1h30m, got '-2h'",
    ),
    "duration over a week": (
        _window_yaml("rrule: FREQ=DAILY, duration: 8d"),
        "c.yaml:2: maintenance_windows[0].duration: must be at most 7d, got '8d' "
        "(a maintenance window longer than a week is almost certainly a mistake)",
    ),
    "both rrule and date": (
        _window_yaml("rrule: FREQ=DAILY, date: 2026-09-30, duration: 1h"),
        "c.yaml:2: maintenance_windows[0]: both 'rrule' and 'date' given; expected exactly one",
    ),
    "neither rrule nor date": (
        _window_yaml("duration: 1h"),
        "c.yaml:2: maintenance_windows[0]: missing required key 'rrule' or 'date'",
    ),
    "impossible date": (
        _window_yaml("date: 2026-02-30, duration: 1h"),
        "c.yaml:2: maintenance_windows[0].date: invalid date '2026-02-30': day is out of range for month",
    ),
    "start out of range": (
        _window_yaml("rrule: FREQ=DAILY, duration: 1h").replace('"02:00"', "24:00"),
        "c.yaml:2: maintenance_windows[0].start: expected a time of day from 00:00 to 23:59, got '24:00'",
    ),
    "duplicate window names": (
        _window_yaml("rrule: FREQ=DAILY, duration: 1h").replace(
            "\ntenants", '\n  - {name: weekly, start: "03:00", rrule: FREQ=DAILY, duration: 1h}\ntenants'
        ),
        "c.yaml:3: maintenance_windows[1].name: duplicate maintenance window name 'weekly' (first at line 2)",
    ),
    "zero interval": (
        _probe_yaml("interval: 0s"),
        "c.yaml:4: tenants[0].probes[0].interval: must be at least 1s, got '0s'",
    ),
    "negative interval": (
        _probe_yaml("interval: -30s"),
        "c.yaml:4: tenants[0].probes[0].interval: expected a duration such as 30s, 2h or 1h30m, got '-30s'",
    ),
    "target 0%": (
        "sla: {target: 0%}\n" + MINIMAL,
        "c.yaml:1: sla.target: must lie strictly between 0% and 100%, got '0%'",
    ),
    "target 100%": (
        "sla: {target: 100%}\n" + MINIMAL,
        "c.yaml:1: sla.target: must lie strictly between 0% and 100%, got '100%'",
    ),
    "target 120%": (
        "sla: {target: 120%}\n" + MINIMAL,
        "c.yaml:1: sla.target: must lie strictly between 0% and 100%, got '120%'",
    ),
    "target without %": (
        "sla: {target: 99.92}\n" + MINIMAL,
        "c.yaml:1: sla.target: must lie strictly between 0% and 100%, got 99.92 (write percentages with a % sign)",
    ),
    "target nan": (
        "sla: {target: .nan}\n" + MINIMAL,
        "c.yaml:1: sla.target: expected a target such as 99.92% or 0.9992, got nan",
    ),
    "duplicate tenant names": (
        MINIMAL + MINIMAL.removeprefix("tenants:\n"),
        "c.yaml:5: tenants[1].name: duplicate tenant name 'acme' (first at line 2)",
    ),
    "duplicate probe names": (
        MINIMAL + '      - {name: ui, url: "https://b.example.com/"}\n',
        "c.yaml:5: tenants[0].probes[1].name: duplicate probe name 'ui' (first at line 4)",
    ),
    "invalid URL": (
        MINIMAL.replace("https://acme.example.com/", "htp://x"),
        "c.yaml:4: tenants[0].probes[0].url: invalid URL 'htp://x': expected http:// or https:// with a host",
    ),
    "URL without host": (
        MINIMAL.replace("https://acme.example.com/", "https:///health"),
        "c.yaml:4: tenants[0].probes[0].url: invalid URL 'https:///health': expected http:// or https:// with a host",
    ),
    "unknown key with hint": (
        _probe_yaml("intervall: 30s"),
        "c.yaml:4: tenants[0].probes[0].intervall: unknown key 'intervall' (did you mean 'interval'?)",
    ),
    "unknown key without hint": (
        "colour: blue\n" + MINIMAL,
        "c.yaml:1: colour: unknown key 'colour'",
    ),
    "YAML syntax error": (
        "tenants: [{name: acme\n",
        "c.yaml:2: invalid YAML: while parsing a flow mapping, expected ',' or '}', but got '<stream end>'",
    ),
    "tab indentation": (
        "tenants:\n\t- name: acme\n",
        "c.yaml:2: invalid YAML: while scanning for the next token, found character '\\t' that cannot start any token",
    ),
    "empty file": ("", "c.yaml: file is empty: expected a mapping with at least `tenants`"),
    "comments only": ("# nothing yet\n", "c.yaml: file is empty: expected a mapping with at least `tenants`"),
    "top level is a list": ("- tenants\n", "c.yaml:1: expected a mapping at the top level, got a list"),
    "no tenants key": ("timezone: UTC\n", "c.yaml:1: missing required key 'tenants'"),
    "no tenants": ("tenants: []\n", "c.yaml:1: tenants: expected at least one tenant"),
    "tenant without probes": (
        "tenants:\n  - name: acme\n    probes: []\n",
        "c.yaml:3: tenants[0].probes: tenant has no probes",
    ),
    "missing url": (
        "tenants:\n  - name: acme\n    probes:\n      - name: ui\n",
        "c.yaml:4: tenants[0].probes[0]: missing required key 'url'",
    ),
    "timeout > interval": (
        _probe_yaml("interval: 30s, timeout: 40s"),
        "c.yaml:4: tenants[0].probes[0].timeout: timeout 40s exceeds interval 30s",
    ),
    "timeout from probe_defaults > interval": (
        "probe_defaults: {timeout: 40s}\n" + MINIMAL,
        "c.yaml:1: probe_defaults.timeout: timeout 40s exceeds interval 30s",
    ),
    "stale_after < interval": (
        _probe_yaml("interval: 1m, stale_after: 30s"),
        "c.yaml:4: tenants[0].probes[0].stale_after: stale_after 30s is shorter than interval 1m",
    ),
    "duplicate YAML key": (
        "tenants:\n  - name: acme\n    name: acme2\n    probes:\n      - {name: ui, url: 'https://a.example/'}\n",
        "c.yaml:3: tenants[0].name: duplicate key 'name' (first at line 2)",
    ),
    "threshold is a boolean": (
        _probe_yaml("failure_threshold: true"),
        "c.yaml:4: tenants[0].probes[0].failure_threshold: expected an integer, got a boolean (true)",
    ),
    "threshold zero": (
        _probe_yaml("failure_threshold: 0"),
        "c.yaml:4: tenants[0].probes[0].failure_threshold: must be at least 1, got 0",
    ),
    "status out of range": (
        _probe_yaml("expect_status: [200, 600]"),
        "c.yaml:4: tenants[0].probes[0].expect_status[1]: expected an HTTP status code from 100 to 599, got 600",
    ),
    "bad regex": (
        _probe_yaml("expect_body_regex: '(ok'"),
        "c.yaml:4: tenants[0].probes[0].expect_body_regex: invalid regular expression "
        "(RE2 syntax, no backreferences or lookaround): missing ): (ok",
    ),
    "regex with a backreference": (
        _probe_yaml(r"expect_body_regex: '(a)\1'"),
        "c.yaml:4: tenants[0].probes[0].expect_body_regex: invalid regular expression "
        r"(RE2 syntax, no backreferences or lookaround): invalid escape sequence: \1",
    ),
    "header value not a string": (
        _probe_yaml("headers: {X-Count: 5}"),
        "c.yaml:4: tenants[0].probes[0].headers.X-Count: expected a string or {env: VAR_NAME}, got an integer (5)",
    ),
    "header env not a variable name": (
        _probe_yaml("headers: {Authorization: {env: 'my token'}}"),
        "c.yaml:4: tenants[0].probes[0].headers.Authorization.env: "
        "expected an environment variable name such as API_TOKEN, got 'my token'",
    ),
    "missing ca_file": (
        _probe_yaml("ca_file: /nonexistent/ca.pem"),
        "c.yaml:4: tenants[0].probes[0].ca_file: cannot read ca_file '/nonexistent/ca.pem': No such file or directory",
    ),
    "tls_verify not a boolean": (
        _probe_yaml("tls_verify: 'no'"),
        "c.yaml:4: tenants[0].probes[0].tls_verify: expected true or false, got 'no'",
    ),
    "environment": (
        "tenants:\n  - name: acme\n    environment: prod\n    probes: [{name: ui, url: 'https://a.example/'}]\n",
        "c.yaml:3: tenants[0].environment: expected one of production, non-production, got 'prod'",
    ),
    "probes not a list": (
        "tenants:\n  - name: acme\n    probes: {name: ui}\n",
        "c.yaml:3: tenants[0].probes: expected a list, got a mapping",
    ),
    "tenant not a mapping": ("tenants:\n  - acme\n", "c.yaml:2: tenants[0]: expected a mapping, got 'acme'"),
    "empty name": (
        MINIMAL.replace("name: acme", "name: ''"),
        "c.yaml:2: tenants[0].name: must not be empty",
    ),
}


@pytest.mark.parametrize("text, expected", INVALID.values(), ids=INVALID.keys())
def test_invalid_config_is_reported_with_path_and_line(text, expected):
    with pytest.raises(ConfigError) as caught:
        load_text(text, "c.yaml")
    if expected.endswith("..."):
        assert str(caught.value).startswith(expected[:-3]) and "\n" not in str(caught.value)
    else:
        assert str(caught.value) == expected
    assert caught.value.source == "c.yaml"


def test_all_problems_are_reported_at_once():
    text = textwrap.dedent(
        """\
        timezone: Mars/Base
        sla: {target: 120%}
        maintenance_windows:
          - {name: w, start: "02:00", duration: 0s, rrule: FREQ=DAILY, date: 2026-01-01}
        tenants:
          - name: acme
            probes:
              - {name: ui, url: "ftp://a", intervall: 30s}
              - {name: ui, url: "https://a.example/", timeout: 1h}
          - name: acme
            probes: []
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_text(text, "c.yaml")
    err = caught.value
    assert [(p.line, p.path) for p in err.problems] == [
        (1, "timezone"),
        (2, "sla.target"),
        (4, "maintenance_windows[0]"),
        (4, "maintenance_windows[0].duration"),
        (8, "tenants[0].probes[0].intervall"),
        (8, "tenants[0].probes[0].url"),
        (9, "tenants[0].probes[1].name"),
        (9, "tenants[0].probes[1].timeout"),
        (10, "tenants[1].name"),
        (11, "tenants[1].probes"),
    ]
    assert str(err).splitlines()[0] == "c.yaml:1: timezone: unknown timezone 'Mars/Base'"
    assert len(str(err).splitlines()) == 10


def test_problem_shared_by_many_probes_is_reported_once():
    text = "probe_defaults: {timeout: 40s}\n" + MINIMAL + '      - {name: api, url: "https://b.example/"}\n'
    with pytest.raises(ConfigError) as caught:
        load_text(text)
    assert caught.value.problems == [Problem("probe_defaults.timeout", "timeout 40s exceeds interval 30s", 1)]


@pytest.mark.parametrize(
    "problem, expected",
    [
        (Problem("a.b", "bad", 3), "f.yaml:3: a.b: bad"),
        (Problem("", "bad", 3), "f.yaml:3: bad"),
        (Problem("a.b", "bad", None), "f.yaml: a.b: bad"),
        (Problem("", "bad", None), "f.yaml: bad"),
    ],
)
def test_problem_format(problem, expected):
    assert str(ConfigError("f.yaml", [problem])) == expected


def test_load_reads_the_file_and_names_it(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(FULL)
    cfg = load(str(path))
    assert cfg.source == str(path)
    assert summary(cfg) == (
        f"{path}: OK: 2 tenants, 3 probes, 4 maintenance windows (3 top-level, 1 per-tenant), "
        "timezone Europe/Helsinki, target 99.920%"
    )


def test_load_missing_file(tmp_path):
    path = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: cannot read file: No such file or directory"


def test_relative_ca_file_is_read_next_to_the_config(tmp_path):
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "config.yaml"
    path.write_text(_probe_yaml("ca_file: ca.pem"))
    assert load(str(path)).tenants[0].probes[0].ca_file == str(tmp_path / "ca.pem")


def test_summary_of_a_minimal_config():
    assert summary(load_text(MINIMAL, "c.yaml")) == (
        "c.yaml: OK: 1 tenant, 1 probe, 0 maintenance windows, timezone Europe/Helsinki, target 99.920%"
    )


def test_yaml_merge_keys_are_not_duplicates():
    text = MINIMAL.replace(
        '      - {name: ui, url: "https://acme.example.com/"}',
        '      - &ui {name: ui, url: "https://acme.example.com/", interval: 10s}\n'
        "      - {<<: *ui, name: api, interval: 20s}",
    )
    probes = load_text(text).tenants[0].probes
    assert [(p.name, p.url, p.interval) for p in probes] == [
        ("ui", "https://acme.example.com/", 10.0),
        ("api", "https://acme.example.com/", 20.0),
    ]


# --- property: whatever the input, a Config or a ConfigError -----------------------------

_WORDS = list({*config._TOP_KEYS, *config._TENANT_KEYS, *config._WINDOW_KEYS, *config._PROBE_KEYS, "target", "env"})
_PLAUSIBLE = st.sampled_from(
    [
        "30s",
        "0s",
        "1h30m",
        "8d",
        "-1h",
        "02:00",
        "24:00",
        "1:30",
        "2026-09-30",
        "2026-02-30",
        "FREQ=WEEKLY;BYDAY=SU",
        "FREQ=HOURLY",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
        "RRULE:",
        "https://a.example/",
        "htp://x",
        "http://[::1",
        "http://a:99999/",
        "99.92%",
        "120%",
        "nan",
        "Europe/Helsinki",
        "Mars/Base",
        "../etc",
        "",
        "(",
        "a{99999999999}",
        "production",
        "all",
        0.9992,
        99.92,
        1e-999,
        0,
        -1,
        200,
        600,
        True,
        None,
        dt.date(2026, 9, 30),
    ]
)
_SCALARS = st.one_of(_PLAUSIBLE, st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_WORDS) | _SCALARS.filter(lambda v: v is not None), inner, max_size=4)
    ),
    max_leaves=12,
)


def _mapping_of(keys, **special):
    return st.fixed_dictionaries({}, optional={key: special.get(key, _VALUES) for key in keys})


_PROBE = _mapping_of(config._PROBE_KEYS)
_WINDOW = _mapping_of(config._WINDOW_KEYS)
_TENANT = _mapping_of(
    config._TENANT_KEYS,
    probes=st.lists(_PROBE, max_size=3) | _VALUES,
    maintenance_windows=st.lists(_WINDOW, max_size=2) | _VALUES,
)
_CONFIG = _mapping_of(
    config._TOP_KEYS,
    tenants=st.lists(_TENANT, max_size=3) | _VALUES,
    maintenance_windows=st.lists(_WINDOW, max_size=2) | _VALUES,
    probe_defaults=_PROBE,
)
_FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _load_or_config_error(text):
    try:
        assert load_text(text).tenants  # a Config always has tenants
    except ConfigError as err:
        assert err.problems
        assert all(isinstance(p, Problem) for p in err.problems)
        assert len(str(err).splitlines()) == len(err.problems)


@_FAST
@given(_CONFIG)
def test_schema_shaped_input_gives_config_or_config_error(doc):
    _load_or_config_error(yaml.safe_dump(doc, sort_keys=False))


@_FAST
@given(_VALUES)
def test_any_yaml_value_gives_config_or_config_error(doc):
    _load_or_config_error(yaml.safe_dump(doc))


@_FAST
@given(
    st.text(alphabet=st.sampled_from(list("ab: -[]{},&*!|>'\"#\n\t\x00%@`?<=~0129.")) | st.characters(), max_size=80)
)
def test_any_text_gives_config_or_config_error(text):
    _load_or_config_error(text)


@pytest.mark.parametrize(
    "fields, interval_ms, stale_ms",
    [
        # Issue 11: compared as exact milliseconds, these are equal, not "shorter".
        ("interval: 1m1.096s, stale_after: 61.096s", 61_096, 61_096),
        ("interval: 1.128s, stale_after: 1s128ms", 1_128, 1_128),
        ("interval: 2.2s", 2_200, 4_400),
    ],
)
def test_durations_compare_as_exact_milliseconds(fields, interval_ms, stale_ms):
    probe = load_text(_probe_yaml(fields)).tenants[0].probes[0]
    assert (probe.interval_ms, probe.stale_after_ms) == (interval_ms, stale_ms)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(schema._PLAIN_URL, fullmatch=True))
def test_plain_urls_taken_without_urlsplit_are_urls_it_accepts(url):
    # _url takes these on sight: the full check (urlsplit, a host, a port, no space) must agree.
    port = schema._PLAIN_URL.fullmatch(url)[1]
    assume(port is None or int(port) <= 65535)
    assert schema._checked_url(url) == url == schema._url(url)


@pytest.mark.parametrize(
    "url, plain",
    [
        ("http://127.0.0.1:8080/t1/p0", True),
        ("https://acme.example.com/health?x=1#top", True),
        ("https://acme.example.com", True),
        ("HTTPS://acme.example.com/", False),  # still a URL: the full check takes it
        ("https://user:pw@acme.example.com/", False),
        ("https://[::1]:8443/", False),
        ("http://127.0.0.1:18999/t1/p0", True),
        ("https://acme.example.com:65536/", False),  # out of range: the full check refuses it
        ("https://acme.example.com:123456/", False),
        ("https://acme.example.com/a b", False),
        ("https://acmé.example.com/", False),
    ],
)
def test_which_urls_skip_the_full_check(url, plain, monkeypatch):
    checked = []
    monkeypatch.setattr(schema, "_checked_url", lambda text: checked.append(text) or text)
    assert schema._url(url) == url
    assert checked == ([] if plain else [url])


def test_a_config_loaded_without_compaction_is_the_same(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(FULL)
    assert load(str(path), compact=False) == load(str(path))


def test_a_fleet_shares_its_repeated_values_and_its_records_have_no_dict():
    """Memory at 10,000 tenants: equal probe names are one string, and the records
    the config has by the thousand carry no per-object dict."""
    cfg = load_text(
        "tenants:\n"
        + "".join(
            f"  - name: t{i}\n    probes:\n      - {{name: ui, url: 'http://x/{i}', interval: 45s}}\n" for i in range(3)
        )
    )
    a, b = cfg.tenants[0].probes[0], cfg.tenants[2].probes[0]
    assert a.name == b.name == "ui" and a.name is b.name
    assert not hasattr(a, "__dict__") and not hasattr(cfg.tenants[0], "__dict__")


@pytest.mark.parametrize(
    "probes, shared",
    [
        # the same durations, written the same or not: one float each fleet-wide
        (["{name: a, url: 'http://x/1', interval: 45s}", "{name: b, url: 'http://x/2', interval: 45s}"], True),
        (["{name: a, url: 'http://x/1', interval: 45s}", "{name: b, url: 'http://x/2', interval: 45000ms}"], True),
        (["{name: a, url: 'http://x/1', interval: 45s}", "{name: b, url: 'http://x/2', interval: 46s}"], False),
    ],
)
def test_a_fleet_shares_its_equal_numbers(probes, shared):
    """pickle (the compacting copy) writes every number anew; the loader shares them again."""
    text = "tenants:\n" + "".join(f"  - name: t{i}\n    probes:\n      - {p}\n" for i, p in enumerate(probes))
    cfg = load_text(text)
    (a,), (b,) = (t.probes for t in cfg.tenants)
    assert (a.interval is b.interval) == shared and (a.interval == b.interval) == shared
    assert a.timeout is b.timeout or not shared
    assert cfg.tenants[0].target is cfg.tenants[1].target
    assert cfg.tenants[0].corrections_max_age_ms is cfg.tenants[1].corrections_max_age_ms
    assert type(a.interval) is float and type(cfg.tenants[0].corrections_max_age_ms) is int
