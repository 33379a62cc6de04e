"""--web.config.file: TLS and basic auth on every endpoint, through the real daemon."""

import base64
import signal
import ssl
import urllib.error
import urllib.request

import bcrypt
import pytest

from exporter.web import webconfig
from realproc import Exporter, Target, config_for

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)


@pytest.mark.parametrize(
    "text, message",
    [
        ("tls_server_config: {cert_file: a.pem}", "tls_server_config: cert_file and key_file are both required"),
        (
            "tls_server_config: {cert_file: a.pem, key_file: b.pem}",
            "tls_server_config: cannot load 'a.pem' and 'b.pem'",
        ),
        ("basic_auth_users: {alice: hunter2}", "basic_auth_users.alice: expected a bcrypt hash ($2y$...)"),
        ("basic_auth_users: [alice]", "basic_auth_users: expected a mapping of user: bcrypt hash"),
        ("tls_config: {}", "tls_config: unknown key"),
        ("http_server_config: {http2: true}", "http_server_config: not supported"),
        ("basic_auth_users: {alice: [", "invalid YAML"),
        ("- a\n- b", "expected a mapping"),
        # Nothing set: it would switch TLS and basic auth off without a word.
        ("", "web.yml: file is empty: expected tls_server_config and/or basic_auth_users"),
        ("# all commented out\n# basic_auth_users: {}\n", "web.yml: file is empty"),
        ("{}", "web.yml:1: sets neither tls_server_config nor basic_auth_users"),
        ("tls_server_config:\nbasic_auth_users: {}\n", "web.yml:1: sets neither tls_server_config nor"),
        # Duplicate keys were kept silently (the last one won): refused, with both lines.
        (
            "basic_auth_users:\n  alice: HASH\n  alice: HASH\n",
            "web.yml:3: basic_auth_users.alice: duplicate key 'alice' (first at line 2)",
        ),
        (
            "basic_auth_users: {alice: HASH}\nbasic_auth_users: {}\n",
            "web.yml:2: basic_auth_users: duplicate key 'basic_auth_users' (first at line 1)",
        ),
        # Wrong types: one line each, never a traceback.
        (
            "tls_server_config: {cert_file: 1, key_file: b.pem}",
            "web.yml:1: tls_server_config.cert_file: expected a file name",
        ),
        ("tls_server_config: [a]", "web.yml:1: tls_server_config: expected a mapping"),
        ("basic_auth_users: {'a:b': HASH}", "web.yml:1: basic_auth_users.'a:b': a user name cannot contain ':'"),
        ("basic_auth_users: {alice: HASH}\ntls_config: {}", "web.yml:2: tls_config: unknown key 'tls_config'"),
    ],
)
def test_bad_web_configs_are_refused_with_a_reason(tmp_path, text, message):
    path = tmp_path / "web.yml"
    path.write_text(text.replace("HASH", HASH))
    with pytest.raises(webconfig.WebConfigError) as err:
        webconfig.load(str(path))
    assert message in str(err.value)
    assert "hunter2" not in str(err.value)  # a plain password written by mistake is never echoed


def test_credentials_are_checked_and_remembered():
    web = webconfig.WebConfig(users={"alice": HASH.encode()})
    assert web.check("alice", "s3cret") and web.check("alice", "s3cret")
    assert not web.check("alice", "wrong")
    assert not web.check("mallory", "s3cret")
    assert webconfig.WebConfig().check("anyone", "anything")


@pytest.mark.parametrize("password", ["x" * 73, "s3cret" + "x" * 67, "\u00e9" * 37, "s3cret\x00"])
def test_passwords_bcrypt_refuses_are_a_plain_no(password):
    assert webconfig.WebConfig(users={"alice": HASH.encode()}).check("alice", password) is False


@pytest.mark.parametrize("costs, dummy_cost", [((4,), 4), ((5, 4), 5), ((6,), 6)])
def test_unknown_users_are_checked_against_a_hash_of_the_configured_cost(costs, dummy_cost):
    users = {f"u{i}": bcrypt.hashpw(b"pw", bcrypt.gensalt(c)) for i, c in enumerate(costs)}
    web = webconfig.WebConfig(users=users)
    assert webconfig.cost(web._dummy) == dummy_cost
    assert not web.check("nobody", "pw")


