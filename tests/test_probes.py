"""The HTTP(S) prober against real servers on 127.0.0.1 (no external network).

Servers run in threads (``ThreadingHTTPServer`` on port 0); the only sleeps are inside their
handlers (slow and dripping endpoints). Timing assertions are loose integration bounds.
"""

from __future__ import annotations

import errno
import gzip
import importlib.util
import os
import select
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exporter.model import OUR_REASONS, VENDOR_REASONS, EnvRef, Probe
from exporter.probing import probes
from exporter.probing.probes import REASONS, Prober, ProbeResult

SECRET = "s3cr3t-token-value-42"


# ---------------------------------------------------------------------------- test servers


class _State:
    def __init__(self):
        self.headers: dict[str, dict[str, str]] = {}  # path -> request headers
        self.client_ports: set[int] = set()
        self.stop = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    state: _State

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, first: bytes, chunk: bytes, pause: float, limit: int):
        """Headers without a length, then ``first`` and ``chunk`` until the client leaves."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(first)
            self.wfile.flush()
            for _ in range(limit):
                if self.state.stop.is_set():
                    break
                if pause:
                    time.sleep(pause)
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            pass  # the client closed: that is the point
        self.close_connection = True

    def do_GET(self):
        self.state.client_ports.add(self.client_address[1])
        self.state.headers[self.path] = dict(self.headers.items())
        path = self.path if self.path.startswith("/away?") else self.path.split("?", 1)[0]
        if path == "/ok":
            self._send(200, b"hello world: service is healthy", {"Content-Type": "text/plain; charset=utf-8"})
        elif path == "/close":  # no keep-alive: http.client drops connection.sock at once
            self._send(200, b"bye", {"Connection": "close"})
            self.close_connection = True
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]))
        elif path == "/slow":
            time.sleep(3)
            self._send(200, b"late")
        elif path == "/drip":
            self._stream(b"x", b"x", pause=0.3, limit=100)
        elif path == "/endless":
            self._stream(b"needle " + b"x" * 100, b"y" * 8192, pause=0, limit=100_000)
        elif path.startswith("/away?to="):
            self._send(302, headers={"Location": path.split("=", 1)[1]})
        elif path == "/setcookie":
            self._send(302, headers={"Location": "/ok?cookie", "Set-Cookie": "session=abc123; Path=/"})
        elif path == "/gzip":
            body = gzip.compress("grüße: service is healthy".encode("latin-1"))
            self._send(200, body, {"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=latin-1"})
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"service ", b"is ", b"healthy"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            self._send(302, headers={"Location": f"/hops/{left - 1}"}) if left else self._send(200, b"arrived")
        elif path in ("/reset", "/truncated"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"partial")
            self.wfile.flush()
            time.sleep(0.2)  # let the client get the headers and start on the body
            if path == "/reset":  # SO_LINGER 0: close() sends RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            self.close_connection = True
        else:
            self._send(404, b"not found")


def _serve(context: ssl.SSLContext | None = None):
    state = _State()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, state, thread


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture(scope="module")
def server():
    srv, state, _thread = _serve()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield base, state
    state.stop.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def tls_server(tls_cert):
    cert, key, _ = tls_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv, state, _thread = _serve(context)
    yield f"https://127.0.0.1:{srv.server_address[1]}"
    state.stop.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def prober():
    p = Prober(environ={"ACME_TOKEN": SECRET})
    yield p
    p.close()


def _probe(url: str, **kwargs) -> Probe:
    kwargs.setdefault("timeout", 2.0)
    return Probe(name="p", url=url, **kwargs)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------- status and body


@pytest.mark.parametrize(
    "path, options, reason, error",
    [
        ("/ok", {}, None, None),
        ("/status/204", {}, None, None),
        ("/status/503", {}, "status", "status 503, expected 2xx"),
        ("/status/204", {"expect_status": (200,)}, "status", "status 204, expected 200"),
        ("/status/503", {"expect_status": (200, 204)}, "status", "status 503, expected one of 200, 204"),
        ("/status/404", {"expect_status": (404,)}, None, None),
        ("/ok", {"expect_body": "service is healthy"}, None, None),
        ("/ok", {"expect_body": "degraded"}, "body", "body does not contain the expected text"),
        ("/ok", {"expect_body_regex": r"service is \w+$"}, None, None),
        ("/ok", {"expect_body_regex": r"^service"}, "body", "body does not match the expected pattern"),
        (
            "/ok",
            {"expect_body": "hello", "expect_body_regex": r"\d+"},
            "body",
            "body does not match the expected pattern",
        ),
        ("/ok", {"expect_body_regex": "("}, "config", None),
    ],
)
def test_status_and_body_expectations(server, prober, path, options, reason, error):
    base, _ = server
    result = prober.probe(_probe(base + path, **options))
    assert isinstance(result, ProbeResult)
    assert result.reason == reason
    assert result.success is (reason is None)
    if error is not None:
        assert result.error == error
    assert (result.error is None) is (reason is None)
    assert result.status_code == (int(path.rsplit("/", 1)[1]) if "/status/" in path else 200)
    assert result.cert_expiry is None  # plain http


def test_result_times_come_from_the_given_clocks(server):
    base, _ = server
    ticks = iter([100.0, 100.25] + [100.25] * 50)
    p = Prober(clock=lambda: 1_790_000_000.0, monotonic=lambda: next(ticks))
    try:
        result = p.probe(_probe(base + "/ok"))
    finally:
        p.close()
    assert result.success
    assert result.started == 1_790_000_000.0
    assert result.duration == pytest.approx(0.25)


# ---------------------------------------------------------------------------- headers


def test_header_from_environment_reaches_the_server(server, prober):
    base, state = server
    probe = _probe(base + "/ok?hdr", headers=(("Authorization", EnvRef("ACME_TOKEN")), ("X-Tenant", "acme")))
    assert prober.probe(probe).success
    seen = state.headers["/ok?hdr"]
    assert seen["Authorization"] == SECRET
    assert seen["X-Tenant"] == "acme"
    assert seen["User-Agent"].startswith("sla-exporter/")


def test_environment_is_read_at_probe_time(server):
    base, state = server
    env: dict[str, str] = {}
    p = Prober(environ=env)
    probe = _probe(base + "/ok?late", headers=(("X-Token", EnvRef("LATE_TOKEN")),))
    try:
        assert p.probe(probe).reason == "config"
        env["LATE_TOKEN"] = "now-set"
        assert p.probe(probe).success
    finally:
        p.close()
    assert state.headers["/ok?late"]["X-Token"] == "now-set"


def test_missing_environment_variable_is_a_config_failure(server, caplog):
    base, state = server
    p = Prober(environ={"OTHER": SECRET})
    headers = (("X-Other", EnvRef("OTHER")), ("Authorization", EnvRef("ACME_TOKEN")))
    probe = _probe(base + "/ok?missing", headers=headers)
    result = p.probe(probe)
    p.close()
    assert (result.success, result.reason, result.status_code) == (False, "config", None)
    assert result.error == "environment variable ACME_TOKEN is not set"
    assert SECRET not in result.error and SECRET not in caplog.text
    assert "/ok?missing" not in state.headers  # nothing was sent


def test_header_value_with_a_line_break_is_refused_without_echoing_it(server):
    base, _ = server
    p = Prober(environ={"ACME_TOKEN": SECRET + "\r\nX-Injected: 1"})
    result = p.probe(_probe(base + "/ok", headers=(("Authorization", EnvRef("ACME_TOKEN")),)))
    p.close()
    assert result.reason == "config"
    assert "Authorization" in result.error and SECRET not in result.error


@pytest.mark.parametrize(
    "path, reason",
    [
        ("/status/503", "status"),
        ("/ok", "body"),
        ("/loop", "redirect"),
        ("/reset", "connection"),
        ("/slow", "timeout"),
        ("/secret-in-url", "connection"),
        ("http://nonexistent.invalid/", "dns"),
        ("closed", "connection"),
    ],
)
def test_secret_never_appears_in_errors_or_logs(server, prober, caplog, path, reason):
    base, _ = server
    if path == "closed":
        url = f"http://user:{SECRET}@127.0.0.1:{_closed_port()}/"
    elif path == "/secret-in-url":
        url = f"http://user:{SECRET}@127.0.0.1:notaport/"
    elif path.startswith("http"):
        url = path
    else:
        url = base + path
    headers = (("Authorization", EnvRef("ACME_TOKEN")), ("X-Api-Key", SECRET))
    result = prober.probe(_probe(url, timeout=1.0, expect_body="absent text", headers=headers))
    assert result.reason == reason
    assert result.error and SECRET not in result.error
    assert SECRET not in caplog.text


# ---------------------------------------------------------------------------- timeouts and size


def test_slow_response_times_out(server, prober):
    base, _ = server
    t0 = time.monotonic()
    result = prober.probe(_probe(base + "/slow", timeout=1.0))
    elapsed = time.monotonic() - t0
    assert (result.reason, result.status_code, result.error) == ("timeout", None, "timed out after 1s")
    assert elapsed < 2.0  # timeout + 1 s
    assert 0.9 <= result.duration < 2.0


def test_dripping_body_times_out_at_the_deadline(server, prober):
    base, _ = server
    t0 = time.monotonic()
    result = prober.probe(_probe(base + "/drip", timeout=1.0))
    elapsed = time.monotonic() - t0
    assert (result.reason, result.status_code) == ("timeout", 200)
    assert result.duration >= 0.9 and elapsed < 1.8  # the deadline, not the next drip or later


def test_endless_body_is_read_only_up_to_the_limit(server, monkeypatch):
    base, _ = server
    read = []
    original = probes._Conn.data_received

    def counting(self, data):
        read.append(len(data))
        return original(self, data)

    monkeypatch.setattr(probes._Conn, "data_received", counting)
    limit = 64 * 1024
    p = Prober(max_body_bytes=limit)
    t0 = time.monotonic()
    try:
        found = p.probe(_probe(base + "/endless", expect_body="needle"))
        missing = p.probe(_probe(base + "/endless", expect_body="haystack"))
    finally:
        p.close()
    assert found.success, found
    assert time.monotonic() - t0 < 2.0
    assert sum(read) <= 2 * (limit + 2 * probes.CHUNK_BYTES)  # two runs: reading pauses past one read
    assert missing.reason == "body"
    assert missing.error == f"body does not contain the expected text (in the first {limit} bytes)"


# ---------------------------------------------------------------------------- redirects, connections


@pytest.mark.parametrize(
    "path, reason",
    [("/hops/1", None), ("/hops/5", None), ("/hops/6", "redirect"), ("/loop", "redirect")],
)
def test_redirects_are_followed_up_to_five(server, prober, path, reason):
    base, _ = server
    result = prober.probe(_probe(base + path, expect_body="arrived" if reason is None else None))
    assert result.reason == reason
    assert result.status_code == (200 if reason is None else 302)
    if reason:
        assert result.error == "more than 5 redirects (redirect loop?)"


def test_userinfo_is_redacted_from_urls_and_messages():
    """One function for the prober's messages and the config's check (exporter.config.redact)."""
    from exporter.config.redact import redact_userinfo

    assert redact_userinfo("https://u:p@host/x") == "https://host/x"
    message = "Invalid URL 'http://u:p@h:x/': bad port; see http://other/ or mail@example.com"
    assert redact_userinfo(message) == "Invalid URL 'http://h:x/': bad port; see http://other/ or mail@example.com"
    assert redact_userinfo("https://u:p w?#@h/", "***@") == "https://***@h/"


def test_userinfo_in_a_transport_error_is_not_repeated(monkeypatch):
    """A proxy URL with credentials (from HTTPS_PROXY) that refuses connections: the message
    names the proxy without them."""
    port = _closed_port()
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("HTTPS_PROXY", f"http://svc:hunter2@127.0.0.1:{port}")
    p = Prober()
    try:
        result = p.probe(_probe("https://acme.example.com/"))
    finally:
        p.close()
    assert result.reason == "connection" and "hunter2" not in result.error and "svc" not in result.error
    assert result.error == f"connection failed: Unable to connect to proxy http://127.0.0.1:{port}/"


def test_secret_headers_are_not_sent_to_another_origin(server, prober):
    base, state = server
    elsewhere = base.replace("127.0.0.1", "localhost") + "/ok?landed"  # same server, other origin
    headers = (("Authorization", EnvRef("ACME_TOKEN")), ("X-Token", EnvRef("ACME_TOKEN")), ("X-Plain", "kept"))
    result = prober.probe(_probe(f"{base}/away?to={elsewhere}", headers=headers))
    assert result.success, result
    first, landed = state.headers[f"/away?to={elsewhere}"], state.headers["/ok?landed"]
    assert first["Authorization"] == first["X-Token"] == SECRET
    assert "Authorization" not in landed and "X-Token" not in landed
    assert landed["X-Plain"] == "kept"


def test_same_origin_redirect_keeps_headers(server, prober):
    base, state = server
    headers = (("X-Token", EnvRef("ACME_TOKEN")),)
    assert prober.probe(_probe(f"{base}/away?to={base}/ok?same", headers=headers)).success
    assert state.headers["/ok?same"]["X-Token"] == SECRET


def test_cookies_a_hop_sets_are_sent_on_the_next(server, prober):
    base, state = server
    assert prober.probe(_probe(base + "/setcookie")).success
    assert state.headers["/ok?cookie"]["Cookie"] == "session=abc123"


@pytest.mark.parametrize(
    "path, expect_body",
    [("/gzip", "grüße: service is healthy"), ("/chunked", "service is healthy"), ("/close", "bye")],
)
def test_bodies_are_decoded_whatever_their_framing(server, prober, path, expect_body):
    base, _ = server
    result = prober.probe(_probe(base + path, expect_body=expect_body))
    assert result.success, result


def _proxy(seen: list[str]):
    """A forward proxy on 127.0.0.1: absolute-URI GETs are relayed, CONNECT is tunnelled;
    each request line (and Proxy-Authorization) is appended to ``seen``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def pipe(a, b):
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 5)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    def handle(client):
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        auth = [line for line in lines if line.lower().startswith("proxy-authorization:")]
        seen.append(lines[0] + (" " + auth[0] if auth else ""))
        method, target, _ = lines[0].split(" ")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            host_port = target.split("/")[2]
            host, port = host_port.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            path = "/" + target.split("/", 3)[3]
            upstream.sendall(
                f"GET {path} HTTP/1.1\r\n".encode() + b"\r\n".join(head.split(b"\r\n")[1:]) + b"\r\n\r\n" + rest
            )
        pipe(client, upstream)

    def serve():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.parametrize("tls", [False, True])
