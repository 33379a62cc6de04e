"""The documentation held to the code, and the packaging details the docs describe.

- docs/metrics.md is exactly what tools/metrics_doc.py generates from exporter.metrics, and
  ``--check`` fails (exit 1) when it is stale;
- every relative link and anchor in README.md, CONTRIBUTING.md and docs/ resolves inside the
  repository, and the README links every page of docs/;
- the configuration page names every config key, the CLI page every verb and flag, the
  operations page every web config key, the dashboards page every panel of each dashboard,
  and the README's demo figures are the demo's (exporter.demo.BANDS);
- the config examples in the README and docs/configuration.md load;
- the container: the Dockerfile copies what the build needs (LICENSE for license-files),
  the compose profiles, and deploy/healthcheck.py against the real exporter with TLS and
  basic auth on.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import bcrypt
import pytest
import yaml

from exporter import config, demo, metrics
from exporter.cli import build_parser
from realproc import Exporter, Target, config_for

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]
METRICS_DOC = REPO / "tools" / "metrics_doc.py"


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(text: str) -> str:
    """Markdown without fenced code blocks (links and headings in them are not links)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.DOTALL | re.MULTILINE)


def squeezed(text: str) -> str:
    return " ".join(text.split())


# -- docs/metrics.md ------------------------------------------------------------------------------


def test_metrics_doc_is_what_the_generator_writes():
    generator = load_module(METRICS_DOC, "metrics_doc")
    assert text_of(DOCS / "metrics.md") == generator.render(), "stale: run python tools/metrics_doc.py"


def test_metrics_doc_lists_every_metric_with_type_labels_and_help():
    doc = text_of(DOCS / "metrics.md")
    for m in metrics.ALL:
        labels = ", ".join(m.labels) if m.labels else "—"
        row = f"| `{m.name}` | {m.kind} | {labels} | {m.help.replace('|', chr(92) + '|')} |"
        assert row in doc.splitlines(), f"docs/metrics.md has no row {row}"


def test_metrics_doc_check_fails_when_stale(tmp_path):
    run = [sys.executable, str(METRICS_DOC), "--check"]
    assert subprocess.run(run, check=False, capture_output=True, text=True).returncode == 0
    stale = tmp_path / "metrics.md"
    stale.write_text(text_of(DOCS / "metrics.md").replace("| `sla_up` |", "| `sla_upp` |"))
    out = subprocess.run([*run, "--output", str(stale)], check=False, capture_output=True, text=True)
    assert out.returncode == 1
    assert "is stale: run python tools/metrics_doc.py" in out.stderr and "sla_upp" in out.stderr
    missing = subprocess.run([*run, "--output", str(tmp_path / "none.md")], check=False, capture_output=True, text=True)
    assert missing.returncode == 1
    # Without --check it writes the file, and then the check passes.
    assert subprocess.run([sys.executable, str(METRICS_DOC), "--output", str(stale)], check=False).returncode == 0
    assert text_of(stale) == text_of(DOCS / "metrics.md")


