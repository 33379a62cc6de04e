"""The HTTP(S) prober: one GET per run, judged against a ``model.Probe``.

I/O at the edge, nothing else: no scheduling (the daemon's APScheduler calls ``Prober.probe``
from a bounded thread pool, one run per probe at a time) and no storage. A run never raises for
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

What a run does:

- ``timeout`` bounds the whole run: connecting (TCP and TLS) and waiting for the response
  headers get whatever remains of it (socket timeouts), the body is read in chunks against
  a monotonic deadline, and one watchdog thread shuts the connection's socket down when the
  deadline passes while a connect or the headers are still under way, so a server that
  drips a byte or a header line at a time still ends as ``timeout`` at the deadline. Name
  resolution (``getaddrinfo``) cannot be interrupted; the system resolver's own timeout
  applies to it.
- At most ``max_body_bytes`` of the body are read; the connection is then closed and the
  truncated body is what ``expect_body`` / ``expect_body_regex`` are matched against.
- Redirects are followed up to ``MAX_REDIRECTS`` hops, each hop inside the same deadline.
- Header values (literals and ``EnvRef`` values read from the environment at run time) never
  appear in ``error``, in log records or in exceptions raised from here.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import heapq
import http.client
import itertools
import logging
import os
import socket
import ssl
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri

from exporter import __version__
from exporter.config.patterns import compile_pattern
from exporter.config.redact import redact_userinfo
from exporter.model import OUR_REASONS, VENDOR_REASONS, EnvRef, Probe

try:  # optional: only used to read the expiry of certificates that were not verified
    from cryptography import x509 as _x509
except ImportError:  # pragma: no cover - depends on the environment
    _x509 = None

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
CHUNK_BYTES = 16 * 1024  # one body read; memory is bounded by max_body_bytes regardless
REDIRECT_BODY_BYTES = 64 * 1024  # read from a redirect response to keep its connection alive
# Hop-to-hop auth and anything taken from the environment is not sent to another origin.
_CROSS_ORIGIN_DROPPED = frozenset({"authorization", "proxy-authorization", "cookie"})

# ``tls_verify: false`` is an explicit choice in the config; urllib3 would otherwise warn on
# every single run ("always" filter), flooding the daemon's log.
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


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


class _Run:
    """What one run learned so far (kept when it fails half-way)."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.status_code: int | None = None
        self.cert_expiry: float | None = None
        self.host: str = ""


