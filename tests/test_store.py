import pathlib
import sqlite3

import pytest

from exporter.engine.states import ConflictError, Series
from exporter.store.sqlite import SCHEMA_VERSION, Store, StoreError

T, F = True, False


@pytest.fixture
def store(store_target):
    """A new store on each backend (SQLite, PostgreSQL)."""
    with Store(store_target) as s:
        yield s


def test_new_store_is_wal_and_at_the_current_schema(tmp_path):
    path = str(tmp_path / "sla.db")
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.parametrize(
    "prepare, message",
    [
        (lambda p: sqlite3.connect(p).execute("PRAGMA user_version = 99"), "newer than this sla-exporter"),
        (lambda p: pathlib.Path(p).write_text("this is not a database, just text. " * 100), "file is not a database"),
    ],
)
def test_unusable_store_is_refused_with_a_reason(tmp_path, prepare, message):
    path = str(tmp_path / "sla.db")
    prepare(path)
    with pytest.raises(StoreError, match=message):
        Store(path)


def test_missing_store_is_refused_when_not_creating(tmp_path):
    with pytest.raises(StoreError, match="no such store"):
        Store(str(tmp_path / "absent.db"), create=False)


def test_history_survives_reopening(store_target):
    path = store_target
    with Store(path) as s:
        s.merge({("acme", "ui"): [(0, T), (30, T), (60, F)]})
    with Store(path) as s:
        assert s.series("acme", "ui", 0, 100) == [Series(T, 0, 30, 2), Series(F, 60, 0, 1)]


@pytest.mark.parametrize(
    "lo, hi, starts",
    [
        (0, 1000, [0, 100, 200, 300]),
        (150, 160, [100]),  # the series covering lo is included
        (100, 100, [0, 100]),  # and the one before lo, which a run may continue
        (250, 310, [200, 300]),
        (5000, 6000, [300]),  # one series before the range is fine: callers clip
    ],
)
def test_series_in_a_range(store, lo, hi, starts):
    obs = [(t, (t // 100) % 2 == 0) for t in range(0, 400, 10)]
    store.merge({("acme", "ui"): obs})
    assert [r.start for r in store.series("acme", "ui", lo, hi)] == starts


@pytest.mark.parametrize(
    "t, before, after",
    [
        (200, [0, 100], [300]),
        (0, [], [100, 200]),
        (300, [100, 200], []),
    ],
)
def test_series_before_and_after(store, t, before, after):
    store.merge({("acme", "ui"): [(t, (t // 100) % 2 == 0) for t in range(0, 400, 10)]})
    assert [r.start for r in store.series_before("acme", "ui", t, 2)] == before
    assert [r.start for r in store.series_after("acme", "ui", t, 2)] == after


def test_merge_is_all_or_nothing(store):
    store.merge({("acme", "ui"): [(0, T), (30, T)]})
    with pytest.raises(ConflictError) as err:
        store.merge({("acme", "api"): [(0, T)], ("acme", "ui"): [(15, F), (30, F)]})
    assert err.value.key == ("acme", "ui")
    assert store.series("acme", "api", 0, 100) == []
    assert store.series("acme", "ui", 0, 100) == [Series(T, 0, 30, 2)]


def test_merging_the_same_observations_twice_writes_nothing(store):
    obs = [(t, t % 7 != 0) for t in range(0, 600, 5)]
    first = store.merge({("acme", "ui"): obs})
    rows = store.series_count()
    again = store.merge({("acme", "ui"): obs})
    assert first.added == len(obs) and first.series_written == rows
    assert (again.added, again.series_written, store.series_count()) == (0, 0, rows)


def test_a_backfilled_observation_splits_the_series_it_falls_into(store):
    store.merge({("acme", "ui"): [(0, F), (60_000, F), (180_000, F)]})
    store.merge({("acme", "ui"): [(120_000, F)]})
    assert store.series("acme", "ui", 0, 200_000) == [Series(F, 0, 60_000, 4)]


def test_a_stable_probe_is_one_row(store):
    store.merge({("acme", "ui"): [(t * 1000, T) for t in range(0, 31 * 86400, 60)]})
    assert store.series_count() == 1


def test_a_version_2_store_is_migrated_with_its_runs_as_series(tmp_path):
    from exporter.store.sqlite import MIGRATIONS

    path = str(tmp_path / "old.db")
    db = sqlite3.connect(path, isolation_level=None)
    for n, script in enumerate(MIGRATIONS[:2]):
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {n + 1}")
    db.execute("INSERT INTO probes (id, tenant, probe) VALUES (1, 'acme', 'ui')")
    db.execute("INSERT INTO runs VALUES (1, 0, 120000, 180000, 1, 3)")  # 0, 60, 120 s
    db.execute("INSERT INTO runs VALUES (1, 180000, 180000, 240000, 0, 1)")
    db.close()
    with Store(path) as s:
        assert s.series("acme", "ui", 0, 10**6) == [Series(T, 0, 60_000, 3), Series(F, 180_000, 0, 1)]


@pytest.mark.parametrize("damage", ["truncated by 100 bytes", "4 KB of garbage mid-file"])
def test_a_damaged_store_is_refused_at_start_with_one_line(tmp_path, damage):
    import os
    import subprocess
    import sys

    path = str(tmp_path / "sla.db")
    with Store(path) as s:
        s.merge({("acme", "ui"): [(t * 1000, t % 7 != 0) for t in range(0, 200_000, 60)]})
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if damage.startswith("truncated"):
            f.truncate(size - 100)
        else:
            f.seek(size // 2)
            f.write(os.urandom(4096))
    with pytest.raises(StoreError) as err:
        Store(path)
    assert str(err.value).startswith(path)
    assert "\n" not in str(err.value)
    config = tmp_path / "c.yaml"
    config.write_text("tenants:\n  - name: acme\n    probes:\n      - {name: ui, url: 'https://a.example/'}\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "report",
            "--config.file",
            str(config),
            "--storage.path",
            path,
            "--month",
            "2026-10",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_large_merge_is_written_in_bounded_transactions(store, monkeypatch):
    commits = []
    commit = store.db.commit
    monkeypatch.setattr(store.db, "commit", lambda: (commits.append(1), commit()))
    batches = {("acme", f"p{i}"): [(t, True) for t in range(0, 600_000, 60_000)] for i in range(5)}
    result = store.merge(batches, max_tx_seconds=0)  # every probe its own transaction
    assert len(commits) == 5
    assert (result.added, store.series_count()) == (50, 5)


def test_a_conflict_anywhere_keeps_every_probe_out(store):
    store.merge({("acme", "z"): [(0, True)]})
    with pytest.raises(ConflictError):
        store.merge(
            {("acme", f"p{i}"): [(0, True)] for i in range(5)} | {("acme", "z"): [(0, False)]}, max_tx_seconds=0
        )
    assert [store.series("acme", f"p{i}", 0, 10) for i in range(5)] == [[]] * 5
