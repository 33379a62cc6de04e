"""The databases the store runs on: SQLite (the embedded default, a file) and PostgreSQL (a
shared server several exporters write to). The store's logic (exporter/store/sqlite.py) is
written once in the SQL both understand, with ``?`` placeholders; a backend holds what
differs: connecting, placeholders, transactions and locks, the schema's version and its
migrations (the same numbered steps in each dialect), the catalogue, the errors.

Locks: SQLite's ``BEGIN IMMEDIATE`` serializes every writer of the file, so ``lock`` is a
no-op there. PostgreSQL runs writers side by side: a transaction takes a transaction-scoped
advisory lock on what it changes (a probe's history, the ledger, the incidents) so that two
exporters never interleave the read-merge-write of one probe or the links of one chain.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from exporter.config.redact import redact_userinfo
from exporter.errors import UserError

# Advisory lock classes (the first of PostgreSQL's two int4 keys; the second is an id).
LOCK_SCHEMA, LOCK_SERIES, LOCK_LEDGER, LOCK_INCIDENTS, LOCK_REQUESTS, LOCK_LEADER = range(0x51A0, 0x51A6)


class StoreError(UserError):
    """The store cannot be opened or used (missing file, newer schema, not a database)."""


def is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class SQLite:
    """A store file; the connection's errors are sqlite3's."""

    dialect = "sqlite"
    concurrent = False  # one writer at a time (BEGIN IMMEDIATE)
    IntegrityError: type[Exception] = sqlite3.IntegrityError
    Error: type[Exception] = sqlite3.DatabaseError

    def __init__(self, path: str):
        self.name = path
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a crash of the process never loses a commit; only power
            # loss may drop the last ones, and the database stays consistent either way.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=5000")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{path}: {err}") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)  # the rest of sqlite3's connection (tests, tools)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def execute(self, sql: str, params: Sequence | dict = ()) -> Any:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        self.conn.executemany(sql, rows)

    def script(self, sql: str) -> None:
        for statement in _statements(sql):
            self.conn.execute(statement)

    def begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def lock(self, kind: int, key: int = 0) -> None:
        """Nothing to do: BEGIN IMMEDIATE holds the whole file."""

    def try_lock(self, kind: int, key: int = 0) -> bool:
        return True

    def lock_many(self, kind: int, keys: Sequence[int]) -> None:
        """Nothing to do (see lock)."""

    def schema_lock(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # BEGIN IMMEDIATE serializes migrations

    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def set_version(self, n: int) -> None:
        self.conn.execute(f"PRAGMA user_version = {int(n)}")

    def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def check(self) -> None:
        # A damaged file must stop the start with one clear line, not start silently and
        # fail (or worse, read wrong history) later. quick_check reads every page once.
        problems = [row[0] for row in self.conn.execute("PRAGMA quick_check(5)").fetchall()]
        if problems != ["ok"]:
            first = " ".join(problems[0].split())  # SQLite's report may span lines
            raise StoreError(
                f"{self.name}: the store is damaged ({first}); restore it from a backup "
                "(docs/operations.md, 'Backup and restore') or move it aside to start a new one"
            )

    def close(self) -> None:
        self.conn.close()


def _statements(script: str) -> list[str]:
    """The statements of ``script``: split at the semicolons that end one (a trigger's body
    holds semicolons of its own)."""
    out, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    return out


_QMARK = re.compile(r"\?(\d*)")
# SQLite's "CROSS JOIN t ON ..." (a join that fixes the planner's order) is a plain join.
_CROSS_ON = re.compile(r"\bCROSS JOIN (\w+(?: AS \w+)?) ON\b", re.IGNORECASE)


def _pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (numbered ``?N`` ones: see ``_pg_query``)."""
    return _pg_query(sql)[0]


def _pg_query(sql: str) -> tuple[str, list[int] | None]:
    """The SQL for psycopg, and for SQLite's numbered placeholders (``?1`` ... ``?N``, each
    usable several times) which parameter each ``%s`` takes (None: in order). The store's
    SQL has no string literal holding % or ?: a plain rewrite is enough."""
    order: list[int] = []
    numbered = False

    def one(m: re.Match[str]) -> str:
        nonlocal numbered
        if m.group(1):
            numbered = True
            order.append(int(m.group(1)) - 1)
        else:
            order.append(len(order))
        return "%s"

    out = _QMARK.sub(one, _CROSS_ON.sub(r"JOIN \1 ON", sql.replace("%", "%%")))
    return out, (order if numbered else None)


