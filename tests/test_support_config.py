import datetime as dt

import pytest

from exporter import config
from exporter.model import BUSINESS_DAY, BusinessHours

BASE = 'tenants: [{name: a, probes: [{name: p, url: "http://x/"}]}]\n'


def load(text):
    return config.load_text(BASE + text)


def test_defaults_are_the_terms():
    s = load("").support
    assert s.calendar == BusinessHours()
    assert [
        (p.name, p.clock, p.initial_response, p.communication, p.resolution, p.defect_communication)
        for p in s.priorities
    ] == [
        ("P1", "24/7", 3600, 3600, 14400, None),
        ("P2", "24/7", 14400, 21600, None, None),
        ("P3", "business", BUSINESS_DAY, 3 * BUSINESS_DAY, None, 10 * BUSINESS_DAY),
        ("P4", "business", 2 * BUSINESS_DAY, 5 * BUSINESS_DAY, None, None),
    ]
    assert s.service_request_delivery == 3 * BUSINESS_DAY
    assert s.production_only == {"P1", "P2"}


def test_overrides():
    s = load("""support:
  calendar: {timezone: UTC, days: [mon, tue, wed, thu], hours: "09:00-17:00", holidays: none,
             closed_dates: [2026-12-31]}
  priorities:
    P2: {resolution: 8h}
    P4: {communication: 10bd}
    P5: {clock: business, initial_response: 5bd}
  service_requests: {delivery: 2bd}
  production_only: [P1, P2, P3]
  api: {token_env: SLA_TOKEN}
""").support
    day = 8 * 3600  # business days follow the calendar's opening hours
    assert s.calendar == BusinessHours(
        "UTC", (0, 1, 2, 3), dt.time(9), dt.time(17), None, None, frozenset({dt.date(2026, 12, 31)})
    )
    assert s.priority("P2").resolution == 8 * 3600
    assert (s.priority("P3").initial_response, s.priority("P4").communication) == (day, 10 * day)
    assert s.priority("P5").initial_response == 5 * day
    assert s.service_request_delivery == 2 * day
    assert (s.production_only, s.api_token_env, s.api_token_file) == ({"P1", "P2", "P3"}, "SLA_TOKEN", None)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("support: {colour: red}", "<config>:2: support.colour: unknown key 'colour'"),
        (
            "support: {calendar: {hours: '16:00-08:00'}}",
            "<config>:2: support.calendar.hours: closing time must be after opening time, got '16:00-08:00'",
        ),
        (
            "support: {calendar: {hours: 'nine to five'}}",
            '<config>:2: support.calendar.hours: expected opening hours such as "08:00-16:30"',
        ),
        (
            "support: {calendar: {days: [funday]}}",
            "<config>:2: support.calendar.days: expected days among mon, tue, wed, thu, fri, sat, sun, got 'funday'",
        ),
        (
            "support: {calendar: {holidays: XX}}",
            "<config>:2: support.calendar.holidays: no public holidays known for country 'XX'",
        ),
        (
            "support: {calendar: {timezone: Mars/Olympus}}",
            "<config>:2: support.calendar.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            "support: {priorities: {P1: {initial_response: 1bd}}}",
            "<config>:2: support.priorities.P1.initial_response: business days (bd) need clock: business",
        ),
        (
            "support: {priorities: {P3: {communication: soon}}}",
            "<config>:2: support.priorities.P3.communication: expected a duration such as 4h or business days",
        ),
        (
            "support: {priorities: {P3: {initial_response: 0bd}}}",
            "<config>:2: support.priorities.P3.initial_response: must be positive",
        ),
        (
            "support: {priorities: {Urgent: {}}}",
            "<config>:2: support.priorities.Urgent: expected a priority name P1-P9, got 'Urgent'",
        ),
        (
            "support: {priorities: {P3: {clock: office}}}",
            "<config>:2: support.priorities.P3.clock: expected one of 24/7, business",
        ),
        ("support: {production_only: [P7]}", "<config>:2: support.production_only: unknown priority 'P7'"),
        (
            "support: {production_only: [P1]}",
            "<config>:2: support.production_only: must include P1 and P2: the terms allow P1 and P2 incidents only for "
            "production tenants",
        ),
        ("support: {api: {token_file: a, token_env: B}}", "<config>:2: support.api: give token_file or token_env"),
        (
            "support: {api: {token_env: 'not a name'}}",
            "<config>:2: support.api.token_env: expected an environment variable name",
        ),
    ],
)
def test_support_problems(text, problem):
    with pytest.raises(config.ConfigError) as err:
        load(text)
    assert str(err.value).startswith(problem)


def test_null_removes_a_target():
    assert load("support: {priorities: {P1: {resolution: null}}}").support.priority("P1").resolution is None
