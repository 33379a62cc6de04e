"""The HTTP endpoints: /metrics, /-/healthy, /-/ready, POST /-/reload and a landing page."""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, generate_latest

from exporter import __version__, exposition
from exporter.api import MAX_BODY
from exporter.webconfig import WebConfig

log = logging.getLogger("sla_exporter")

LANDING = """<!doctype html>
<html><head><title>sla-exporter</title></head>
<body>
<h1>sla-exporter</h1>
<p>Calendar-month SLA availability, maintenance windows excluded. Version {version}.</p>
<ul>
<li><a href="/metrics">/metrics</a>: figures for Prometheus</li>
<li><a href="/-/healthy">/-/healthy</a>: liveness</li>
<li><a href="/-/ready">/-/ready</a>: readiness (config loaded, store open)</li>
<li><a href="/api/v1/incidents?open=true">/api/v1/incidents</a> and
<a href="/api/v1/service-requests">/api/v1/service-requests</a>: support clocks</li>
</ul>
<p><code>POST /-/reload</code> reloads the config file.</p>
</body></html>
"""

_LENGTH = re.compile(r"[0-9]{1,18}")  # ASCII digits only: int() would take "+5", "5_0" and "٥"


class Endpoints:
    """What the handler needs from the daemon."""

    def __init__(
        self,
        registry: CollectorRegistry,
        ready: Callable[[], tuple[bool, str]],
        reload: Callable[[], tuple[bool, str]],
        api=None,
    ):
        self.registry, self.ready, self.reload, self.api = registry, ready, reload, api


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    server_version = f"sla-exporter/{__version__}"
    timeout = 30  # a client that sends nothing (or a byte a minute) is dropped
    # Buffered: a response (headers and body) leaves in one write, flushed once it is
    # complete. Two small writes would meet Nagle's algorithm and the client's delayed ACK
    # (40 ms per keep-alive request); accepted sockets also have TCP_NODELAY.
    wbufsize = 64 * 1024
    body = b""

    def handle_one_request(self) -> None:
        self.body = b""
        try:
            super().handle_one_request()
            self.wfile.flush()  # also an error answered from parse_request
        except OSError:  # the client went away
            self.close_connection = True

    def _framing(self) -> tuple[int, str | None, int]:
        """(body length, refusal reason, refusal status) from the request's headers."""
        if self.headers.get_all("Transfer-Encoding"):
            # Not supported, and not to be mistaken for the next request on the connection.
            return 0, "chunked request bodies are not supported: send Content-Length", 411
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1 or (lengths and not _LENGTH.fullmatch(lengths[0].strip())):
            return 0, "bad Content-Length", 400
        length = int(lengths[0]) if lengths else 0
        if length > MAX_BODY:
            return 0, f"body larger than {MAX_BODY} bytes", 413
        return length, None, 0

    def handle_expect_100(self) -> bool:
        # "100 Continue" only for a body that will be read, and at once (the writer buffers).
        if self._framing()[1] is None:
            self.send_response_only(100)
            self.end_headers()
            self.wfile.flush()
        return True

    def parse_request(self) -> bool:
        """The request line and headers, then the whole body (``self.body``): a request is
        read completely before anything runs, so keep-alive connections stay in step."""
        if not super().parse_request():
            return False
        length, refusal, status = self._framing()
        if refusal is not None:
            return self._refuse(status, refusal)
        if length:
            self.body = self.rfile.read(length)
            if len(self.body) < length:  # the client stopped half way
                self.close_connection = True
                return False
        return True

    def _refuse(self, code: int, reason: str) -> bool:
        """Answer ``code`` and close the connection: what follows on it cannot be trusted."""
        self.close_connection = True
        if self.path.startswith("/api/"):
            self._send(code, (json.dumps({"error": reason}) + "\n").encode(), "application/json", close=True)
        else:
            self._send(code, (reason + "\n").encode(), close=True)
        return False

    def _authenticated(self, path: str) -> bool:
        """With basic auth configured, every endpoint needs valid basic credentials. The one
        alternative: on the support API, the API's bearer token, and only when one is
        configured and it is the one given. Nothing else opens anything."""
        web = self.server.web
        if not web.users:
            return True
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and path.startswith("/api/"):
            api = self.server.endpoints.api
            if api is not None and api.token_matches(value):
                return True
            self._unauthorized(path, "invalid bearer token" if api is not None and api.has_token()
                               else "basic auth required (the support API has no token configured)")
            return False
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
                user, password = "", ""
            if user and web.check(user, password):
                return True
        self._unauthorized(path, "basic auth required")
        return False

    def _unauthorized(self, path: str, reason: str) -> None:
        if path.startswith("/api/"):
            body, content_type = (json.dumps({"error": reason}) + "\n").encode(), "application/json"
        else:
            body, content_type = b"unauthorized\n", "text/plain; charset=utf-8"
        self._send(401, body, content_type, [("WWW-Authenticate", 'Basic realm="sla-exporter", charset="UTF-8"')])

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence access logs
        pass

    def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
              headers: list[tuple[str, str]] = (), close: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _api(self, body: bytes) -> None:
        api = self.server.endpoints.api
        if api is None:
            self._send(404, b"not found\n")
            return
        try:
            status, doc = api.handle(self.command, self.path, self.headers, body)
        except Exception:  # a bug or a store failure: answer, log, keep serving
            log.exception("support API request failed")
            status, doc = 500, {"error": "internal error; see the exporter's log"}
        self._send(status, (json.dumps(doc, indent=2) + "\n").encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        ep = self.server.endpoints
        path = self.path.split("?", 1)[0]
        if not self._authenticated(path):
            return
        if path.startswith("/api/"):
            self._api(b"")
        elif path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            if encoder is generate_latest:
                encoder = exposition.generate  # the same bytes, faster
            self._send(200, encoder(ep.registry), content_type)
        elif path == "/-/healthy":
            self._send(200, b"OK\n")
        elif path == "/-/ready":
            ok, why = ep.ready()
            self._send(200 if ok else 503, (why + "\n").encode())
        elif path == "/":
            self._send(200, LANDING.format(version=html.escape(__version__)).encode(), "text/html; charset=utf-8")
        elif path == "/-/reload":
            self._send(405, b"use POST to reload the config\n")
        else:
            self._send(404, b"not found\n")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if not self._authenticated(path):
            return
        if path.startswith("/api/"):
            self._api(self.body)
        elif path == "/-/reload":
            ok, message = self.server.endpoints.reload()
            self._send(200 if ok else 500, (message + "\n").encode())
        else:
            self._send(404 if path != "/metrics" else 405, b"not found\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoints: Endpoints, web: WebConfig | None = None):
        self.endpoints = endpoints
        self.web = web or WebConfig()  # replaced as a whole on reload
        super().__init__(address, Handler)

    def get_request(self) -> tuple[socket.socket, tuple]:
        sock, address = self.socket.accept()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - not TCP
            pass
        return sock, address

    def handle_error(self, request, client_address) -> None:
        err = sys.exc_info()[1]
        if isinstance(err, OSError):  # a client that went away: nothing to tell
            return
        log.exception("web connection failed")

    def finish_request(self, request: socket.socket, client_address) -> None:
        # TLS handshake in the connection's own thread, bounded in time, so a slow or
        # hostile client never holds up the accept loop.
        tls = self.web.tls
        if tls is not None:
            request.settimeout(Handler.timeout)
            try:
                request = tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
            try:
                super().finish_request(request, client_address)
            finally:
                request.close()  # the plain socket was detached into this one
            return
        super().finish_request(request, client_address)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="web", daemon=True)
        thread.start()
        return thread


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` (all interfaces), as Prometheus exporters take it."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT or :PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)