def test_proxies_from_the_environment(server, tls_server, tls_cert, monkeypatch, tls):
    """HTTP_PROXY / HTTPS_PROXY as requests honoured them: an absolute-URI request for http,
    a CONNECT tunnel (TLS verified end to end, expiry read) for https; credentials in the
    proxy URL sent as Proxy-Authorization; NO_PROXY bypasses it."""
    seen: list[str] = []
    listener = _proxy(seen)
    proxy = f"http://user:pw@127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("HTTPS_PROXY" if tls else "HTTP_PROXY", proxy)
    base = tls_server if tls else server[0]
    cert, _key, not_after = tls_cert
    p = Prober()
    try:
        result = p.probe(_probe(base + "/ok", ca_file=cert if tls else None, expect_body="healthy"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        p.close()  # proxies are read once per target
        direct = p.probe(_probe(base + "/ok", ca_file=cert if tls else None))
    finally:
        p.close()
        listener.close()
    assert result.success, result
    assert direct.success, direct
    assert len(seen) == 1
    port = base.rsplit(":", 1)[1]
    basic = "Proxy-Authorization: Basic dXNlcjpwdw=="
    if tls:
        assert seen[0] == f"CONNECT 127.0.0.1:{port} HTTP/1.1 {basic}"
        assert result.cert_expiry == pytest.approx(not_after, abs=1)
    else:
        assert seen[0] == f"GET http://127.0.0.1:{port}/ok HTTP/1.1 {basic}"


def test_connection_refused(prober):
    result = prober.probe(_probe(f"http://127.0.0.1:{_closed_port()}/"))
    assert (result.reason, result.status_code) == ("connection", None)
    assert result.error == "connection failed: Connection refused"


@pytest.mark.parametrize(
    "path, error",
    [
        ("/reset", "connection failed: Connection reset by peer"),
        ("/truncated", "connection closed mid-response (7 bytes read, 99993 more expected)"),
    ],
)
def test_connection_broken_mid_response(server, prober, path, error):
    base, _ = server
    result = prober.probe(_probe(base + path))
    assert (result.reason, result.status_code, result.error) == ("connection", 200, error)


def test_unresolvable_host_fails_fast_as_dns(prober):
    t0 = time.monotonic()
    result = prober.probe(_probe("http://nonexistent.invalid/", timeout=1.0))
    assert (result.reason, result.status_code) == ("dns", None)
    assert "nonexistent.invalid" in result.error
    assert time.monotonic() - t0 < 3.0


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/", "http://127.0.0.1:99999/"])
def test_unusable_url_is_a_failed_result_not_an_exception(prober, url):
    result = prober.probe(_probe(url))
    assert (result.success, result.reason) == (False, "connection")
    assert result.error


def test_keep_alive_connection_is_reused(prober):
    srv, state, _thread = _serve()  # a fresh server: count only this test's connections
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        first = prober.probe(_probe(base + "/ok"))
        second = prober.probe(Probe(name="other", url=base + "/status/204"))
    finally:
        srv.shutdown()
        srv.server_close()
    assert first.success and second.success
    assert len(state.client_ports) == 1


def test_close_closes_sessions_and_prober_still_works_after(server):
    base, _ = server
    p = Prober()
    assert p.probe(_probe(base + "/ok")).success
    p.close()
    assert p._idle == {}
    assert p.probe(_probe(base + "/ok")).success
    p.close()


def test_concurrent_probes_of_one_host(server, prober):
    base, _ = server
    results: list[ProbeResult] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(prober.probe(_probe(f"{base}/ok?c={i}")))) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r.success for r in results)


