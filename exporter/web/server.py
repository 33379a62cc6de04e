"""The HTTP endpoints: /metrics, /-/healthy, /-/ready, POST /-/reload and a landing page.

Connections are bounded: each is served by a thread of its own (from a pool that grows to
the limit and stays, so that a flood of connections costs no thread starts), and at most
``Server.max_connections`` are open at once, a number derived from the open-files limit (raised to its hard limit at
start where allowed) so that probes and the store always have descriptors left. A
connection counts as idle until a whole request (headers and body) has been read, and again
between keep-alive requests; at the limit a new connection closes the one idle the longest,
so a crowd of idle or trickling clients cannot keep a scraper out. Only when every
connection is busy answering is the new one closed at once.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import html
import json
import logging
import queue
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder, generate_latest

from exporter import __version__, metrics as m
from exporter.web import exposition
from exporter.web.api import MAX_BODY
from exporter.web.webconfig import WebConfig

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
<li><code>/report?month=YYYY-MM[&amp;tenant=T]</code>: the monthly report, printable</li>
<li><a href="/api/v1/incidents?open=true">/api/v1/incidents</a> and
<a href="/api/v1/service-requests">/api/v1/service-requests</a>: support clocks</li>
</ul>
<p><code>POST /-/reload</code> reloads the config file.</p>
</body></html>
"""

MAX_CONNECTIONS = 512  # never more, however high the open-files limit
MIN_CONNECTIONS = 8  # never fewer, however low it is
FD_RESERVE = 64  # descriptors kept for the process itself (store, logs, libraries) before sharing
CLOSING_SLACK = 32  # closed connections whose threads have not let go of their socket yet
_LENGTH = re.compile(r"[0-9]{1,18}")  # noqa: RUF003 - ASCII digits only: int() would take "+5", "5_0" and "٥"


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit where the system allows it (as Go
    programs do); returns the soft limit in force afterwards."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not a POSIX system
        return 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):  # e.g. macOS refuses an unlimited soft limit: keep ours
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return sys.maxsize if soft == resource.RLIM_INFINITY else soft


def connection_limit(open_files: int) -> int:
    """Connections for the web server: half of the descriptors left after ``FD_RESERVE``
    (the other half is for probes, whose pool may need two each), within
    [``MIN_CONNECTIONS``, ``MAX_CONNECTIONS``]. 256 open files give 96 connections, 1024
    give 480."""
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, (open_files - FD_RESERVE) // 2))


class Endpoints:
    """What the handler needs from the daemon."""

    def __init__(
        self,
        registry: CollectorRegistry,
        ready: Callable[[], tuple[bool, str]],
        reload: Callable[[], tuple[bool, str]],
        api=None,
        report: Callable[[str], tuple[int, str]] | None = None,
        scraped: Callable[[], None] = lambda: None,
    ):
        self.registry, self.ready, self.reload, self.api = registry, ready, reload, api
        # /report: the query string -> (status, HTML page or a one-line reason)
        self.report = report
        self.scraped = scraped  # after each /metrics answer, its body and lists freed


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

    def setup(self) -> None:
        super().setup()
        self.conn = getattr(self.server.current, "conn", None)

    def handle_one_request(self) -> None:
        self.server.idle(self.conn)  # waiting for a request: may be closed for a newcomer
        self.body = b""
        try:
            super().handle_one_request()
            self.wfile.flush()  # also an error answered from parse_request
        except OSError:  # the client went away, or the connection was closed for another one
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
        self.server.busy(self.conn)
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
            self._unauthorized(
                path,
                "invalid bearer token"
                if api is not None and api.has_token()
                else "basic auth required (the support API has no token configured)",
            )
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

    def log_message(self, format: str, *args) -> None:  # silence access logs
        pass

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: list[tuple[str, str]] = (),
        close: bool = False,
    ) -> None:
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

    def do_GET(self) -> None:
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
            ep.scraped()
        elif path == "/-/healthy":
            self._send(200, b"OK\n")
        elif path == "/-/ready":
            ok, why = ep.ready()
            self._send(200 if ok else 503, (why + "\n").encode())
        elif path == "/":
            self._send(200, LANDING.format(version=html.escape(__version__)).encode(), "text/html; charset=utf-8")
        elif path == "/-/reload":
            self._send(405, b"use POST to reload the config\n")
        elif path == "/report" and ep.report is not None:
            self._report(ep.report)
        else:
            self._send(404, b"not found\n")

    def _report(self, page: Callable[[str], tuple[int, str]]) -> None:
        try:
            status, text = page(self.path.partition("?")[2])
        except Exception:  # a bug or a store failure: answer, log, keep serving
            log.exception("report page failed")
            status, text = 500, "internal error; see the exporter's log\n"
        kind = "text/html; charset=utf-8" if status == 200 else "text/plain; charset=utf-8"
        self._send(status, text.encode(), kind)

    do_HEAD = do_GET

    def do_POST(self) -> None:
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


