"""The store: the only persistent state, on SQLite (a file, the default) or PostgreSQL (a
server several exporters share); exporter/store/backend.py holds what differs between them.

Probe history is kept as what was observed: evenly spaced series of equal results (see
``states``), so a stable probe costs one row a month however often it is probed, and
nothing stored depends on the config. Times are integer milliseconds since the epoch. WAL
mode lets readers (scrapes, reports) run beside the writer; the schema is versioned with
``PRAGMA user_version`` (PostgreSQL: a ``schema_version`` table).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from exporter.engine.states import ConflictError, Series, insert, merge, shared_step
from exporter.errors import UserError
from exporter.model import DEFAULT_LOCATION, Event, Incident, LedgerEntry, ServiceRequest
from exporter.store import backend as backends, chain
from exporter.store.backend import (  # noqa: F401 - _statements: for tests of old schemas
    LOCK_INCIDENTS,
    LOCK_LEDGER,
    LOCK_REQUESTS,
    LOCK_SERIES,
    StoreError,
    _statements,
)

__all__ = ["StoreError"]

log = logging.getLogger("sla_exporter")

# A probe's history in the store: (tenant, probe) at the default location, or (tenant,
# probe, location).
ProbeKey = tuple[str, ...]


def _chain_series(db: backends.SQLite) -> None:
    """Migration 5: every history record carries its link in the probe's hash chain, and
    every ledger entry in the ledger's, computed once here for what was recorded before
    chains existed."""
    db.execute("ALTER TABLE series ADD COLUMN hash BLOB")
    for probe_id, tenant, probe in db.execute("SELECT id, tenant, probe FROM probes").fetchall():
        _rechain(db, probe_id, chain.genesis("series", tenant, probe), -MAX_MS)
    db.execute("ALTER TABLE corrections ADD COLUMN hash BLOB")
    # The ledger refuses updates: lifted for this one computation, in the migration's transaction.
    (trigger,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'corrections_no_update'").fetchone()
    db.execute("DROP TRIGGER corrections_no_update")
    prev = chain.genesis("corrections")
    rows = db.execute(f"SELECT {', '.join(LEDGER_COLUMNS)} FROM corrections ORDER BY id").fetchall()
    for row in rows:
        prev = chain.link(prev, chain.record_content(dict(zip(LEDGER_COLUMNS, row, strict=True))))
        db.execute("UPDATE corrections SET hash = ? WHERE id = ?", (prev, row[0]))
    db.execute(trigger)


# The corrections' columns their hash covers, in the ledger's chain (ordered by id).
LEDGER_COLUMNS = (
    "id",
    "kind",
    "tenant",
    "from_ms",
    "to_ms",
    "state",
    "category",
    "reason",
    "author",
    "recorded_ms",
    "revokes",
)


# Each entry migrates from version i to i + 1 (SQL, or a function for what SQL cannot
# compute); never edit a released entry, append.
MIGRATIONS: list[str | Callable[[backends.SQLite], None]] = [
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
    # 2: support incidents and service requests
    """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        priority TEXT NOT NULL,
        defect INTEGER NOT NULL,
        source TEXT NOT NULL,
        title TEXT,
        opened_ms INTEGER NOT NULL,
        closed_ms INTEGER
    );
    CREATE TABLE incident_events (
        incident_id TEXT NOT NULL REFERENCES incidents (id),
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        priority TEXT,
        note TEXT,
        PRIMARY KEY (incident_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE service_requests (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        title TEXT,
        opened_ms INTEGER NOT NULL,
        delivered_ms INTEGER
    );
    """,
    # 3: history as what was observed (evenly spaced series of equal results), read under
    # whatever stale_after the config says. A run of version 2 becomes a series over the
    # same span; its inner times were not kept, so they are taken as evenly spaced.
    """
    CREATE TABLE series (
        probe_id INTEGER NOT NULL REFERENCES probes (id),
        start_ms INTEGER NOT NULL,
        step_ms INTEGER NOT NULL,
        count INTEGER NOT NULL,
        success INTEGER NOT NULL,
        PRIMARY KEY (probe_id, start_ms)
    ) WITHOUT ROWID;
    INSERT INTO series (probe_id, start_ms, step_ms, count, success)
        SELECT probe_id, start_ms, CASE WHEN count > 1 THEN (last_ms - start_ms) / (count - 1) ELSE 0 END,
               count, success FROM runs;
    DROP TABLE runs;
    """,
    # 4: the corrections ledger, append-only: a revocation is an entry of its own, and the
    # triggers refuse any UPDATE or DELETE (docs/semantics.md, "Corrections").
    """
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('correction', 'revocation')),
        tenant TEXT NOT NULL,
        from_ms INTEGER,
        to_ms INTEGER,
        state TEXT,
        category TEXT,
        reason TEXT NOT NULL,
        author TEXT NOT NULL,
        recorded_ms INTEGER NOT NULL,
        revokes INTEGER REFERENCES corrections (id)
    );
    CREATE INDEX corrections_tenant ON corrections (tenant, from_ms);
    CREATE TRIGGER corrections_no_update BEFORE UPDATE ON corrections
        BEGIN SELECT RAISE(ABORT, 'the corrections ledger is append-only'); END;
    CREATE TRIGGER corrections_no_delete BEFORE DELETE ON corrections
        BEGIN SELECT RAISE(ABORT, 'the corrections ledger is append-only'); END;
    """,
    # 5: hash-chained history and ledger (docs/evidence.md)
    _chain_series,
    # 6: a scrape reads the open incidents (and the few that changed), not all of them
    """
    CREATE INDEX incidents_closed ON incidents (closed_ms);
    """,
    # 7: a probe's history is kept per location (what each exporter observed from where it
    # runs), and each probe counts its writes so that other exporters on the same store see
    # what changed. The key changes, so the table is rebuilt (ids stay as they are).
    """
    CREATE TABLE probes_7 (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        probe TEXT NOT NULL,
        location TEXT NOT NULL DEFAULT 'default',
        version INTEGER NOT NULL DEFAULT 0,
        UNIQUE (tenant, probe, location)
    );
    INSERT INTO probes_7 (id, tenant, probe) SELECT id, tenant, probe FROM probes;
    DROP TABLE probes;
    ALTER TABLE probes_7 RENAME TO probes;
    """,
    # 8: a count of the writes to the incidents (new ones, events), so that a scrape reads
    # them again only when they changed (also by another process): one row to look up.
    """
    CREATE TABLE write_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
    INSERT INTO write_counts (name, n) VALUES ('incidents', 0);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