# ---------------------------------------------------------------------------- TLS


def test_self_signed_certificate_fails_verification_by_default(tls_server, prober):
    result = prober.probe(_probe(tls_server + "/ok"))
    assert (result.reason, result.status_code, result.cert_expiry) == ("tls", None, None)
    assert result.error.startswith("certificate verify failed")


def test_ca_file_verifies_and_reports_certificate_expiry(tls_server, tls_cert, prober):
    cert, _key, not_after = tls_cert
    result = prober.probe(_probe(tls_server + "/ok", ca_file=cert, expect_body="healthy"))
    assert result.success, result
    assert result.cert_expiry == pytest.approx(not_after, abs=1)


def test_certificate_expiry_is_read_when_the_server_closes_the_connection(tls_server, tls_cert, prober):
    cert, _key, not_after = tls_cert
    result = prober.probe(_probe(tls_server + "/close", ca_file=cert))
    assert result.success, result
    assert result.cert_expiry == pytest.approx(not_after, abs=1)


def test_ca_file_matches_localhost_name_too(tls_server, tls_cert, prober):
    cert, _key, not_after = tls_cert
    result = prober.probe(_probe(tls_server.replace("127.0.0.1", "localhost") + "/ok", ca_file=cert))
    assert result.success, result
    assert result.cert_expiry == pytest.approx(not_after, abs=1)