def connect_pg(url: str, **kwargs: Any) -> Any:
    """A psycopg connection to ``url``; StoreError (password redacted) if that fails."""
    try:
        import psycopg  # only PostgreSQL users need it: the `postgresql` extra
    except ImportError:
        raise StoreError("a postgresql:// store needs psycopg: pip install 'sla-exporter[postgresql]'") from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, **kwargs)
    except psycopg.Error as err:
        raise StoreError(f"{redact_userinfo(url)}: cannot connect: {redact_userinfo(_first_line(err))}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class PostgreSQL:
    """A PostgreSQL database; one connection in autocommit mode, transactions begun
    explicitly like SQLite's. After the server went away (a restart, a failover) the next
    transaction reconnects to the same URL: the exporter expects one read-write endpoint."""

    dialect = "postgresql"
    concurrent = True  # writers side by side, under advisory locks

    def __init__(self, url: str):
        import psycopg

        self.url = url
        self.name = redact_userinfo(url)
        self.IntegrityError = psycopg.IntegrityError
        self.Error = psycopg.Error
        self.conn = connect_pg(url)
        self._sql: dict[str, tuple[str, list[int] | None]] = {}
        # Inside one of our transactions a lost connection must fail the transaction, never
        # reconnect and run its remaining statements on their own.
        self._tx = False

    def _q(self, sql: str, params: Sequence | dict = ()) -> tuple[str, Any]:
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = _pg_query(sql)
        text, order = found
        if order is not None and not isinstance(params, dict):
            params = [params[i] for i in order]
        return text, (params or None)

    def _ready(self) -> None:
        if self.conn.closed or self.conn.broken:
            self.conn = connect_pg(self.url)

    def execute(self, sql: str, params: Sequence | dict = ()) -> Any:
        if not self._tx:
            self._ready()
        return self.conn.execute(*self._q(sql, params))

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        rows = list(rows)
        if rows:
            text, order = self._q(sql)[0], self._sql[sql][1]
            if order is not None:
                rows = [[r[i] for i in order] for r in rows]
            with self.conn.cursor() as cur:
                cur.executemany(text, rows)

    def script(self, sql: str) -> None:
        self.conn.execute(sql)  # several statements: allowed without parameters

    @property
    def in_transaction(self) -> bool:
        """As sqlite3's: a transaction is open on the connection."""
        from psycopg.pq import TransactionStatus

        return bool(self._tx or self.conn.info.transaction_status == TransactionStatus.INTRANS)

    def begin_write(self) -> None:
        self._ready()
        self.conn.execute("BEGIN")
        self._tx = True

    def begin_read(self) -> None:
        self._ready()
        # One consistent view for the whole read (an evidence bundle's parts agree).
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._tx = True

    def commit(self) -> None:
        self._tx = False
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self._tx = False
        if not self.conn.closed and not self.conn.broken:
            self.conn.execute("ROLLBACK")

    def lock(self, kind: int, key: int = 0) -> None:
        self.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (kind, key % 2**31))

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held around a migration's transaction, taken before it begins: a transaction that
        waited for the lock inside could keep a catalog view from before the other
        exporter's migration (and find no tables it has just created)."""
        self._ready()
        self.conn.execute("SELECT pg_advisory_lock(%s, 0)", (LOCK_SCHEMA,))
        try:
            yield
        finally:
            if not self.conn.closed and not self.conn.broken:
                self.conn.execute("SELECT pg_advisory_unlock(%s, 0)", (LOCK_SCHEMA,))

    def lock_many(self, kind: int, keys: Sequence[int]) -> None:
        """``lock`` on every key, in ascending order (no deadlock between two writers of
        overlapping sets), in one round trip."""
        if keys:
            self.conn.execute(
                "SELECT count(pg_advisory_xact_lock(%s, k)) FROM (SELECT unnest(%s::int[]) AS k ORDER BY 1) AS s",
                (kind, sorted({k % 2**31 for k in keys})),
            )

    def try_lock(self, kind: int, key: int = 0) -> bool:
        row = self.conn.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (kind, key % 2**31)).fetchone()
        return bool(row[0])

    def version(self) -> int:
        if self.conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            return 0
        row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def set_version(self, n: int) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        self.conn.execute("DELETE FROM schema_version")
        self.conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (n,))

    def tables(self) -> set[str]:
        rows = self.conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in rows}

    def check(self) -> None:
        """Nothing cheap to check: the server checksums its pages (initdb --data-checksums)
        and reports damage on the read that meets it."""

    def close(self) -> None:
        self.conn.close()


def open_backend(target: str) -> SQLite | PostgreSQL:
    """The backend of a store path or postgresql:// URL."""
    return PostgreSQL(target) if is_url(target) else SQLite(target)


