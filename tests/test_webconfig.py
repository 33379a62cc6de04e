"""--web.config.file: TLS and basic auth on every endpoint, through the real daemon."""

import base64
import signal
import ssl
import urllib.error
import urllib.request

import bcrypt
import pytest

from exporter import webconfig
from tests.test_daemon import Exporter, Target, config_for

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)


@pytest.mark.parametrize(
    "text, message",
    [
        ("tls_server_config: {cert_file: a.pem}", "tls_server_config: cert_file and key_file are both required"),
        ("tls_server_config: {cert_file: a.pem, key_file: b.pem}", "tls_server_config: cannot load 'a.pem' and 'b.pem'"),
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
        ("basic_auth_users:\n  alice: HASH\n  alice: HASH\n",
         "web.yml:3: basic_auth_users.alice: duplicate key 'alice' (first at line 2)"),
        ("basic_auth_users: {alice: HASH}\nbasic_auth_users: {}\n",
         "web.yml:2: basic_auth_users: duplicate key 'basic_auth_users' (first at line 1)"),
        # Wrong types: one line each, never a traceback.
        ("tls_server_config: {cert_file: 1, key_file: b.pem}", "web.yml:1: tls_server_config.cert_file: expected a file name"),
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
    (tmp_path / "web.yml").write_text(f"tls_server_config: {{cert_file: {cert}, key_file: {key}}}\n"
                                      f"basic_auth_users: {{prometheus: '{HASH}'}}\n")
    target = Target()
    e = Exporter(tmp_path, config_for(target.url) + "support: {api: {token_env: SLA_TOKEN}}\n")
    e.extra_args = ["--web.config.file", str(tmp_path / "web.yml")]
    ctx = ssl.create_default_context(cafile=cert)
    try:
        e.start(env={"SLA_TOKEN": "tok"}, ready=lambda: _get(f"https://127.0.0.1:{e.port}/-/ready",
                                                              "prometheus:s3cret", ctx, quiet=True) == 200)
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
        ("", "web.yml: file is empty: expected tls_server_config and/or basic_auth_users; to serve without TLS "
             "and basic auth, leave out --web.config.file"),
        ("basic_auth_users:\n  alice: HASH\n  alice: plain\n",
         "web.yml:3: basic_auth_users.alice: duplicate key 'alice' (first at line 2)"),
    ],
)
def test_a_bad_web_config_stops_the_start_with_one_line(tmp_path, text, line):
    import subprocess
    import sys

    (tmp_path / "c.yaml").write_text(config_for("http://127.0.0.1:9"))
    (tmp_path / "web.yml").write_text(text.replace("HASH", HASH))
    out = subprocess.run([sys.executable, "-m", "exporter", "run", "--config.file", str(tmp_path / "c.yaml"),
                          "--storage.path", str(tmp_path / "db"), "--web.listen-address", "127.0.0.1:0",
                          "--web.config.file", str(tmp_path / "web.yml")], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert out.stderr.strip() == f"sla-exporter run: {tmp_path}/{line}"  # one line
    assert "Traceback" not in out.stderr and "plain" not in out.stderr

