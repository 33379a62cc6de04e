"""The SQLite store: the only persistent state and the only user of sqlite3.

Probe history is kept as runs (see ``states``): one row per stretch of equal results,
so a stable probe costs one row a month however often it is probed. Times are stored
as integer milliseconds since the epoch. WAL mode lets readers (scrapes, reports) run
beside the writer; the schema is versioned with ``PRAGMA user_version``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from exporter.states import ConflictError, Run, merge

# Each entry migrates from version i to i + 1; never edit a released entry, append.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE probes (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        probe TEXT NOT NULL,
        UNIQUE (tenant, probe)
    );
    CREATE TABLE runs (
        probe_id INTEGER NOT NULL REFERENCES probes (id),
        start_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        success INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (probe_id, start_ms)
    ) WITHOUT ROWID;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The store cannot be opened or used (missing file, newer schema, not a database)."""


@dataclass(frozen=True)
class MergeResult:
    added: int  # observations that were new to the store
    runs_written: int


MAX_MS = 2**62  # "forever" for open-ended range queries; fits SQLite's INTEGER


def to_ms(t: float) -> int:
    return MAX_MS if t >= MAX_MS / 1000 else round(t * 1000)


def _run(row: Sequence) -> Run:
    start, last, end, success, count = row
    return Run(bool(success), start / 1000, last / 1000, end / 1000, count)


class Store:
    def __init__(self, path: str, create: bool = True):
        if not create and not os.path.exists(path):
            raise StoreError(f"{path}: no such store (run `sla-exporter import` or `run` first)")
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a crash of the process never loses a commit; only power
            # loss may drop the last ones, and the database stays consistent either way.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{path}: {err}") from None
        self.path = path
        self._ids: dict[tuple[str, str], int] = {}
        # One connection shared by the daemon's threads (writer, scrapes): serialize its use.
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"schema version {version} is newer than this sla-exporter ({SCHEMA_VERSION})")
        for n in range(version, SCHEMA_VERSION):
            self.db.execute("BEGIN IMMEDIATE")
            for statement in filter(str.strip, MIGRATIONS[n].split(";")):
                self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {n + 1}")
            self.db.execute("COMMIT")

    # -- probes -------------------------------------------------------------------------

    def probe_id(self, tenant: str, probe: str, create: bool = True) -> int | None:
        key = (tenant, probe)
        if key not in self._ids:
            row = self.db.execute("SELECT id FROM probes WHERE tenant = ? AND probe = ?", key).fetchone()
            if row is None:
                if not create:
                    return None
                row = (self.db.execute("INSERT INTO probes (tenant, probe) VALUES (?, ?)", key).lastrowid,)
            self._ids[key] = row[0]
        return self._ids[key]

    # -- runs ---------------------------------------------------------------------------

    def _runs_by_id(self, probe_id: int, lo: float, hi: float) -> list[Run]:
        # Runs are disjoint and sorted, so the one covering `lo` is the last to start at
        # or before it; everything from there to `hi` comes off the primary key.
        lo_ms, hi_ms = to_ms(lo), to_ms(hi)
        rows = self.db.execute(
            """SELECT start_ms, last_ms, end_ms, success, count FROM runs
               WHERE probe_id = ?1 AND start_ms <= ?3 AND start_ms >= coalesce(
                 (SELECT max(start_ms) FROM runs WHERE probe_id = ?1 AND start_ms <= ?2), ?2)
               ORDER BY start_ms""",
            (probe_id, lo_ms, hi_ms),
        ).fetchall()
        return [_run(r) for r in rows]

    def runs(self, tenant: str, probe: str, lo: float, hi: float) -> list[Run]:
        """Runs of one probe that may cover any of ``[lo, hi]`` (one more before is fine)."""
        with self.lock:
            probe_id = self.probe_id(tenant, probe, create=False)
            return [] if probe_id is None else self._runs_by_id(probe_id, lo, hi)

    def first_start(self, tenant: str, probe: str) -> float | None:
        """When the recorded history of a probe begins, None if it has none."""
        with self.lock:
            probe_id = self.probe_id(tenant, probe, create=False)
            row = None if probe_id is None else self.db.execute(
                "SELECT min(start_ms) FROM runs WHERE probe_id = ?", (probe_id,)
            ).fetchone()
        return None if row is None or row[0] is None else row[0] / 1000

    def save_runs(self, rows: Iterable[tuple[str, str, Run]]) -> None:
        """Insert or replace runs (keyed by probe and start) in one transaction: the live
        recorder's group commit."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(
                    "INSERT OR REPLACE INTO runs (probe_id, start_ms, last_ms, end_ms, success, count) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (self.probe_id(t, p), to_ms(r.start), to_ms(r.last), to_ms(r.end), int(r.success), r.count)
                        for t, p, r in rows
                    ],
                )
            except BaseException:
                self.db.execute("ROLLBACK")
                self._ids.clear()
                raise
            self.db.execute("COMMIT")

    def merge(self, batches: Mapping[tuple[str, str], tuple[Iterable[tuple[float, bool]], float]]) -> MergeResult:
        """Merge observations into the history of several probes in ONE transaction.

        ``batches`` maps (tenant, probe) to (observations, stale_after). Either all of it
        is kept or, if anything raises (e.g. states.ConflictError), none of it.
        """
        with self.lock:
            return self._merge(batches)

    def _merge(self, batches) -> MergeResult:
        added = written = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for (tenant, probe), (observations, stale_after) in batches.items():
                obs = [(to_ms(t) / 1000, ok) for t, ok in observations]
                if not obs:
                    continue
                probe_id = self.probe_id(tenant, probe)
                first, last = min(obs)[0], max(obs)[0]
                old = self._runs_by_id(probe_id, first - stale_after, last + stale_after)
                try:
                    new = merge(old, obs, stale_after)
                except ConflictError as err:
                    err.key = (tenant, probe)
                    raise
                if new == old:
                    continue
                added += sum(r.count for r in new) - sum(r.count for r in old)
                self.db.executemany(
                    "DELETE FROM runs WHERE probe_id = ? AND start_ms = ?",
                    [(probe_id, to_ms(r.start)) for r in old],
                )
                self.db.executemany(
                    "INSERT INTO runs (probe_id, start_ms, last_ms, end_ms, success, count) VALUES (?, ?, ?, ?, ?, ?)",
                    [(probe_id, to_ms(r.start), to_ms(r.last), to_ms(r.end), int(r.success), r.count) for r in new],
                )
                written += len(new)
        except BaseException:
            self.db.execute("ROLLBACK")
            self._ids.clear()  # ids created in the rolled-back transaction are gone
            raise
        self.db.execute("COMMIT")
        return MergeResult(added, written)

    def run_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM runs").fetchone()[0]
