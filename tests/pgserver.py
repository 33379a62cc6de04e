"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a new
cluster in a temporary directory, listening on 127.0.0.1 on a free port, run as its own
user (``postgres`` when the tests run as root: PostgreSQL refuses to run as root).

A helper module, not a test file (``from pgserver import PostgreSQL``). Skipped locally
without the binaries or psycopg, failed when CI is set (.ci/run installs both).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from realproc import free_port, in_ci


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def require() -> str:
    """The directory of initdb/pg_ctl, or skip (fail under CI)."""
    problem = None
    bindir = _bindir()
    if bindir is None:
        problem = "PostgreSQL is not installed (Debian: apt-get install --no-install-recommends postgresql)"
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            problem = "psycopg is not installed (pip install -e '.[postgresql]')"
    if problem:
        if in_ci():
            pytest.fail(problem + " and CI is set: refusing to skip")
        pytest.skip(problem)
    return bindir  # type: ignore[return-value]


class PostgreSQL:
    """``start()`` a cluster, ``url(db)`` for a fresh database, ``stop()`` (also kill -9)."""

    def __init__(self) -> None:
        self.bindir = require()
        self.dir = tempfile.mkdtemp(prefix="sla-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.databases = 0

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        if self.user:
            argv = ("runuser", "-u", self.user, "--", *argv)
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgreSQL:
        self._run(
            os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} -c fsync=off"
        )
        self._run(
            os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def url(self, name: str | None = None) -> str:
        """A new empty database's URL."""
        import psycopg

        self.databases += 1
        name = name or f"sla{self.databases}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        for _ in range(50):
            if not os.path.exists(os.path.join(self.data, "postmaster.pid")):
                break
            time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)
