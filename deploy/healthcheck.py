"""Container health check: is the sla-exporter of this container answering /-/healthy?

    python healthcheck.py                    # reads the exporter's flags from /proc/1/cmdline
    python healthcheck.py [exporter flags]   # or takes them as arguments (any order, extra ones ignored)

The Dockerfile's HEALTHCHECK runs it. It reads --web.listen-address (default :9929) and
--web.config.file from the exporter's command line, so it follows the flags the container
was started with, `run` or `demo`. With a web config it tries https first (certificate
verification off: it talks to 127.0.0.1, not to a name on the certificate), then http; without
one, http first, then https. The exporter is alive when it answers: 200, or 401 (basic auth
is on and this check has no credentials), or a TLS alert (the server asks for a client
certificate). Exit 0 healthy, 1 not; one line on stdout says which.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import sys

DEFAULT_LISTEN = ":9929"
TIMEOUT = 2.0  # seconds per attempt; the HEALTHCHECK allows 5 for the whole check
ALIVE = {200, 401}


def exporter_args() -> list[str]:
    """The exporter's argv: PID 1 in the container (with an init, the exporter's command
    line is still in it, after the init's own)."""
    with open("/proc/1/cmdline", "rb") as f:
        return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]


def flag(args: list[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value``; the last one wins, as in argparse."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1 :]
    return value


def target(listen: str) -> tuple[str, int]:
    """Where to connect for ``--web.listen-address``: all interfaces mean this host."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(port)


def attempt(scheme: str, host: str, port: int) -> tuple[bool, str]:
    """(alive, what happened) for one GET /-/healthy."""
    if scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=TIMEOUT, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    url = f"{scheme}://{host}:{port}/-/healthy"
    try:
        conn.connect()
    except ssl.SSLError as err:
        if "alert" in str(err).lower():  # the server's TLS answered: it wants a client certificate
            return True, f"{url}: TLS alert from the server ({err.reason or err}): alive"
        conn.close()
        return False, f"{url}: {err.reason or err}"
    except OSError as err:
        conn.close()
        return False, f"{url}: {err.__class__.__name__}: {err}"
    try:
        conn.request("GET", "/-/healthy")
        status = conn.getresponse().status
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, ssl.SSLEOFError) as err:
        # With TLS 1.3 the server checks the client certificate after our handshake is done:
        # a refusal then shows as a reset or an EOF. The server answered TLS: it is alive.
        if scheme == "https":
            return True, f"{url}: TLS handshake done, then closed by the server ({err.__class__.__name__}): alive"
        return False, f"{url}: {err.__class__.__name__}: {err}"
    except ssl.SSLError as err:
        if "alert" in str(err).lower():  # the server's TLS answered: it wants a client certificate
            return True, f"{url}: TLS alert from the server ({err.reason or err}): alive"
        return False, f"{url}: {err.reason or err}"
    except (OSError, http.client.HTTPException) as err:
        return False, f"{url}: {err.__class__.__name__}: {err}"
    finally:
        conn.close()
    return status in ALIVE, f"{url}: {status}"


def main(argv: list[str] | None = None) -> int:
    try:
        args = sys.argv[1:] if argv is None else argv
        args = args or exporter_args()
        host, port = target(flag(args, "--web.listen-address") or DEFAULT_LISTEN)
    except (OSError, ValueError) as err:
        print(f"unhealthy: cannot tell where the exporter listens: {err}")
        return 1
    schemes = ("https", "http") if flag(args, "--web.config.file") else ("http", "https")
    seen = []
    for scheme in schemes:
        alive, what = attempt(scheme, host, port)
        if alive:
            print(f"healthy: {what}")
            return 0
        seen.append(what)
    print("unhealthy: " + "; ".join(seen))
    return 1


if __name__ == "__main__":
    socket.setdefaulttimeout(TIMEOUT)
    sys.exit(main())