class Prober:
    """Runs probes over keep-alive sessions; thread-safe; ``close()`` when done.

    Sessions: an idle ``requests.Session`` is kept per target ``(scheme, host, port)``. A run
    checks one out (creating it if none is idle), uses it alone, and checks it back in, so a
    session - whose cookie jar and adapters are not meant to be shared between threads - is
    only ever used by one thread at a time, without a lock held across network I/O (which
    would make a slow probe delay every other probe of the same host). Runs of different
    probes of one host that do not overlap in time pick the same session (most recently used
    first) and hence the same keep-alive connection; runs that do overlap get a session each,
    so there are at most as many sessions per host as the scheduler's thread pool has threads.
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
        self._idle: dict[tuple, list[requests.Session]] = {}
        self._generation = 0  # bumped by close(): sessions from before are closed on check-in

    # ------------------------------------------------------------------ public API

    def probe(self, probe: Probe) -> ProbeResult:
        """Run ``probe`` once. Never raises for problems of the target or its config.

        The body is read up to ``max_body_bytes``; when it is longer, the connection is closed
        there and ``expect_body`` / ``expect_body_regex`` are matched against that truncated
        prefix only (decoded with the response's charset, else UTF-8, bad bytes replaced).
        """
        started = self._clock()
        t0 = self._monotonic()
        run = _Run(deadline=t0 + probe.timeout)
        secrets: list[str] = []
        try:
            headers, secrets = self._headers(probe)
            key = _target_key(probe.url)
            session, generation = self._checkout(key, probe.url)
            # The watchdog keeps real monotonic time; an injected clock (tests) goes without it.
            _current.deadline = run.deadline if self._monotonic is time.monotonic else None
            try:
                self._run(session, probe, headers, run)
            finally:
                _current.deadline = None
                self._checkin(key, session, generation)
        except _Failure as failure:
            reason, error = failure.reason, failure.error
        except Exception as exc:  # noqa: BLE001 - a probe run must never raise
            if self._monotonic() >= run.deadline:  # the watchdog cut it off (or it ran out)
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
        """Close every session. Sessions in use by a running probe are closed when it ends."""
        with self._lock:
            self._generation += 1
            sessions = [s for idle in self._idle.values() for s in idle]
            self._idle.clear()
        for session in sessions:
            session.close()

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ sessions

    def _checkout(self, key: tuple, url: str) -> tuple[requests.Session, int]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), self._generation
            generation = self._generation
        return _new_session(url), generation

    def _checkin(self, key: tuple, session: requests.Session, generation: int) -> None:
        session.cookies.clear()  # every run starts clean, like a fresh client
        with self._lock:
            if generation == self._generation:
                self._idle.setdefault(key, []).append(session)
                return
        session.close()

    # ------------------------------------------------------------------ one run

    def _headers(self, probe: Probe) -> tuple[dict[str, str], list[str]]:
        """The request headers, and the values to redact from messages: every value taken
        from the environment, and literal values long enough not to clash with message text
        (a literal ``1`` must not turn ``status 301`` into ``status 30[redacted]``)."""
        headers: dict[str, str] = {}
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
            # requests would reject these too, but with the value in its exception message
            if "\r" in value or "\n" in value or "\0" in value or value[:1] in (" ", "\t"):
                raise _Failure("config", f"header {name}: value contains line breaks or leading whitespace")
            headers[name] = value
        return headers, secrets

    def _run(self, session: requests.Session, probe: Probe, headers: dict[str, str], run: _Run) -> None:
        verify: bool | str = (probe.ca_file or _ENV_CA_BUNDLE or True) if probe.tls_verify else False
        sensitive = {name.lower() for name, value in probe.headers if isinstance(value, EnvRef)}
        sensitive |= _CROSS_ORIGIN_DROPPED
        url = probe.url
        for hop in range(MAX_REDIRECTS + 1):
            remaining = self._remaining(run, probe)
            run.host = urlsplit(url).hostname or ""
            # Prepared here rather than by Session.request, whose per-request merging of
            # session settings costs more CPU than the HTTP exchange itself; cookies a
            # previous hop set are still sent.
            request = requests.PreparedRequest()
            request.prepare(
                method="GET",
                url=url,
                headers={**session.headers, **headers},
                cookies=session.cookies if len(session.cookies) else None,
            )
            response = session.send(
                request,
                timeout=(remaining, remaining),
                verify=verify,
                stream=True,
                allow_redirects=False,  # followed below, each hop inside the deadline
                proxies=session.proxies,
            )
            try:
                run.status_code = response.status_code
                run.cert_expiry = _peer_cert_expiry(response)
                self._remaining(run, probe)  # the headers may have arrived past the deadline
                location = session.get_redirect_target(response)
                if location is None:
                    self._judge(response, probe, run)
                    return
                if hop == MAX_REDIRECTS:
                    raise _Failure("redirect", f"more than {MAX_REDIRECTS} redirects (redirect loop?)")
                self._read_body(response, REDIRECT_BODY_BYTES, run, probe)  # keeps the connection
                next_url = _redirect_url(response.url, location)
                if session.should_strip_auth(response.url, next_url):
                    headers = {k: v for k, v in headers.items() if k.lower() not in sensitive}
                url = next_url
            finally:
                response.close()

    def _judge(self, response: requests.Response, probe: Probe, run: _Run) -> None:
        status = response.status_code
        if probe.expect_status:
            if status not in probe.expect_status:
                wanted = ", ".join(str(s) for s in probe.expect_status)
                many = len(probe.expect_status) > 1
                raise _Failure("status", f"status {status}, expected {'one of ' if many else ''}{wanted}")
        elif not 200 <= status < 300:
            raise _Failure("status", f"status {status}, expected 2xx")
        body, complete = self._read_body(response, self.max_body_bytes, run, probe)
        if probe.expect_body is None and probe.expect_body_regex is None:
            return
        text = body.decode(_codec(response.encoding), errors="replace")
        scope = "" if complete else f" (in the first {len(body)} bytes)"
        if probe.expect_body is not None and probe.expect_body not in text:
            raise _Failure("body", f"body does not contain the expected text{scope}")
        if probe.expect_body_regex is not None:
            try:
                pattern = compile_pattern(probe.expect_body_regex)
            except ValueError as exc:
                raise _Failure("config", f"expect_body_regex: {exc}") from None
            if pattern.search(text) is None:
                raise _Failure("body", f"body does not match the expected pattern{scope}")

    def _read_body(self, response: requests.Response, limit: int, run: _Run, probe: Probe) -> tuple[bytes, bool]:
        """Read at most ``limit`` bytes (decoded) before the deadline: ``(body, reached_end)``.

        ``read1`` returns whatever one socket read brings, so the deadline is checked between
        reads even when the server sends a byte at a time; each read may block for at most what
        remains of the deadline (the socket timeout is lowered to that).
        """
        raw = response.raw
        sock = _response_socket(response)
        parts: list[bytes] = []
        total = 0
        while total < limit:
            remaining = self._remaining(run, probe)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.settimeout(remaining)
            data = raw.read1(min(CHUNK_BYTES, limit - total), decode_content=True)
            if not data:
                return b"".join(parts), True
            parts.append(data)
            total += len(data)
        # Limit reached: the end is not known without another read, and none is wanted.
        return b"".join(parts), False

    def _remaining(self, run: _Run, probe: Probe) -> float:
        remaining = run.deadline - self._monotonic()
        if remaining <= 0:
            raise _Failure("timeout", f"timed out after {probe.timeout:g}s")
        return remaining


# ---------------------------------------------------------------------- helpers


# requests' own rule for verify=True with trust_env (read once: sessions do not trust env).
_ENV_CA_BUNDLE = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


class _Watchdog:
    """One thread that shuts down the sockets of connections whose run is past its deadline
    (a connect or the response headers still under way): socket timeouts bound each read,
    not a server that sends a header line a second for a minute."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, object] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, conn: object) -> int:
        with self._cv:
            handle = next(self._ids)
            self._armed[handle] = conn
            heapq.heappush(self._heap, (deadline, handle))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="probe-watchdog", daemon=True)
                self._thread.start()
            self._cv.notify()
            return handle

    def disarm(self, handle: int) -> None:
        with self._cv:
            self._armed.pop(handle, None)  # its heap entry is skipped when it comes up

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._heap or self._heap[0][1] not in self._armed:
                    if self._heap:
                        heapq.heappop(self._heap)
                    else:
                        self._cv.wait()
                deadline, handle = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cv.wait(wait)
                    continue
                heapq.heappop(self._heap)
                conn = self._armed.pop(handle)
            sock = getattr(conn, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once


_WATCHDOG = _Watchdog()
_current = threading.local()  # the deadline (monotonic) of the run on this thread


@contextlib.contextmanager
def _guarded(conn: object) -> Iterator[None]:
    deadline = getattr(_current, "deadline", None)
    if deadline is None:
        yield
        return
    handle = _WATCHDOG.arm(deadline, conn)
    try:
        yield
    finally:
        _WATCHDOG.disarm(handle)


class _Guarded:
    """Mixed into urllib3's connections: connect and the response headers under the watchdog."""

    def connect(self) -> None:
        with _guarded(self):
            super().connect()

    def getresponse(self, *args, **kwargs):
        with _guarded(self):
            return super().getresponse(*args, **kwargs)


class _GuardedHTTPConnection(_Guarded, urllib3.connection.HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, urllib3.connection.HTTPSConnection):
    pass


class _GuardedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_GUARDED_POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    """requests' adapter with connections the watchdog can stop at the run's deadline."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _GUARDED_POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _GUARDED_POOLS
        return manager


def _new_session(url: str) -> requests.Session:
    session = requests.Session()
    # What requests would look up in the environment on every request (proxies, no_proxy,
    # ~/.netrc): proxies are read once per target here instead, which is a fifth of a
    # probe's CPU saved; ~/.netrc credentials are never sent to a probed target.
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(url)
    session.max_redirects = MAX_REDIRECTS
    session.headers["User-Agent"] = USER_AGENT
    # One user at a time per session (see Prober): one connection per host pool suffices;
    # 2 leaves room for a redirect back to a host whose response is still being closed.
    # pool_connections = hosts remembered per session (the target plus redirect targets).
    adapter = _GuardedAdapter(pool_connections=4, pool_maxsize=2, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _target_key(url: str) -> tuple:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
        return (scheme, parts.hostname or "", port)
    except ValueError:  # e.g. a bad port; requests reports it as an invalid URL
        return ("", url, None)


def _redirect_url(current: str, location: str) -> str:
    """Resolve a Location header the way requests does (scheme-relative and relative URLs)."""
    if location.startswith("//"):
        location = f"{urlsplit(current).scheme}:{location}"
    if not urlsplit(location).netloc:
        return urljoin(current, requote_uri(location))
    return requote_uri(location)


def _response_socket(response: requests.Response) -> socket.socket | None:
    """The socket a streamed response is read from (None if it cannot be found).

    urllib3 2.x keeps the connection on ``response.raw.connection`` until the body is read,
    but ``http.client`` drops ``connection.sock`` as soon as a response says it will close the
    connection (``Connection: close``, no length); the socket then lives on only in the
    response's file object (``BufferedReader`` -> ``socket.SocketIO._sock``).
    """
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:
        fp = getattr(getattr(raw, "_fp", None), "fp", None)  # http.client.HTTPResponse.fp
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if hasattr(sock, "settimeout") else None


def _peer_cert_expiry(response: requests.Response) -> float | None:
    """notAfter of the certificate on the response's TLS connection, as epoch seconds.

    Must run before the body is read (the connection is released after). A verified peer's certificate
    is decoded by ``ssl``; an unverified one only in DER form, read with ``cryptography`` when
    that is installed (else None).
    """
    if urlsplit(response.url).scheme.lower() != "https":
        return None  # e.g. https -> http redirect; a socket to an https proxy is not the peer
    sock = _response_socket(response)
    if sock is None or not hasattr(sock, "getpeercert"):
        return None
    try:
        cert = sock.getpeercert()
        if cert and cert.get("notAfter"):
            return float(ssl.cert_time_to_seconds(cert["notAfter"]))
        if _x509 is None:
            return None
        der = sock.getpeercert(binary_form=True)
        if not der:
            return None
        parsed = _x509.load_der_x509_certificate(der)
        after = getattr(parsed, "not_valid_after_utc", None)
        if after is None:  # cryptography < 42: naive UTC datetime
            import datetime as dt

            after = parsed.not_valid_after.replace(tzinfo=dt.UTC)
        return after.timestamp()
    except Exception:  # noqa: BLE001 - a cert we cannot read is not a failed probe
        return None


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


def _is_timeout(e: BaseException) -> bool:
    if isinstance(e, urllib3.exceptions.NewConnectionError):  # subclasses ConnectTimeoutError
        return False
    return isinstance(
        e,
        (
            requests.exceptions.Timeout,
            urllib3.exceptions.ReadTimeoutError,
            urllib3.exceptions.ConnectTimeoutError,
            TimeoutError,  # socket.timeout, and ETIMEDOUT from the kernel
        ),
    )


def _classify(exc: BaseException, probe: Probe, run: _Run) -> tuple[str | None, str | None]:
    """(reason, safe message) for an exception from requests/urllib3; (None, None) if unknown."""
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
    if any(_is_timeout(e) for e in chain):
        return "timeout", f"timed out after {probe.timeout:g}s"
    verify_error = _first(chain, ssl.SSLCertVerificationError)
    if verify_error is not None:
        detail = (
            getattr(verify_error, "verify_message", None)
            or getattr(verify_error, "reason", None)
            or "verification failed"
        )
        return "tls", f"certificate verify failed: {detail}"
    if _first(chain, (requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError, ssl.CertificateError)):
        ssl_error = _first(chain, ssl.SSLError)
        detail = getattr(ssl_error, "reason", None) or getattr(ssl_error, "strerror", None)
        return "tls", f"TLS error: {detail}" if detail else "TLS error"
    gai = _first(chain, socket.gaierror)
    if gai is not None or _first(chain, urllib3.exceptions.NameResolutionError):
        detail = f": {gai.strerror}" if gai is not None and gai.strerror else ""
        host = run.host or urlsplit(probe.url).hostname
        if gai is not None and gai.errno not in _NXDOMAIN:
            return "resolver", f"the local resolver could not look up {host}{detail}"
        return "dns", f"cannot resolve host {host}{detail}"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return "redirect", f"more than {MAX_REDIRECTS} redirects (redirect loop?)"
    bad_url = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
    if isinstance(exc, bad_url):
        return "connection", f"invalid URL {redact_userinfo(probe.url)!r}"
    incomplete = _first(chain, http.client.IncompleteRead)
    if incomplete is not None:
        got = len(incomplete.partial) if isinstance(incomplete.partial, bytes) else incomplete.partial
        more = f", {incomplete.expected} more expected" if incomplete.expected else ""
        return "connection", f"connection closed mid-response ({got} bytes read{more})"
    # The innermost low-level error (refused, reset, ...), not the requests/urllib3 wrappers
    # (requests' exceptions are OSErrors too).
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
        return "connection", f"connection failed: {detail}"
    if isinstance(exc, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
        # ChunkedEncodingError, ContentDecodingError, ProtocolError, ...: the messages of
        # requests/urllib3 name the URL (userinfo stripped below) but never header values.
        return "connection", f"connection failed: {redact_userinfo(str(exc)) or type(exc).__name__}"
    return None, None


def _safe_text(text: str, secrets: list[str], limit: int | None = 300) -> str:
    """``text`` without URL userinfo and header values, shortened to ``limit`` characters."""
    text = redact_userinfo(text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."
