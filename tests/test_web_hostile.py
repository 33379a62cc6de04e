"""The web server against hostile clients (issue 12), over real sockets on 127.0.0.1: the
server is the real ``exporter.web.Server`` with the real support API and store, run in this
process so that each case is fast and bounded in time. (Descriptor limits need a process of
their own: tests/test_web_fd_limit.py.)"""

import base64
import contextlib
import datetime as dt
import http.client
import json
import socket
import ssl
import threading
import time

import bcrypt
import pytest
from prometheus_client import CollectorRegistry

from exporter import config
from exporter.store.sqlite import Store
from exporter.web.api import Api
from exporter.web.server import Endpoints, Server, connection_limit
from exporter.web.webconfig import WebConfig

CFG = config.load_text('tenants: [{name: prod, probes: [{name: p, url: "http://x/"}]}]\n')
HASH8 = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(8))
TOKEN = "t0ken"


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@contextlib.contextmanager
def serve(tmp_path, users=None, token=TOKEN, tls=None, max_connections=None, ready=None):
    store = Store(str(tmp_path / "s.db"))
    api = Api(store, lambda: CFG, lambda: (token, None))
    endpoints = Endpoints(CollectorRegistry(), ready or (lambda: (True, "ready")), lambda: (True, "reloaded"), api)
    server = Server(("127.0.0.1", 0), endpoints, WebConfig(tls=tls, users=users or {}), max_connections=max_connections)
    server.start()
    server.port = server.server_address[1]
    server.store = store
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def exchange(port, raw: bytes, timeout=5.0) -> bytes:
    """Send ``raw`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def call(port, method, path, headers=None, body=None):
    """One request over http.client: (status, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


# -- item 9: keep-alive latency (Nagle + delayed ACK) -------------------------------------------


def test_keep_alive_requests_do_not_wait_for_delayed_acks(tmp_path):
    """Headers and body used to leave in two writes: each keep-alive response then waited
    some 40 ms for the client's delayed ACK (0.9 s for these 20 requests before the fix,
    0.02 s after)."""
    with serve(tmp_path) as server:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        c.request("GET", "/-/healthy")
        assert c.getresponse().read() == b"OK\n"
        first = c.sock
        t0 = time.perf_counter()
        for _ in range(20):
            c.request("GET", "/-/healthy")
            r = c.getresponse()
            assert (r.status, r.read()) == (200, b"OK\n")
        elapsed = time.perf_counter() - t0
        assert c.sock is first  # one connection throughout
        c.close()
    assert elapsed < 0.3, f"20 keep-alive requests took {elapsed:.3f} s"


# -- item 9: request framing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "head, status",
    [
        ("POST /api/v1/incidents HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", 411),
        ("GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", 411),
        ("POST /api/v1/incidents HTTP/1.1\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n", 411),
        ("POST /api/v1/incidents HTTP/1.1\r\nContent-Length: 12\r\nContent-Length: 0\r\n", 400),
        ("POST /api/v1/incidents HTTP/1.1\r\nContent-Length: +12\r\n", 400),
        ("POST /api/v1/incidents HTTP/1.1\r\nContent-Length: 1_2\r\n", 400),
        ("POST /api/v1/incidents HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n", 400),
        ("POST /api/v1/incidents HTTP/1.1\r\nContent-Length: 70000\r\n", 413),
    ],
)
def test_a_body_of_unknown_length_is_refused_and_never_read_as_the_next_request(tmp_path, head, status):
    # The body smuggles a second request; exactly one response must come back, then the close.
    body = b"5\r\nhello\r\n0\r\n\r\nGET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
    with serve(tmp_path) as server:
        t0 = time.monotonic()
        out = exchange(server.port, f"{head}Host: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode() + body)
        assert time.monotonic() - t0 < 2  # closed at once, not after the idle timeout
        assert out.startswith(f"HTTP/1.1 {status} ".encode()), out[:80]
        assert out.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in out
        assert call(server.port, "GET", "/-/healthy") == (200, "OK\n")  # and it keeps serving


def test_a_get_with_a_body_stays_in_step(tmp_path):
    smuggled = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    with serve(tmp_path) as server:
        out = exchange(
            server.port,
            b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
            b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % (len(smuggled), smuggled),
        )
        assert out.count(b"HTTP/1.1 ") == 2 and out.count(b"HTTP/1.1 200 ") == 2, out


# -- item 8: who gets in ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "users, token, path, authorization, status",
    [
        # Basic auth on, no API token: a bearer header opens nothing (it used to read the API).
        ({"prometheus": HASH8}, None, "/api/v1/incidents", "Bearer x", 401),
        ({"prometheus": HASH8}, None, "/api/v1/incidents", "Bearer " + TOKEN, 401),
        ({"prometheus": HASH8}, None, "/metrics", "Bearer x", 401),
        ({"prometheus": HASH8}, None, "/api/v1/incidents", None, 401),
        ({"prometheus": HASH8}, None, "/api/v1/incidents", basic("prometheus:wrong"), 401),
        ({"prometheus": HASH8}, None, "/api/v1/incidents", basic("prometheus:s3cret"), 200),
        ({"prometheus": HASH8}, None, "/metrics", basic("prometheus:s3cret"), 200),
        ({"prometheus": HASH8}, None, "/metrics", "Digest x", 401),
        ({"prometheus": HASH8}, None, "/metrics", "Basic \u00e9\u00e9", 401),
        ({"prometheus": HASH8}, None, "/metrics", "Basic !!!", 401),
        # Basic auth on and a token: on the API the token stands in for basic credentials ...
        ({"prometheus": HASH8}, TOKEN, "/api/v1/incidents", "Bearer " + TOKEN, 200),
        ({"prometheus": HASH8}, TOKEN, "/api/v1/incidents", "Bearer x", 401),
        ({"prometheus": HASH8}, TOKEN, "/api/v1/incidents", "Bearer", 401),
        # ... and is needed there (basic credentials alone do not pass the API's own check) ...
        ({"prometheus": HASH8}, TOKEN, "/api/v1/incidents", basic("prometheus:s3cret"), 401),
        # ... but nowhere else.
        ({"prometheus": HASH8}, TOKEN, "/metrics", "Bearer " + TOKEN, 401),
        ({"prometheus": HASH8}, TOKEN, "/-/healthy", "Bearer " + TOKEN, 401),
        # No basic auth: the API's own rules (reads open without a token, need it with one).
        ({}, None, "/api/v1/incidents", None, 200),
        ({}, TOKEN, "/api/v1/incidents", None, 401),
        ({}, TOKEN, "/api/v1/incidents", "Bearer x", 401),
        ({}, TOKEN, "/api/v1/incidents", "Bearer " + TOKEN, 200),
        ({}, None, "/metrics", None, 200),
    ],
)
def test_only_the_configured_credentials_open_anything(tmp_path, users, token, path, authorization, status):
    with serve(tmp_path, users=users, token=token) as server:
        headers = {} if authorization is None else {"Authorization": authorization}
        got, body = call(server.port, "GET", path, headers)
        assert got == status, body
        if status == 401 and path.startswith("/api/"):
            assert json.loads(body)["error"]  # a reason