def test_tls_verify_false_accepts_self_signed(tls_server, tls_cert, prober):
    _cert, _key, not_after = tls_cert
    result = prober.probe(_probe(tls_server + "/ok", tls_verify=False))
    assert result.success, result
    if importlib.util.find_spec("cryptography") is None:  # unverified certs are only readable with it
        assert result.cert_expiry is None
    else:
        assert result.cert_expiry == pytest.approx(not_after, abs=1)


def test_https_status_failure_still_reports_certificate_expiry(tls_server, tls_cert, prober):
    cert, _key, not_after = tls_cert
    result = prober.probe(_probe(tls_server + "/status/503", ca_file=cert))
    assert (result.reason, result.status_code) == ("status", 503)
    assert result.cert_expiry == pytest.approx(not_after, abs=1)


def test_reasons_are_pinned():
    assert REASONS == (
        "timeout",
        "connection",
        "tls",
        "dns",
        "status",
        "body",
        "redirect",
        "config",
        "resources",
        "resolver",
        "network",
        "internal",
        "clock",
    )


def _oserror(code):
    return OSError(code, os.strerror(code))


@pytest.mark.parametrize(
    "exc, reason, ours",
    [
        # The vendor's failures: downtime.
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection", False),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "connection", False),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns", False),
        (TimeoutError("timed out"), "timeout", False),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "tls", False),
        # Ours: never downtime.
        (_oserror(errno.EMFILE), "resources", True),
        (_oserror(errno.ENFILE), "resources", True),
        (_oserror(errno.ENOMEM), "resources", True),
        (_oserror(errno.ENOBUFS), "resources", True),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), "resolver", True),
        (socket.gaierror(socket.EAI_FAIL, "Non-recoverable failure in name resolution"), "resolver", True),
        (_oserror(errno.ENETUNREACH), "network", True),
        (_oserror(errno.EADDRNOTAVAIL), "network", True),
        # Wrapped (a proxy that refuses): the vendor's connection failure, as before.
        (probes.ProxyError("Unable to connect to proxy http://127.0.0.1:1/"), "connection", False),
    ],
)
def test_every_failure_is_the_vendors_or_ours(exc, reason, ours):
    if isinstance(exc, probes.ProxyError) and not exc.__cause__:
        exc.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    got, _ = probes._classify(exc, _probe("https://acme.example.com/"), probes._Run(0.0))
    assert got == reason
    assert (got in OUR_REASONS) is ours and (got in VENDOR_REASONS) is not ours


