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

Relative paths are read from the file's folder. Passwords are checked with bcrypt; a
verified (user, password) pair is remembered by its SHA-256 so that scrapes do not pay the
bcrypt cost every time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import ssl
import threading
from dataclasses import dataclass, field

import bcrypt
import yaml

_TOP = ("tls_server_config", "basic_auth_users", "http_server_config")
_TLS = ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version")
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
             "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


class WebConfigError(Exception):
    """The web config file is refused; ``str()`` is one line per problem."""


@dataclass
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash
    _verified: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, user: str, password: str) -> bool:
        """Basic-auth credentials; always True when no users are configured."""
        if not self.users:
            return True
        hashed = self.users.get(user)
        if hashed is None:
            bcrypt.checkpw(b"x", _DUMMY)  # same cost for unknown users: no user enumeration
            return False
        key = hashlib.sha256(user.encode() + b"\0" + password.encode() + b"\0" + hashed).digest()
        with self._lock:
            if any(hmac.compare_digest(key, k) for k in self._verified):
                return True
        ok = bcrypt.checkpw(password.encode(), hashed)
        if ok:
            with self._lock:
                self._verified.add(key)
        return ok


_DUMMY = bcrypt.hashpw(b"x", bcrypt.gensalt(4))


def load(path: str) -> WebConfig:
    problems: list[str] = []
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as err:
        raise WebConfigError(f"{path}: cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise WebConfigError(f"{where}: invalid YAML: {getattr(err, 'problem', err)}") from None
    if doc is None:
        return WebConfig()
    if not isinstance(doc, dict):
        raise WebConfigError(f"{path}: expected a mapping with tls_server_config and/or basic_auth_users")
    base = os.path.dirname(os.path.abspath(path))
    for key in doc:
        if key not in _TOP:
            problems.append(f"{path}: {key}: unknown key (expected one of {', '.join(_TOP)})")
    if doc.get("http_server_config"):
        problems.append(f"{path}: http_server_config: not supported by sla-exporter")
    cfg = WebConfig(tls=_tls(doc.get("tls_server_config"), base, path, problems),
                    users=_users(doc.get("basic_auth_users"), path, problems))
    if problems:
        raise WebConfigError("\n".join(problems))
    return cfg


def _tls(sec, base: str, path: str, problems: list[str]) -> ssl.SSLContext | None:
    if sec is None:
        return None
    if not isinstance(sec, dict):
        problems.append(f"{path}: tls_server_config: expected a mapping")
        return None
    for key in sec:
        if key not in _TLS:
            problems.append(f"{path}: tls_server_config.{key}: unknown key (expected one of {', '.join(_TLS)})")
    cert, key = sec.get("cert_file"), sec.get("key_file")
    if not cert or not key:
        problems.append(f"{path}: tls_server_config: cert_file and key_file are both required")
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(os.path.join(base, cert), os.path.join(base, key))
    except (OSError, ssl.SSLError) as err:
        problems.append(f"{path}: tls_server_config: cannot load {cert!r} and {key!r}: "
                        f"{getattr(err, 'strerror', None) or err}")
        return None
    for name, attr in (("min_version", "minimum_version"), ("max_version", "maximum_version")):
        if name in sec:
            if sec[name] not in _VERSIONS:
                problems.append(f"{path}: tls_server_config.{name}: expected one of {', '.join(_VERSIONS)}")
            else:
                setattr(ctx, attr, _VERSIONS[sec[name]])
    auth = sec.get("client_auth_type", "NoClientCert")
    if auth not in _CLIENT_AUTH:
        problems.append(f"{path}: tls_server_config.client_auth_type: expected one of {', '.join(_CLIENT_AUTH)}")
        return ctx
    ctx.verify_mode = _CLIENT_AUTH[auth]
    if auth != "NoClientCert":
        ca = sec.get("client_ca_file")
        if ca:
            try:
                ctx.load_verify_locations(os.path.join(base, ca))
            except (OSError, ssl.SSLError) as err:
                problems.append(f"{path}: tls_server_config.client_ca_file: cannot load {ca!r}: "
                                f"{getattr(err, 'strerror', None) or err}")
        elif auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
            problems.append(f"{path}: tls_server_config.client_ca_file: required with client_auth_type {auth}")
    return ctx


def _users(sec, path: str, problems: list[str]) -> dict[str, bytes]:
    if sec is None:
        return {}
    if not isinstance(sec, dict):
        problems.append(f"{path}: basic_auth_users: expected a mapping of user: bcrypt hash")
        return {}
    users = {}
    for user, hashed in sec.items():
        ok = isinstance(hashed, str) and hashed.startswith(("$2a$", "$2b$", "$2y$"))
        if ok:
            try:
                bcrypt.checkpw(b"", hashed.encode())
            except ValueError:
                ok = False
        if not ok:
            # Never echo the value: it may be a plain password written by mistake.
            problems.append(f"{path}: basic_auth_users.{user}: expected a bcrypt hash ($2y$...)")
            continue
        users[str(user)] = hashed.encode()
    return users
