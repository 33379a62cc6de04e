import datetime as dt
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exporter import config
from exporter.store.sqlite import Store
from exporter.web.api import MAX_BODY, Api

CFG = config.load_text("""
tenants:
  - {name: prod, probes: [{name: p, url: "http://x/"}]}
  - {name: test, environment: non-production, probes: [{name: p, url: "http://x/"}]}
""")
T0 = dt.datetime.fromisoformat("2026-11-26T10:00:00+02:00").timestamp()
AUTH = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def api(tmp_path):
    clock = [T0]
    with Store(str(tmp_path / "s.db")) as store:
        a = Api(store, lambda: CFG, lambda: ("s3cret", None), lambda: clock[0])
        a.clock_cell = clock
        yield a


def call(api, method, path, body=None, headers=AUTH):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    return api.handle(method, path, headers, raw)


@pytest.mark.parametrize(
    "headers, status, reason",
    [
        ({}, 401, "missing bearer token (Authorization: Bearer <token>)"),
        ({"Authorization": "Basic czNjcmV0"}, 401, "missing bearer token (Authorization: Bearer <token>)"),
        ({"Authorization": "Bearer wrong"}, 401, "invalid bearer token"),
        ({"Authorization": "Bearer s3cret-and-more"}, 401, "invalid bearer token"),
    ],
)
@pytest.mark.parametrize("method, path", [("POST", "/api/v1/incidents"), ("GET", "/api/v1/incidents")])
def test_auth_failures(api, headers, status, reason, method, path):
    assert call(api, method, path, {"tenant": "prod", "priority": "P3"}, headers) == (status, {"error": reason})


def test_without_a_token_writes_are_off_and_reads_open(tmp_path):
    with Store(str(tmp_path / "s.db")) as store:
        api = Api(store, lambda: CFG, lambda: (None, None), lambda: T0)
        assert call(api, "POST", "/api/v1/incidents", {"tenant": "prod", "priority": "P3"}, {}) == (
            403,
            {"error": "the write API is off: set support.api.token_file or support.api.token_env"},
        )
        assert call(api, "GET", "/api/v1/incidents", headers={}) == (200, {"incidents": []})