def test_an_unexpected_error_is_ours(server, monkeypatch):
    base, _ = server
    p = Prober()
    monkeypatch.setattr(probes.Prober, "_run", lambda *a: (_ for _ in ()).throw(KeyError("bug")))
    result = p.probe(_probe(base + "/ok"))
    p.close()
    assert (result.reason, result.ours) == ("internal", True)


def test_a_missing_secret_is_ours(server):
    base, _ = server
    p = Prober(environ={})
    result = p.probe(_probe(base + "/ok", headers=(("Authorization", EnvRef("ACME_API_TOKEN")),)))
    p.close()
    assert (result.reason, result.ours, result.error) == (
        "config",
        True,
        "environment variable ACME_API_TOKEN is not set",
    )


def test_descriptor_exhaustion_is_ours_in_a_real_process(server):
    """A real process whose descriptors are used up (ulimit -n 64, files open to the limit)
    probes a live local server: the run is ours (resources), not the vendor's connection."""
    import subprocess
    import sys
    import textwrap

    base, _ = server
    script = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        from exporter.model import Probe
        from exporter.probing.probes import Prober
        prober = Prober()
        held = []
        try:
            while True:
                held.append(open("/dev/null"))
        except OSError:
            pass
        r = prober.probe(Probe(name="ui", url="{base}/ok", timeout=2.0))
        print(r.reason, r.ours)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["resources", "True"], out.stderr


