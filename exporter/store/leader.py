"""Leader election: the jobs that must run once per shard (incident detection) run on one
exporter of several sharing a PostgreSQL store.

The leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a connection of
its own. When its process dies, even by kill -9, the server ends the session and the lock is
free; the other exporters try for it every ``retry`` seconds, so one of them leads again
within that interval (plus the time the server takes to see the connection gone: at once
for a dead process on a live host, up to the TCP keepalive for a host that vanished). With a
SQLite store every exporter has a store of its own and leads itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import zlib

from exporter.config.redact import redact_userinfo
from exporter.store.backend import LOCK_LEADER, connect_pg, is_url

log = logging.getLogger("sla_exporter")

DEFAULT_RETRY = 15.0  # seconds between tries for the lock (and checks that it is still held)
RETRY_ENV = "SLA_EXPORTER_LEADER_RETRY"  # seconds; the tests shorten it


def seconds_from_env(name: str, default: float, environ: os._Environ[str] | dict[str, str] = os.environ) -> float:
    """A positive number of seconds from the environment variable ``name``; ``default``
    when it is unset, not a number or not positive (settings the tests shorten)."""
    try:
        value = float(environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def retry_interval(environ: os._Environ[str] | dict[str, str] = os.environ) -> float:
    return seconds_from_env(RETRY_ENV, DEFAULT_RETRY, environ)


class Leader:
    """``held``: whether this exporter leads its shard now (always, on SQLite)."""

    def __init__(self, target: str, shard: tuple[int, int] = (0, 1), retry: float | None = None):
        self.url = target if is_url(target) else None
        self.held = self.url is None
        self.retry = retry if retry is not None else retry_interval()
        self.key = zlib.crc32("{}/{}".format(*shard).encode()) % 2**31  # one leader per shard
        self._conn = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.url is None or self._thread is not None:
            return
        self.attempt()  # at start, so that a lone exporter leads at once
        self._thread = threading.Thread(target=self._loop, name="leader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.wait(self.retry):
            self.attempt()

    def attempt(self) -> bool:
        """Take the lock if free, or check that our session (and so the lock) still lives."""
        was = self.held
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self.held = False  # a new session holds nothing
                self._conn = connect_pg(self.url)  # type: ignore[arg-type]
            if self.held:
                self._conn.execute("SELECT 1")
            else:
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_LEADER, self.key)).fetchone()
                self.held = bool(row[0])
        except Exception as err:  # noqa: BLE001 - StoreError, psycopg's errors: try again later
            self.held = False
            self._close()
            error = redact_userinfo(str(err))
            log.warning("leader election: cannot reach the store", extra={"fields": {"error": error}})
        if self.held != was:
            log.info("leader" if self.held else "not the leader any more", extra={"fields": {"retry": self.retry}})
        return self.held

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Give up leadership (the session ends: the lock is free for another at once)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()
        if self.url is not None:
            self.held = False
