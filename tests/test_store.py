import sqlite3

import pytest

from exporter.states import ConflictError, Run
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
        s.merge({("acme", "ui"): ([(0, T), (30, T), (60, F)], 60)})
    with Store(path) as s:
        assert s.runs("acme", "ui", 0, 100) == [Run(T, 0, 30, 60, 2), Run(F, 60, 60, 120, 1)]


@pytest.mark.parametrize(
    "lo, hi, starts",
    [
        (0, 1000, [0, 100, 200, 300]),
        (150, 160, [100]),  # the run covering lo is included
        (100, 100, [100]),
        (250, 310, [200, 300]),
        (5000, 6000, [300]),  # one run before the range is fine: callers clip
    ],
)
def test_runs_in_a_range(store, lo, hi, starts):
    obs = [(float(t), (t // 100) % 2 == 0) for t in range(0, 400, 10)]
    store.merge({("acme", "ui"): (obs, 20)})
    assert [r.start for r in store.runs("acme", "ui", lo, hi)] == starts


def test_merge_is_all_or_nothing(store):
    store.merge({("acme", "ui"): ([(0, T), (30, T)], 60)})
    with pytest.raises(ConflictError) as err:
        store.merge({("acme", "api"): ([(0, T)], 60), ("acme", "ui"): ([(15, F)], 60)})
    assert err.value.key == ("acme", "ui")
    assert store.runs("acme", "api", 0, 100) == []
    assert store.runs("acme", "ui", 0, 100) == [Run(T, 0, 30, 90, 2)]


def test_merging_the_same_observations_twice_writes_nothing(store):
    obs = [(float(t), t % 7 != 0) for t in range(0, 600, 5)]
    first = store.merge({("acme", "ui"): (obs, 10)})
    rows = store.run_count()
    again = store.merge({("acme", "ui"): (obs, 10)})
    assert first.added == len(obs) and first.runs_written == rows
    assert (again.added, again.runs_written, store.run_count()) == (0, 0, rows)


def test_a_stable_probe_is_one_row(store):
    store.merge({("acme", "ui"): ([(float(t), T) for t in range(0, 31 * 86400, 60)], 120)})
    assert store.run_count() == 1
