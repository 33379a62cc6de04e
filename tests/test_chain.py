"""Hash-chained history (docs/evidence.md): every legitimate write keeps the chains
verifying; an edited, deleted or inserted record (raw SQL, behind sla-exporter's back) is
named by `sla-exporter verify --storage.path DB`, which exits 1."""

import sqlite3
import subprocess
import sys

import pytest

from exporter.engine.states import Series
from exporter.store import chain
from exporter.store.sqlite import MIGRATIONS, Store
from stores import is_pg, query, raw_sql, shown, storage_args

MIN = 60_000
T0 = 1_790_805_600_000  # 2026-10-01T00:00:00Z
CONFIG = """\
sla: {target: 99.9%}
tenants:
  - name: acme
    probes:
      - {name: ui, url: "https://acme.example/"}
      - {name: api, url: "https://api.acme.example/"}
"""


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=60)


def iso(ms):
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Four records for acme/api (up, down, up, down), one for acme/ui.
API = [
    Series(True, T0, MIN, 60),
    Series(False, T0 + 60 * MIN, MIN, 10),
    Series(True, T0 + 70 * MIN, MIN, 100),
    Series(False, T0 + 170 * MIN, MIN, 5),
]
UI = [Series(True, T0, MIN, 175)]


@pytest.fixture
def db(store_target):
    with Store(store_target) as store:
        store.save_series([("acme", "api", s) for s in API] + [("acme", "ui", s) for s in UI])
    return store_target


def raw(target, *statements):
    raw_sql(target, *statements)


def hash_of(target, start):
    ((h,),) = query(target, "SELECT hash FROM series WHERE start_ms = ? AND probe_id = 1", (start,))
    return bytes(h)


API_ID = "(SELECT id FROM probes WHERE probe = 'api')"


def test_a_store_written_by_sla_exporter_verifies(db):
    out = cli("verify", *storage_args(db))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{shown(db)}: OK: 5 history records of 2 probes and 0 ledger entries verify\n"


@pytest.mark.parametrize(
    "tamper, record, problem",
    [
        pytest.param(
            lambda db: raw(
                db, (f"UPDATE series SET count = 8 WHERE probe_id = {API_ID} AND start_ms = ?", (API[1].start,))
            ),
            API[1].start,
            "does not match its hash: the record was edited, or the one before it deleted",
            id="edited count (shorter outage)",
        ),
        pytest.param(
            lambda db: raw(
                db, (f"UPDATE series SET success = 1 WHERE probe_id = {API_ID} AND start_ms = ?", (API[3].start,))
            ),
            API[3].start,
            "does not match its hash: the record was edited, or the one before it deleted",
            id="edited result of the head",
        ),
        pytest.param(
            lambda db: raw(db, (f"DELETE FROM series WHERE probe_id = {API_ID} AND start_ms = ?", (API[1].start,))),
            API[2].start,  # the record after the deleted one no longer links
            "does not match its hash: the record was edited, or the one before it deleted",
            id="deleted outage",
        ),
        pytest.param(
            lambda db: raw(
                db,
                (
                    f"INSERT INTO series (probe_id, start_ms, step_ms, count, success) VALUES ({API_ID}, ?, ?, ?, 1)",
                    (API[3].last + MIN, MIN, 30),
                ),
            ),
            API[3].last + MIN,
            "has no hash (written outside sla-exporter)",
            id="inserted head without a hash",
        ),
        pytest.param(
            lambda db: raw(
                db,
                (
                    f"INSERT INTO series (probe_id, start_ms, step_ms, count, success, hash) "
                    f"VALUES ({API_ID}, ?, 0, 1, 1, ?)",
                    (API[1].last + 30_000, b"\0"),
                ),
            ),
            API[1].last + 30_000,
            "was inserted: the record after it links to the one before it",
            id="inserted with a wrong hash",
        ),
        pytest.param(
            # Whoever inserted it computed its link right: the next record gives it away.
            lambda db: raw(
                db,
                (
                    f"INSERT INTO series (probe_id, start_ms, step_ms, count, success, hash) "
                    f"VALUES ({API_ID}, ?, 0, 1, 1, ?)",
                    (
                        API[1].last + 30_000,
                        chain.link(hash_of(db, API[1].start), chain.series_content(API[1].last + 30_000, 0, 1, True)),
                    ),
                ),
            ),
            API[1].last + 30_000,
            "was inserted: the record after it links to the one before it",
            id="inserted with its link computed",
        ),
        pytest.param(
            lambda db: raw(db, ("UPDATE probes SET tenant = 'other' WHERE probe = 'ui'", ())),
            UI[0].start,
            "does not match its hash: the record was edited, or the one before it deleted",
            id="history moved to another tenant",
        ),
        pytest.param(
            lambda db: raw(db, (f"UPDATE series SET hash = NULL WHERE probe_id = {API_ID} AND start_ms = ?", (T0,))),
            T0,
            "has no hash (written outside sla-exporter)",
            id="hash removed",
        ),
    ],
)
def test_verify_names_the_first_record_that_does_not_verify(request, db, tamper, record, problem):
    tamper(db)
    out = cli("verify", *storage_args(db))
    assert out.returncode == 1
    assert out.stdout == ""
    who = "tenant other, probe ui" if "another tenant" in request.node.callspec.id else "tenant acme, probe api"
    assert out.stderr == (
        f"sla-exporter verify: {shown(db)}: does not verify: {who}, record starting {iso(record)}: {problem}\n"
    )