def test_runs_waiting_on_hung_targets_hold_sockets_not_threads():
    """200 runs at once against a server that accepts and never answers: all end as timeouts
    at their deadline, together, on the prober's one event loop thread."""
    import asyncio

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(512)
    url = f"http://127.0.0.1:{hung.getsockname()[1]}/"
    p = Prober()
    threads = []

    async def many():
        runs = [asyncio.ensure_future(p.run(_probe(f"{url}x{i}", timeout=1.0))) for i in range(200)]
        await asyncio.sleep(0.5)
        threads.append(threading.active_count())
        return await asyncio.gather(*runs)

    try:
        before = threading.active_count()
        t0 = time.monotonic()
        results = asyncio.run_coroutine_threadsafe(many(), p.loop).result()
        elapsed = time.monotonic() - t0
    finally:
        p.close()
        hung.close()
    assert [r.reason for r in results] == ["timeout"] * 200
    assert threads[0] == before  # not one thread more while 200 runs wait
    assert elapsed < 3.0  # concurrently: one timeout, not 200


@pytest.mark.parametrize(
    "a, b",
    [
        ("http://127.0.0.1:8080/t1/p0", "http://127.0.0.1:8080/t2/p1"),
        ("https://user:pw@Acme.example.com:443/a", "https://Acme.example.com/b?x=1"),
    ],
)
def test_targets_of_one_host_share_its_names(a, b):
    """Memory at 30,000 probes: one string per scheme, host and authority, not one a URL."""
    first, second = (probes._Target.parse(url, _probe(url)) for url in (a, b))
    assert first.path != second.path
    assert first.scheme is second.scheme and first.host is second.host and first.authority is second.authority