@pytest.mark.parametrize(
    "body, status, reason",
    [
        (b"{not json", 400, "body is not valid JSON"),
        (b"[1, 2]", 400, "body: expected a JSON object"),
        (b"x" * (MAX_BODY + 1), 413, f"body larger than {MAX_BODY} bytes"),
        ({"tenant": "prod"}, 400, "priority: required"),
        ({"priority": "P1"}, 400, "tenant: required"),
        ({"tenant": "prod", "priority": "P1", "severity": 1}, 400, "severity: unknown field"),
        ({"tenant": "nobody", "priority": "P1"}, 422, "tenant: unknown tenant 'nobody'"),
        (
            {"tenant": "test", "priority": "P1"},
            422,
            "priority: P1 is for production tenants only: the terms allow P1 and P2 incidents only for production "
            "tenants, and tenant 'test' is non-production",
        ),
        ({"tenant": "prod", "priority": "P7"}, 422, "priority: unknown priority 'P7'"),
        ({"tenant": "prod", "priority": 1}, 400, "priority: expected a priority such as P1"),
        ({"tenant": "prod", "priority": "P3", "defect": "yes"}, 400, "defect: expected true or false"),
        ({"tenant": "prod", "priority": "P3", "opened": "yesterday"}, 400, "opened: expected RFC 3339"),
        ({"tenant": "prod", "priority": "P3", "opened": "2026-11-26T10:00:00"}, 400, "opened: expected RFC 3339"),
        (
            {"tenant": "prod", "priority": "P3", "opened": "2026-11-27T10:00:00+02:00"},
            400,
            "opened: in the future (more than 5 minutes after now)",
        ),
        ({"tenant": "prod", "priority": "P3", "opened": "2026-11-26T10:05:01+02:00"}, 400, "opened: in the future"),
        ({"tenant": "prod", "priority": "P3", "opened": "1999-12-31T23:59:59Z"}, 400, "opened: before 2000-01-01"),
        ({"tenant": "prod", "priority": "P3", "opened": "0001-01-01T00:00:00+01:00"}, 400, "opened: before 2000-01-01"),
        # Hostile bodies: a reason, never a 500.
        (b"[" * 20000 + b"]" * 20000, 400, "body: nested deeper than 16 levels"),
        (b'{"a":' * 17 + b"1" + b"}" * 17, 400, "body: nested deeper than 16 levels"),
        (
            b'{"tenant": "prod", "priority": "P3", "title": ' + b"1" * 5000 + b"}",
            400,
            "body: a number of 5000 digits (at most 20)",
        ),
        (b'{"tenant": "prod", "priority": "P3", "title": "\\ud800"}', 400, "body: a string with a lone surrogate"),
        (b'{"tenant": "prod", "priority": "P3", "\\udfff": 1}', 400, "body: a key with a lone surrogate"),
        (b'{"tenant": "prod", "priority": "P3", "title": NaN}', 400, "body is not valid JSON: NaN is not"),
        (b'{"tenant": "prod", "priority": "P3", "title": "\xed\xa0\x80"}', 400, "body is not valid JSON"),
        ({"tenant": "prod", "priority": "P3", "id": "a b"}, 400, "id: expected 1-64 letters"),
        ({"tenant": "prod", "priority": "P3", "title": "x" * 2001}, 400, "title: expected text of at most 2000"),
    ],
)
def test_bad_incident_payloads(api, body, status, reason):
    got_status, doc = call(api, "POST", "/api/v1/incidents", body)
    assert (got_status, doc["error"][: len(reason)]) == (status, reason)
    assert call(api, "GET", "/api/v1/incidents")[1] == {"incidents": []}


def test_deadlines_move_as_events_arrive(api):
    status, doc = call(api, "POST", "/api/v1/incidents", {"tenant": "prod", "priority": "P1", "title": "chat down"})
    assert status == 201 and doc["id"] == "INC-1" and doc["source"] == "filed"
    assert doc["deadlines"] == {
        "initial_response_due": "2026-11-26T11:00:00+02:00",
        "next_communication_due": None,
        "resolution_due": "2026-11-26T14:00:00+02:00",
    }

    def event(body, minutes):
        api.clock_cell[0] = T0 + minutes * 60
        status, doc = call(
            api,
            "POST",
            "/api/v1/incidents/INC-1/events",
            {**body, "time": dt.datetime.fromtimestamp(T0 + minutes * 60, dt.UTC).isoformat()},
        )
        assert status == 201, doc
        return doc

    doc = event({"kind": "response"}, 30)
    assert doc["deadlines"]["initial_response_due"] is None
    assert doc["deadlines"]["next_communication_due"] == "2026-11-26T11:30:00+02:00"
    doc = event({"kind": "communication", "note": "investigating"}, 60)
    assert doc["deadlines"]["next_communication_due"] == "2026-11-26T12:00:00+02:00"
    doc = event({"kind": "workaround"}, 150)  # communication due at 12:00 was missed
    assert doc["deadlines"]["resolution_due"] is None
    assert doc["breaches"] == [{"target": "communication", "due": "2026-11-26T12:00:00+02:00", "priority": "P1"}]
    doc = event({"kind": "resolution"}, 200)
    assert doc["open"] is False and doc["closed"] == "2026-11-26T13:20:00+02:00"
    assert doc["deadlines"] == {"initial_response_due": None, "next_communication_due": None, "resolution_due": None}
    assert call(api, "POST", "/api/v1/incidents/INC-1/events", {"kind": "communication"}) == (
        409,
        {"error": "incident 'INC-1' is resolved; no more events"},
    )
    assert call(api, "GET", "/api/v1/incidents?open=true")[1] == {"incidents": []}
    assert [i["id"] for i in call(api, "GET", "/api/v1/incidents")[1]["incidents"]] == ["INC-1"]