def test_a_long_password_is_a_clean_401(tmp_path):
    """bcrypt refuses passwords over 72 bytes; that used to drop the connection with a
    traceback."""
    with serve(tmp_path, users={"prometheus": HASH8}) as server:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        for password in ("x" * 73, "s3cret" + "x" * 100, "\u00e9" * 40):
            c.request("GET", "/metrics", headers={"Authorization": basic("prometheus:" + password)})
            r = c.getresponse()
            assert (r.status, r.read()) == (401, b"unauthorized\n")
        c.request("GET", "/metrics", headers={"Authorization": basic("prometheus:s3cret")})
        assert c.getresponse().status == 200  # the same connection, still in step
        c.close()


def test_unknown_users_cost_as_much_as_known_ones(tmp_path):
    """The dummy hash for unknown users has the cost of the configured ones (it was cost 4
    against cost 10 and more: answered some 60x faster, which told the users apart)."""
    with serve(tmp_path, users={"prometheus": HASH8}) as server:

        def fastest(user: str) -> float:
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                assert call(server.port, "GET", "/metrics", {"Authorization": basic(f"{user}:wrong")})[0] == 401
                times.append(time.perf_counter() - t0)
            return min(times)

        known, unknown, long_password = fastest("prometheus"), fastest("mallory"), None
        t0 = time.perf_counter()
        call(server.port, "GET", "/metrics", {"Authorization": basic("prometheus:" + "x" * 100)})
        long_password = time.perf_counter() - t0
    assert known > 0.01  # cost 8: a real bcrypt check
    assert unknown > known / 2 and long_password > known / 2, (known, unknown, long_password)


# -- item 9: hostile API bodies and times ---------------------------------------------------------


def _now_iso(offset_seconds=0):
    return dt.datetime.fromtimestamp(time.time() + offset_seconds, dt.UTC).isoformat()


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"[" * 20000 + b"]" * 20000, "body: nested deeper than 16 levels"),
        (b'{"tenant": "prod", "priority": "P3", "title": ' + b"9" * 5000 + b"}", "body: a number of 5000 digits"),
        (b'{"tenant": "prod", "priority": "P3", "title": "\\ud800"}', "body: a string with a lone surrogate"),
        (b'{"tenant": "prod", "priority": "P3", "opened": "1970-01-01T00:00:00Z"}', "opened: before 2000-01-01"),
        (b'{"tenant": "prod", "priority": "P3", "opened": "0001-01-01T00:00:00+14:00"}', "opened: before 2000-01-01"),
        (b'{"tenant": "prod", "priority": "P3", "opened": "IN_400_SECONDS"}', "opened: in the future"),
        (b'{"tenant": "prod", "priority": "P3", "opened": "9999-12-31T23:59:59-23:59"}', "opened: in the future"),
    ],
)
def test_hostile_bodies_get_400_with_a_reason(tmp_path, body, reason):
    body = body.replace(b"IN_400_SECONDS", _now_iso(400).encode())
    with serve(tmp_path) as server:
        status, text = call(server.port, "POST", "/api/v1/incidents", {"Authorization": f"Bearer {TOKEN}"}, body)
        assert status == 400 and json.loads(text)["error"].startswith(reason), text
        assert call(server.port, "GET", "/api/v1/incidents", {"Authorization": f"Bearer {TOKEN}"})[1].count('"id"') == 0


