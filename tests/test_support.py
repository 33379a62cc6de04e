import datetime as dt

import pytest

from exporter.model import BusinessHours, Priority, Support, Tenant
from exporter.support import calendar as bh
from exporter.support.deadlines import (
    Breach,
    Event,
    Incident,
    NotAllowed,
    ServiceRequest,
    check_priority,
    deadlines,
    delivery_due,
    evaluate,
    request_breached,
)

CAL = BusinessHours()
SUPPORT = Support()
H = 3600
BD = 8.5 * H


def t(text):
    return dt.datetime.fromisoformat(text).timestamp()


def iso(ts, offset):
    return dt.datetime.fromtimestamp(ts, dt.timezone(dt.timedelta(hours=offset))).isoformat()


@pytest.mark.parametrize(
    "start, seconds, expected",
    [
        pytest.param("2026-11-23T10:00+02:00", BD, "2026-11-24T10:00+02:00", id="a business day is 8.5 h"),
        pytest.param("2026-11-27T15:00+02:00", BD, "2026-11-30T15:00+02:00", id="over a weekend"),
        pytest.param(
            "2026-11-28T12:00+02:00",
            BD,
            "2026-11-30T16:30+02:00",
            id="starts outside hours at the next opening; exactly at closing time stays closing time",
        ),
        pytest.param("2026-11-30T06:00+02:00", BD, "2026-11-30T16:30+02:00", id="before opening"),
        pytest.param("2026-11-30T17:00+02:00", BD, "2026-12-01T16:30+02:00", id="after closing"),
        pytest.param("2026-11-30T16:30+02:00", 1, "2026-12-01T08:00:01+02:00", id="at closing"),
        pytest.param(
            "2026-04-02T12:00+03:00", BD, "2026-04-07T12:00+03:00", id="Easter: Good Friday and Easter Monday"
        ),
        pytest.param("2026-05-13T09:00+03:00", BD, "2026-05-15T09:00+03:00", id="Ascension Day"),
        pytest.param("2026-06-18T16:00+03:00", 2 * BD, "2026-06-23T16:00+03:00", id="Midsummer Eve"),
        pytest.param("2026-12-23T14:00+02:00", BD, "2026-12-28T14:00+02:00", id="Christmas Eve and Christmas Day"),
        pytest.param("2026-03-27T12:00+02:00", BD, "2026-03-30T12:00+03:00", id="DST starts on the weekend"),
        pytest.param("2026-10-23T12:00+03:00", BD, "2026-10-26T12:00+02:00", id="DST ends on the weekend"),
        pytest.param("2026-11-23T10:00+02:00", 3 * BD, "2026-11-26T10:00+02:00", id="three business days"),
        pytest.param("2026-11-23T10:00+02:00", 0, "2026-11-23T10:00+02:00", id="zero inside hours"),
    ],
)
def test_add_business_time(start, seconds, expected):
    assert bh.add(CAL, t(start), seconds) == t(expected)


def test_extra_closed_dates_and_other_calendars():
    cal = BusinessHours(
        timezone="UTC",
        days=(0, 1, 2, 3, 4, 5),
        open=dt.time(9),
        close=dt.time(17),
        country=None,
        closed_dates=frozenset({dt.date(2026, 12, 1)}),
    )
    # Mon 30 Nov 16:00 + 2 h: 1 h Monday, Tuesday closed, 1 h Wednesday.
    assert bh.add(cal, t("2026-11-30T16:00+00:00"), 2 * H) == t("2026-12-02T10:00+00:00")
    assert bh.describe(cal) == "UTC, Mon-Sat 09:00-17:00, no public holidays, 1 extra closed dates"
    assert bh.describe(CAL) == "Europe/Helsinki, Mon-Fri 08:00-16:30, FI holidays"


@pytest.mark.parametrize(
    "priority, defect, opened, response, interval, resolution",
    [
        ("P1", False, "2026-12-24T23:30+02:00", "2026-12-25T00:30+02:00", H, "2026-12-25T03:30+02:00"),
        ("P2", False, "2026-12-24T23:30+02:00", "2026-12-25T03:30+02:00", 6 * H, None),
        ("P3", False, "2026-11-27T15:00+02:00", "2026-11-30T15:00+02:00", 3 * BD, None),
        ("P3", True, "2026-11-27T15:00+02:00", "2026-11-30T15:00+02:00", 10 * BD, None),
        ("P4", False, "2026-11-27T15:00+02:00", "2026-12-01T15:00+02:00", 5 * BD, None),
    ],
)
def test_deadlines_of_the_terms(priority, defect, opened, response, interval, resolution):
    d = deadlines(SUPPORT, SUPPORT.priority(priority), defect, t(opened))
    assert d.initial_response_due == t(response)
    assert d.communication_interval == interval
    assert d.resolution_due == (None if resolution is None else t(resolution))