@pytest.mark.parametrize(
    "path, body, status, reason",
    [
        ("/api/v1/incidents/INC-9/events", {"kind": "response"}, 404, "no incident 'INC-9'"),
        ("/api/v1/incidents/INC-1/events", {"kind": "escalation"}, 400, "kind: expected one of response"),
        ("/api/v1/incidents/INC-1/events", {"kind": "priority"}, 400, "priority: expected the new priority"),
        ("/api/v1/incidents/INC-1/events", {"kind": "response", "priority": "P1"}, 400, "priority: only for kind"),
        (
            "/api/v1/incidents/INC-1/events",
            {"kind": "response", "time": "2026-11-26T07:00:00+02:00"},
            422,
            "time: before the incident was opened",
        ),
        ("/api/v1/incidents/INC-1/events", {"kind": "priority", "priority": "P9"}, 422, "priority: unknown priority"),
        ("/api/v1/incidents/INC-1", {}, 404, "no such endpoint"),
        ("/api/v2/incidents", {}, 404, "no such endpoint"),
    ],
)
def test_bad_events(api, path, body, status, reason):
    assert call(api, "POST", "/api/v1/incidents", {"tenant": "prod", "priority": "P3"})[0] == 201
    got_status, doc = call(api, "POST", path, body)
    assert (got_status, doc["error"][: len(reason)]) == (status, reason)


def test_priority_change_and_duplicate_ids(api):
    assert call(api, "POST", "/api/v1/incidents", {"tenant": "prod", "priority": "p3", "id": "CASE-7"})[0] == 201
    assert call(api, "POST", "/api/v1/incidents", {"tenant": "prod", "priority": "P3", "id": "CASE-7"}) == (
        409,
        {"error": "id: incident 'CASE-7' exists already"},
    )
    api.clock_cell[0] = T0 + 600
    status, doc = call(api, "POST", "/api/v1/incidents/CASE-7/events", {"kind": "priority", "priority": "P1"})
    assert status == 201 and doc["priority"] == "P1" and doc["opened_priority"] == "P3"
    assert doc["deadlines"]["initial_response_due"] == "2026-11-26T11:10:00+02:00"
    assert call(api, "GET", "/api/v1/incidents/CASE-7")[1]["priority"] == "P1"


def test_service_requests(api):
    status, doc = call(api, "POST", "/api/v1/service-requests", {"tenant": "test", "title": "add a queue"})
    assert status == 201
    assert (doc["id"], doc["delivery_due"], doc["open"], doc["breached"]) == (
        "SR-1",
        "2026-12-01T10:00:00+02:00",
        True,
        False,
    )
    api.clock_cell[0] = T0 + 86400
    status, doc = call(api, "POST", "/api/v1/service-requests/SR-1/events", {"kind": "delivered"})
    assert (status, doc["open"], doc["delivered"]) == (201, False, "2026-11-27T10:00:00+02:00")
    assert call(api, "POST", "/api/v1/service-requests/SR-1/events", {"kind": "delivered"})[0] == 409
    assert call(api, "POST", "/api/v1/service-requests/SR-1/events", {"kind": "cancelled"})[0] == 400
    assert [r["id"] for r in call(api, "GET", "/api/v1/service-requests?open=true")[1]["service_requests"]] == []