def series_of(store, probe):
    return store.series("acme", probe, 0, 2**62)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            # The daemon's group commit: the last record's count grows, one record replaced.
            lambda s: s.save_series([("acme", "api", API[3]._replace(count=API[3].count + 1))]),
            id="live append extends the head",
        ),
        pytest.param(
            lambda s: s.save_series([("acme", "api", Series(True, API[3].last + MIN, 0, 1))]),
            id="live append starts a new record",
        ),
        pytest.param(
            # An import of a row inside the first record (between two of its times) splits it.
            lambda s: s.merge({("acme", "api"): [(T0 + 30 * MIN + 30_000, False)]}),
            id="backfill splits a series",
        ),
        pytest.param(
            lambda s: s.merge({("acme", "api"): [(T0 - 10 * MIN + i * MIN, True) for i in range(10)]}),
            id="backfill before the first record (joins it)",
        ),
        pytest.param(
            lambda s: s.merge({("acme", "api"): [(T0 - 60 * MIN, False)]}),
            id="backfill a new first record",
        ),
        pytest.param(
            lambda s: s.merge({("acme", "new"): [(T0, True), (T0 + MIN, True)]}),
            id="import a new probe",
        ),
        pytest.param(
            # The recorder's path for a result dated before the newest: delete and rewrite.
            lambda s: s.save_series(
                [
                    ("acme", "api", Series(True, T0 + 70 * MIN, MIN, 50)),
                    ("acme", "api", Series(False, T0 + 120 * MIN + 30_000, 0, 1)),
                    ("acme", "api", Series(True, T0 + 121 * MIN, MIN, 49)),
                ],
                gone=[],
            ),
            id="recorder inserts a late result",
        ),
        pytest.param(
            lambda s: s.save_series([], gone=[("acme", "api", API[3].start)]),
            id="recorder removes a record",
        ),
    ],
)
def test_legitimate_writes_keep_the_chains_verifying(db, write):
    with Store(db) as store:
        write(store)
        assert store.verify_chains()[0] is None
        # and the stored hashes are exactly the chain computed from scratch
        for tenant, probe, start, recs in store._chains():
            expected = chain.hashes(start, [content for _, content, _ in recs])
            assert [stored for _, _, stored in recs] == expected, (tenant, probe)
    out = cli("verify", *storage_args(db))
    assert out.returncode == 0, out.stderr


def test_live_append_then_backfill_then_append(db):
    with Store(db) as store:
        head = API[3]
        for i in range(1, 4):  # three group commits
            store.save_series([("acme", "api", head._replace(count=head.count + i))])
        store.merge({("acme", "api"): [(T0 + 5 * MIN + 1, False)]})
        store.save_series([("acme", "api", head._replace(count=head.count + 4))])
        broken, probes, records = store.verify_chains()
    assert broken is None
    assert (probes, records) == (2, 7)  # api: the first record split in three, + 3; ui: 1


def schema3_store(path, rows):
    con = sqlite3.connect(path)
    for n in range(3):
        con.executescript(MIGRATIONS[n])
    con.execute("PRAGMA user_version = 3")
    for tenant, probe, s in rows:
        con.execute("INSERT OR IGNORE INTO probes (tenant, probe) VALUES (?, ?)", (tenant, probe))
        con.execute(
            "INSERT INTO series (probe_id, start_ms, step_ms, count, success) "
            "SELECT id, ?, ?, ?, ? FROM probes WHERE tenant = ? AND probe = ?",
            (s.start, s.step, s.count, int(s.success), tenant, probe),
        )
    con.commit()
    con.close()