# PostgreSQL's steps of the store's schema, numbered as sqlite.MIGRATIONS (one schema, the
# same version numbers): BIGINT for milliseconds, BYTEA for hashes, identity columns, the
# ledger's triggers in PL/pgSQL. PostgreSQL stores begin at version 5, so step 5 has no
# recorded history to chain (SQLite's step 5 chains what version 4 recorded).
PG_MIGRATIONS: list[str | Callable[[Any], None]] = [
    """
    CREATE TABLE probes (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        tenant TEXT NOT NULL,
        probe TEXT NOT NULL,
        UNIQUE (tenant, probe)
    );
    CREATE TABLE runs (
        probe_id BIGINT NOT NULL REFERENCES probes (id),
        start_ms BIGINT NOT NULL,
        last_ms BIGINT NOT NULL,
        end_ms BIGINT NOT NULL,
        success INTEGER NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (probe_id, start_ms)
    );
    """,
    """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        priority TEXT NOT NULL,
        defect INTEGER NOT NULL,
        source TEXT NOT NULL,
        title TEXT,
        opened_ms BIGINT NOT NULL,
        closed_ms BIGINT
    );
    CREATE TABLE incident_events (
        incident_id TEXT NOT NULL REFERENCES incidents (id),
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        time_ms BIGINT NOT NULL,
        priority TEXT,
        note TEXT,
        PRIMARY KEY (incident_id, seq)
    );
    CREATE TABLE service_requests (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        title TEXT,
        opened_ms BIGINT NOT NULL,
        delivered_ms BIGINT
    );
    """,
    """
    CREATE TABLE series (
        probe_id BIGINT NOT NULL REFERENCES probes (id),
        start_ms BIGINT NOT NULL,
        step_ms BIGINT NOT NULL,
        count BIGINT NOT NULL,
        success INTEGER NOT NULL,
        PRIMARY KEY (probe_id, start_ms)
    );
    INSERT INTO series (probe_id, start_ms, step_ms, count, success)
        SELECT probe_id, start_ms, CASE WHEN count > 1 THEN (last_ms - start_ms) / (count - 1) ELSE 0 END,
               count, success FROM runs;
    DROP TABLE runs;
    """,
    # The ledger's ids are picked inside the writing transaction under an advisory lock
    # (they are hashed with the entry), so no sequence.
    """
    CREATE TABLE corrections (
        id BIGINT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('correction', 'revocation')),
        tenant TEXT NOT NULL,
        from_ms BIGINT,
        to_ms BIGINT,
        state TEXT,
        category TEXT,
        reason TEXT NOT NULL,
        author TEXT NOT NULL,
        recorded_ms BIGINT NOT NULL,
        revokes BIGINT REFERENCES corrections (id)
    );
    CREATE INDEX corrections_tenant ON corrections (tenant, from_ms);
    CREATE FUNCTION corrections_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the corrections ledger is append-only'; END $$;
    CREATE TRIGGER corrections_no_update BEFORE UPDATE ON corrections
        FOR EACH ROW EXECUTE FUNCTION corrections_append_only();
    CREATE TRIGGER corrections_no_delete BEFORE DELETE ON corrections
        FOR EACH ROW EXECUTE FUNCTION corrections_append_only();
    CREATE TRIGGER corrections_no_truncate BEFORE TRUNCATE ON corrections
        FOR EACH STATEMENT EXECUTE FUNCTION corrections_append_only();
    """,
    """
    ALTER TABLE series ADD COLUMN hash BYTEA;
    ALTER TABLE corrections ADD COLUMN hash BYTEA;
    """,
    # 6: SQLite's index, and the insertion order SQLite keeps as rowid (incidents_since).
    """
    CREATE INDEX incidents_closed ON incidents (closed_ms);
    ALTER TABLE incidents ADD COLUMN rowid BIGINT GENERATED BY DEFAULT AS IDENTITY;
    """,
    # 7: history per location, and a write count per probe (SQLite rebuilds the table).
    """
    ALTER TABLE probes ADD COLUMN location TEXT NOT NULL DEFAULT 'default';
    ALTER TABLE probes ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE probes DROP CONSTRAINT probes_tenant_probe_key;
    ALTER TABLE probes ADD CONSTRAINT probes_key UNIQUE (tenant, probe, location);
    """,
    # 8: a count of the writes to the incidents (incidents_version).
    """
    CREATE TABLE write_counts (name TEXT PRIMARY KEY, n BIGINT NOT NULL);
    INSERT INTO write_counts (name, n) VALUES ('incidents', 0);
    """,
]