def test_the_store_refuses_an_event_once_resolved_in_its_own_transaction(tmp_path):
    """The interleaving that raced, made deterministic: the API has checked that the
    incident is open; another connection resolves it; then the event is written."""
    from exporter.model import Event, Incident

    with Store(str(tmp_path / "s.db")) as store, Store(str(tmp_path / "s.db")) as other:
        store.add_incident(Incident("I", "prod", "P2", time.time() - 60))
        api = Api(store, lambda: CFG, lambda: ("s3cret", None))
        real_add = store.add_event

        def resolved_meanwhile(incident_id, event):
            assert other.add_event(incident_id, Event("resolution", time.time()))
            return real_add(incident_id, event)

        store.add_event = resolved_meanwhile
        status, doc = api.handle("POST", "/api/v1/incidents/I/events", AUTH, b'{"kind": "communication"}')
        assert (status, doc) == (409, {"error": "incident 'I' is resolved; no more events"})
        assert [e.kind for e in store.incidents(incident_id="I")[0].events] == ["resolution"]
        assert not other.add_event("nope", Event("communication", time.time()))  # unknown incident


def test_a_service_request_is_delivered_once(tmp_path):
    from exporter.model import ServiceRequest

    with Store(str(tmp_path / "s.db")) as store:
        store.add_request(ServiceRequest("SR", "prod", time.time()))
        assert store.deliver_request("SR", 1_800_000_000.0)
        assert not store.deliver_request("SR", 1_800_000_500.0)
        assert store.requests(request_id="SR")[0].delivered == 1_800_000_000.0


@pytest.mark.parametrize(
    "support, environ, files, expected",
    [
        ("", {}, {}, None),
        ("support: {api: {token_env: TOK}}", {"TOK": " abc \n"}, {}, "abc"),
        ("support: {api: {token_env: TOK}}", {}, {}, "environment variable TOK is not set or empty"),
        ("support: {api: {token_file: FILE}}", {}, {"FILE": "xyz\n"}, "xyz"),
        ("support: {api: {token_file: FILE}}", {}, {"FILE": "\n"}, "is empty"),
        ("support: {api: {token_file: FILE}}", {}, {}, "cannot read"),
    ],
)
def test_load_token(tmp_path, support, environ, files, expected):
    from exporter.web.api import load_token

    path = tmp_path / "token"
    for content in files.values():
        path.write_text(content)
    cfg = config.load_text(
        'tenants: [{name: a, probes: [{name: p, url: "http://x/"}]}]\n' + support.replace("FILE", str(path))
    )
    if expected is None or expected in ("abc", "xyz"):
        assert load_token(cfg, environ) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            load_token(cfg, environ)


def test_an_unreadable_configured_token_closes_the_api(tmp_path):
    with Store(str(tmp_path / "s.db")) as store:
        api = Api(
            store,
            lambda: CFG,
            lambda: (None, "support.api.token_env: environment variable X is not set or empty"),
            lambda: T0,
        )
        expected = (503, {"error": "the API is off: support.api.token_env: environment variable X is not set or empty"})
        assert call(api, "GET", "/api/v1/incidents", headers={}) == expected
        assert call(api, "POST", "/api/v1/incidents", {"tenant": "prod", "priority": "P3"}) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "tenant": st.sampled_from(["prod", "test", "x", 1]),
            "priority": st.sampled_from(["P1", "p2", "P3", "P9", "", None]),
        },
        optional={
            "defect": json_values,
            "title": json_values,
            "opened": json_values,
            "id": json_values,
            "kind": json_values,
            "time": json_values,
        },
    ),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    payload=payloads,
    path=st.sampled_from(
        [
            "/api/v1/incidents",
            "/api/v1/incidents/INC-1/events",
            "/api/v1/service-requests",
            "/api/v1/service-requests/SR-1/events",
        ]
    ),
)
def test_any_payload_gets_a_created_or_a_4xx_with_a_reason(api, payload, path):
    status, doc = call(api, "POST", path, payload)
    assert status == 201 or (400 <= status < 500 and isinstance(doc["error"], str) and doc["error"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_get_a_4xx_not_a_crash(api, body):
    status, _ = api.handle("POST", "/api/v1/incidents", AUTH, body)
    assert status == 201 or 400 <= status < 500