# -- links ----------------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(text_of(path)).splitlines():
        match = re.match(r"#{1,6} (.+)", line)
        if match:
            base, n = slug(match.group(1)), 0
            while (base if n == 0 else f"{base}-{n}") in found:
                n += 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", prose(text_of(path)))  # inline code is not a link either
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves_inside_the_repository(page):
    bad = []
    for link in links(page):
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.is_relative_to(REPO):
            bad.append(f"{link}: outside the repository")
        elif not path.exists():
            bad.append(f"{link}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            bad.append(f"{link}: {path.relative_to(REPO)} has no heading #{anchor}")
    assert not bad, f"{page.relative_to(REPO)}: " + "; ".join(bad)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_docs_cite_nothing_outside_the_repository(page):
    text = text_of(page)
    assert "/work/" not in text and "file://" not in text


def test_the_readme_links_every_page_of_the_docs():
    linked = {(REPO / link.partition("#")[0]).resolve() for link in links(REPO / "README.md")}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"
    assert (REPO / "CONTRIBUTING.md").resolve() in linked


def test_the_readme_stays_a_readme():
    assert len(text_of(REPO / "README.md").splitlines()) <= 220


# -- the reference pages against the code ----------------------------------------------------------


def config_keys() -> set[str]:
    from exporter.config import sections

    keys: set[str] = set()
    for name, value in vars(sections).items():
        if name.endswith("_KEYS") and isinstance(value, tuple):
            keys.update(value)
    keys.update(sections._SETTING_PARSERS)
    return keys


def test_the_configuration_page_names_every_key():
    doc = text_of(DOCS / "configuration.md")
    code = " ".join(re.findall(r"`([^`]*)`", doc))
    missing = sorted(k for k in config_keys() if not re.search(rf"(?<![\w]){re.escape(k)}(?![\w])", code))
    assert not missing, f"docs/configuration.md does not name {missing}"


def test_the_operations_page_names_every_web_config_key():
    from exporter.web import webconfig

    doc = text_of(DOCS / "operations.md")
    missing = [
        k
        for k in (*webconfig._TOP, *webconfig._TLS, *webconfig._CLIENT_AUTH, *webconfig._VERSIONS)
        if f"`{k}`" not in doc and f"{k}:" not in doc
    ]
    assert not missing, f"docs/operations.md does not name {missing}"


def verbs() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_cli_page_names_every_verb_and_flag():
    doc = text_of(DOCS / "cli.md")
    table = squeezed(doc)
    missing = []
    for verb, sub in verbs().items():
        if f"`sla-exporter {verb}" not in table:
            missing.append(verb)
        if f"## {verb}" not in doc:
            missing.append(f"section ## {verb}")
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and option not in doc:
                    missing.append(f"{verb} {option}")
    assert not missing, f"docs/cli.md lacks {missing}"


def dashboard_sections() -> dict[str, str]:
    doc = text_of(DOCS / "prometheus-grafana.md")
    parts = re.split(r"^### (.+)$", doc, flags=re.MULTILINE)
    return {title.strip(): squeezed(body) for title, body in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.mark.parametrize("path", sorted((REPO / "grafana" / "dashboards").glob("*.json")), ids=lambda p: p.name)
def test_the_dashboards_page_describes_every_panel(path):
    dashboard = json.loads(text_of(path))
    section = dashboard_sections().get(dashboard["title"])
    assert section is not None, f"docs/prometheus-grafana.md has no section ### {dashboard['title']}"
    assert f"`{dashboard['uid']}`" in section
    missing = [p["title"] for p in dashboard["panels"] if f"**{p['title']}**" not in section]
    assert not missing, f"docs/prometheus-grafana.md, {dashboard['title']}: no **panel** {missing}"


def test_the_readme_demo_figures_are_the_demo_bands():
    readme = text_of(REPO / "README.md")
    for tenant, band in demo.BANDS.items():
        # \u2013: the README writes the range with an en dash
        row = re.search(rf"^\| `{tenant}` \| ([\d.]+) % \| ([\d.]+) \u2013 ([\d.]+) % \|", readme, re.MULTILINE)
        assert row, f"README.md: no demo figures row for {tenant}"
        start, floor, top = (float(x) / 100 for x in row.groups())
        assert (start, floor, top) == pytest.approx((band.design, band.floor, band.top), abs=1e-9), tenant
        assert f'sla_availability_ratio{{tenant="{tenant}"}} {band.design:g}' in readme
        assert f"within {band.floor:g}-{band.top:g}" in readme


def yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", text_of(path), flags=re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("path", [REPO / "README.md", DOCS / "configuration.md"], ids=lambda p: p.name)
def test_the_config_examples_load(path):
    examples = [b for b in yaml_blocks(path) if re.search(r"^tenants:", b, re.MULTILINE)]
    assert examples, f"{path.name} has no whole config example"
    for text in examples:
        config.load_text(text, source=path.name)


def test_the_systemd_unit_in_the_docs_is_the_file():
    unit = text_of(REPO / "deploy" / "sla-exporter.service")
    shown = re.findall(r"^```ini\n(.*?)^```", text_of(DOCS / "operations.md"), flags=re.DOTALL | re.MULTILINE)
    assert shown == [unit]


# -- the container ------------------------------------------------------------------------------------


def test_the_image_copies_what_the_build_declares():
    dockerfile = text_of(REPO / "Dockerfile")
    ignored = {line.strip() for line in text_of(REPO / ".dockerignore").splitlines() if line.strip()}
    before_install = dockerfile.split("RUN pip install .", 1)[0]
    copied = [s for line in re.findall(r"^COPY (.+)$", before_install, re.MULTILINE) for s in line.split()[:-1]]
    project = tomllib.loads(text_of(REPO / "pyproject.toml"))["project"]
    for needed in [project["readme"], *project.get("license-files", []), "pyproject.toml"]:
        assert needed in copied, f"the Dockerfile builds without {needed}"
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE):
        for source in line.split()[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: no such file"
            assert source.split("/")[0] not in ignored, f"COPY {source}: excluded by .dockerignore"
    assert "healthcheck.py" in dockerfile.split("HEALTHCHECK", 1)[1]


def test_compose_has_a_demo_and_a_live_profile_behind_one_name():
    compose = yaml.safe_load(text_of(REPO / "docker-compose.yml"))
    services = compose["services"]
    demo_service = services["sla-exporter-demo"]
    assert demo_service["profiles"] == ["demo"]
    assert demo_service["command"][0] == "demo"
    assert "sla-exporter" in demo_service["networks"]["default"]["aliases"]
    assert services["sla-exporter"]["profiles"] == ["live"]
    profiled = {name for name, s in services.items() if s.get("profiles")}
    for name, service in services.items():
        if not service.get("profiles"):  # started by either profile: may not wait on one
            assert not profiled & set(service.get("depends_on", [])), name
    scraped = yaml.safe_load(text_of(REPO / "deploy" / "prometheus.yml"))["scrape_configs"][0]
    assert scraped["static_configs"][0]["targets"] == ["sla-exporter:9929"]


@pytest.fixture(scope="module")
def healthcheck():
    return load_module(REPO / "deploy" / "healthcheck.py", "sla_healthcheck")


def test_the_healthcheck_reads_the_exporters_flags(healthcheck):
    args = [
        "/usr/local/bin/python",
        "/usr/local/bin/sla-exporter",
        "run",
        "--config.file",
        "c.yaml",
        "--web.listen-address=10.0.0.1:9100",
        "--web.config.file",
        "web.yml",
    ]
    assert healthcheck.flag(args, "--web.listen-address") == "10.0.0.1:9100"
    assert healthcheck.flag(args, "--web.config.file") == "web.yml"
    assert healthcheck.flag(["sla-exporter", "demo"], "--web.config.file") is None
    assert healthcheck.target(":9929") == ("127.0.0.1", 9929)
    assert healthcheck.target("0.0.0.0:1") == ("127.0.0.1", 1)
    assert healthcheck.target("[::]:9929") == ("::1", 9929)
    assert healthcheck.target("192.0.2.7:9929") == ("192.0.2.7", 9929)


HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)


def check(healthcheck_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(healthcheck_path), "sla-exporter", "run", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    "web",
    [
        None,
        "tls_server_config: {cert_file: CERT, key_file: KEY}\nbasic_auth_users: {prometheus: 'HASH'}\n",
        "basic_auth_users: {prometheus: 'HASH'}\n",
        "tls_server_config: {cert_file: CERT, key_file: KEY}\n",
        "tls_server_config: {cert_file: CERT, key_file: KEY, client_auth_type: RequireAnyClientCert}\n",
    ],
    ids=["plain", "tls-and-basic-auth", "basic-auth", "tls", "client-certificate-required"],
)
def test_the_healthcheck_passes_with_tls_and_basic_auth(tmp_path, tls_cert, web):
    cert, key, _ = tls_cert
    target = Target()
    e = Exporter(tmp_path, config_for(target.url))
    if web:
        (tmp_path / "web.yml").write_text(web.replace("CERT", cert).replace("KEY", key).replace("HASH", HASH))
        e.extra_args = ["--web.config.file", str(tmp_path / "web.yml")]
    script = REPO / "deploy" / "healthcheck.py"
    try:
        e.start(
            ready=lambda: check(script, "--web.listen-address", f"127.0.0.1:{e.port}", *e.extra_args).returncode == 0
        )
        out = check(
            script, "--config.file", str(e.config), "--web.listen-address", f"127.0.0.1:{e.port}", *e.extra_args
        )
        assert out.returncode == 0 and out.stdout.startswith("healthy: "), out.stdout
        scheme = "https" if web and "tls_server_config" in web else "http"
        assert f"{scheme}://127.0.0.1:{e.port}/-/healthy" in out.stdout
        e.stop(signal.SIGTERM)
        down = check(script, "--web.listen-address", f"127.0.0.1:{e.port}", *e.extra_args)
        assert down.returncode == 1 and down.stdout.startswith("unhealthy: "), down.stdout
    finally:
        e.stop(signal.SIGKILL)
        target.close()
