"""The HTTP endpoints: /metrics, /-/healthy, /-/ready, POST /-/reload and a landing page."""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, generate_latest

from exporter import __version__, exposition
from exporter.api import MAX_BODY
from exporter.webconfig import WebConfig

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

    def _authenticated(self) -> bool:
        """Basic auth from the web config, on every endpoint. An API call with a bearer
        token is the API's to check: one Authorization header cannot carry both."""
        web = self.server.web
        if not web.users:
            return True
        given = self.headers.get("Authorization") or ""
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and self.path.startswith("/api/"):
            return True
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            if user and web.check(user, password):
                return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="sla-exporter", charset="UTF-8"')
        body = b"unauthorized\n"
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return False

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence access logs
        pass

    def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
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
            logging.getLogger("sla_exporter").exception("support API request failed")
            status, doc = 500, {"error": "internal error; see the exporter's log"}
        self._send(status, (json.dumps(doc, indent=2) + "\n").encode(), "application/json")

    def _body(self) -> bytes | None:
        """The request body, or None after answering 413 for one over the API's limit."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True  # the unread body would desynchronize keep-alive
            self._send(413 if length > 0 else 400, (json.dumps(
                {"error": f"body larger than {MAX_BODY} bytes" if length > 0 else "bad Content-Length"}) + "\n"
            ).encode(), "application/json")
            return None
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if not self._authenticated():
            return
        ep = self.server.endpoints
        path = self.path.split("?", 1)[0]
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
        body = self._body()  # read it all so keep-alive connections stay in sync
        if body is None or not self._authenticated():
            return
        if self.path.startswith("/api/"):
            self._api(body)
        elif self.path.split("?", 1)[0] == "/-/reload":
            ok, message = self.server.endpoints.reload()
            self._send(200 if ok else 500, (message + "\n").encode())
        else:
            self._send(404 if self.path != "/metrics" else 405, b"not found\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoints: Endpoints, web: WebConfig | None = None):
        self.endpoints = endpoints
        self.web = web or WebConfig()  # replaced as a whole on reload
        super().__init__(address, Handler)

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
