"""The report of the month in progress: cut at now, exactly as /metrics does, and said so."""

import datetime as dt
import json

import pytest
from hypothesis import given, settings, strategies as st

from exporter import config, report
from exporter.store.sqlite import Store

UTC = dt.UTC
CONFIG = """
timezone: UTC
sla: {target: 99.92%}
tenants:
  - name: acme
    probes:
      - {name: ui, url: "https://acme.example.com/", interval: 60s, failure_threshold: 2}
"""
START = dt.datetime(2026, 10, 1, tzinfo=UTC)
NOW = dt.datetime(2026, 10, 10, 12, 0, 30, tzinfo=UTC)
OUTAGE = (dt.datetime(2026, 10, 5, 9, tzinfo=UTC), dt.datetime(2026, 10, 5, 9, 10, tzinfo=UTC))


def ms(t):
    return int(t.timestamp() * 1000)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    cfg = config.load_text(CONFIG)
    obs, t = [], START
    while t <= NOW + dt.timedelta(minutes=1):
        # The 12:00 result fails, and so does the one at 12:01, after "now": two failures
        # reach the threshold, but only the first is known at now.
        failed = OUTAGE[0] <= t < OUTAGE[1] or t >= NOW - dt.timedelta(seconds=30)
        obs.append((ms(t), not failed))
        t += dt.timedelta(minutes=1)
    with Store(str(tmp_path_factory.mktemp("report") / "s.db")) as s:
        s.merge({("acme", "ui"): obs})
        yield cfg, s


def test_the_month_in_progress_is_cut_at_now(store):
    cfg, s = store
    doc = report.build(cfg, s, 2026, 10, list(cfg.tenants), now=NOW.timestamp())
    acme = doc["tenants"][0]
    assert (doc["complete"], doc["until"]) == (False, "2026-10-10T12:00:30+00:00")
    assert acme["eligible_seconds"] == (NOW - START).total_seconds()  # 820,830 s, not the whole month
    assert (acme["downtime_seconds"], acme["unknown_seconds"]) == (600, 0)  # 12:01 is after now: not counted
    assert acme["error_budget_seconds"] == 2142.72  # the whole month's budget
    assert acme["met"] is True
    assert acme["availability"] == pytest.approx(1 - 600 / 820830)


def test_a_complete_month_uses_every_observation(store):
    cfg, s = store
    doc = report.build(cfg, s, 2026, 10, list(cfg.tenants))
    acme = doc["tenants"][0]
    assert (doc["complete"], doc["until"]) == (True, "2026-11-01T00:00:00+00:00")
    # 12:00 and 12:01 fail (down from 12:00 to the end of coverage at 12:03), then nothing.
    assert acme["downtime_seconds"] == 600 + 180
    assert acme["met"] is False  # 780 s down in about 821,000 s known: below 99.92 %


@pytest.mark.parametrize(
    "now, complete",
    [
        (dt.datetime(2026, 11, 1, tzinfo=UTC), True),  # the first instant of the next month
        (dt.datetime(2026, 10, 31, 23, 59, 59, 999000, tzinfo=UTC), False),
        (dt.datetime(2026, 9, 30, tzinfo=UTC), False),  # a month yet to come: nothing known
    ],
)
def test_complete_means_the_month_has_ended(store, now, complete):
    cfg, s = store
    doc = report.build(cfg, s, 2026, 10, list(cfg.tenants), now=now.timestamp())
    assert doc["complete"] is complete


def test_the_table_says_the_month_is_in_progress(store):
    cfg, s = store
    text = report.to_table(report.build(cfg, s, 2026, 10, list(cfg.tenants), now=NOW.timestamp()))
    assert "IN PROGRESS: figures to 2026-10-10 12:00:30 +0000 (now); the budget is the whole month's" in text
    assert "MET SO FAR" in text
    assert json.loads(report.to_json(report.build(cfg, s, 2026, 10, list(cfg.tenants))))["complete"] is True


# -- to_json writes what json.dumps(indent=2) writes, byte for byte ---------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers() | st.booleans() | st.none() | st.floats(), inner, max_size=3)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_to_json_is_json_dumps_with_indent_2(value):
    assert report.to_json(value) == json.dumps(value, indent=2) + "\n"


class Share(float):
    pass


@pytest.mark.parametrize(
    "doc",
    [
        {},
        [],
        {"a": [], "b": {}, "c": [{}], "d": ({"e": None},)},
        {"nan": float("nan"), "inf": [float("inf"), float("-inf")], "tiny": 1e-05, "big": 1e16},
        {'é ☃ \n " \\ \x00': "ü\u2028𝄞"},
        {1: "int key", None: "null key"},  # keys json turns into strings: the stdlib writes it
        {"subclass": Share(0.5), "flag": True, "int": -(2**70)},
    ],
)
def test_to_json_edge_cases(doc):
    assert report.to_json(doc) == json.dumps(doc, indent=2) + "\n"


@pytest.mark.parametrize("now", [None, NOW.timestamp()])
def test_to_json_of_a_report_is_the_stdlib_text(store, now):
    cfg, s = store
    doc = report.build(cfg, s, 2026, 10, list(cfg.tenants), now=now)
    assert doc["tenants"][0]["outages"]  # outages, nested lists and dicts in the text
    assert report.to_json(doc) == json.dumps(doc, indent=2) + "\n"