def test_migration_chains_an_existing_schema_3_store(tmp_path, db):
    old = str(tmp_path / "old.db")
    schema3_store(old, [("acme", "api", s) for s in API] + [("acme", "ui", s) for s in UI])
    out = cli("verify", "--storage.path", old)
    assert out.returncode == 0, out.stderr
    assert "5 history records of 2 probes" in out.stdout
    # The same history gives the same chain, migrated or written by this version.
    with Store(old) as migrated, Store(db) as fresh:
        assert migrated.chain_heads() == fresh.chain_heads()
        assert migrated.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


@pytest.mark.parametrize(
    "args, code, message",
    [
        ([], 2, "give an evidence bundle FILE.tar.gz or --storage.path DB or --storage.url URL (one of them)"),
        (["{d}/x.tar.gz", "--storage.path", "{d}/x.db"], 2, "(one of them)"),
        (["--storage.path", "{d}/missing.db"], 1, "{d}/missing.db: no such store"),
        (["--storage.path", "{d}/x.db", "--public-key", "{d}/k.pub"], 2, "--public-key checks a bundle, not a store"),
        (["{d}/missing.tar.gz"], 1, "{d}/missing.tar.gz: no such file"),
        (["{d}/x.tar.gz", "--public-key", "{d}/missing.pub"], 1, "{d}/missing.pub: cannot read: No such file"),
    ],
)
def test_verify_usage(tmp_path, args, code, message):
    out = cli("verify", *(a.format(d=tmp_path) for a in args))
    assert out.returncode == code
    assert message.format(d=tmp_path) in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "records, expected",
    [
        ([], None),
        (["a", "b", "c"], None),
    ],
)
def test_check_accepts_chains_it_computed(records, expected):
    start = chain.genesis("series", "t", "p")
    contents = [r.encode() for r in records]
    assert chain.check(start, zip(contents, chain.hashes(start, contents), strict=True)) == expected


def test_genesis_names_the_chain():
    assert len({chain.genesis("series", "a", "bc"), chain.genesis("series", "ab", "c"), chain.genesis("x")}) == 3


LEDGER = ("id", "tenant", "reason", "recorded_ms")


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (None, None),
        ("UPDATE notes SET reason = 'nothing happened' WHERE id = 'N-2'", "notes record id='N-2' does not match"),
        ("DELETE FROM notes WHERE id = 'N-2'", "notes record id='N-3' does not match"),
        ("UPDATE notes SET hash = NULL WHERE id = 'N-1'", "notes record id='N-1' has no hash"),
        (
            "INSERT INTO notes (id, tenant, reason, recorded_ms, hash) VALUES ('N-9', 'acme', 'x', 5, {zero})",
            "notes record id='N-9' does not match its hash",
        ),
    ],
)
def test_a_chained_ledger_for_the_corrections(db, monkeypatch, tamper, problem):
    """The generic append-only ledger the corrections use: appended with its hash, checked
    by verify (through CHAINED_LEDGERS) like the history."""
    from exporter.store import sqlite as store_module

    monkeypatch.setitem(store_module.CHAINED_LEDGERS, "notes", (LEDGER, "id"))
    blob, zero = ("BYTEA", "'\\x00'::bytea") if is_pg(db) else ("BLOB", "X'00'")
    with Store(db) as store:
        store.db.execute(
            f"CREATE TABLE notes (id TEXT PRIMARY KEY, tenant TEXT, reason TEXT, recorded_ms INTEGER, hash {blob})"
        )
        heads = [
            store.append_chained("notes", {"id": f"N-{i}", "tenant": "acme", "reason": f"r{i}", "recorded_ms": i})
            for i in (1, 2, 3)
        ]
        assert len(set(heads)) == 3
        if tamper:
            store.db.execute(tamper.format(zero=zero))
        found, checked = store.verify_ledgers()
    if problem is None:
        assert (found, checked) == (None, 3)
    else:
        assert found is not None and found.startswith(problem)


@pytest.mark.parametrize("write_chunk, spill_series", [(10**6, 10**6), (2, 10**6), (3, 4), (1, 1)])
def test_a_streamed_import_in_chunks_keeps_the_chains(tmp_path, db, monkeypatch, write_chunk, spill_series):
    """An import written in several chunks and transactions, from memory or a scratch store,
    before and into recorded history (a backfill): every record chained as if written at once."""
    import io

    from exporter import config
    from exporter.store import importer

    monkeypatch.setattr(importer, "WRITE_CHUNK", write_chunk)
    monkeypatch.setattr(importer, "SPILL_SERIES", spill_series)
    monkeypatch.setattr(importer, "CHUNK_ROWS", 3)
    cfg = config.load_text(CONFIG)
    lines = ["time,tenant,probe,success"] + [
        f"{iso(T0 + (i - 20) * MIN + (i * 7919) % 20_000)},acme,{p},{int(i % 5 != 0)}"
        for i in range(40)
        for p in ("api", "ui")
    ]
    with Store(db) as store:
        with importer.parse(io.StringIO("\n".join(lines) + "\n"), cfg, spill_dir=str(tmp_path)) as obs:
            summary = importer.import_observations(store, cfg, obs, None)
        assert summary.result.added == 80 - 2  # two rows fall on recorded times, with their results
        assert store.verify_chains()[0] is None
        for _, _, start, recs in store._chains():
            assert [stored for _, _, stored in recs] == chain.hashes(start, [c for _, c, _ in recs])


