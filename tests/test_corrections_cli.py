"""Corrections and the printable report end to end: the command line on the worked month
(tests/worked_month.py) with exit codes and one-line errors, the HTML page rendered by a
real headless Chromium to PDF and read back with pdftotext, and the daemon serving
/report behind its web config and taking corrections through the API and from the
command line within one scrape.

Chromium and pdftotext (Debian's ``chromium`` and ``poppler-utils``; .ci/run installs them)
are skipped locally when missing and fail when CI is set, as the promtool tests do.
"""

import base64
import datetime as dt
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import bcrypt
import pytest

from exporter.engine.units import format_percent
from realproc import Exporter, Target, config_for
from worked_month import CONFIG, write_month

CREDITS = (
    "sla: {target: 99.92%, corrections: {max_age: 100000d}, "
    "credits: [{below: 99.92%, credit: 5%}, {below: 99.5%, credit: 10%}, {below: 95%, credit: 25%}]}"
)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    d = tmp_path_factory.mktemp("corr")
    (d / "config.yaml").write_text(CONFIG.replace("sla: {target: 99.92%}", CREDITS))
    write_month(d / "october.csv")
    db = str(d / "sla.db")
    flags = ["--config.file", str(d / "config.yaml"), "--storage.path", db]
    done = cli("import", *flags, str(d / "october.csv"))
    assert done.returncode == 0, done.stderr
    return d, flags


def correct(flags, *args):
    return cli("correct", *flags, *args)


def report_json(flags):
    out = cli("report", *flags, "--month", "2026-10", "--format", "json")
    assert out.returncode == 0, out.stderr
    return {t["tenant"]: t for t in json.loads(out.stdout)["tenants"]}


REST = ["--category", "other", "--reason", "r", "--by", "me"]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--tenant", "acme-prod", "--reason", "r", "--by", "me"], 2, "the following arguments are required"),
        (["--revoke", "1", "--tenant", "acme-prod", "--reason", "r", "--by", "me"], 2, "--revoke takes only"),
        (["--revoke", "1", "--reason", "r"], 2, "the following arguments are required: --by"),
        (
            ["--tenant", "acme-prod", "--from", "yesterday", "--to", "2026-10-05T10:10", "--as", "up", *REST],
            2,
            "expected an ISO 8601 time",
        ),
        (
            ["--tenant", "nobody", "--from", "2026-10-05T10:00", "--to", "2026-10-05T10:10", "--as", "up", *REST],
            1,
            "sla-exporter correct: unknown tenant 'nobody'",
        ),
        (
            ["--tenant", "acme-prod", "--from", "2026-10-05T10:10", "--to", "2026-10-05T10:00", "--as", "up", *REST],
            1,
            "sla-exporter correct: 'to' must be after 'from'",
        ),
        (
            ["--tenant", "acme-prod", "--from", "2026-10-05T10:00", "--to", "2999-01-01T00:00Z", "--as", "up", *REST],
            1,
            "sla-exporter correct: 'to' is in the future",
        ),
        (["--revoke", "999", "--reason", "r", "--by", "me"], 1, "sla-exporter correct: revoke: no correction 999"),
    ],
)
def test_correct_refuses_with_one_line(month, args, code, message):
    _, flags = month
    out = correct(flags, *args)
    assert out.returncode == code, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    if code == 1:
        assert out.stderr.count("\n") == 1


def test_too_old_is_refused(tmp_path, month):
    _, flags = month
    strict = tmp_path / "strict.yaml"
    strict.write_text(CONFIG.replace("sla: {target: 99.92%}", "sla: {target: 99.92%, corrections: {max_age: 1d}}"))
    out = correct(
        ["--config.file", str(strict), flags[2], flags[3]],
        *["--tenant", "acme-prod", "--from", "2026-10-05T10:00", "--to", "2026-10-05T10:10", "--as", "up"],
        *["--category", "false-positive", "--reason", "r", "--by", "me"],
    )
    assert (out.returncode, out.stderr) == (
        1,
        "sla-exporter correct: 'from' is older than sla.corrections.max_age (1d): corrections are refused there\n",
    )