assert len(backends.PG_MIGRATIONS) == SCHEMA_VERSION  # one schema: the same steps in each dialect


@dataclass(frozen=True)
class MergeResult:
    added: int  # observations that were new to the store
    series_written: int


MAX_MS = 2**62  # "forever" for open-ended range queries; fits SQLite's INTEGER


def _rechain(db: backends.SQLite | backends.PostgreSQL, probe_id: int, start: bytes, from_ms: int) -> int:
    """Recompute the hashes of a probe's records from the one starting at ``from_ms`` to
    the head, after a legitimate write changed, added or removed records from there on
    (``start``: the chain's genesis). A live append touches only the last record."""
    # One query: the record before from_ms (its hash is the link) and every one from it on.
    rows = db.execute(
        """SELECT start_ms, step_ms, count, success, hash FROM series WHERE probe_id = ? AND start_ms >= coalesce(
             (SELECT max(start_ms) FROM series WHERE probe_id = ? AND start_ms < ?), ?) ORDER BY start_ms""",
        (probe_id, probe_id, from_ms, from_ms),
    ).fetchall()
    prev = start
    if rows and rows[0][0] < from_ms:
        prev = rows.pop(0)[4] or b""
    updates = []
    for start_ms, step, count, success, stored in rows:
        prev = chain.link(prev, chain.series_content(start_ms, step, count, success))
        if stored != prev:
            updates.append((prev, probe_id, start_ms))
    db.executemany("UPDATE series SET hash = ? WHERE probe_id = ? AND start_ms = ?", updates)
    return len(updates)


# Ledgers written with Store.append_chained, checked by `sla-exporter verify`: table ->
# (the hashed columns, the order of the chain). The corrections ledger registers here.
CHAINED_LEDGERS: dict[str, tuple[tuple[str, ...], str]] = {"corrections": (LEDGER_COLUMNS, "id")}


@dataclass(frozen=True)
class ChainBreak:
    """The first history record of a probe that does not verify."""

    tenant: str
    probe: str
    start_ms: int | None  # the record's start; None when the probe's records are all gone
    problem: str


@dataclass(frozen=True)
class ChainHead:
    tenant: str
    probe: str
    records: int
    head_start_ms: int | None  # the last record's start; None for a probe without records
    head: str  # hex SHA-256 of the last record (the genesis when there is none)


def series_genesis(tenant: str, probe: str, location: str = DEFAULT_LOCATION) -> bytes:
    """Where a probe's chain at a location starts (the default location's as before
    locations existed, so chains recorded then still verify)."""
    if location == DEFAULT_LOCATION:
        return chain.genesis("series", tenant, probe)
    return chain.genesis("series", tenant, probe, location)


def shown(probe: str, location: str) -> str:
    """A probe as messages name it: ``probe@location`` unless at the default location."""
    return probe if location == DEFAULT_LOCATION else f"{probe}@{location}"


def to_ms(t: float) -> int:
    return MAX_MS if t >= MAX_MS / 1000 else round(t * 1000)


def _series(row: Sequence) -> Series:
    start, step, count, success = row
    return Series(bool(success), start, shared_step(step), count)


_SERIES = "SELECT start_ms, step_ms, count, success FROM series"


class LedgerError(UserError):
    """A revocation the ledger refuses: no such correction, or revoked already."""


_LEDGER = (
    "SELECT id, kind, tenant, reason, author, recorded_ms, from_ms, to_ms, state, category, revokes FROM corrections"
)


def _entry(row: Sequence) -> LedgerEntry:
    return LedgerEntry(*row)


def _where(unset_column: str | None, item_id: str | None) -> tuple[str, list]:
    """A WHERE clause for "still open" (the column is NULL) and/or one id."""
    where, params = [], []
    if unset_column:
        where.append(f"{unset_column} IS NULL")
    if item_id is not None:
        where.append("id = ?")
        params.append(item_id)
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


def _incident_row(inc: Incident) -> tuple[str, tuple]:
    return (
        "INSERT INTO incidents (id, tenant, priority, defect, source, title, opened_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (inc.id, inc.tenant, inc.priority, int(inc.defect), inc.source, inc.title, to_ms(inc.opened)),
    )


# In the transaction of every write to the incidents or their events (incidents_version).
_COUNT_INCIDENT_WRITE = ("UPDATE write_counts SET n = n + 1 WHERE name = 'incidents'", ())


def _request_row(req: ServiceRequest) -> tuple[str, tuple]:
    return (
        "INSERT INTO service_requests (id, tenant, title, opened_ms) VALUES (?, ?, ?, ?)",
        (req.id, req.tenant, req.title, to_ms(req.opened)),
    )


_Numbered = TypeVar("_Numbered", Incident, ServiceRequest)