def _entry(i, kind="correction", revokes=None):
    from exporter.model import LedgerEntry

    if kind == "revocation":
        return LedgerEntry(0, kind, "acme", f"reason {i}", "ops", T0 + i * MIN, revokes=revokes)
    return LedgerEntry(0, kind, "acme", f"reason {i}", "ops", T0 + i * MIN, T0, T0 + 10 * MIN, "up", "false-positive")


def _ledger(store):
    store.add_correction(_entry(1))
    store.add_correction(_entry(2))
    store.revoke_correction(1, "wrong", "ops", T0 + 3 * MIN)


@pytest.mark.parametrize(
    "tamper, message",
    [
        (None, None),
        (
            "UPDATE corrections SET state = 'down' WHERE id = 2",
            "corrections record id=2 does not match its hash: the record was edited, or the one before it deleted",
        ),
        (
            "DELETE FROM corrections WHERE id = 3",  # the newest entry: unseen without an anchor (evidence.md)
            None,
        ),
        (
            "DELETE FROM corrections WHERE id = 2",
            "corrections record id=3 does not match its hash: the record was edited, or the one before it deleted",
        ),
    ],
)
def test_the_corrections_ledger_is_chained(db, tamper, message):
    with Store(db) as store:
        _ledger(store)
    if tamper:
        # Whoever edits the file behind sla-exporter's back can drop the append-only triggers too.
        on = " ON corrections" if is_pg(db) else ""
        raw(
            db,
            (f"DROP TRIGGER corrections_no_update{on}", ()),
            (f"DROP TRIGGER corrections_no_delete{on}", ()),
            (tamper, ()),
        )
    out = cli("verify", *storage_args(db))
    if message is None:
        assert out.returncode == 0, out.stderr
        entries = 2 if tamper else 3
        assert out.stdout.endswith(f"and {entries} ledger entries verify\n")
    else:
        assert out.returncode == 1
        assert out.stderr == f"sla-exporter verify: {shown(db)}: does not verify: {message}\n"


def test_migration_chains_an_existing_ledger(tmp_path):
    """A schema-4 store (the ledger without hashes) gets its entries chained once, in id order,
    as this version would have written them."""
    old = str(tmp_path / "old.db")
    schema3_store(old, [("acme", "api", s) for s in API])
    con = sqlite3.connect(old)
    for statement in __import__("exporter.store.sqlite", fromlist=["_statements"])._statements(MIGRATIONS[3]):
        con.execute(statement)
    con.execute("PRAGMA user_version = 4")
    con.execute(
        "INSERT INTO corrections (kind, tenant, from_ms, to_ms, state, category, reason, author, recorded_ms) "
        "VALUES ('correction', 'acme', ?, ?, 'up', 'false-positive', 'reason 1', 'ops', ?)",
        (T0, T0 + 10 * MIN, T0 + MIN),
    )
    con.commit()
    con.close()
    out = cli("verify", "--storage.path", old)
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("and 1 ledger entries verify\n")
    fresh = str(tmp_path / "fresh.db")
    with Store(fresh) as store:
        store.add_correction(_entry(1))
    con_old, con_new = sqlite3.connect(old), sqlite3.connect(fresh)
    assert (
        con_old.execute("SELECT hash FROM corrections").fetchall()
        == con_new.execute("SELECT hash FROM corrections").fetchall()
    )
    con_old.close()
    con_new.close()
    # and the ledger stays append-only after the migration
    with Store(old) as store, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("UPDATE corrections SET reason = 'x'")


@pytest.mark.parametrize(
    "series",
    [
        [],
        [Series(True, T0, MIN, 60)],
        [Series(False, T0, 0, 1), Series(True, T0 + 1, 7, 2), Series(True, -5, 2**40, 3)],
    ],
)
def test_series_hashes_are_the_chain_of_their_contents(series):
    start = chain.genesis("series", "acme", "api")
    contents = [chain.series_content(s.start, s.step, s.count, s.success) for s in series]
    assert chain.series_hashes(start, series) == chain.hashes(start, contents)