def test_correct_list_report_and_revoke(month):
    _, flags = month
    measured = report_json(flags)["acme-prod"]
    assert (measured["met"], measured["credit_ratio"], measured["corrections"]) == (False, 0.05, [])
    assert "Service credits owed: acme-prod 5%" in cli("report", *flags, "--month", "2026-10").stdout
    # The 10-minute outage on the 5th was our DNS; local times without an offset are Helsinki's.
    out = correct(
        flags,
        *["--tenant", "acme-prod", "--from", "2026-10-05T10:00", "--to", "2026-10-05T10:10", "--as", "up"],
        *["--category", "false-positive", "--reason", "probe host lost DNS", "--by", "alice"],
    )
    assert out.returncode == 0, out.stderr
    first = int(out.stdout)
    # The outage across the repeated hour on the 25th: a storm; 03:00 EEST to 03:30 EET is 90 min.
    out = correct(
        flags,
        *["--tenant", "acme-prod", "--from", "2026-10-25T03:00+03:00", "--to", "2026-10-25T03:30+02:00"],
        *["--as", "excluded", "--category", "force-majeure", "--reason", "storm <cut power>", "--by", "bob"],
    )
    second = int(out.stdout)
    acme = report_json(flags)["acme-prod"]
    assert acme["measured"] == {k: measured[k] for k in acme["measured"]}  # the measured view is kept
    # 600 s of the 5th no longer down; of the 25th's outage the 1800 s outside maintenance are excluded.
    assert (acme["downtime_seconds"], acme["excluded_seconds"]) == (1800, 1800)
    assert acme["eligible_seconds"] == measured["eligible_seconds"] - 1800
    assert acme["maintenance_seconds"] == measured["maintenance_seconds"]
    assert (acme["met"], acme["credit_ratio"]) == (True, 0.0)
    assert [(c["id"], c["as"], c["seconds"], c["by"], c["revoked"]) for c in acme["corrections"]] == [
        (first, "up", 600, "alice", None),
        (second, "excluded", 1800, "bob", None),
    ]
    assert acme["corrections"][0]["from"] == "2026-10-05T10:00:00+03:00"

    table = cli("report", *flags, "--month", "2026-10").stdout
    assert "Corrections of acme-prod (figures above include them; measured availability 99.840%):" in table
    assert re.search(r"\n\s+1\s+2026-10-05 10:00:00 \+0300 .* up .* false-positive\s+10m\s+alice\s+probe host", table)

    listed = cli("corrections", *flags, "--month", "2026-10", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [e["id"] for e in json.loads(listed.stdout)["corrections"]][-2:] == [first, second]
    assert json.loads(cli("corrections", *flags, "--month", "2026-09", "--format", "json").stdout) == {
        "corrections": []
    }
    table = cli("corrections", *flags, "--tenant", "acme-prod").stdout
    assert "storm <cut power>" in table and "force-majeure" in table

    out = correct(flags, "--revoke", str(second), "--reason", "the storm was the vendor's risk", "--by", "carol")
    assert out.returncode == 0, out.stderr
    revocation = int(out.stdout)
    acme = report_json(flags)["acme-prod"]
    assert (acme["downtime_seconds"], acme["excluded_seconds"]) == (3600, 0)
    gone = acme["corrections"][1]
    assert (gone["seconds"], gone["revoked"]["id"], gone["revoked"]["by"]) == (0, revocation, "carol")
    again = correct(flags, "--revoke", str(second), "--reason", "twice", "--by", "carol")
    assert (again.returncode, again.stderr) == (
        1,
        f"sla-exporter correct: correction {second} is revoked already (by entry {revocation})\n",
    )


# -- the printable report --------------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install --no-install-recommends {package})"
        if in_ci():
            pytest.fail(message + " and CI is set: refusing to skip")
        pytest.skip(message)
    return path


def to_pdf(page: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    chromium = tool("chromium", "chromium")
    pdf = tmp_path / "report.pdf"
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'chromium'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    return pdf


def test_html_report_is_self_contained_and_prints_to_a4(month, tmp_path):
    _, flags = month
    out = cli("report", *flags, "--month", "2026-10", "--format", "html")
    assert out.returncode == 0, out.stderr
    page = out.stdout
    # Self-contained: nothing to fetch, no script.
    assert not re.search(r"\b(src|href)\s*=|@import|url\(|<script|<link", page, re.I)
    assert page.startswith("<!doctype html>") and "@page { size: A4" in page
    assert "storm &lt;cut power&gt;" in page and "storm <cut power>" not in page  # users' text is escaped
    assert page.count("<svg") == 2 * 2  # a day chart and a timeline per tenant
    doc = report_json(flags)
    html_file = tmp_path / "report.html"
    html_file.write_text(page)

    pdf = to_pdf(html_file, tmp_path)
    text = subprocess.run(
        [tool("pdftotext", "poppler-utils"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    info = subprocess.run([tool("pdfinfo", "poppler-utils"), str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Page size:\s+59\d\.\d+ x 84\d\.\d+ pts \(A4\)", info.stdout), info.stdout
    for name, row in doc.items():
        assert name in text
        # Each tenant's availability as in the JSON report, on the summary and on its page.
        assert text.count(format_percent(row["availability"])) >= 2, (name, format_percent(row["availability"]))
    assert "probe host lost DNS" in text and "alice" in text  # corrections with reasons and authors
    assert "No support cases opened this month." in text


def test_support_cases_of_the_month_with_their_deadlines(month, tmp_path):
    from exporter import config, render
    from exporter.model import Event, Incident, ServiceRequest
    from exporter.store.sqlite import Store

    d, _ = month
    cfg = config.load(str(d / "config.yaml"))
    opened = dt.datetime(2026, 10, 6, 9, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp()
    with Store(str(tmp_path / "cases.db")) as store:
        store.add_incident(Incident("INC-1", "acme-prod", "P1", opened, title="API 503s"))
        store.add_event("INC-1", Event("response", opened + 600))
        store.add_event("INC-1", Event("resolution", opened + 1800))
        store.add_incident(Incident("INC-2", "acme-prod", "P2", opened, title="slow <ui>"))
        store.add_request(ServiceRequest("SR-1", "acme-prod", opened, title="new user"))
        store.add_incident(Incident("INC-9", "acme-prod", "P1", opened - 40 * 86400))  # another month
        page = render.html(cfg, store, "2026-10", "acme-prod", dt.datetime(2026, 11, 2).timestamp())
    assert "INC-1" in page and "INC-2" in page and "SR-1" in page and "INC-9" not in page
    row = lambda case: page[page.index(f"<td>{case}</td>") :].split("</tr>")[0]  # noqa: E731
    assert "all met" in row("INC-1")
    assert "missed: response (P2)" in row("INC-2") and "slow &lt;ui&gt;" in row("INC-2")
    assert "missed (due" in row("SR-1")
    assert "beta-test" not in page


# -- the daemon ----------------------------------------------------------------------------------


@pytest.fixture
def target():
    t = Target()
    yield t
    t.close()


def test_daemon_report_page_api_and_command_line(tmp_path, target):
    """Behind basic auth; a correction through the API and one from the command line (another
    process writing the same store) both show in the next scrape."""
    password_hash = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users: {{prometheus: '{password_hash}'}}\n")
    e = Exporter(
        tmp_path,
        config_for(target.url).replace("timezone: Europe/Helsinki", "timezone: UTC")
        + "support:\n  api: {token_env: SLA_TEST_TOKEN}\n"
        + "sla: {credits: [{below: 99.92%, credit: 5%}]}\n",
    )
    e.extra_args = ["--web.config.file", str(tmp_path / "web.yml")]
    basic = {"Authorization": "Basic " + base64.b64encode(b"prometheus:s3cret").decode()}
    bearer = {"Authorization": "Bearer t0ken", "Content-Type": "application/json"}
    original_get = e.get
    e.get = lambda path, method="GET", body=None, headers=None: original_get(path, method, body, headers or basic)

    def value(name, **labels):
        return e.value(name, **labels)

    try:
        e.start(env={"SLA_TEST_TOKEN": "t0ken"})
        t0 = time.time()
        target.healthy = False
        e.wait_for(lambda: (value("sla_month_downtime_seconds", tenant="acme") or 0) >= 2, what="downtime")
        target.healthy = True
        e.wait_for(lambda: value("sla_up", tenant="acme") == 1, what="up again")
        t1 = time.time()
        assert value("sla_service_credit_ratio", tenant="acme") == 0.05

        start = dt.datetime.fromtimestamp(t0 - 5, dt.UTC).isoformat()
        end = dt.datetime.fromtimestamp(t1, dt.UTC).isoformat()
        body = {"tenant": "acme", "from": start, "to": end, "as": "up", "category": "false-positive", "reason": "test"}
        code, text = original_get("/api/v1/corrections", "POST", body, bearer)
        assert code == 201, text
        assert json.loads(text)["by"].startswith("api-token:")
        # The very next scrape has it: no downtime left, the corrected seconds by category.
        assert value("sla_month_downtime_seconds", tenant="acme") == 0
        assert value("sla_corrected_seconds", tenant="acme", category="false-positive") >= 2

        out = cli(
            "correct",
            "--config.file",
            str(e.config),
            "--storage.path",
            str(e.db),
            "--revoke",
            "1",
            "--reason",
            "was real",
            "--by",
            "ops",
        )
        assert out.returncode == 0, out.stderr
        assert value("sla_month_downtime_seconds", tenant="acme") >= 2
        assert value("sla_corrected_seconds", tenant="acme", category="false-positive") is None

        month = dt.datetime.fromtimestamp(time.time(), dt.UTC).strftime("%Y-%m")
        assert original_get(f"/report?month={month}")[0] == 401  # the same web config guards it
        code, page = e.get(f"/report?month={month}&tenant=acme")
        assert code == 200 and page.startswith("<!doctype html>") and "acme" in page and "was real" in page
        assert e.get("/report?month=2026-13")[0] == 400
        assert e.get(f"/report?month={month}&tenant=nobody") == (
            400,
            "unknown tenant 'nobody' (the config has: acme)\n",
        )
        assert e.get("/report")[0] == 400
    finally:
        e.stop(signal.SIGKILL)