class _Connection:
    """One accepted connection, as the server keeps count of it."""

    __slots__ = ("closing", "idle_since", "sock")

    def __init__(self, sock: socket.socket):
        self.sock: socket.socket | None = sock  # None once it is being closed by its thread
        self.idle_since: float | None = time.monotonic()  # None while a request is answered
        self.closing = False  # shut down by the server to make room


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst of connections waits in the backlog, not in SYN retries

    def __init__(
        self,
        address: tuple[str, int],
        endpoints: Endpoints,
        web: WebConfig | None = None,
        max_connections: int | None = None,
    ):
        self.endpoints = endpoints
        self.web = web or WebConfig()  # replaced as a whole on reload
        self.web_config_ok = True  # False after a refused reload of the web config file
        open_files = raise_open_files_limit()
        self.max_connections = max_connections or connection_limit(open_files)
        self.connections_dropped = 0
        self.current = threading.local()  # .conn: the _Connection of the thread serving it
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        # Connection threads: each serves one connection at a time, then waits for the next.
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._workers = self._waiting = self._queued = 0
        self._warned = 0.0
        super().__init__(address, Handler)
        endpoints.registry.register(WebCollector(self))
        log.debug(
            "web server limits",
            extra={"fields": {"max_connections": self.max_connections, "open_files_limit": open_files}},
        )

    # -- connection bookkeeping ------------------------------------------------------------

    def get_request(self) -> tuple[socket.socket, tuple]:
        try:
            sock, address = self.socket.accept()
        except OSError as err:
            if err.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                # Out of descriptors all the same: pause rather than spin on a listening
                # socket that stays readable; the connection waits in the backlog.
                self._warn("out of file descriptors; not accepting connections for a moment")
                time.sleep(0.1)
            raise
        with contextlib.suppress(OSError):  # not TCP
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def process_request(self, request: socket.socket, client_address) -> None:
        conn = self._admit(request)
        if conn is None:
            self.shutdown_request(request)
            return
        with self._lock:
            self._queued += 1
            grow = self._queued > self._waiting and self._workers < self.max_connections + CLOSING_SLACK
            if grow:
                self._workers += 1
        self._queue.put((request, client_address, conn))
        if grow:
            try:
                threading.Thread(target=self._work, name="web-connection", daemon=True).start()
            except RuntimeError:  # no thread to be had: the ones there are take it in turn
                with self._lock:
                    self._workers -= 1

    def _work(self) -> None:
        while True:
            with self._lock:
                self._waiting += 1
            item = self._queue.get()
            with self._lock:
                self._waiting -= 1
                self._queued -= item is not None
            if item is None:  # server_close
                return
            self._serve(*item)

    def server_close(self) -> None:
        super().server_close()
        with self._lock:
            workers = self._workers
        for _ in range(workers):
            self._queue.put(None)

    def _serve(self, request: socket.socket, client_address, conn: _Connection) -> None:
        self.current.conn = conn
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - socketserver's policy: handle_error reports it, the worker lives on
            self.handle_error(request, client_address)
        finally:
            self._release(conn)  # before the close: the descriptor may be reused at once
            self.shutdown_request(request)

    def _admit(self, request: socket.socket) -> _Connection | None:
        """Count a new connection in, closing the one idle the longest to make room at the
        limit; None (close the new one) when every connection is busy."""
        with self._lock:
            open_now = [c for c in self._connections if not c.closing]
            at_limit = len(open_now) >= self.max_connections
            idle = [c for c in open_now if c.idle_since is not None and c.sock is not None] if at_limit else []
            if idle:
                victim = min(idle, key=lambda c: c.idle_since)
                victim.closing = True
                self.connections_dropped += 1
                with contextlib.suppress(OSError):  # its thread sees the end of the stream and lets go of it
                    socket.socket.shutdown(victim.sock, socket.SHUT_RDWR)
            # Connections still closing count too, up to a few: never past the descriptors set aside.
            if (at_limit and not idle) or len(self._connections) >= self.max_connections + CLOSING_SLACK:
                conn = None
                self.connections_dropped += 1
            else:
                conn = _Connection(request)
                self._connections.add(conn)
        if at_limit:
            self._warn(
                "at the connection limit; closing the connections idle the longest"
                if idle
                else "at the connection limit with every connection busy; closing new ones"
            )
        return conn

    def _release(self, conn: _Connection) -> None:
        with self._lock:
            conn.sock = None
            self._connections.discard(conn)

    def _rebind(self, conn: _Connection | None, sock: socket.socket | None) -> None:
        """The socket object that now owns the connection's descriptor (TLS), or None."""
        if conn is not None:
            with self._lock:
                conn.sock = sock

    def idle(self, conn: _Connection | None) -> None:
        if conn is not None:
            with self._lock:
                conn.idle_since = time.monotonic()

    def busy(self, conn: _Connection | None) -> None:
        if conn is not None:
            with self._lock:
                conn.idle_since = None

    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned >= 60:  # at most once a minute: an attack must not flood the log
            self._warned = now
            log.warning(
                message,
                extra={"fields": {"max_connections": self.max_connections, "dropped_total": self.connections_dropped}},
            )

    def handle_error(self, request, client_address) -> None:
        err = sys.exc_info()[1]
        if isinstance(err, OSError):  # a client that went away: nothing to tell
            return
        log.exception("web connection failed")

    # -- TLS ------------------------------------------------------------------------------

    def finish_request(self, request: socket.socket, client_address) -> None:
        # TLS handshake in the connection's own thread, bounded in time, so a slow or
        # hostile client never holds up the accept loop (and it counts as idle meanwhile).
        tls = self.web.tls
        if tls is None:
            super().finish_request(request, client_address)
            return
        conn = getattr(self.current, "conn", None)
        request.settimeout(Handler.timeout)
        try:
            wrapped = tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except (ssl.SSLError, OSError):
            return
        self._rebind(conn, wrapped)  # the plain socket was detached into this one
        try:
            try:
                wrapped.do_handshake()
            except (ssl.SSLError, OSError):
                return
            super().finish_request(wrapped, client_address)
        finally:
            self._rebind(conn, None)
            wrapped.close()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="web", daemon=True)
        thread.start()
        return thread


class WebCollector:
    """The web server's own health, for /metrics."""

    def __init__(self, server: Server):
        self.server = server

    def collect(self):
        s = self.server
        for metric, value in (
            (m.WEB_CONFIG_RELOAD_OK, float(s.web_config_ok)),
            (m.WEB_CONNECTIONS_OPEN, s.open_connections()),
            (m.WEB_CONNECTIONS_LIMIT, s.max_connections),
        ):
            yield GaugeMetricFamily(metric.name, metric.help, value=value)
        dropped = m.WEB_CONNECTIONS_DROPPED
        yield CounterMetricFamily(dropped.name.removesuffix("_total"), dropped.help, value=s.connections_dropped)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` (all interfaces), as Prometheus exporters take it."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT or :PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)