def _get(url, auth=None, context=None, headers=None, quiet=False):
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=h), timeout=5, context=context) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code
    except urllib.error.URLError:
        if quiet:
            return None
        raise


def test_tls_and_basic_auth_on_every_endpoint(tmp_path, tls_cert):
    cert, key, _ = tls_cert
    (tmp_path / "web.yml").write_text(
        f"tls_server_config: {{cert_file: {cert}, key_file: {key}}}\nbasic_auth_users: {{prometheus: '{HASH}'}}\n"
    )
    target = Target()
    e = Exporter(tmp_path, config_for(target.url) + "support: {api: {token_env: SLA_TOKEN}}\n")
    e.extra_args = ["--web.config.file", str(tmp_path / "web.yml")]
    ctx = ssl.create_default_context(cafile=cert)
    try:
        e.start(
            env={"SLA_TOKEN": "tok"},
            ready=lambda: _get(f"https://127.0.0.1:{e.port}/-/ready", "prometheus:s3cret", ctx, quiet=True) == 200,
        )
        base = f"https://127.0.0.1:{e.port}"
        for path in ("/metrics", "/-/healthy", "/-/ready", "/"):
            assert _get(base + path, None, ctx) == 401
            assert _get(base + path, "prometheus:wrong", ctx) == 401
            assert _get(base + path, "nobody:s3cret", ctx) == 401
            assert _get(base + path, "prometheus:s3cret", ctx) == 200
        # The support API takes its bearer token instead of basic auth.
        assert _get(base + "/api/v1/incidents", None, ctx, {"Authorization": "Bearer tok"}) == 200
        assert _get(base + "/api/v1/incidents", None, ctx, {"Authorization": "Bearer nope"}) == 401
        # Plain HTTP is not served.
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{e.port}/metrics", timeout=5)
    finally:
        e.stop(signal.SIGKILL)
        target.close()


