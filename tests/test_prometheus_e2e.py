"""End to end: the real exporter, a real Prometheus loading prometheus/rules.yml and
alerts.yml, a real Alertmanager and a webhook receiver, all on 127.0.0.1.

    targets (503 for one tenant, 200 for the other; https too when openssl is available)
      <- sla-exporter run (probes every 1 s)
      <- prometheus (scrape and rule evaluation every 1 s)
      -> prometheus-alertmanager (group_wait 1 s)
      -> webhook receiver (this test)

The down tenant's target is 99.92 %, so its burn rate is about 1 / 0.0008 = 1250x: the fast
burn page fires within seconds of the first two scrapes. Every wait polls with a deadline
and fails with the processes' logs. Needs the `prometheus` and `prometheus-alertmanager`
binaries (Debian packages of the same names; .ci/run installs them): skipped locally
without them, failed when CI is set.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from exporter import metrics
from realproc import binary, free_port

REPO = Path(__file__).resolve().parent.parent
RULE_FILES = [REPO / "prometheus" / "rules.yml", REPO / "prometheus" / "alerts.yml"]
DASHBOARDS = REPO / "grafana" / "dashboards"
DOWN, UP = "e2e-down", "e2e-up"
BURN_ALERTS = {
    "SLAErrorBudgetBurnFast",
    "SLAErrorBudgetBurnMedium",
    "SLAErrorBudgetBurnSlow",
    "SLAErrorBudgetBurnChronic",
}
DEADLINE = 60  # seconds, for any one wait


def http(url: str, data: bytes | None = None, timeout: float = 5) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


# -- the pieces -----------------------------------------------------------------------------


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a thread: targets and the webhook receiver."""

    def __init__(self, handler, tls: tuple[Path, Path] | None = None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Target(BaseHTTPRequestHandler):
    """/down answers 503, anything else 200."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(503 if self.path.startswith("/down") else 200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")


class Webhook:
    """Collects Alertmanager's webhook notifications (POSTed JSON)."""

    def __init__(self):
        self.received: list[dict] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = Server(Handler)
        self.url = self.server.url + "/alerts"

    def alerts(self) -> list[dict]:
        with self.lock:
            return [a for n in self.received for a in n["alerts"]]


class Process:
    """A child process in its own process group, logging to a file; stop() ends the group."""

    def __init__(self, name: str, args: list[str], log: Path, cwd: Path):
        self.name, self.args, self.log = name, args, log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        state = "running" if self.proc.poll() is None else f"exited with {self.proc.returncode}"
        return f"--- {self.name} ({state}), last {len(text)} log lines:\n" + "\n".join(text)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def self_signed_cert(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 valid 10 days, or None without openssl (then the https
    probe and its certificate metric are left out)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "10",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.processes: list[Process] = []
        self.servers: list[Server] = []
        self.webhook: Webhook | None = None
        self.prometheus_url = self.alertmanager_url = self.exporter_url = ""

    # Everything is started in order, each piece waited for before the next.
    def start(self):
        prometheus_bin = binary("prometheus")
        alertmanager_bin = binary("prometheus-alertmanager", "alertmanager")

        self.webhook = Webhook()
        self.servers.append(self.webhook.server)
        target = Server(Target)
        self.servers.append(target)
        tls = self_signed_cert(self.tmp)
        tls_probe = ""
        if tls:
            tls_target = Server(Target, tls=tls)
            self.servers.append(tls_target)
            tls_probe = (
                f'      - {{name: api, url: "{tls_target.url}/health", interval: 1s, timeout: 1s, '
                f'ca_file: "{tls[0]}"}}\n'
            )

        # (b) the exporter, with one observation of each probe in the previous month, so
        # that the previous month's availability has a sample.
        config = self.tmp / "sla.yaml"
        config.write_text(f"""timezone: Europe/Helsinki
tenants:
  - name: {DOWN}
    sla: {{target: 99.92%}}
    probes:
      - {{name: ui, url: "{target.url}/down", interval: 1s, timeout: 1s}}
  - name: {UP}
    probes:
      - {{name: ui, url: "{target.url}/health", interval: 1s, timeout: 1s}}
{tls_probe}""")
        db = self.tmp / "sla.db"
        now = dt.datetime.now(dt.UTC)
        last_month = (now.replace(day=1) - dt.timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
        rows = ["time,tenant,probe,success"]
        probes = [(DOWN, "ui"), (UP, "ui")] + ([(UP, "api")] if tls else [])
        # The down tenant was down then too, so its downtime and eligible counters stay equal
        # (and its burn rate exactly 1 / (1 - target)).
        rows += [f"{last_month.isoformat()},{t},{p},{int(t != DOWN)}" for t, p in probes]
        (self.tmp / "history.csv").write_text("\n".join(rows) + "\n")
        imported = subprocess.run(
            [
                sys.executable,
                "-m",
                "exporter",
                "import",
                "--config.file",
                str(config),
                "--storage.path",
                str(db),
                str(self.tmp / "history.csv"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 0, f"import failed: {imported.stdout}{imported.stderr}"
        port = free_port()
        self.exporter_url = f"http://127.0.0.1:{port}"
        self.spawn(
            "exporter",
            [
                sys.executable,
                "-m",
                "exporter",
                "run",
                "--config.file",
                str(config),
                "--storage.path",
                str(db),
                "--web.listen-address",
                f"127.0.0.1:{port}",
            ],
        )
        self.wait_for(lambda: http(self.exporter_url + "/-/ready")[0] == 200, "the exporter to be ready")

        # (d) Alertmanager, routing everything to (e) the webhook.
        am_port = free_port()
        self.alertmanager_url = f"http://127.0.0.1:{am_port}"
        (self.tmp / "alertmanager.yml").write_text(
            yaml.safe_dump(
                {
                    "route": {
                        "receiver": "webhook",
                        "group_by": ["alertname", "tenant"],
                        "group_wait": "1s",
                        "group_interval": "1s",
                        "repeat_interval": "1h",
                    },
                    "receivers": [
                        {"name": "webhook", "webhook_configs": [{"url": self.webhook.url, "send_resolved": True}]}
                    ],
                }
            )
        )
        (self.tmp / "am-data").mkdir()
        self.spawn(
            "alertmanager",
            [
                alertmanager_bin,
                f"--config.file={self.tmp / 'alertmanager.yml'}",
                f"--storage.path={self.tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
        )
        self.wait_for(lambda: http(self.alertmanager_url + "/-/ready")[0] == 200, "Alertmanager to be ready")

        # (c) Prometheus with the repository's rule files.
        prom_port = free_port()
        self.prometheus_url = f"http://127.0.0.1:{prom_port}"
        (self.tmp / "prometheus.yml").write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(p) for p in RULE_FILES],
                    "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
                    "scrape_configs": [
                        {"job_name": "sla-exporter", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                    ],
                }
            )
        )
        self.spawn(
            "prometheus",
            [
                prometheus_bin,
                f"--config.file={self.tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.tmp / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
        )
        self.wait_for(lambda: http(self.prometheus_url + "/-/ready")[0] == 200, "Prometheus to be ready")

    def spawn(self, name: str, args: list[str]):
        self.processes.append(Process(name, args, self.tmp / f"{name}.log", cwd=REPO))

    def stop(self):
        for p in reversed(self.processes):
            p.stop()
        for s in self.servers:
            s.close()

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes)

    def wait_for(self, condition, what: str, timeout: float = DEADLINE):
        """Poll ``condition`` until it returns something truthy; fail with the logs."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for p in self.processes:
                if p.proc.poll() is not None:
                    pytest.fail(f"{p.name} exited while waiting for {what}\n{self.logs()}")
            last = condition()
            if last:
                return last
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})\n{self.logs()}")

    def query(self, expr: str) -> dict:
        """Prometheus's /api/v1/query response for ``expr`` at the current time."""
        status, body = http(
            self.prometheus_url + "/api/v1/query", data=urllib.parse.urlencode({"query": expr}).encode()
        )
        try:
            return json.loads(body)
        except ValueError:
            return {"status": "error", "error": f"HTTP {status}: {body[:500]}"}

    def samples(self, expr: str) -> list[dict]:
        r = self.query(expr)
        assert r["status"] == "success", f"{expr}: {r.get('error')}"
        return r["data"]["result"] if r["data"]["resultType"] in ("vector", "matrix") else [r["data"]["result"]]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, request):
    s = Stack(tmp_path_factory.mktemp("prometheus-e2e"))
    request.addfinalizer(s.stop)
    s.start()
    return s


def rules_in_files() -> list[dict]:
    return [r for p in RULE_FILES for g in yaml.safe_load(p.read_text())["groups"] for r in g["rules"]]


def burn(stack: Stack, tenant: str, window: str = "5m") -> float | None:
    result = stack.samples(f'tenant:sla_error_budget_burn:rate{window}{{tenant="{tenant}"}}')
    return float(result[0]["value"][1]) if result else None


# -- the assertions -------------------------------------------------------------------------


def test_prometheus_loads_and_evaluates_every_rule(stack):
    """/api/v1/rules lists every rule of both files, each evaluated without error."""
    expected = {r.get("record") or r["alert"] for r in rules_in_files()}

    def evaluated():
        status, body = http(stack.prometheus_url + "/api/v1/rules")
        if status != 200:
            return None
        rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
        if {r["name"] for r in rules} != expected or len(rules) != len(expected):
            return None
        # "unknown" until a rule's first evaluation
        return rules if all(r["health"] != "unknown" for r in rules) else None

    rules = stack.wait_for(evaluated, "every rule to be loaded and evaluated once")
    bad = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not bad, f"rules failing in Prometheus: {bad}\n{stack.logs()}"


def test_recording_rules_measure_the_down_tenant(stack):
    # Down all the time at 99.92 %: 1 / 0.0008 = 1250 over every window (NaN, which is not
    # > 1000, until the counters have two samples).
    for window in ("5m", "3d"):
        down = stack.wait_for(
            lambda window=window: (b := burn(stack, DOWN, window)) is not None and b > 1000 and b,
            f"a {window} burn rate above 1000 for {DOWN}",
        )
        assert down == pytest.approx(1250, rel=1e-3), stack.logs()
        stack.wait_for(lambda window=window: burn(stack, UP, window) == 0, f"a {window} burn rate of 0 for {UP}")


def test_every_rule_expression_evaluates(stack):
    errors = {}
    for rule in rules_in_files():
        r = stack.query(rule["expr"])
        if r["status"] != "success":
            errors[rule.get("record") or rule["alert"]] = r.get("error")
    assert not errors, f"{errors}\n{stack.logs()}"


def test_fast_burn_page_reaches_the_webhook(stack):
    """Down from the start, every burn window of the down tenant is at 1250x: the fast burn
    page goes out as soon as the 5m and 1h rates exist (with the slower ones)."""

    def fast_burn():
        return [
            a
            for a in stack.webhook.alerts()
            if a["labels"].get("alertname") == "SLAErrorBudgetBurnFast"
            and a["labels"].get("tenant") == DOWN
            and a["status"] == "firing"
        ]

    alert = stack.wait_for(fast_burn, f"a firing SLAErrorBudgetBurnFast for {DOWN} at the webhook")[0]
    assert alert["labels"]["severity"] == "page"
    assert alert["annotations"]["runbook_url"].endswith("#slaerrorbudgetburnfast")
    assert alert["annotations"]["summary"] == f"{DOWN} is burning its error budget more than 14.4x too fast"
    assert re.search(r"at 1\.2[0-9]*kx the sustainable rate", alert["annotations"]["description"]), alert
    healthy = [
        a
        for a in stack.webhook.alerts()
        if a["labels"].get("tenant") == UP and a["labels"].get("alertname") in BURN_ALERTS
    ]
    assert not healthy, f"burn alerts for the healthy tenant: {healthy}"


# -- Grafana dashboards ---------------------------------------------------------------------

TENANTS_REGEX = f"{DOWN}|{UP}"
VARIABLES = [  # (pattern, replacement), in this order
    (r'="\$\{?tenant(?::\w+)?\}?"', f'="{DOWN}"'),  # an equality matcher takes one tenant
    (r"\$\{?tenant(?::\w+)?\}?", TENANTS_REGEX),
    (r"\$\{?__rate_interval\}?", "1m"),
    (r"\$\{?__interval_ms\}?", "15000"),
    (r"\$\{?__interval\}?", "15s"),
    (r"\$\{?__range_s\}?", "3600"),
    (r"\$\{?__range_ms\}?", "3600000"),
    (r"\$\{?__range\}?", "1h"),
]


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, expr) for every panel target of every dashboard JSON file, rows included."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            for t in node.get("targets") or []:
                if isinstance(t, dict) and t.get("expr"):
                    found.append((f"{where} / {node.get('title', '?')} / {t.get('refId', '?')}", t["expr"]))
            for key, value in node.items():
                if key not in ("targets", "templating"):
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path in sorted(DASHBOARDS.glob("**/*.json")) if DASHBOARDS.is_dir() else []:
        walk(json.loads(path.read_text()), path.name)
    return found


def is_filter(expr: str) -> bool:
    """Whether ``expr`` compares without `bool` (a filter: empty is a legitimate answer,
    e.g. "tenants at risk" when none is)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"|\{[^}]*\}', "", expr)
    return bool(re.search(r"(==|!=|<=|>=|<|>)(?!\s*bool\b)", bare))


def substitute(expr: str) -> str:
    for pattern, replacement in VARIABLES:
        expr = re.sub(pattern, replacement, expr)
    return expr


def test_every_grafana_dashboard_query_evaluates(stack):
    """Every panel query runs without error; one over metrics that have data returns data
    (support metrics may be empty: no incident is filed in this test; so may a filter such
    as `x < y`)."""
    queries = dashboard_queries()
    if not queries:  # grafana/dashboards/ not there (yet): nothing to check
        return
    known = (
        {m.name for m in metrics.ALL}
        | {r["record"] for r in rules_in_files() if "record" in r}
        | {"up", "ALERTS", "ALERTS_FOR_STATE"}
    )
    # Data that should be there by now: every tenant's burn rate over the shortest window.
    stack.wait_for(lambda: len(stack.samples("tenant:sla_error_budget_burn:rate5m")) == 2, "burn rates of both tenants")
    has_data: dict[str, bool] = {}
    problems = []
    for where, raw in queries:
        expr = substitute(raw)
        if "$" in expr:
            problems.append(f"{where}: unknown template variable in {raw!r}")
            continue
        r = stack.query(expr)
        if r["status"] != "success":
            problems.append(f"{where}: {expr!r}: {r.get('error')}")
            continue
        names = {n for n in re.findall(r"[A-Za-z_:][\w:]*", expr) if n in known}
        for n in names - has_data.keys():
            has_data[n] = bool(stack.samples(f"count({{__name__={json.dumps(n)}}})"))
        may_be_empty = "sla_support_" in expr or not all(has_data[n] for n in names) or is_filter(expr)
        result = r["data"]["result"]
        if not may_be_empty and r["data"]["resultType"] in ("vector", "matrix") and not result:
            problems.append(f"{where}: {expr!r} returned no data")
    assert not problems, "\n".join(problems)
