import sqlite3

import pytest

from exporter.states import ConflictError, Series
from exporter.store import SCHEMA_VERSION, Store, StoreError

T, F = True, False


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path / "sla.db")) as s:
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
        (lambda p: open(p, "w").write("this is not a database, just text. " * 100), "file is not a database"),
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


def test_history_survives_reopening(tmp_path):
    path = str(tmp_path / "sla.db")
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
    from exporter.store import MIGRATIONS

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