@pytest.mark.parametrize(
    "text, line",
    [
        ("basic_auth_users: {alice: plain}\n", "web.yml:1: basic_auth_users.alice: expected a bcrypt hash ($2y$...)"),
        (
            "",
            "web.yml: file is empty: expected tls_server_config and/or basic_auth_users; to serve without TLS "
            "and basic auth, leave out --web.config.file",
        ),
        (
            "basic_auth_users:\n  alice: HASH\n  alice: plain\n",
            "web.yml:3: basic_auth_users.alice: duplicate key 'alice' (first at line 2)",
        ),
    ],
)
def test_a_bad_web_config_stops_the_start_with_one_line(tmp_path, text, line):
    import subprocess
    import sys

    (tmp_path / "c.yaml").write_text(config_for("http://127.0.0.1:9"))
    (tmp_path / "web.yml").write_text(text.replace("HASH", HASH))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "run",
            "--config.file",
            str(tmp_path / "c.yaml"),
            "--storage.path",
            str(tmp_path / "db"),
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
            str(tmp_path / "web.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1
    assert out.stderr.strip() == f"sla-exporter run: {tmp_path}/{line}"  # one line
    assert "Traceback" not in out.stderr and "plain" not in out.stderr


def test_a_refused_web_config_on_reload_keeps_tls_and_auth_on(tmp_path, tls_cert):
    """An empty web config file, reloaded, used to switch TLS and basic auth off in silence."""
    cert, key, _ = tls_cert
    web = tmp_path / "web.yml"
    tls = f"tls_server_config: {{cert_file: {cert}, key_file: {key}}}\n"
    web.write_text(tls + f"basic_auth_users: {{prometheus: '{HASH}'}}\n")
    target = Target()
    e = Exporter(tmp_path, config_for(target.url))
    e.extra_args = ["--web.config.file", str(web)]
    ctx = ssl.create_default_context(cafile=cert)
    base = f"https://127.0.0.1:{e.port}"

    def metric(name, auth="prometheus:s3cret"):
        request = urllib.request.Request(
            f"https://127.0.0.1:{e.port}/metrics",
            headers={"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()},
        )
        with urllib.request.urlopen(request, timeout=5, context=ctx) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        return None

    def reload(auth="prometheus:s3cret"):
        request = urllib.request.Request(
            base + "/-/reload",
            method="POST",
            data=b"",
            headers={"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()},
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=ctx) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    try:
        e.start(ready=lambda: _get(f"https://127.0.0.1:{e.port}/-/ready", "prometheus:s3cret", ctx, quiet=True) == 200)
        base = f"https://127.0.0.1:{e.port}"
        assert metric("sla_exporter_web_config_last_reload_successful") == 1
        # Empty, by SIGHUP: refused; TLS and basic auth stay on.
        web.write_text("")
        e.proc.send_signal(signal.SIGHUP)
        e.wait_for(lambda: metric("sla_exporter_web_config_last_reload_successful") == 0, what="the refusal")
        assert metric("sla_exporter_config_last_reload_successful") == 0
        assert _get(base + "/metrics", None, ctx) == 401
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{e.port}/metrics", timeout=5)
        assert "config reload refused" in e.log.read_text() and "file is empty" in e.log.read_text()
        # A duplicate key, by POST /-/reload: refused with its line.
        web.write_text(tls + f"basic_auth_users:\n  prometheus: '{HASH}'\n  prometheus: '{HASH}'\n")
        status, text = reload()
        assert (
            status == 500
            and "web.yml:4: basic_auth_users.prometheus: duplicate key 'prometheus' (first at line 3)" in text
        )
        # A good one (a new user) is taken; the metrics say so.
        web.write_text(tls + f"basic_auth_users: {{grafana: '{HASH}'}}\n")
        assert reload() == (200, "config reloaded\n")
        assert metric("sla_exporter_web_config_last_reload_successful", "grafana:s3cret") == 1
        assert metric("sla_exporter_config_last_reload_successful", "grafana:s3cret") == 1
        assert _get(base + "/metrics", "prometheus:s3cret", ctx) == 401
    finally:
        e.stop(signal.SIGKILL)
        target.close()


def test_reload_takes_both_files_or_neither(tmp_path):
    """In process: a refused web config keeps the running one (the very object), both files'
    problems are reported together, and the metric follows the web config file."""
    from exporter.daemon import Daemon

    (tmp_path / "c.yaml").write_text(config_for("http://127.0.0.1:9"))
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users: {{prometheus: '{HASH}'}}\n")
    d = Daemon(str(tmp_path / "c.yaml"), str(tmp_path / "s.db"), ("127.0.0.1", 0), web_config_path=str(web))
    try:
        running = d.server.web
        sample = lambda: d.registry.get_sample_value("sla_exporter_web_config_last_reload_successful")  # noqa: E731
        assert sample() == 1
        web.write_text("")
        (tmp_path / "c.yaml").write_text("tenants: []\n")
        ok, message = d.reload()
        assert not ok and "file is empty" in message and "tenants" in message
        assert d.server.web is running and sample() == 0 and not d.status.reload_ok
        (tmp_path / "c.yaml").write_text(config_for("http://127.0.0.1:9"))
        ok, message = d.reload()
        assert (ok, d.server.web is running, sample()) == (False, True, 0)  # the web config still refused
        web.write_text(f"basic_auth_users: {{grafana: '{HASH}'}}\n")
        assert d.reload() == (True, "config reloaded")
        assert list(d.server.web.users) == ["grafana"] and sample() == 1 and d.status.reload_ok
        # A bad main config with a good web config: neither is taken; the web file was fine.
        (tmp_path / "c.yaml").write_text("tenants: [")
        web.write_text(f"basic_auth_users: {{alice: '{HASH}'}}\n")
        ok, message = d.reload()
        assert not ok and list(d.server.web.users) == ["grafana"] and sample() == 1
    finally:
        d.server.server_close()
        d.store.close()