class Store:
    def __init__(self, path: str, create: bool = True, chained: bool = True):
        """``path``: a SQLite file, or a ``postgresql://USER:PASS@HOST:PORT/DB`` URL."""
        url = backends.is_url(path)
        shown = backends.redact_userinfo(path)  # never a password in a message or a log line
        if not create and not url and not os.path.exists(path):
            raise StoreError(f"{path}: no such store (run `sla-exporter import` or `run` first)")
        self.db: backends.SQLite | backends.PostgreSQL = backends.open_backend(path)
        try:
            self.db.check()
            if not create and url and self.db.version() == 0:
                raise StoreError(f"{shown}: no such store (run `sla-exporter import` or `run` first)")
            self._migrate()
        except self.db.Error as err:
            self.db.close()
            raise StoreError(f"{shown}: {backends.redact_userinfo(str(err).strip())}") from None
        except StoreError:
            self.db.close()
            raise
        self.path = shown
        self._ids: dict[tuple[str, str, str], int] = {}  # (tenant, probe, location) -> id
        # (tenant, probe) -> locations, one frozenset per distinct set (a set per probe was
        # 7 MB at 30,000 probes, nearly all of them the same one location)
        self._where: dict[tuple[str, str], frozenset[str]] = {}
        self._places: dict[frozenset[str], frozenset[str]] = {}
        self._all_ids = False  # every probe's id read into _ids once (ids never change)
        self._genesis: dict[int, bytes] = {}  # probe id -> the genesis of its chain
        # False for a scratch store (an import's spill): nothing there is evidence, and
        # hashing it would only slow the import.
        self.chained = chained
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
        steps = MIGRATIONS if self.db.dialect == "sqlite" else backends.PG_MIGRATIONS
        while (version := self.db.version()) < SCHEMA_VERSION:
            # Several exporters may start together on one PostgreSQL: one migrates, the
            # others wait here and then find the work done.
            with self.db.schema_lock():
                self.db.begin_write()
                try:
                    if self.db.version() == version:
                        step = steps[version]
                        if callable(step):
                            step(self.db)
                        else:
                            self.db.script(step)
                        self.db.set_version(version + 1)
                except BaseException:
                    self.db.rollback()
                    raise
                self.db.commit()
        if version > SCHEMA_VERSION:
            raise StoreError(f"schema version {version} is newer than this sla-exporter ({SCHEMA_VERSION})")

    # -- probes -------------------------------------------------------------------------

    def probe_id(self, tenant: str, probe: str, location: str = DEFAULT_LOCATION, create: bool = True) -> int | None:
        key = (tenant, probe, location)
        if key not in self._ids and not self._all_ids:
            self._load_ids()
        if key not in self._ids:
            where = "tenant = ? AND probe = ? AND location = ?"
            row = self.db.execute(f"SELECT id FROM probes WHERE {where}", key).fetchone()
            if row is None:
                if not create:
                    return None
                # Another exporter may add the same probe meanwhile: both get its one id.
                self.db.execute(
                    "INSERT INTO probes (tenant, probe, location) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", key
                )
                row = self.db.execute(f"SELECT id FROM probes WHERE {where}", key).fetchone()
            self._ids[key] = row[0]
            self._add_location(tenant, probe, location)
        return self._ids[key]

    def _load_ids(self) -> None:
        # The daemon's start and a report look up every probe: one query, not one each.
        # Interned: each row brings its own copies of names that repeat (3 strings a probe).
        for i, t, p, loc in self.db.execute("SELECT id, tenant, probe, location FROM probes"):
            t, p, loc = sys.intern(t), sys.intern(p), sys.intern(loc)
            self._ids[(t, p, loc)] = i
            self._add_location(t, p, loc)
        self._all_ids = True

    def _add_location(self, tenant: str, probe: str, location: str) -> None:
        places = self._where.get((tenant, probe), frozenset())
        if location not in places:
            more = places | {location}
            self._where[(tenant, probe)] = self._places.setdefault(more, more)

    def locations(self, tenant: str, probe: str) -> list[str]:
        """The locations that recorded history of a probe, sorted (as this store last read
        the list of probes: ``refresh_probes`` reads it again)."""
        with self.lock:
            if not self._all_ids:
                self._load_ids()
            return sorted(self._where.get((tenant, probe), ()))

    def refresh_probes(self) -> None:
        """Read the list of probes again (other exporters on the store add locations)."""
        with self.lock:
            self._load_ids()

    def probe_versions(self) -> list[tuple[str, str, str, int]]:
        """Every probe's (tenant, probe, location, writes so far): what another exporter
        compares with what it read last, to re-read only the probes written since."""
        with self.lock:
            return [tuple(r) for r in self.db.execute("SELECT tenant, probe, location, version FROM probes")]

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the store (a read transaction), whatever the
        daemon writes meanwhile: an evidence bundle's report, history and chain heads agree."""
        with self.lock:
            self.db.begin_read()
            try:
                yield
            finally:
                self.db.commit()

    # -- history ------------------------------------------------------------------------

    def _start_of(self, probe_id: int) -> bytes:
        if probe_id not in self._genesis:
            row = self.db.execute("SELECT tenant, probe, location FROM probes WHERE id = ?", (probe_id,)).fetchone()
            self._genesis[probe_id] = series_genesis(*row)
        return self._genesis[probe_id]

    def _chain_before(self, probe_id: int, t: int) -> bytes:
        """The hash a record starting at ``t`` links to: the one of the record before it."""
        row = self.db.execute(
            "SELECT hash FROM series WHERE probe_id = ? AND start_ms < ? ORDER BY start_ms DESC LIMIT 1", (probe_id, t)
        ).fetchone()
        return self._start_of(probe_id) if row is None else row[0] or b""

    def _rechain(self, probe_id: int, from_ms: int) -> None:
        if self.chained:
            _rechain(self.db, probe_id, self._start_of(probe_id), from_ms)

    def _rechain_many(self, first: dict[int, int]) -> None:
        """``_rechain`` of several probes (probe id -> from_ms), reading their records in
        one query per 400 probes: a group commit touches hundreds of probes, and on a
        server each query is a round trip."""
        if not self.chained:
            return
        items = sorted(first.items())
        for chunk in (items[i : i + 400] for i in range(0, len(items), 400)):
            values = ", ".join(["(CAST(? AS BIGINT), CAST(? AS BIGINT))"] * len(chunk))
            rows = self.db.execute(
                f"""WITH f (pid, from_ms) AS (VALUES {values})
                    SELECT s.probe_id, s.start_ms, s.step_ms, s.count, s.success, s.hash, f.from_ms
                    FROM f JOIN series s ON s.probe_id = f.pid AND s.start_ms >= coalesce(
                      (SELECT max(start_ms) FROM series WHERE probe_id = f.pid AND start_ms < f.from_ms), f.from_ms)
                    ORDER BY s.probe_id, s.start_ms""",
                [x for pair in chunk for x in pair],
            ).fetchall()
            updates: list[tuple[bytes, int, int]] = []
            current, prev = None, b""
            for probe_id, start_ms, step, count, success, stored, from_ms in rows:
                if probe_id != current:
                    current = probe_id
                    if start_ms < from_ms:  # the record before the first one written: its hash is the link
                        prev = bytes(stored or b"")
                        continue
                    # Only a chain written from its first record needs its start (cached per
                    # probe: asked for every probe on every commit, it held 30,000 of them).
                    prev = self._start_of(probe_id)
                prev = chain.link(prev, chain.series_content(start_ms, step, count, success))
                if stored != prev:
                    updates.append((prev, probe_id, start_ms))
            self.db.executemany("UPDATE series SET hash = ? WHERE probe_id = ? AND start_ms = ?", updates)

    def _series_by_id(self, probe_id: int, lo: int, hi: int) -> list[Series]:
        # Series are disjoint and sorted, so the one covering `lo` (or the last before it)
        # is the last to start before it; everything from there to `hi` comes off the key.
        rows = self.db.execute(
            f"""{_SERIES} WHERE probe_id = ? AND start_ms <= ? AND start_ms >= coalesce(
                 (SELECT max(start_ms) FROM series WHERE probe_id = ? AND start_ms < ?), ?)
               ORDER BY start_ms""",
            (probe_id, hi, probe_id, lo, lo),
        ).fetchall()
        return [_series(r) for r in rows]

    def series(self, tenant: str, probe: str, lo: int, hi: int, location: str = DEFAULT_LOCATION) -> list[Series]:
        """Series of one probe at one location with a time in ``[lo, hi]`` (ms), and the
        one before ``lo``."""
        with self.lock:
            probe_id = self.probe_id(tenant, probe, location, create=False)
            return [] if probe_id is None else self._series_by_id(probe_id, lo, hi)

    def all_series(self, lo: int, hi: int) -> dict[tuple[str, str, str], list[Series]]:
        """``series`` for every probe at every location at once, by (tenant, probe,
        location): one pass over the table for a report of a whole fleet instead of a
        query per probe."""
        return dict(self.each_series(lo, hi))

    def each_series(self, lo: int, hi: int) -> Iterator[tuple[tuple[str, str, str], list[Series]]]:
        """``all_series`` one probe at a time, as the rows come: a reader that keeps less
        than it reads (the daemon's start) never holds the whole range. Holds the store's
        lock until exhausted or closed."""
        with self.lock:
            names = {
                pid: (tenant, probe, loc)
                for pid, tenant, probe, loc in self.db.execute("SELECT id, tenant, probe, location FROM probes")
            }
            rows = self.db.execute(
                # Probe by probe along the key (as _series_by_id): the cost follows the range
                # read, not the years of history stored.
                """SELECT s.probe_id, s.start_ms, s.step_ms, s.count, s.success
                   FROM probes AS p CROSS JOIN series AS s ON s.probe_id = p.id
                   WHERE s.start_ms <= ?2 AND s.start_ms >= coalesce(
                     (SELECT max(start_ms) FROM series WHERE probe_id = p.id AND start_ms < ?1), ?1)
                   ORDER BY p.id, s.start_ms""",
                (lo, hi),
            )
            current, got = None, []
            for pid, start, step, count, success in rows:
                if pid != current:
                    if got:
                        yield names[current], got
                    current, got = pid, []
                got.append(Series(bool(success), start, shared_step(step), count))
            if got:
                yield names[current], got

    def series_before(self, tenant: str, probe: str, t: int, n: int, location: str = DEFAULT_LOCATION) -> list[Series]:
        """Up to ``n`` series starting before ``t``, the latest ones, in time order."""
        return self._neighbours(tenant, probe, location, "start_ms < ? ORDER BY start_ms DESC", t, n)[::-1]

    def series_after(self, tenant: str, probe: str, t: int, n: int, location: str = DEFAULT_LOCATION) -> list[Series]:
        """Up to ``n`` series starting after ``t``, the earliest ones, in time order."""
        return self._neighbours(tenant, probe, location, "start_ms > ? ORDER BY start_ms", t, n)

    def _neighbours(self, tenant: str, probe: str, location: str, clause: str, t: int, n: int) -> list[Series]:
        with self.lock:
            probe_id = self.probe_id(tenant, probe, location, create=False)
            if probe_id is None:
                return []
            rows = self.db.execute(f"{_SERIES} WHERE probe_id = ? AND {clause} LIMIT ?", (probe_id, t, n))
            return [_series(r) for r in rows.fetchall()]

    def first_start(self, tenant: str, probe: str) -> float | None:
        """When the recorded history of a probe begins at any location (epoch seconds),
        None if it has none."""
        with self.lock:
            row = self.db.execute(
                "SELECT min(s.start_ms) FROM probes AS p JOIN series AS s ON s.probe_id = p.id "
                "WHERE p.tenant = ? AND p.probe = ?",
                (tenant, probe),
            ).fetchone()
        return None if row is None or row[0] is None else row[0] / 1000

    def first_starts(self) -> dict[tuple[str, str], float]:
        """``first_start`` of every probe with history, by (tenant, probe), in one query."""
        with self.lock:
            rows = self.db.execute(
                "SELECT p.tenant, p.probe, min(s.start_ms) FROM probes AS p JOIN series AS s ON s.probe_id = p.id "
                "GROUP BY p.tenant, p.probe"
            ).fetchall()
        return {(t, p): start / 1000 for t, p, start in rows}

    def save_series(
        self, rows: Iterable[tuple], gone: Iterable[tuple] = (), versions: Mapping[tuple, int] | None = None
    ) -> tuple[dict[tuple, int], set[tuple]]:
        """Insert or replace series (keyed by probe and start) and delete the ``gone`` ones
        in one transaction: the live recorder's group commit. Rows are ``(tenant, probe,
        [location,] series)``, gone ones ``(tenant, probe, [location,] start)``.

        ``versions``: each probe's write count after this writer's last write (by key,
        without the series). A probe written by another since (an import) is not
        overwritten: its series are merged into what is stored (the union of the
        observations, as an import merges; ``gone`` does not apply to it), and an
        observation at the instant of a stored one with the other result is left out
        (the stored one came first). Returns each written probe's new write count (with
        ``versions``), and the probes merged that way (the writer's view of them is out of
        date)."""
        with self.lock:
            # Ids first, each in its own statement: a new probe's row is not held by the
            # transaction below while it waits for locks (no lock cycle with another writer).
            keys: dict[int, tuple] = {}
            gone_rows = []
            for *key, start in gone:
                gone_rows.append((self.probe_id(*key), start))
                keys[gone_rows[-1][0]] = tuple(key)
            new_rows = []
            for *key, r in rows:
                new_rows.append((self.probe_id(*key), r.start, r.step, r.count, int(r.success)))
                keys[new_rows[-1][0]] = tuple(key)
            self.db.begin_write()
            try:
                # Several exporters on one PostgreSQL: the probes' locks in one order, no deadlock.
                self.db.lock_many(LOCK_SERIES, sorted(keys))
                expected = {} if versions is None else versions
                current = {} if versions is None else self._versions_of(keys)
                foreign = {i for i, v in current.items() if v != expected.get(keys[i], 0)}
                for probe_id in sorted(foreign):
                    self._merge_live(keys[probe_id], probe_id, [r for r in new_rows if r[0] == probe_id])
                gone_rows = [r for r in gone_rows if r[0] not in foreign]
                new_rows = [r for r in new_rows if r[0] not in foreign]
                self.db.executemany("DELETE FROM series WHERE probe_id = ? AND start_ms = ?", gone_rows)
                self.db.executemany(
                    "INSERT INTO series (probe_id, start_ms, step_ms, count, success) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (probe_id, start_ms) DO UPDATE SET step_ms = excluded.step_ms, "
                    "count = excluded.count, success = excluded.success",
                    new_rows,
                )
                # The chain from the first record written or removed on (a live append: the last).
                first: dict[int, int] = {}
                for probe_id, start, *_ in gone_rows + new_rows:
                    first[probe_id] = min(start, first.get(probe_id, start))
                self._rechain_many(first)
                self._count_writes(first)
                # Ours counted one write each; the merged ones as many as they wrote: read.
                now = {i: current[i] + 1 for i in first if i in current}
                now.update(self._versions_of({i: keys[i] for i in foreign}))
            except BaseException:
                self.db.rollback()
                self._forget_ids()
                raise
            self.db.commit()
            return {keys[i]: v for i, v in now.items()}, {keys[i] for i in foreign}

    def _versions_of(self, keys: Mapping[int, tuple]) -> dict[int, int]:
        """The write counts of probes by id, read in chunks of 400 ids."""
        ids = sorted(keys)
        out: dict[int, int] = {}
        for chunk in (ids[i : i + 400] for i in range(0, len(ids), 400)):
            marks = ", ".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, version FROM probes WHERE id IN ({marks})", chunk).fetchall())
        return out

    def _merge_live(self, key: tuple, probe_id: int, rows: list[tuple]) -> None:
        """Merge a live writer's series of one probe into what another wrote meanwhile,
        one series at a time: one that contradicts the stored history at an instant is
        left out (inside the caller's transaction)."""
        for _, start, step, count, success in sorted(rows, key=lambda r: r[1]):
            try:
                self._write_probe(key, [Series(bool(success), start, step, count)])
            except ConflictError:
                log.warning(
                    "a live result contradicts history written meanwhile by another writer; the stored one is kept",
                    extra={
                        "fields": {
                            "tenant": key[0],
                            "probe": shown(key[1], key[2] if len(key) > 2 else DEFAULT_LOCATION),
                        }
                    },
                )

    def _count_writes(self, probe_ids: Iterable[int]) -> None:
        # One statement per 400 probes: on a server each statement is a round trip.
        ids = sorted(probe_ids)
        for chunk in (ids[i : i + 400] for i in range(0, len(ids), 400)):
            self.db.execute(
                f"UPDATE probes SET version = version + 1 WHERE id IN ({', '.join('?' * len(chunk))})", chunk
            )

    def _forget_ids(self) -> None:
        # Ids created in a rolled-back transaction are gone.
        self._ids.clear()
        self._where.clear()
        self._all_ids = False
        self._genesis.clear()

    def merge(self, batches: Mapping[ProbeKey, Iterable[tuple[int, bool]]], max_tx_seconds: float = 0.2) -> MergeResult:
        """Add observations ``(time_ms, success)`` to the history of several probes: the
        ``merge_series`` of their series (two at one instant with other results raise
        states.ConflictError carrying ``key``)."""
        prepared: dict[ProbeKey, list[Series]] = {}
        for key, obs in batches.items():
            try:
                prepared[key] = insert([], obs)[0]
            except ConflictError as err:
                err.key = key
                raise
        return self.merge_series(lambda: ((k, v) for k, v in prepared.items() if v), max_tx_seconds)

    def merge_series(
        self,
        chunks: Callable[[], Iterable[tuple[ProbeKey, list[Series]]]],
        max_tx_seconds: float = 0.2,
        progress: Callable[[int], None] | None = None,
        check: Callable[[], Iterable[tuple[ProbeKey, list[Series]]]] | None = None,
    ) -> MergeResult:
        """Add series to the history of several probes; ``chunks()`` yields ``(key, series)``
        with each probe's series sorted and disjoint, a long history in several chunks in
        time order (so that memory is bounded by a chunk, not by the history).

        ``chunks()`` is called twice. First every chunk is checked against recorded history
        without writing: an observation at the same instant as a recorded one with the other
        result raises states.ConflictError (carrying ``key``) and nothing is written. Then the
        chunks are written in transactions of at most about ``max_tx_seconds`` each, so that
        a large import never holds the write lock long enough to stall the daemon's group
        commits and scrapes. Writing is idempotent: after a failure half-way (disk full),
        merging the same series again completes it. ``progress(series written so far)`` is
        called after each transaction. ``check()``, when given, yields the chunks to check
        instead (those of the probes the store has: the others have nothing to contradict)."""
        with self.lock:
            # Read only: a conflict keeps everything out. The write below reads and merges again
            # inside its own transaction, since the daemon may write the same probes meanwhile.
            for key, new in (check or chunks)():
                probe_id = self.probe_id(*key, create=False)
                if probe_id is not None:
                    self._merged(probe_id, key, new)
        added = written = 0
        pending = iter(chunks())
        item = next(pending, None)
        while item is not None:
            with self.lock:
                began = time.monotonic()
                self.probe_id(*item[0])  # outside the transaction, as in save_series
                self.db.begin_write()
                try:
                    locked: set[int] = set()
                    while item is not None:
                        # SQLite: the transaction holds the whole file, a new probe's row too.
                        probe_id = self.probe_id(*item[0], create=not self.db.concurrent)
                        if probe_id is None or (probe_id not in locked and not self.db.try_lock(LOCK_SERIES, probe_id)):
                            # A new probe, or one another exporter is writing: end this
                            # transaction first, so that it never waits holding locks.
                            break
                        locked.add(probe_id)
                        n, w = self._write_probe(*item)
                        added, written = added + n, written + w
                        item = next(pending, None)
                        if time.monotonic() - began >= max_tx_seconds:
                            break
                except BaseException:
                    self.db.rollback()
                    self._forget_ids()
                    raise
                self.db.commit()
                if item is not None and not locked:
                    self._wait_for(item[0])
            if progress:
                progress(written)
        return MergeResult(added, written)

    def _wait_for(self, key: ProbeKey) -> None:
        """Create a probe's id, and wait (holding no lock) until its writer is done."""
        probe_id = self.probe_id(*key)
        self.db.begin_write()
        try:
            self.db.lock(LOCK_SERIES, probe_id or 0)
        finally:
            self.db.rollback()

    def _merged(self, probe_id: int, key: ProbeKey, new: list[Series]):
        """(recorded series touched, new series, observations added) for one probe."""
        # The series the new ones fall into, and one neighbour each side to join.
        old = self._series_by_id(probe_id, new[0].start, new[-1].last)
        old += [
            _series(r)
            for r in self.db.execute(
                f"{_SERIES} WHERE probe_id = ? AND start_ms > ? ORDER BY start_ms LIMIT 1",
                (probe_id, old[-1].start if old else new[-1].last),
            ).fetchall()
        ]
        try:
            merged, n = merge(old, new)
        except ConflictError as err:
            err.key = key
            raise
        return old, merged, n

    def _write_probe(self, key: ProbeKey, new: list[Series]) -> tuple[int, int]:
        probe_id = self.probe_id(*key)
        old, merged, n = self._merged(probe_id, key, new)
        if not n:
            return 0, 0
        self.db.executemany(
            "DELETE FROM series WHERE probe_id = ? AND start_ms = ?", [(probe_id, r.start) for r in old]
        )
        # merged replaces old and its span: its records are chained as they are written,
        # then the records after it (a backfill before recorded history) are rechained.
        hashes: Sequence[bytes | None] = [None] * len(merged)
        if self.chained:
            prev = self._chain_before(probe_id, merged[0].start)
            hashes = chain.series_hashes(prev, merged)
        # Fields unpacked, not read by name: a record per row or two of an irregular file.
        self.db.executemany(
            "INSERT INTO series (probe_id, start_ms, step_ms, count, success, hash) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (probe_id, start, step, count, int(ok), h)
                for (ok, start, step, count), h in zip(merged, hashes, strict=True)
            ],
        )
        if self.chained:
            self._rechain(probe_id, merged[-1].start + 1)
        self._count_writes([probe_id])
        return n, len(merged)

    # -- hash chains (docs/evidence.md) ------------------------------------------------

    def _chains(self) -> Iterator[tuple[str, str, bytes, list[tuple[int, bytes, bytes | None]]]]:
        """Each probe's (tenant, probe, genesis, [(start, content, stored hash)]), in name order."""
        probes = self.db.execute(
            "SELECT id, tenant, probe, location FROM probes ORDER BY tenant, probe, location"
        ).fetchall()
        for probe_id, tenant, probe, location in probes:
            rows = self.db.execute(
                "SELECT start_ms, step_ms, count, success, hash FROM series WHERE probe_id = ? ORDER BY start_ms",
                (probe_id,),
            ).fetchall()
            records = [(r[0], chain.series_content(r[0], r[1], r[2], r[3]), r[4]) for r in rows]
            yield tenant, shown(probe, location), series_genesis(tenant, probe, location), records

    def verify_chains(self) -> tuple[ChainBreak | None, int, int]:
        """(the first history record that does not verify or None, probes, records checked)."""
        probes = records = 0
        with self.lock:
            known = {r[0] for r in self.db.execute("SELECT id FROM probes")}
            stray = self.db.execute(
                "SELECT probe_id, min(start_ms) FROM series GROUP BY probe_id ORDER BY probe_id"
            ).fetchall()
            for probe_id, start in stray:
                if probe_id not in known:
                    return ChainBreak("?", f"probe id {probe_id}", start, "belongs to no known probe"), 0, 0
            for tenant, probe, start, recs in self._chains():
                found = chain.check(start, ((content, stored) for _, content, stored in recs))
                if found is not None:
                    return ChainBreak(tenant, probe, recs[found.index][0], found.problem), probes, records
                probes, records = probes + 1, records + len(recs)
        return None, probes, records

    def chain_heads(self) -> list[ChainHead]:
        """Each probe's last record and its hash: what an anchor kept elsewhere pins."""
        with self.lock:
            return [
                ChainHead(
                    tenant, probe, len(recs), recs[-1][0] if recs else None, (recs[-1][2] if recs else start).hex()
                )
                for tenant, probe, start, recs in self._chains()
            ]

    def _insert_chained(self, table: str, record: Mapping[str, object], order: str) -> bytes:
        """Insert ``record`` into ``table`` with its link to the last record by ``order``
        (inside the caller's transaction); its hash."""
        self.db.lock(LOCK_LEDGER, zlib.crc32(table.encode()))  # the chain's last link, then ours
        row = self.db.execute(f"SELECT hash FROM {table} ORDER BY {order} DESC LIMIT 1").fetchone()
        prev = chain.genesis(table) if row is None else row[0] or b""
        digest = chain.link(prev, chain.record_content(record))
        columns = [*record, "hash"]
        self.db.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [*record.values(), digest],
        )
        return digest

    def append_chained(self, table: str, record: Mapping[str, object], order: str = "id") -> str:
        """Append ``record`` (column -> value) to a ledger ``table`` that has a ``hash``
        BLOB column, linked to the last record by ``order``: a hash-chained append-only
        ledger (register it in CHAINED_LEDGERS for verify). Returns the new record's hash (hex)."""
        with self.lock:
            self.db.begin_write()
            try:
                digest = self._insert_chained(table, record, order)
            except BaseException:
                self.db.rollback()
                raise
            self.db.commit()
            return digest.hex()

    def verify_ledgers(self) -> tuple[str | None, int]:
        """``verify_chained`` over every ledger in ``CHAINED_LEDGERS`` that this store has."""
        with self.lock:
            tables = self.db.tables()
        checked = 0
        for table, (columns, order) in CHAINED_LEDGERS.items():
            if table in tables:
                problem, n = self.verify_chained(table, columns, order)
                if problem is not None:
                    return problem, checked + n
                checked += n
        return None, checked

    def verify_chained(self, table: str, columns: Sequence[str], order: str = "id") -> tuple[str | None, int]:
        """Check a ledger written by ``append_chained`` (``columns``: the ones it hashed):
        (what is wrong with the first record that does not verify, naming it by its first
        column, or None; records checked)."""
        with self.lock:
            rows = self.db.execute(f"SELECT {', '.join(columns)}, hash FROM {table} ORDER BY {order}").fetchall()
        found = chain.check(
            chain.genesis(table), ((chain.record_content(dict(zip(columns, r, strict=False))), r[-1]) for r in rows)
        )
        if found is None:
            return None, len(rows)
        return f"{table} record {columns[0]}={rows[found.index][0]!r} {found.problem}", len(rows)

    # -- support ------------------------------------------------------------------------

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        with self.lock:
            self.db.begin_write()
            try:
                for sql, params in statements:
                    self.db.execute(sql, params)
            except BaseException:
                self.db.rollback()
                raise
            self.db.commit()

    def next_id(self, table: str, prefix: str) -> str:
        """An unused id such as INC-42 for ``table`` (incidents or service_requests)."""
        with self.lock:
            n = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] + 1
            while self.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (f"{prefix}-{n}",)).fetchone():
                n += 1
            return f"{prefix}-{n}"

    def add_numbered(self, item: _Numbered, prefix: str) -> _Numbered:
        """Store a new incident or service request under the next free id ``PREFIX-N``,
        picked inside the writing transaction under a lock: two exporters adding at once
        get two ids. The item as stored."""
        table, kind = (
            ("incidents", LOCK_INCIDENTS) if isinstance(item, Incident) else ("service_requests", LOCK_REQUESTS)
        )
        with self.lock:
            self.db.begin_write()
            try:
                self.db.lock(kind)
                stored = dataclasses.replace(item, id=self.next_id(table, prefix))
                self.db.execute(*(_incident_row if isinstance(stored, Incident) else _request_row)(stored))  # type: ignore[arg-type]
                if isinstance(stored, Incident):
                    self.db.execute(*_COUNT_INCIDENT_WRITE)
            except BaseException:
                self.db.rollback()
                raise
            self.db.commit()
            return stored

    def add_incident(self, inc: Incident) -> bool:
        """Store a new incident; False if its id is taken."""
        try:
            self._write([_incident_row(inc), _COUNT_INCIDENT_WRITE])
        except self.db.IntegrityError:
            return False
        return True

    def add_event(self, incident_id: str, event: Event) -> bool:
        """Append an event to an open incident; False (and nothing written) if the incident
        is resolved or unknown. The check and the write are one transaction, so no event
        lands after a resolution however calls interleave (other threads or processes)."""
        with self.lock:
            self.db.begin_write()
            try:
                self.db.lock(LOCK_INCIDENTS, zlib.crc32(incident_id.encode()))  # seq and the open check
                row = self.db.execute("SELECT closed_ms FROM incidents WHERE id = ?", (incident_id,)).fetchone()
                if row is None or row[0] is not None:
                    self.db.rollback()
                    return False
                self.db.execute(
                    "INSERT INTO incident_events (incident_id, seq, kind, time_ms, priority, note) "
                    "SELECT ?, count(*), ?, ?, ?, ? FROM incident_events WHERE incident_id = ?",
                    (incident_id, event.kind, to_ms(event.time), event.priority, event.note, incident_id),
                )
                if event.kind == "resolution":
                    self.db.execute("UPDATE incidents SET closed_ms = ? WHERE id = ?", (to_ms(event.time), incident_id))
                self.db.execute(*_COUNT_INCIDENT_WRITE)
            except BaseException:
                self.db.rollback()
                raise
            self.db.commit()
            return True

    def incidents(self, open_only: bool = False, incident_id: str | None = None) -> list[Incident]:
        clause, params = _where("closed_ms" if open_only else None, incident_id)
        with self.lock:
            rows = self.db.execute(
                f"SELECT id, tenant, priority, defect, source, title, opened_ms FROM incidents {clause} "
                "ORDER BY opened_ms, id",
                params,
            ).fetchall()
            return self._with_events(rows)

    def incidents_version(self) -> int:
        """How many writes the incidents and their events have had: one row to look up, so
        that a scrape reads them again only when they changed (also by another process).
        Read it before the incidents it stands for."""
        with self.lock:
            return int(self.db.execute("SELECT n FROM write_counts WHERE name = 'incidents'").fetchone()[0])

    def incidents_since(self, rowid: int, open_at: int, ids: Iterable[str]) -> tuple[int, list[tuple[int, Incident]]]:
        """What a scrape must look at, by (opened, id) with each one's rowid: incidents not
        resolved by ``open_at`` (ms), those stored after ``rowid``, and ``ids`` (the ones
        open at the last look, which may have been resolved since). With the highest rowid,
        for the next look. Resolved incidents never change: read once, they are done."""
        with self.lock:
            own = not self.db.in_transaction  # inside snapshot() its transaction serves
            if own:
                self.db.execute("BEGIN")  # one snapshot: the rowid and the rows agree
            try:
                top = self.db.execute("SELECT coalesce(max(rowid), 0) FROM incidents").fetchone()[0]
                cols = "SELECT rowid, id, tenant, priority, defect, source, title, opened_ms FROM incidents"
                found = {
                    r[1]: r for r in self.db.execute(f"{cols} WHERE closed_ms IS NULL OR closed_ms > ?", (open_at,))
                }
                found.update((r[1], r) for r in self.db.execute(f"{cols} WHERE rowid > ?", (rowid,)))
                wanted = [i for i in ids if i not in found]
                for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
                    marks = ",".join("?" * len(chunk))
                    found.update((r[1], r) for r in self.db.execute(f"{cols} WHERE id IN ({marks})", chunk))
                rows = sorted(found.values(), key=lambda r: (r[7], r[1]))
                incidents = self._with_events([r[1:] for r in rows])
            finally:
                if own:
                    self.db.execute("COMMIT")
        return top, [(r[0], inc) for r, inc in zip(rows, incidents, strict=True)]

    def _with_events(self, rows: list) -> list[Incident]:
        """Incidents of rows (id, tenant, priority, defect, source, title, opened_ms) with
        their events; under the lock."""
        events: dict[str, list[Event]] = {}
        ids = [r[0] for r in rows]
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            marks = ",".join("?" * len(chunk))
            for iid, kind, time_ms, priority, note in self.db.execute(
                f"SELECT incident_id, kind, time_ms, priority, note FROM incident_events "
                f"WHERE incident_id IN ({marks}) ORDER BY incident_id, seq",
                chunk,
            ):
                events.setdefault(iid, []).append(Event(kind, time_ms / 1000, priority, note))
        return [
            Incident(
                id=r[0],
                tenant=r[1],
                priority=r[2],
                defect=bool(r[3]),
                source=r[4],
                title=r[5],
                opened=r[6] / 1000,
                events=tuple(events.get(r[0], ())),
            )
            for r in rows
        ]

    def add_request(self, req: ServiceRequest) -> bool:
        try:
            self._write([_request_row(req)])
        except self.db.IntegrityError:
            return False
        return True

    def deliver_request(self, request_id: str, when: float) -> bool:
        """Mark a service request delivered; False if it was delivered already (or is
        unknown): the first delivery stands, in one statement."""
        with self.lock:
            self.db.begin_write()
            try:
                changed = self.db.execute(
                    "UPDATE service_requests SET delivered_ms = ? WHERE id = ? AND delivered_ms IS NULL",
                    (to_ms(when), request_id),
                ).rowcount
            except BaseException:
                self.db.rollback()
                raise
            self.db.commit()
            return changed == 1

    def requests(self, open_only: bool = False, request_id: str | None = None) -> list[ServiceRequest]:
        clause, params = _where("delivered_ms" if open_only else None, request_id)
        with self.lock:
            rows = self.db.execute(
                f"SELECT id, tenant, title, opened_ms, delivered_ms FROM service_requests {clause} "
                "ORDER BY opened_ms, id",
                params,
            ).fetchall()
        return [
            ServiceRequest(
                id=r[0], tenant=r[1], title=r[2], opened=r[3] / 1000, delivered=None if r[4] is None else r[4] / 1000
            )
            for r in rows
        ]

    # -- corrections ledger ---------------------------------------------------------------

    def _next_entry_id(self) -> int:
        # The id is hashed with the entry, so it is chosen before the insert (inside its
        # transaction; nothing is ever deleted from the ledger, so max + 1 is AUTOINCREMENT's).
        self.db.lock(LOCK_LEDGER, zlib.crc32(b"corrections"))  # one writer picks at a time
        return int(self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM corrections").fetchone()[0])

    def restore_entry(self, entry: LedgerEntry) -> None:
        """Write a ledger entry as recorded elsewhere, its id kept (an evidence bundle's
        corrections, into the scratch store that re-computes its report)."""
        self._append_entry(lambda: entry)

    def add_correction(self, entry: LedgerEntry) -> int:
        """Append a correction (``entry.id`` is ignored); its new id."""
        return self._append_entry(
            lambda: dataclasses.replace(entry, id=self._next_entry_id(), kind="correction", revokes=None)
        )

    def revoke_correction(self, target: int, reason: str, by: str, recorded: int) -> int:
        """Append the revocation of correction ``target``; its new id. LedgerError when
        there is no such correction or it is revoked already (checked in the same
        transaction as the write, so two revocations cannot both land)."""

        def revocation() -> LedgerEntry:
            row = self.db.execute(
                "SELECT tenant FROM corrections WHERE id = ? AND kind = 'correction'", (target,)
            ).fetchone()
            if row is None:
                raise LedgerError(f"no correction {target}")
            done = self.db.execute(
                "SELECT id FROM corrections WHERE kind = 'revocation' AND revokes = ?", (target,)
            ).fetchone()
            if done is not None:
                raise LedgerError(f"correction {target} is revoked already (by entry {done[0]})")
            return LedgerEntry(self._next_entry_id(), "revocation", row[0], reason, by, recorded, revokes=target)

        return self._append_entry(revocation)

    def _append_entry(self, make: Callable[[], LedgerEntry]) -> int:
        """Insert the entry ``make()`` builds inside the write transaction (its checks and
        its id see the ledger as the insert does), chained; its id."""
        with self.lock:
            self.db.begin_write()
            try:
                entry = make()
                self._insert_chained(
                    "corrections",
                    {
                        "id": entry.id,
                        "kind": entry.kind,
                        "tenant": entry.tenant,
                        "from_ms": entry.start,
                        "to_ms": entry.end,
                        "state": entry.state,
                        "category": entry.category,
                        "reason": entry.reason,
                        "author": entry.by,
                        "recorded_ms": entry.recorded,
                        "revokes": entry.revokes,
                    },
                    "id",
                )
            except BaseException:
                self.db.rollback()
                raise
            self.db.commit()
            return int(entry.id)

    def ledger(self, tenant: str | None = None) -> list[LedgerEntry]:
        """Every ledger entry (of ``tenant``), in id order."""
        clause, params = ("WHERE tenant = ?", [tenant]) if tenant is not None else ("", [])
        with self.lock:
            rows = self.db.execute(f"{_LEDGER} {clause} ORDER BY id", params).fetchall()
        return [_entry(r) for r in rows]

    def ledger_entry(self, entry_id: int) -> LedgerEntry | None:
        with self.lock:
            row = self.db.execute(f"{_LEDGER} WHERE id = ?", (entry_id,)).fetchone()
        return None if row is None else _entry(row)

    def ledger_head(self) -> int:
        """The newest entry's id (0 for an empty ledger): one index lookup, so a scrape can
        tell whether the ledger changed (also by another process) before reading it."""
        with self.lock:
            return int(self.db.execute("SELECT coalesce(max(id), 0) FROM corrections").fetchone()[0])

    def series_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM series").fetchone()[0]