def test_an_event_time_out_of_range_names_the_field(tmp_path):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serve(tmp_path) as server:
        assert (
            call(server.port, "POST", "/api/v1/incidents", auth, {"tenant": "prod", "priority": "P3", "id": "I"})[0]
            == 201
        )
        for when, reason in ((_now_iso(3600), "time: in the future"), ("1999-01-01T00:00:00Z", "time: before 2000")):
            status, text = call(
                server.port, "POST", "/api/v1/incidents/I/events", auth, {"kind": "response", "time": when}
            )
            assert status == 400 and json.loads(text)["error"].startswith(reason)


# -- item 9: no event after a resolution, however calls interleave ------------------------------------


def test_concurrent_events_never_land_after_the_resolution(tmp_path):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serve(tmp_path) as server:
        for round_ in range(5):
            iid = f"INC-R{round_}"
            assert (
                call(server.port, "POST", "/api/v1/incidents", auth, {"tenant": "prod", "priority": "P2", "id": iid})[0]
                == 201
            )
            kinds = ["communication"] * 6 + ["resolution"] * 2
            start = threading.Barrier(len(kinds))
            statuses = []

            def post(kind, start=start, statuses=statuses, iid=iid):
                start.wait(timeout=5)
                statuses.append(
                    (kind, call(server.port, "POST", f"/api/v1/incidents/{iid}/events", auth, {"kind": kind})[0])
                )

            threads = [threading.Thread(target=post, args=(k,)) for k in kinds]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=10)
            events = server.store.incidents(incident_id=iid)[0].events
            assert [e.kind for e in events].count("resolution") == 1
            assert events[-1].kind == "resolution"  # nothing stored after it
            stored = sum(1 for kind, status in statuses if status == 201)
            assert stored == len(events) and all(status in (201, 409) for _, status in statuses), statuses


# -- item 6: bounded connections ------------------------------------------------------------------


@pytest.mark.parametrize("open_files, expected", [(64, 8), (256, 96), (1024, 480), (1 << 20, 512)])
def test_connection_limit_leaves_descriptors_for_the_rest(open_files, expected):
    assert connection_limit(open_files) == expected


@pytest.mark.parametrize("use_tls", [False, True])
def test_idle_connections_cannot_keep_a_scraper_out(tmp_path, tls_cert, use_tls):
    tls, client_ctx = None, None
    if use_tls:
        cert, key, _ = tls_cert
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        client_ctx = ssl.create_default_context(cafile=cert)
    with serve(tmp_path, tls=tls, max_connections=4) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(10)]
        idle[-1].sendall(b"GET /-/hea")  # half a request line counts as idle too
        try:
            t0 = time.monotonic()
            if use_tls:
                c = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5, context=client_ctx)
            else:
                c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            c.request("GET", "/-/healthy")
            assert c.getresponse().read() == b"OK\n"
            assert time.monotonic() - t0 < 2
            c.close()
            assert server.connections_dropped >= 6  # the oldest idle ones made room
            assert server.open_connections() <= 4 + 1
            # The oldest idle connections were closed by the server.
            idle[0].settimeout(2)
            assert idle[0].recv(10) == b""
        finally:
            for s in idle:
                s.close()


def test_when_every_connection_is_busy_a_new_one_is_closed_at_once(tmp_path):
    entered, release = threading.Semaphore(0), threading.Event()

    def slow_ready():
        entered.release()
        return release.wait(10), "ready"

    with serve(tmp_path, max_connections=2, ready=slow_ready) as server:
        results = []
        busy = [threading.Thread(target=lambda: results.append(call(server.port, "GET", "/-/ready"))) for _ in range(2)]
        for t in busy:
            t.start()
        try:
            assert entered.acquire(timeout=5) and entered.acquire(timeout=5)  # both are being answered
            t0 = time.monotonic()
            assert exchange(server.port, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5) == b""
            assert time.monotonic() - t0 < 2  # closed at once, not queued behind the busy ones
            assert server.connections_dropped == 1
        finally:
            release.set()
        for t in busy:
            t.join(timeout=10)
        assert results == [(200, "ready\n"), (200, "ready\n")]
        assert call(server.port, "GET", "/-/healthy") == (200, "OK\n")


@pytest.mark.parametrize("length, first", [(10, b"HTTP/1.1 100 "), (70000, b"HTTP/1.1 413 ")])
def test_expect_100_continue_is_answered_at_once(tmp_path, length, first):
    """A client that waits for "100 Continue" gets it (or the refusal) without delay; the
    buffered writer must not sit on it."""
    with serve(tmp_path) as server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(
            b"POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\nAuthorization: Bearer %s\r\n\r\n" % (length, TOKEN.encode())
        )
        t0 = time.monotonic()
        assert s.recv(65536).startswith(first)
        assert time.monotonic() - t0 < 1
