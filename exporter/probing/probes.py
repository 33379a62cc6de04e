"""The HTTP(S) prober: one GET per run, judged against a ``model.Probe``.

I/O at the edge, nothing else: no scheduling (the daemon's scheduler awaits ``Prober.run`` on
the prober's event loop, one run per probe at a time) and no storage. A run never raises for
problems of the target; it returns a ``ProbeResult`` whose ``reason`` is one of ``REASONS``:
the vendor's failures (``model.VENDOR_REASONS``: refused or reset by the target, timeout, TLS,
bad status or body, redirect loop, NXDOMAIN for its name) or ours (``model.OUR_REASONS``: a
missing secret or bad pattern, descriptors or memory exhausted, no usable resolver, our
network unreachable, an unexpected error in this code), which the recorder never counts as
downtime::

    >>> prober = Prober()
    >>> prober.probe(Probe(name="ui", url="https://acme.example.com/health", timeout=10))
    ProbeResult(success=True, started=1790000000.0, duration=0.083, status_code=200,
                reason=None, error=None, cert_expiry=1798000000.0)

The client is a small HTTP/1.1 client on asyncio (a ``Protocol`` per connection, the stdlib
``ssl`` for TLS): one event loop thread runs every probe, so a probe waiting on a hung target
holds a socket and a few objects, not a thread. It costs about a third of what ``requests``
did per probe (docs/benchmarks.md); ``requests``, ``urllib3``, ``aiohttp`` and ``httpx`` were
measured and left more per probe than the daemon's budget allows.

What a run does:

- ``timeout`` bounds the whole run - name resolution, connecting, TLS, the request, the
  response headers and the body - as one deadline on the event loop, so a server that drips
  a byte or a header line at a time ends as ``timeout`` at the deadline. Name resolution
  (``getaddrinfo``) runs on a bounded pool of ``RESOLVER_THREADS`` threads (asyncio has no
  resolver of its own); a run waiting on a hung resolver still ends at its deadline.
- At most ``max_body_bytes`` of the (decoded) body are read; the connection is then closed
  and the truncated body is what ``expect_body`` / ``expect_body_regex`` are matched against.
- Redirects are followed up to ``MAX_REDIRECTS`` hops, each hop inside the same deadline;
  ``Authorization``, ``Cookie`` and headers taken from the environment are not sent to
  another origin; cookies a hop sets are sent on the next hops.
- Connections are kept alive per target (and TLS settings and proxy) and reused by later
  runs; proxies come from ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` as ``requests``
  read them (a ``CONNECT`` tunnel for https).
- Header values (literals and ``EnvRef`` values read from the environment at run time) never
  appear in ``error``, in log records or in exceptions raised from here.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import concurrent.futures
import errno
import functools
import http.client
import ipaddress
import logging
import os
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote, unquote, urljoin, urlsplit

from exporter import __version__
from exporter.config.patterns import compile_pattern
from exporter.config.redact import redact_userinfo
from exporter.model import OUR_REASONS, VENDOR_REASONS, EnvRef, Probe

log = logging.getLogger(__name__)

REASONS = VENDOR_REASONS + OUR_REASONS
# errno values that say the monitor ran out of something, not that the target failed.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
# No route out of this host, or no local address/port to connect from: our network.
_NETWORK_ERRNOS = frozenset({errno.ENETUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL})
# getaddrinfo answers that mean "this name does not exist": the vendor's DNS. Anything else
# (EAI_AGAIN: no resolver answered; EAI_FAIL, EAI_SYSTEM, EAI_MEMORY) is our resolver's.
_NXDOMAIN = frozenset(getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name))

MAX_REDIRECTS = 5
USER_AGENT = f"sla-exporter/{__version__}"
# The most one socket read brings (asyncio reads up to 256 KiB); reading is paused while this
# much is buffered, so memory is bounded by max_body_bytes plus one read.
CHUNK_BYTES = 256 * 1024
REDIRECT_BODY_BYTES = 64 * 1024  # read from a redirect response to keep its connection alive
MAX_HEAD_BYTES = 64 * 1024  # status line and headers of one response
RESOLVER_THREADS = 8  # getaddrinfo calls at once (only new connections resolve)
IDLE_PER_TARGET = 32  # idle keep-alive connections kept per target (fewer: churn after a burst)
BIG_BODY = 256 * 1024  # bodies at least this long are matched off the event loop
# Hop-to-hop auth and anything taken from the environment is not sent to another origin.
_CROSS_ORIGIN_DROPPED = frozenset({"authorization", "proxy-authorization", "cookie"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# requests' requote_uri: characters kept as they are in a URL's path and query.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_DEFAULT_HEADERS = (
    ("User-Agent", USER_AGENT),
    ("Accept-Encoding", "gzip, deflate"),
    ("Accept", "*/*"),
    ("Connection", "keep-alive"),
)
# requests' rule for verify=True (read once: the environment of the process, not of a probe).
_ENV_CA_BUNDLE = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


@dataclass(frozen=True)
class ProbeResult:
    success: bool
    started: float  # wall-clock epoch seconds when the request began
    duration: float  # seconds, monotonic clock
    status_code: int | None  # None when no response arrived
    reason: str | None  # one of REASONS when not success, else None
    error: str | None  # short human message; never contains header values
    cert_expiry: float | None  # notAfter of the peer certificate (epoch s), https only

    @property
    def ours(self) -> bool:
        """The run failed for a reason of the monitor's own: not the vendor's downtime."""
        return self.reason in OUR_REASONS


class _Failure(Exception):
    """A run that ended with a verdict (reason + message already safe to show)."""

    def __init__(self, reason: str, error: str):
        super().__init__(reason, error)
        self.reason = reason
        self.error = error


class ProxyError(OSError):
    """Connecting to (or tunnelling through) the proxy failed; the message names the proxy
    without its credentials."""


class _Run:
    """What one run learned so far (kept when it fails half-way)."""

    def __init__(self, deadline: float):
        self.deadline = deadline  # event loop time
        self.status_code: int | None = None
        self.cert_expiry: float | None = None
        self.host: str = ""


class Prober:
    """Runs probes on one event loop thread of its own; ``close()`` when done.

    ``run(probe)`` is the coroutine (await it on ``loop``); ``probe(probe)`` runs it from any
    other thread and waits for the result. Idle keep-alive connections are kept per target
    ``(scheme, host, port, TLS settings, proxy)``, most recently used first; runs that overlap
    in time use a connection each.
    """

    def __init__(
        self,
        max_body_bytes: int = 1 << 20,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] = os.environ,
    ):
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        self.max_body_bytes = max_body_bytes
        self._clock = clock
        self._monotonic = monotonic
        self._environ = environ
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._idle: dict[tuple, list[_Conn]] = {}  # touched on the loop thread only
        self._proxies: dict[tuple[str, str], str | None] = {}
        self._targets: dict[str, _Target] = {}  # parsed URLs (a run reads its target, never changes it)
        self._generation = 0  # bumped by close(): connections from before are not reused
        self.loop  # started now: a process out of descriptors later can still probe  # noqa: B018

    # ------------------------------------------------------------------ public API

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop every run of this prober runs on (started on first use)."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                loop.set_default_executor(
                    concurrent.futures.ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="probe-resolver")
                )
                thread = threading.Thread(target=_serve, args=(loop,), name="probe-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def probe(self, probe: Probe) -> ProbeResult:
        """Run ``probe`` once from a thread other than the loop's, and wait for the result."""
        try:
            loop = self.loop
        except OSError as exc:  # no descriptors left for an event loop: ours
            reason, error = _classify(exc, probe, _Run(0.0))
            now = self._clock()
            return ProbeResult(False, now, 0.0, None, reason or "internal", error or str(exc), None)
        return asyncio.run_coroutine_threadsafe(self.run(probe), loop).result()

    async def run(self, probe: Probe) -> ProbeResult:
        """Run ``probe`` once. Never raises for problems of the target or its config.

        The body is read up to ``max_body_bytes``; when it is longer, the connection is closed
        there and ``expect_body`` / ``expect_body_regex`` are matched against that truncated
        prefix only (decoded with the response's charset, else UTF-8, bad bytes replaced).
        """
        loop = asyncio.get_running_loop()
        started = self._clock()
        t0 = self._monotonic()
        run = _Run(deadline=loop.time() + probe.timeout)
        secrets: list[str] = []
        try:
            headers, secrets = self._headers(probe)
            async with asyncio.timeout_at(run.deadline):
                await self._run(probe, headers, secrets, run)
        except _Failure as failure:
            reason, error = failure.reason, failure.error
        except Exception as exc:  # noqa: BLE001 - a probe run must never raise
            if isinstance(exc, TimeoutError) or loop.time() >= run.deadline:
                reason, error = "timeout", f"timed out after {probe.timeout:g}s"
            else:
                reason, error = _classify(exc, probe, run)
            if reason is None:  # a fault in this code or a library, not the vendor's
                reason, error = "internal", _safe_text(f"{type(exc).__name__}: {exc}", secrets)
                log.warning("probe %s: unexpected %s", redact_userinfo(probe.url), error)
                log.debug("%s", _safe_text("".join(traceback.format_exception(exc)), secrets, limit=None))
        else:
            reason = error = None
        return ProbeResult(
            success=reason is None,
            started=started,
            duration=max(0.0, self._monotonic() - t0),
            status_code=run.status_code,
            reason=reason,
            error=None if error is None else _safe_text(error, secrets),
            cert_expiry=run.cert_expiry,
        )

    def close(self) -> None:
        """Close the idle connections and stop the loop once the runs under way end (their
        own deadlines end them). A later ``probe`` starts afresh."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._generation += 1
        if loop is None or thread is None:
            return
        if thread is threading.current_thread():  # from a run's own callback: just stop
            loop.call_soon(self._close_idle)
            loop.call_soon(loop.stop)
            return
        with _suppress_closed():
            asyncio.run_coroutine_threadsafe(self._drain(), loop).result(timeout=60)
        with _suppress_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._idle.clear()
        self._proxies.clear()
        self._targets.clear()

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    async def _drain(self) -> None:
        self._close_idle()
        me = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not me]
        if others:
            await asyncio.wait(others)
        self._close_idle()

    def _close_idle(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    # ------------------------------------------------------------------ connections

    def _checkout(self, key: tuple) -> _Conn | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _checkin(self, conn: _Conn) -> None:
        if conn.generation != self._generation or not conn.usable():
            conn.close()
            return
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) >= IDLE_PER_TARGET:
            idle.pop(0).close()  # the least recently used
        idle.append(conn)

    def _target(self, url: str, probe: Probe) -> _Target:
        target = _Target.parse(url, probe)  # _Failure for a bad URL: not kept
        if len(self._targets) >= 100_000:  # redirect targets too: bounded
            self._targets.clear()
        self._targets[url] = target
        return target

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        """The proxy ``requests`` would use for this target, from the process environment
        (read once per target: a fifth of a probe's CPU when read on every run)."""
        key = (scheme, host)
        if key not in self._proxies:
            proxies = urllib.request.getproxies_environment()
            proxy = None
            if not urllib.request.proxy_bypass_environment(host, proxies):
                proxy = proxies.get(scheme) or proxies.get("all")
            self._proxies[key] = proxy or None
        return self._proxies[key]

    async def _connect(self, scheme: str, host: str, port: int, context: ssl.SSLContext | None, proxy, key) -> _Conn:
        loop = asyncio.get_running_loop()
        conn = _Conn(key, self._generation)
        if proxy is None:
            sock = await _open_socket(loop, host, port)
            await _attach(loop, conn, sock, context, host)
            return conn
        p_host, p_port, p_auth = proxy
        try:
            sock = await _open_socket(loop, p_host, p_port)
        except OSError as exc:
            if exc.errno in _RESOURCE_ERRNOS | _NETWORK_ERRNOS:
                raise
            raise ProxyError(f"Unable to connect to proxy {_proxy_text(p_host, p_port)}") from exc
        await _attach(loop, conn, sock, None, p_host)
        if context is not None:  # https through the proxy: a CONNECT tunnel, then TLS inside
            authority = _authority(host, port)
            lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
            if p_auth:
                lines.append(f"Proxy-Authorization: {p_auth}")
            conn.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            status, _headers, _version = await conn.read_head()
            if status != 200:
                conn.close()
                raise ProxyError(f"Tunnel connection failed: {status} (proxy {_proxy_text(p_host, p_port)})")
            conn.transport = await loop.start_tls(conn.transport, conn, context, server_hostname=host)
            conn.cert_expiry = _cert_expiry(conn.transport)
        return conn

    # ------------------------------------------------------------------ one run

    def _headers(self, probe: Probe) -> tuple[dict[str, tuple[str, str]], list[str]]:
        """The request headers (lower-case name -> (name, value)), and the values to redact
        from messages: every value taken from the environment, and literal values long
        enough not to clash with message text (a literal ``1`` must not turn ``status 301``
        into ``status 30[redacted]``)."""
        headers: dict[str, tuple[str, str]] = {}
        secrets: list[str] = []
        for name, value in probe.headers:
            secret = isinstance(value, EnvRef)
            if secret:
                found = self._environ.get(value.env)
                if found is None:
                    raise _Failure("config", f"environment variable {value.env} is not set")
                value = found
            if secret or len(value) >= 4:
                secrets.append(value)
            if "\r" in value or "\n" in value or "\0" in value or value[:1] in (" ", "\t"):
                raise _Failure("config", f"header {name}: value contains line breaks or leading whitespace")
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise _Failure("config", f"header {name}: value is not Latin-1 text") from None
            headers[name.lower()] = (name, value)
        return headers, secrets

    async def _run(self, probe: Probe, headers: dict[str, tuple[str, str]], secrets: list[str], run: _Run) -> None:
        sensitive = {name.lower() for name, value in probe.headers if isinstance(value, EnvRef)}
        sensitive |= _CROSS_ORIGIN_DROPPED
        jar = _Jar()
        url = probe.url
        for hop in range(MAX_REDIRECTS + 1):
            target = self._targets.get(url) or self._target(url, probe)
            run.host = target.host
            response = await self._exchange(target, probe, headers, jar, secrets, run)
            run.status_code = response.status
            run.cert_expiry = response.conn.cert_expiry if target.scheme == "https" else None
            try:
                jar.update(response.headers, target)
                location = response.header("location") if response.status in _REDIRECTS else None
                if location is None:
                    await self._judge(response, probe, run)
                    return
                if hop == MAX_REDIRECTS:
                    raise _Failure("redirect", f"more than {MAX_REDIRECTS} redirects (redirect loop?)")
                await response.read_body(REDIRECT_BODY_BYTES)  # keeps the connection when short
                next_url = _redirect_url(url, location.encode("latin-1").decode("utf-8", "replace"))
                if _should_strip_auth(url, next_url):
                    headers = {k: v for k, v in headers.items() if k not in sensitive}
                url = next_url
            finally:
                response.release(self)

    async def _exchange(self, target, probe, headers, jar, secrets, run) -> _Response:
        """Send the request on a kept-alive connection or a new one; one retry on a fresh
        connection when a kept-alive one turns out closed before any byte of the answer."""
        https = target.scheme == "https"
        proxy = self._proxy(target)
        # TLS settings by name: the context (CA certificates loaded) only for a new connection
        key = (target.scheme, target.host, target.port, (probe.tls_verify, probe.ca_file) if https else None, proxy)
        forward = proxy if proxy is not None and target.scheme == "http" else None  # else direct or tunnelled
        request = _request_bytes(target, headers, jar, forward, secrets)
        for attempt in (0, 1):
            conn = self._checkout(key) if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                context = _ssl_context(probe) if https else None
                conn = await self._connect(target.scheme, target.host, target.port, context, proxy, key)
            try:
                conn.transport.write(request)
                status, response_headers, version = await conn.read_head()
            except (ConnectionError, http.client.RemoteDisconnected):
                conn.close()
                if reused and not conn.received:
                    continue  # the server closed the idle connection as we sent
                raise
            except BaseException:
                conn.close()
                raise
            return _Response(conn, status, response_headers, version, run)
        raise AssertionError("unreachable")  # pragma: no cover

    def _proxy(self, target: _Target) -> tuple[str, int, str | None] | None:
        url = self._proxy_for(target.scheme, target.host)
        if url is None:
            return None
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme.lower() != "http":
            raise _Failure("config", f"proxy {redact_userinfo(url)}: only http:// proxies are supported")
        auth = None
        if parts.username is not None:
            creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            auth = "Basic " + base64.b64encode(creds.encode("latin-1", "replace")).decode()
        return (parts.hostname or "", parts.port or 80, auth)

    async def _judge(self, response: _Response, probe: Probe, run: _Run) -> None:
        status = response.status
        if probe.expect_status:
            if status not in probe.expect_status:
                wanted = ", ".join(str(s) for s in probe.expect_status)
                many = len(probe.expect_status) > 1
                raise _Failure("status", f"status {status}, expected {'one of ' if many else ''}{wanted}")
        elif not 200 <= status < 300:
            raise _Failure("status", f"status {status}, expected 2xx")
        body, complete = await response.read_body(self.max_body_bytes)
        if probe.expect_body is None and probe.expect_body_regex is None:
            return
        if len(body) >= BIG_BODY:  # decoding and matching a big body: off the event loop
            verdict = await asyncio.get_running_loop().run_in_executor(None, _match, body, complete, response, probe)
        else:
            verdict = _match(body, complete, response, probe)
        if verdict is not None:
            raise verdict


def _match(body: bytes, complete: bool, response: _Response, probe: Probe) -> _Failure | None:
    text = body.decode(_codec(response.encoding()), errors="replace")
    scope = "" if complete else f" (in the first {len(body)} bytes)"
    if probe.expect_body is not None and probe.expect_body not in text:
        return _Failure("body", f"body does not contain the expected text{scope}")
    if probe.expect_body_regex is not None:
        try:
            pattern = compile_pattern(probe.expect_body_regex)
        except ValueError as exc:
            return _Failure("config", f"expect_body_regex: {exc}")
        if pattern.search(text) is None:
            return _Failure("body", f"body does not match the expected pattern{scope}")
    return None


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


class _suppress_closed:
    """``RuntimeError: Event loop is closed`` when the loop already stopped: nothing to do."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        return kind is RuntimeError


# ---------------------------------------------------------------------- the HTTP client


class _Target:
    __slots__ = ("auth", "authority", "host", "path", "port", "scheme", "url")

    @classmethod
    def parse(cls, url: str, probe: Probe) -> _Target:
        bad = _Failure("connection", f"invalid URL {redact_userinfo(url)!r}")
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            host = parts.hostname
            port = parts.port
        except ValueError:  # e.g. a bad port
            raise bad from None
        if scheme not in _DEFAULT_PORTS or not host:
            raise bad
        t = cls()
        # Interned: a fleet's 30,000 targets name a few schemes and hosts (5 MB as copies).
        t.scheme, t.host, t.url = sys.intern(scheme), sys.intern(host), url
        t.port = port or _DEFAULT_PORTS[scheme]
        authority = parts.netloc.rpartition("@")[2]
        if port == _DEFAULT_PORTS[scheme]:
            authority = authority.rpartition(":")[0]
        t.authority = sys.intern(authority)
        path = quote(parts.path or "/", safe=_URL_SAFE)
        t.path = path + ("?" + quote(parts.query, safe=_URL_SAFE) if parts.query else "")
        t.auth = None
        if parts.username is not None:  # as requests: URL userinfo is sent as basic auth
            creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            t.auth = "Basic " + base64.b64encode(creds.encode("latin-1", "replace")).decode()
        return t


def _request_bytes(target: _Target, headers, jar: _Jar, forward, secrets: list[str]) -> bytes:
    """The request; ``forward``: the (host, port, auth) of an http proxy it is sent through."""
    lines = [f"GET {_origin(target) + target.path if forward else target.path} HTTP/1.1", f"Host: {target.authority}"]
    given = headers
    if forward is not None and forward[2] is not None and "proxy-authorization" not in given:
        secrets.append(forward[2])
        lines.append(f"Proxy-Authorization: {forward[2]}")
    for name, value in _DEFAULT_HEADERS:
        if name.lower() not in given:
            lines.append(f"{name}: {value}")
    if target.auth is not None and "authorization" not in given:
        secrets.append(target.auth)
        lines.append(f"Authorization: {target.auth}")
    cookie = jar.header(target)
    if cookie and "cookie" not in given:
        lines.append(f"Cookie: {cookie}")
    for name, value in given.values():
        if name.lower() == "host":
            lines[1] = f"Host: {value}"
        else:
            lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _origin(target: _Target) -> str:
    return f"{target.scheme}://{target.authority}"


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _proxy_text(host: str, port: int) -> str:
    return f"http://{_authority(host, port)}/"


@functools.lru_cache(maxsize=65536)
def _literal_family(host: str) -> int | None:
    """The address family of an IP literal (None for a name to resolve); parsing one costs
    as much as a tenth of a run."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None


async def _open_socket(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """A connected non-blocking TCP socket; each address in turn, the last error raised
    (as urllib3 does)."""
    family = _literal_family(host)
    if family is not None:
        infos = [(family, (host, port))]
    else:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        infos = [(family, addr) for family, _type, _proto, _name, addr in found]
    error: OSError | None = None
    for family, addr in infos:
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # EMFILE: raised, ours
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_connect(sock, addr)
            return sock
        except OSError as exc:
            sock.close()
            # asyncio words it "Connect call failed (addr)": the kernel's words, as before
            error = type(exc)(exc.errno, os.strerror(exc.errno)) if exc.errno else exc
        except BaseException:
            sock.close()
            raise
    raise error or OSError(f"no address for {host}")


async def _attach(loop, conn: _Conn, sock: socket.socket, context: ssl.SSLContext | None, host: str) -> None:
    try:
        if context is None:
            await loop.create_connection(lambda: conn, sock=sock)
        else:
            await loop.create_connection(lambda: conn, sock=sock, ssl=context, server_hostname=host)
            conn.cert_expiry = _cert_expiry(conn.transport)
    except BaseException:
        sock.close()
        raise


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection: bytes received are buffered until the run reads them."""

    def __init__(self, key: tuple, generation: int):
        self.key, self.generation = key, generation
        self.transport = None
        self.buf = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.received = False  # any byte of the current response
        self.reusable = False
        self.cert_expiry: float | None = None
        self._waiter: asyncio.Future | None = None
        self._paused = False

    # protocol callbacks
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self.received = True
        if len(self.buf) >= CHUNK_BYTES and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # used by a run
    def usable(self) -> bool:
        return self.reusable and not self.eof and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    async def more(self) -> None:
        """Wait for more bytes; raise when the connection ended."""
        if self._paused:
            self._paused = False
            self.transport.resume_reading()
        if self.eof:
            if self.error is not None:
                raise self.error
            raise ConnectionResetError(errno.ECONNRESET, "Connection closed by peer")
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        await waiter

    def take(self, n: int) -> bytes:
        data = bytes(self.buf[:n])
        del self.buf[:n]
        if self._paused and len(self.buf) < CHUNK_BYTES:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def read_head(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, version) of the next final response (1xx skipped)."""
        self.received = bool(self.buf)
        self.reusable = False
        while True:
            start = 0
            while (end := self.buf.find(b"\r\n\r\n", start)) < 0:
                if len(self.buf) > MAX_HEAD_BYTES:
                    raise http.client.LineTooLong("header")
                start = max(0, len(self.buf) - 3)
                if self.eof:
                    if self.error is not None:
                        raise self.error
                    if not self.buf:
                        raise http.client.RemoteDisconnected("Remote end closed connection without response")
                    raise http.client.BadStatusLine(bytes(self.buf[:80]).decode("latin-1"))
                await self.more()
            head = self.take(end + 4)[:-4].decode("latin-1")
            lines = head.split("\r\n")
            status_line = lines[0].split(None, 2)
            if len(status_line) < 2 or not status_line[0].startswith("HTTP/") or not status_line[1].isdigit():
                raise http.client.BadStatusLine(lines[0][:80])
            status = int(status_line[1])
            if not 100 <= status <= 999:
                raise http.client.BadStatusLine(lines[0][:80])
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue and friends: the final response follows
            headers: list[tuple[str, str]] = []
            for line in lines[1:]:
                if line[:1] in (" ", "\t") and headers:  # obsolete line folding
                    name, value = headers[-1]
                    headers[-1] = (name, value + " " + line.strip())
                    continue
                name, sep, value = line.partition(":")
                if sep:
                    headers.append((name.strip().lower(), value.strip()))
            return status, headers, status_line[0].encode()


class _Response:
    def __init__(self, conn: _Conn, status: int, headers: list[tuple[str, str]], version: bytes, run: _Run):
        self.conn, self.status, self.headers, self.run = conn, status, headers, run
        self.done = False  # the body was read to its end: the connection may be reused
        connection = (self.header("connection") or "").lower()
        keep = "keep-alive" in connection if version == b"HTTP/1.0" else "close" not in connection
        self.keep_alive = keep

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def encoding(self) -> str | None:
        """The response's charset the way requests reads it (text/* defaults to ISO-8859-1)."""
        content_type = self.header("content-type")
        if not content_type:
            return None
        kind, *params = content_type.split(";")
        for param in params:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "charset":
                return value.strip(" '\"") or None
        if "text" in kind.lower():
            return "ISO-8859-1"
        if "application/json" in kind.lower():
            return "utf-8"
        return None

    async def read_body(self, limit: int) -> tuple[bytes, bool]:
        """At most ``limit`` bytes of the (decoded) body: ``(body, reached_end)``."""
        conn = self.conn
        decoder = _decoder(self.header("content-encoding"))
        parts: list[bytes] = []
        total = 0

        def add(data: bytes) -> bool:  # False when the limit is reached
            nonlocal total
            if decoder is not None:
                data = decoder.decompress(data, max(1, limit - total))
            parts.append(data)
            total += len(data)
            return total < limit

        if self.status in (204, 304) or self.status < 200:
            self.done = True
            return b"", True
        chunked = "chunked" in (self.header("transfer-encoding") or "").lower()
        length = None if chunked else _content_length(self.header("content-length"))
        if length is not None:
            left = length
            while left > 0:
                if not conn.buf:
                    try:
                        await conn.more()
                    except ConnectionResetError as exc:
                        if conn.error is None:  # a clean close before the end
                            raise http.client.IncompleteRead(length - left, left) from exc
                        raise
                data = conn.take(min(left, len(conn.buf)))
                left -= len(data)
                if not add(data) and left > 0:
                    return b"".join(parts)[:limit], False
        elif chunked:
            while True:
                size_line = await _line(conn)
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise http.client.HTTPException("bad chunk size") from None
                if size == 0:
                    while await _line(conn):  # trailers up to the blank line
                        pass
                    break
                left = size
                while left > 0:
                    if not conn.buf:
                        await conn.more()
                    data = conn.take(min(left, len(conn.buf)))
                    left -= len(data)
                    if not add(data):
                        return b"".join(parts)[:limit], False
                await _line(conn)
        else:  # no length: the body ends when the connection does
            self.keep_alive = False
            while True:
                if conn.buf:
                    if not add(conn.take(len(conn.buf))):
                        return b"".join(parts)[:limit], False
                    continue
                if conn.eof:
                    if conn.error is not None:
                        raise conn.error
                    break
                await conn.more()
        if decoder is not None and not decoder.eof and total < limit:
            tail = decoder.flush()
            parts.append(tail)
            total += len(tail)
        self.done = True
        body = b"".join(parts)
        return (body[:limit], False) if total > limit else (body, True)

    def release(self, prober: Prober) -> None:
        conn = self.conn
        if self.done and self.keep_alive and not conn.buf and not conn.eof:
            conn.reusable = True
            prober._checkin(conn)
        else:
            conn.close()


async def _line(conn: _Conn) -> bytes:
    while (end := conn.buf.find(b"\r\n")) < 0:
        if len(conn.buf) > MAX_HEAD_BYTES:
            raise http.client.LineTooLong("chunk size")
        await conn.more()
    return conn.take(end + 2)[:-2]


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        n = int(value.split(",")[0])
    except ValueError:
        return None
    return n if n >= 0 else None


class _Deflate:
    """zlib- or raw-deflate, whichever the server sent (as urllib3 decodes ``deflate``)."""

    def __init__(self) -> None:
        self._obj = zlib.decompressobj()
        self._first = True

    @property
    def eof(self) -> bool:
        return self._obj.eof

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._first:
            self._first = False
            try:
                return self._obj.decompress(data, max_length)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._obj.decompress(data, max_length)

    def flush(self) -> bytes:
        return self._obj.flush()


def _decoder(encoding: str | None):
    encoding = (encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Deflate()
    return None


class _Jar:
    """Cookies set during one run, sent on its next hops (domain, path and secure rules)."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], tuple[str, bool, bool]] = {}

    def update(self, headers: list[tuple[str, str]], target: _Target) -> None:
        for name, value in headers:
            if name != "set-cookie":
                continue
            try:
                parsed = SimpleCookie()
                parsed.load(value)
            except CookieError:
                continue
            for morsel in parsed.values():
                domain = morsel["domain"].lstrip(".").lower()
                host_only = not domain
                if host_only:
                    domain = target.host
                elif not _domain_match(target.host, domain):
                    continue  # a cookie for another site: refused, as a browser would
                path = morsel["path"] or "/"
                key = (domain, path, morsel.key)
                max_age = morsel["max-age"]
                if max_age and max_age.lstrip("-").isdigit() and int(max_age) <= 0:
                    self._cookies.pop(key, None)
                    continue
                self._cookies[key] = (morsel.value, bool(morsel["secure"]), host_only)

    def header(self, target: _Target) -> str:
        if not self._cookies:
            return ""
        path = target.path.split("?", 1)[0]
        out = []
        for (domain, cookie_path, name), (value, secure, host_only) in self._cookies.items():
            if secure and target.scheme != "https":
                continue
            if (target.host != domain) if host_only else not _domain_match(target.host, domain):
                continue
            if not path.startswith(cookie_path):
                continue
            out.append(f"{name}={value}")
        return "; ".join(out)


def _domain_match(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


# ---------------------------------------------------------------------- TLS

_contexts: dict[tuple, ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def _ssl_context(probe: Probe) -> ssl.SSLContext:
    """One context per TLS setting, built once (loading CA certificates is the costly part;
    only new connections need a context)."""
    if not probe.tls_verify:
        key: tuple = ("unverified",)
    elif probe.ca_file:
        try:
            key = ("ca_file", probe.ca_file, os.stat(probe.ca_file).st_mtime_ns)
        except OSError as exc:
            raise _Failure("config", f"cannot read ca_file {probe.ca_file!r}: {exc.strerror}") from None
    else:
        key = ("default", _ENV_CA_BUNDLE)
    context = _contexts.get(key)
    if context is not None:
        return context
    with _contexts_lock:
        if key[0] == "unverified":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif key[0] == "ca_file":
            try:
                if os.path.isdir(probe.ca_file):
                    context = ssl.create_default_context(capath=probe.ca_file)
                else:
                    context = ssl.create_default_context(cafile=probe.ca_file)
            except (OSError, ssl.SSLError) as exc:
                detail = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
                raise _Failure("config", f"cannot read ca_file {probe.ca_file!r}: {detail}") from None
            for stale in [k for k in _contexts if k[:2] == key[:2]]:
                del _contexts[stale]
        elif _ENV_CA_BUNDLE:
            context = ssl.create_default_context(cafile=_ENV_CA_BUNDLE)
        else:
            context = ssl.create_default_context()
        _contexts[key] = context
    return context


def _cert_expiry(transport) -> float | None:
    """notAfter of the peer's certificate, as epoch seconds (read once per connection).

    A verified peer's certificate is decoded by ``ssl``; an unverified one only in DER form,
    read with ``cryptography`` when that is installed (else None).
    """
    sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
    if sslobj is None:
        return None
    try:
        cert = sslobj.getpeercert()
        if cert and cert.get("notAfter"):
            return float(ssl.cert_time_to_seconds(cert["notAfter"]))
        der = sslobj.getpeercert(binary_form=True)
        if not der:
            return None
        try:  # optional, and ~14 MB: imported only when an unverified certificate is read
            from cryptography import x509
        except ImportError:  # pragma: no cover - depends on the environment
            return None
        parsed = x509.load_der_x509_certificate(der)
        after = getattr(parsed, "not_valid_after_utc", None)
        if after is None:  # cryptography < 42: naive UTC datetime
            import datetime as dt

            after = parsed.not_valid_after.replace(tzinfo=dt.UTC)
        return after.timestamp()
    except Exception:  # noqa: BLE001 - a cert we cannot read is not a failed probe
        return None


# ---------------------------------------------------------------------- helpers


def _redirect_url(current: str, location: str) -> str:
    """Resolve a Location header the way requests does (scheme-relative and relative URLs)."""
    if location.startswith("//"):
        location = f"{urlsplit(current).scheme}:{location}"
    if not urlsplit(location).netloc:
        return urljoin(current, quote(location, safe=_URL_SAFE))
    return quote(location, safe=_URL_SAFE)


def _should_strip_auth(old_url: str, new_url: str) -> bool:
    """requests' rule: credentials go to the same host only (http -> https on the standard
    ports of one host keeps them)."""
    old, new = urlsplit(old_url), urlsplit(new_url)
    if old.hostname != new.hostname:
        return True
    if old.scheme == "http" and old.port in (80, None) and new.scheme == "https" and new.port in (443, None):
        return False
    changed_port = old.port != new.port
    changed_scheme = old.scheme != new.scheme
    default_port = (_DEFAULT_PORTS.get(old.scheme), None)
    if not changed_scheme and old.port in default_port and new.port in default_port:
        return False
    return changed_port or changed_scheme


def _codec(encoding: str | None) -> str:
    if encoding:
        try:
            return codecs.lookup(encoding).name
        except LookupError:
            pass
    return "utf-8"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts, and exceptions it carries in args or ``reason``."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        linked = [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
        todo.extend(x for x in linked if isinstance(x, BaseException))


def _first(chain: list[BaseException], kinds) -> BaseException | None:
    return next((e for e in chain if isinstance(e, kinds)), None)


def _classify(exc: BaseException, probe: Probe, run: _Run) -> tuple[str | None, str | None]:
    """(reason, safe message) for an exception of a run; (None, None) if unknown."""
    chain = list(_causes(exc))
    exhausted = next((e for e in chain if isinstance(e, OSError) and e.errno in _RESOURCE_ERRNOS), None)
    if exhausted is not None:
        return (
            "resources",
            f"out of {'memory' if exhausted.errno == errno.ENOMEM else 'descriptors or buffers'}: "
            f"{exhausted.strerror or errno.errorcode.get(exhausted.errno, exhausted.errno)}",
        )
    unreachable = next((e for e in chain if isinstance(e, OSError) and e.errno in _NETWORK_ERRNOS), None)
    if unreachable is not None:
        return "network", f"cannot reach the network from here: {unreachable.strerror or unreachable}"
    if isinstance(exc, ProxyError):
        return "connection", f"connection failed: {redact_userinfo(str(exc))}"
    if any(isinstance(e, TimeoutError) for e in chain):  # socket.timeout, ETIMEDOUT from the kernel
        return "timeout", f"timed out after {probe.timeout:g}s"
    verify_error = _first(chain, ssl.SSLCertVerificationError)
    if verify_error is not None:
        detail = (
            getattr(verify_error, "verify_message", None)
            or getattr(verify_error, "reason", None)
            or "verification failed"
        )
        return "tls", f"certificate verify failed: {detail}"
    if _first(chain, (ssl.SSLError, ssl.CertificateError)):
        ssl_error = _first(chain, ssl.SSLError)
        detail = getattr(ssl_error, "reason", None) or getattr(ssl_error, "strerror", None)
        return "tls", f"TLS error: {detail}" if detail else "TLS error"
    gai = _first(chain, socket.gaierror)
    if gai is not None:
        detail = f": {gai.strerror}" if gai.strerror else ""
        host = run.host or urlsplit(probe.url).hostname
        if gai.errno not in _NXDOMAIN:
            return "resolver", f"the local resolver could not look up {host}{detail}"
        return "dns", f"cannot resolve host {host}{detail}"
    incomplete = _first(chain, http.client.IncompleteRead)
    if incomplete is not None:
        got = len(incomplete.partial) if isinstance(incomplete.partial, bytes) else incomplete.partial
        more = f", {incomplete.expected} more expected" if incomplete.expected else ""
        return "connection", f"connection closed mid-response ({got} bytes read{more})"
    if _first(chain, zlib.error):
        return "connection", "connection failed: the body could not be decoded"
    # The innermost low-level error (refused, reset, ...), not a library's wrapper.
    low_level = next(
        (
            e
            for e in chain
            if isinstance(e, (http.client.HTTPException, OSError)) and type(e).__module__ in ("builtins", "http.client")
        ),
        None,
    )
    if low_level is not None:
        detail = getattr(low_level, "strerror", None) or str(low_level) or type(low_level).__name__
        return "connection", f"connection failed: {redact_userinfo(detail)}"
    return None, None


def _safe_text(text: str, secrets: list[str], limit: int | None = 300) -> str:
    """``text`` without URL userinfo and header values, shortened to ``limit`` characters."""
    text = redact_userinfo(text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."