def test_service_request_delivery_is_three_business_days():
    assert delivery_due(SUPPORT, t("2026-12-23T14:00+02:00")) == t("2026-12-30T14:00+02:00")
    request = ServiceRequest("SR-1", "acme", t("2026-11-23T10:00+02:00"))
    assert not request_breached(SUPPORT, request, t("2026-11-26T10:00+02:00"))
    assert request_breached(SUPPORT, request, t("2026-11-26T10:00:01+02:00"))
    delivered = ServiceRequest("SR-1", "acme", t("2026-11-23T10:00+02:00"), delivered=t("2026-11-25T10:00+02:00"))
    assert not request_breached(SUPPORT, delivered, t("2027-01-01T00:00+02:00"))


PROD = Tenant("acme-prod", probes=(), environment="production")
TEST = Tenant("acme-test", probes=(), environment="non-production")


@pytest.mark.parametrize(
    "tenant, priority, message",
    [
        (
            TEST,
            "P1",
            "P1 is for production tenants only: the terms allow P1 and P2 incidents only for production "
            "tenants, and tenant 'acme-test' is non-production",
        ),
        (TEST, "P2", "P2 is for production tenants only"),
        (PROD, "P5", "unknown priority 'P5' (expected one of P1, P2, P3, P4)"),
    ],
)
def test_priorities_refused(tenant, priority, message):
    with pytest.raises(NotAllowed) as err:
        check_priority(SUPPORT, tenant, priority)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("tenant, priority", [(TEST, "P3"), (TEST, "P4"), (PROD, "P1"), (None, "P1")])
def test_priorities_allowed(tenant, priority):
    assert check_priority(SUPPORT, tenant, priority).name == priority


T0 = t("2026-11-26T10:00+02:00")  # a Thursday


def incident(priority="P1", events=(), defect=False):
    return Incident("INC-1", "acme-prod", priority, T0, defect=defect, events=tuple(Event(*e) for e in events))


@pytest.mark.parametrize(
    "inc, now, expected",
    [
        pytest.param(
            incident(),
            T0 + 10 * 60,
            dict(response_due=T0 + H, communication_due=None, resolution_due=T0 + 4 * H, breaches=()),
            id="P1 just opened",
        ),
        pytest.param(
            incident(),
            T0 + 2 * H,
            dict(response_due=T0 + H, resolution_due=T0 + 4 * H, breaches=(Breach("response", T0 + H, "P1"),)),
            id="P1 response missed",
        ),
        pytest.param(
            incident(events=[("response", T0 + 1800), ("communication", T0 + 5400)]),
            T0 + 4 * H,
            dict(
                response_due=None,
                communication_due=T0 + 4.5 * H,
                resolution_due=T0 + 4 * H,
                breaches=(Breach("communication", T0 + 2.5 * H, "P1"), Breach("communication", T0 + 3.5 * H, "P1")),
            ),
            id="P1 communication exactly on time, then two hourly updates missed; resolution due exactly now",
        ),
        pytest.param(
            incident(events=[("communication", T0 + 1800), ("workaround", T0 + 3 * H)]),
            T0 + 3.25 * H,
            dict(
                response_due=None,
                communication_due=T0 + 3.5 * H,
                resolution_due=None,
                breaches=(Breach("communication", T0 + 1.5 * H, "P1"), Breach("communication", T0 + 2.5 * H, "P1")),
            ),
            id="a communication is a response; a workaround meets the resolution target",
        ),
        pytest.param(
            incident(events=[("response", T0 + 600), ("resolution", T0 + H)]),
            T0 + 100 * H,
            dict(closed_at=T0 + H, response_due=None, communication_due=None, resolution_due=None, breaches=()),
            id="resolved: no more deadlines",
        ),
        pytest.param(
            incident("P3", events=[("priority", T0 + 48 * H, "P1")]),
            T0 + 48.5 * H,
            dict(
                priority="P1",
                response_due=T0 + 49 * H,
                resolution_due=T0 + 52 * H,
                breaches=(Breach("response", t("2026-11-27T10:00+02:00"), "P3"),),
            ),
            id="upgrade restarts the outstanding targets from the change",
        ),
        pytest.param(
            incident("P3", events=[("response", T0 + H)], defect=True),
            t("2026-12-09T12:00+02:00"),
            dict(communication_due=t("2026-12-10T11:00+02:00"), breaches=()),
            id="P3 product defect: communication every 10 business days",
        ),
    ],
)
def test_evaluate(inc, now, expected):
    status = evaluate(SUPPORT, inc, now)
    assert {k: getattr(status, k) for k in expected} == expected


def test_custom_priority_table():
    support = Support(priorities=(Priority("P1", "24/7", 30 * 60, 30 * 60, resolution=None),))
    assert deadlines(support, support.priorities[0], False, T0).initial_response_due == T0 + 1800
