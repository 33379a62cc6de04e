"""``--web.config.file``: TLS and basic auth for every endpoint, in the format of
Prometheus's exporter-toolkit, so the same file works for our exporter and theirs::

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      # client_auth_type: RequireAndVerifyClientCert
      # client_ca_file: clients.pem
      # min_version: TLS12
    basic_auth_users:
      prometheus: $2y$10$...        # bcrypt hash, e.g. htpasswd -nBC 10 "" | tr -d ':'

Relative paths are read from the file's folder. The YAML is read as the main config is
(``exporter.config``): every problem names its line, and a duplicate key is refused rather
than silently keeping the last value. A file that sets neither TLS nor basic auth (empty,
only comments, ``{}``) is refused too: it would switch both off without a word.

Passwords are checked with bcrypt; a verified (user, password) pair is remembered by its
SHA-256 so that scrapes do not pay the bcrypt cost every time. An unknown user, or a
password bcrypt cannot take (over 72 bytes), costs one bcrypt check of the same cost as the
configured hashes, so that the answer's timing does not tell which users exist.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import ssl
import threading
from dataclasses import dataclass, field

import bcrypt

from exporter import config
from exporter.config.schema import Section
from exporter.config.source import Context, YMap, read_yaml
from exporter.errors import UserError

_TOP = ("tls_server_config", "basic_auth_users", "http_server_config")
_TLS = ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version")
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
BCRYPT_MAX_PASSWORD = 72  # bytes; bcrypt ignores (older versions) or refuses (5.x) the rest


class WebConfigError(UserError):
    """The web config file is refused; ``str()`` is one line per problem."""


@dataclass
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash
    _verified: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _dummy: bytes | None = None

    def __post_init__(self) -> None:
        if self.users and self._dummy is None:
            self._dummy = dummy_hash(max(cost(h) for h in self.users.values()))

    def check(self, user: str, password: str) -> bool:
        """Basic-auth credentials; always True when no users are configured. Never raises."""
        if not self.users:
            return True
        hashed = self.users.get(user)
        secret = password.encode("utf-8", "surrogatepass")
        if hashed is None or len(secret) > BCRYPT_MAX_PASSWORD:
            _checkpw(b"x", self._dummy)  # the same cost as a known user's check
            return False
        key = hashlib.sha256(user.encode("utf-8", "surrogatepass") + b"\0" + secret + b"\0" + hashed).digest()
        with self._lock:
            if any(hmac.compare_digest(key, k) for k in self._verified):
                return True
        ok = _checkpw(secret, hashed)
        if ok:
            with self._lock:
                self._verified.add(key)
        return ok


def _checkpw(secret: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(secret, hashed)
    except ValueError:  # e.g. a password bcrypt will not take: a refusal, never a crash
        return False


def cost(hashed: bytes) -> int:
    """The cost (log2 rounds) of a ``$2y$10$...`` hash."""
    return int(hashed[4:6])


_DUMMIES: dict[int, bytes] = {}
_DUMMIES_LOCK = threading.Lock()


def dummy_hash(rounds: int) -> bytes:
    """A bcrypt hash of ``rounds`` that no password is checked against for real; computed
    once per cost (it takes as long as one login)."""
    with _DUMMIES_LOCK:
        if rounds not in _DUMMIES:
            _DUMMIES[rounds] = bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))
        return _DUMMIES[rounds]


def load(path: str) -> WebConfig:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise WebConfigError(f"{path}: cannot read: {err.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        raise WebConfigError(f"{path}: cannot read: not UTF-8 text") from None
    return parse(text, path, os.path.dirname(os.path.abspath(path)))


def parse(text: str, source: str, base: str) -> WebConfig:
    """The web config in ``text``; relative file names are read from ``base``."""
    ctx = Context(base)
    data = read_yaml(ctx, text)
    cfg = None
    if isinstance(data, YMap):
        top = Section(ctx, data, "")
        top.check_keys(_TOP)
        if data.get("http_server_config"):
            top.error("http_server_config", "not supported by sla-exporter")
        cfg = WebConfig(tls=_tls(top, base), users=_users(top))
        if cfg.tls is None and not cfg.users and not ctx.problems:
            ctx.error(
                "",
                data.line,
                "sets neither tls_server_config nor basic_auth_users; to serve without "
                "TLS and basic auth, leave out --web.config.file",
            )
    elif data is not None:
        ctx.error("", getattr(data, "line", 1), "expected a mapping with tls_server_config and/or basic_auth_users")
    elif not ctx.problems:
        ctx.error(
            "",
            None,
            "file is empty: expected tls_server_config and/or basic_auth_users; to serve "
            "without TLS and basic auth, leave out --web.config.file",
        )
    if ctx.problems or cfg is None:
        raise WebConfigError(str(config.ConfigError(source, ctx.problems)))
    return cfg


def _text(value) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a file name")
    return value


def _choice(options: dict, keep_name: bool = False):
    """A converter to ``options[value]`` (or the checked name itself with ``keep_name``)."""

    def convert(value):
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value if keep_name else options[value]

    return convert


def _tls(top: Section, base: str) -> ssl.SSLContext | None:
    sec = top.section("tls_server_config")
    if sec is None:
        return None
    sec.check_keys(_TLS)
    cert, key = sec.get("cert_file", _text), sec.get("key_file", _text)
    if not cert or not key:
        if "cert_file" not in sec.data or "key_file" not in sec.data:
            sec.ctx.error(sec.path, sec.data.line, "cert_file and key_file are both required")
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(os.path.join(base, cert), os.path.join(base, key))
    except (OSError, ssl.SSLError) as err:
        sec.ctx.error(
            sec.path, sec.data.line, f"cannot load {cert!r} and {key!r}: {getattr(err, 'strerror', None) or err}"
        )
        return None
    for name, attr in (("min_version", "minimum_version"), ("max_version", "maximum_version")):
        version = sec.get(name, _choice(_VERSIONS))
        if version is not None:
            setattr(ctx, attr, version)
    auth = sec.get("client_auth_type", _choice(_CLIENT_AUTH, keep_name=True), "NoClientCert")
    if auth is None:
        return ctx
    ctx.verify_mode = _CLIENT_AUTH[auth]
    if auth != "NoClientCert":
        ca = sec.get("client_ca_file", _text)
        if ca:
            try:
                ctx.load_verify_locations(os.path.join(base, ca))
            except (OSError, ssl.SSLError) as err:
                sec.error("client_ca_file", f"cannot load {ca!r}: {getattr(err, 'strerror', None) or err}")
        elif "client_ca_file" not in sec.data and auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
            sec.error("client_ca_file", f"required with client_auth_type {auth}")
    return ctx


def _users(top: Section) -> dict[str, bytes]:
    value = top.raw("basic_auth_users")
    if value is None:
        return {}
    if not isinstance(value, YMap):
        top.error("basic_auth_users", "expected a mapping of user: bcrypt hash")
        return {}
    sec = Section(top.ctx, value, "basic_auth_users")
    users = {}
    for user, hashed in value.items():
        name = str(user)
        if ":" in name:  # basic auth splits "user:password" at the first colon
            sec.ctx.error(sec.path_of(name), value.key_lines[user], "a user name cannot contain ':'")
            continue
        ok = isinstance(hashed, str) and hashed.startswith(("$2a$", "$2b$", "$2y$"))
        if ok:
            try:
                bcrypt.checkpw(b"", hashed.encode())
                cost(hashed.encode())
            except ValueError:
                ok = False
        if not ok:
            # Never echo the value: it may be a plain password written by mistake.
            sec.ctx.error(sec.path_of(name), value.value_lines[user], "expected a bcrypt hash ($2y$...)")
            continue
        users[name] = hashed.encode()
    return users
