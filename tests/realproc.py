"""Real processes on 127.0.0.1 for the integration tests: `sla-exporter run` as a child
process (Exporter) and a local HTTP endpoint whose health a test switches (Target).

A helper module, not a test file: test_daemon.py, test_trust.py, test_chaos.py and others
import it (``from realproc import ...``; pytest puts tests/ on sys.path).
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families


def in_ci() -> bool:
    """CI never passes by skipping: a missing tool fails there."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def binary(*names: str, package: str = "prometheus prometheus-alertmanager") -> str:
    """The first of ``names`` on PATH; skipped locally without it, failed when CI is set."""
    for name in names:
        if path := shutil.which(name):
            return path
    message = (
        f"{' or '.join(names)} not installed (Debian: apt-get install --no-install-recommends "
        f"{package}; .ci/run does this as root)"
    )
    if in_ci():
        pytest.fail(message + " and CI is set: refusing to skip")
    pytest.skip(message)


class Target:
    """A local endpoint whose health the test switches; /hang never answers."""

    def __init__(self):
        self.healthy = True
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/hang":
                    time.sleep(30)
                    return
                if self.path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                if self.path in ("/drip", "/endless"):
                    self.send_response(200)
                    self.end_headers()
                    try:
                        for _ in range(2000):
                            self.wfile.write(b"x" if self.path == "/drip" else b"x" * 65536)
                            if self.path == "/drip":
                                time.sleep(0.2)
                    except OSError:
                        pass
                    return
                code = 200 if target.healthy else 503
                self.send_response(code)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    def __init__(self, tmp_path, config_text):
        self.config = tmp_path / "config.yaml"
        self.config.write_text(config_text)
        self.db = tmp_path / "sla.db"
        self.log = tmp_path / "exporter.log"
        self.port = free_port()
        self.proc = None
        self.extra_args = []
        self.storage = ["--storage.path", str(self.db)]  # or ["--storage.url", URL]

    def start(self, env=None, ready=None, **popen):
        """Start `sla-exporter run` on a free port and wait until it is ready (or `ready()`);
        `popen` goes to subprocess.Popen (e.g. preexec_fn)."""
        self.port = free_port()
        with open(self.log, "a") as log:  # the child has its own copy of the descriptor
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "exporter",
                    "run",
                    "--config.file",
                    str(self.config),
                    *self.storage,
                    "--web.listen-address",
                    f"127.0.0.1:{self.port}",
                    *self.extra_args,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, **(env or {})},
                **popen,
            )
        self.wait_for(ready or (lambda: self.get("/-/ready")[0] == 200), what="ready")

    def get(self, path, method="GET", body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method, data=data, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return None, ""

    def metrics(self):
        code, text = self.get("/metrics")
        assert code == 200
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }

    def value(self, name, **labels):
        return self.metrics().get((name, tuple(sorted(labels.items()))))

    def wait_for(self, cond, timeout=20, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exporter exited with {self.proc.returncode}: {self.log.read_text()}")
            result = cond()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; log:\n{self.log.read_text()}")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            return self.proc.wait(timeout=10)
        return None


def config_for(url, extra_tenant=""):
    return f"""
timezone: Europe/Helsinki
tenants:
  - name: acme
    probes:
      - {{name: ui, url: "{url}/health", interval: 1s, timeout: 1s}}
{extra_tenant}"""
