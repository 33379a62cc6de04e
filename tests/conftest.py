"""Fixtures shared by several test modules."""

import shutil
import ssl
import subprocess

import pytest

from realproc import Target


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key, notAfter)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    end = subprocess.run(
        ["openssl", "x509", "-enddate", "-noout", "-in", str(cert)], check=True, capture_output=True, text=True
    ).stdout.strip()
    not_after = ssl.cert_time_to_seconds(end.split("=", 1)[1])
    return str(cert), str(key), float(not_after)


@pytest.fixture
def target():
    """A local HTTP endpoint (realproc.Target) whose health the test switches."""
    t = Target()
    yield t
    t.close()


@pytest.fixture(scope="session")
def postgresql():
    """A throwaway PostgreSQL cluster for the session (pgserver.PostgreSQL): skipped without
    PostgreSQL or psycopg, failed when CI is set."""
    from pgserver import PostgreSQL

    server = PostgreSQL().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """Where a new empty store goes, on each backend: a SQLite path, a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "sla.db")
    return request.getfixturevalue("postgresql").url()
