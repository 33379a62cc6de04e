"""Locations (issue 15 item 1 and 3): history per location in the store, the import's
location column, the quorum in config, the recorder reading other exporters' writes, and
the per-location metrics. The rule itself is held to the naive reference in
test_reference.py (test_engine_matches_reference_with_locations)."""

import contextlib
import itertools
import tarfile

import pytest
from prometheus_client import CollectorRegistry

from exporter import config, report
from exporter.config.loader import ConfigError
from exporter.engine.states import Series, runs
from exporter.probing.recorder import Recorder, Result
from exporter.store import importer
from exporter.store.sqlite import Store
from exporter.web.collector import ExporterStatus, SLACollector

T, F = True, False
S, MIN = 1000, 60_000
OCT = 1_790_812_800_000  # 2026-10-01T00:00:00Z
NOV = 1_793_491_200_000  # 2026-11-01T00:00:00Z

CONFIG = """
timezone: UTC
probe_defaults: {{interval: 60s}}
{top}
tenants:
  - name: acme
{tenant}
    probes:
      - {{name: ui, url: "https://ui.example.com/"}}
"""


def cfg_of(top: str = "", tenant: str = ""):
    return config.load_text(CONFIG.format(top=top, tenant=tenant))


# -- store -----------------------------------------------------------------------------------


@pytest.fixture
def store(store_target):
    with Store(store_target) as s:
        yield s


def test_each_location_keeps_its_own_history(store):
    store.merge({("acme", "ui", "eu"): [(0, T), (MIN, T)], ("acme", "ui", "us"): [(0, F)], ("acme", "ui"): [(0, T)]})
    assert store.series("acme", "ui", 0, MIN, location="eu") == [Series(T, 0, MIN, 2)]
    assert store.series("acme", "ui", 0, MIN, location="us") == [Series(F, 0, 0, 1)]
    assert store.series("acme", "ui", 0, MIN) == [Series(T, 0, 0, 1)]  # the default location
    assert store.locations("acme", "ui") == ["default", "eu", "us"]
    assert set(store.all_series(0, MIN)) == {("acme", "ui", "default"), ("acme", "ui", "eu"), ("acme", "ui", "us")}
    # One instant, other results, other locations: not a conflict.
    assert store.merge({("acme", "ui", "us"): [(MIN, T)]}).added == 1


@pytest.mark.parametrize("reopened", [False, True])  # learnt as written, or read from the store
def test_probes_in_the_same_locations_share_one_set_of_them(store_target, reopened):
    """Memory at 30,000 probes: one frozenset per distinct set of locations, not one each."""
    with Store(store_target) as writer:
        writer.merge({("acme", p, loc): [(0, T)] for p in ("ui", "api", "db") for loc in ("eu", "us")})
        writer.merge({("beta", "ui", "eu"): [(0, T)]})
        with Store(store_target) if reopened else contextlib.nullcontext(writer) as store:
            assert [store.locations("acme", p) for p in ("ui", "api", "db")] == [["eu", "us"]] * 3
            assert store.locations("beta", "ui") == ["eu"]
            shared = {id(store._where[("acme", p)]) for p in ("ui", "api", "db")}
            assert len(shared) == 1 and id(store._where[("beta", "ui")]) not in shared


def test_every_write_moves_the_probes_write_count(store):
    def versions():
        return {(t, p, loc): v for t, p, loc, v in store.probe_versions()}

    store.merge({("acme", "ui", "eu"): [(0, T)]})
    first = versions()[("acme", "ui", "eu")]
    store.save_series([("acme", "ui", "eu", Series(T, 0, MIN, 2))])
    assert versions()[("acme", "ui", "eu")] == first + 1
    store.merge({("acme", "ui", "eu"): [(0, T)]})  # nothing new: nothing written
    assert versions()[("acme", "ui", "eu")] == first + 1
    store.merge({("acme", "ui", "us"): [(0, T)]})
    assert versions()[("acme", "ui", "eu")] == first + 1


def test_chains_per_location_verify_and_name_the_location(store_target):
    with Store(store_target) as s:
        s.merge({("acme", "ui", "eu"): [(0, T), (MIN, F)], ("acme", "ui"): [(0, T)]})
        assert s.verify_chains()[0] is None
        heads = {h.probe for h in s.chain_heads()}
    assert heads == {"ui", "ui@eu"}


def test_a_version_6_store_gains_locations_keeping_ids_and_chains(tmp_path):
    import sqlite3

    from exporter.store.sqlite import MIGRATIONS

    path = str(tmp_path / "old.db")
    with Store(path) as s:  # today's schema, then taken back to version 6 by hand
        s.merge({("acme", "ui"): [(0, T), (MIN, T)]})
        (pid,) = s.db.execute("SELECT id FROM probes").fetchone()
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(
        """CREATE TABLE p6 (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, probe TEXT NOT NULL, UNIQUE (tenant, probe));
           INSERT INTO p6 SELECT id, tenant, probe FROM probes; DROP TABLE probes; ALTER TABLE p6 RENAME TO probes;
           DROP TABLE write_counts; PRAGMA user_version = 6;"""
    )
    db.close()
    assert len(MIGRATIONS) == 8
    with Store(path) as s:
        assert s.db.execute("SELECT id, location, version FROM probes").fetchall() == [(pid, "default", 0)]
        assert s.series("acme", "ui", 0, MIN) == [Series(T, 0, MIN, 2)]
        assert s.verify_chains()[0] is None


# -- config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "top, tenant, quorum",
    [
        ("", "", 1),
        ("locations: {quorum: 2}", "", 2),
        ("locations: {quorum: 2}", "    locations: {quorum: 3}", 3),
        ("", "    locations: {quorum: 2}", 2),
        ("locations: {}", "", 1),
    ],
)
def test_quorum_from_the_top_level_or_the_tenant(top, tenant, quorum):
    assert cfg_of(top, tenant).tenants[0].quorum == quorum


@pytest.mark.parametrize(
    "top, problem",
    [
        ("locations: {quorum: 0}", "<config>:4: locations.quorum: must be at least 1, got 0"),
        ("locations: {quorum: two}", "locations.quorum: expected an integer"),
        ("locations: {quorum: 1, k: 2}", "<config>:4: locations.k: unknown key 'k'"),
    ],
)
def test_a_bad_quorum_is_refused_with_its_key_path(top, problem):
    with pytest.raises(ConfigError) as err:
        cfg_of(top)
    assert problem in str(err.value)


# -- import ----------------------------------------------------------------------------------


def parse(text: str, cfg=None, location="default"):
    return importer.parse(text.splitlines(), cfg or cfg_of(), location=location)


def test_the_location_column_and_the_default_location():
    obs = parse(
        "time,tenant,probe,success,location\n"
        "2026-10-01T00:00:00Z,acme,ui,1,eu\n"
        "2026-10-01T00:00:00Z,acme,ui,0,us\n"
        "2026-10-01T00:01:00Z,acme,ui,1,\n",
        location="home",
    )
    assert obs.by_probe == {
        ("acme", "ui", "eu"): [(OCT, T)],
        ("acme", "ui", "us"): [(OCT, F)],
        ("acme", "ui", "home"): [(OCT + MIN, T)],
    }
    assert parse("time,tenant,probe,success\n2026-10-01T00:00:00Z,acme,ui,1\n", location="eu").by_probe == {
        ("acme", "ui", "eu"): [(OCT, T)]
    }


@pytest.mark.parametrize(
    "rows, problem",
    [
        ("2026-10-01T00:00:00Z,acme,ui,1,eu west", "line 2: location: expected a location name"),
        ("2026-10-01T00:00:00Z,acme,ui,1", "line 2: expected 5 fields (time,tenant,probe,success,location), got 4"),
        (
            "2026-10-01T00:00:00Z,acme,ui,1,eu\n2026-10-01T00:00:00Z,acme,ui,0,eu",
            "line 3: contradicts line 2: same probe and time, other result",
        ),
    ],
)
def test_bad_location_rows_refuse_the_file_naming_the_line(rows, problem):
    with pytest.raises(importer.ImportError_) as err:
        parse("time,tenant,probe,success,location\n" + rows + "\n")
    assert problem in str(err.value)


# -- figures: the report and the collector ---------------------------------------------------


def outage_history(store):
    """eu sees the vendor down 10:00-10:30 on 7 October, us 10:10-10:20; both probe every
    minute all month, up otherwise."""
    day = OCT + 6 * 86_400_000
    for loc, lo, hi in (("eu", day + 600 * MIN, day + 630 * MIN), ("us", day + 610 * MIN, day + 620 * MIN)):
        store.merge({("acme", "ui", loc): [(t, not (lo <= t < hi)) for t in range(OCT, NOV, MIN)]})


@pytest.mark.parametrize("quorum, downtime", [(1, 30 * 60), (2, 10 * 60), (3, 0)])
def test_report_downtime_follows_the_quorum(tmp_path, quorum, downtime):
    cfg = cfg_of(f"locations: {{quorum: {quorum}}}")
    with Store(str(tmp_path / "s.db")) as s:
        outage_history(s)
        doc = report.build(cfg, s, 2026, 10, list(cfg.tenants))
    row = doc["tenants"][0]
    assert (row["locations"], row["quorum"]) == (["eu", "us"], quorum)
    assert row["downtime_seconds"] == downtime
    # Quorum 3 with two locations: never three witnesses, so never known.
    assert row["availability"] is (None if quorum == 3 else row["availability"])


def test_one_location_with_quorum_1_is_the_single_exporters_figures(tmp_path):
    cfg = cfg_of()
    rows = [(t, not (OCT + 86_400_000 <= t < OCT + 86_400_000 + 7 * MIN)) for t in range(OCT, NOV, MIN)]
    docs = []
    for key in (("acme", "ui"), ("acme", "ui", "eu")):
        with Store(str(tmp_path / f"{len(key)}.db")) as s:
            s.merge({key: rows})
            docs.append(report.build(cfg, s, 2026, 10, list(cfg.tenants)))
    assert [t.pop("locations") for d in docs for t in d["tenants"]] == [["default"], ["eu"]]
    assert docs[0] == docs[1]
    assert docs[0]["tenants"][0]["downtime_seconds"] == 7 * 60


def registry_for(recorder, cfg, now_s):
    reg = CollectorRegistry()
    reg.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, now_s), lambda: now_s))
    return reg


def test_the_recorder_reads_what_other_locations_write_and_counts_it_with_the_quorum(tmp_path):
    cfg = cfg_of("locations: {quorum: 2}")
    path = str(tmp_path / "s.db")
    now = NOV + 3600 * S
    with Store(path) as mine, Store(path) as theirs:
        eu = Recorder(mine, cfg, since=OCT / 1000, location="eu")
        for t in range(NOV, now, MIN):
            eu.observe(
                "acme",
                "ui",
                Result(
                    started=t / 1000,
                    success=not (NOV + 10 * MIN <= t < NOV + 30 * MIN),
                    duration=0.1,
                    reason=None if t >= NOV + 30 * MIN or t < NOV + 10 * MIN else "status",
                ),
            )
        eu.flush()
        reg = registry_for(eu, cfg, now / 1000)
        # Alone, eu is one witness of two: unknown all along, so no availability.
        assert reg.get_sample_value("sla_availability_ratio", {"tenant": "acme"}) is None
        assert reg.get_sample_value("sla_location_up", {"location": "eu"}) == 1
        # us writes its history from another exporter: down 10:15-10:20 only.
        theirs.merge(
            {("acme", "ui", "us"): [(t, not (NOV + 15 * MIN <= t < NOV + 20 * MIN)) for t in range(NOV, now, MIN)]}
        )
        assert eu.feed() == 1
        assert eu.feed() == 0  # nothing written since
        assert reg.get_sample_value("sla_month_downtime_seconds", {"tenant": "acme"}) == 5 * 60
        assert reg.get_sample_value("sla_probe_success", {"tenant": "acme", "probe": "ui", "location": "us"}) == 1
        assert reg.get_sample_value("sla_probe_success", {"tenant": "acme", "probe": "ui", "location": "eu"}) == 1
        assert reg.get_sample_value("sla_location_up", {"location": "us"}) == 1
        assert eu.state_now(cfg.tenants[0], now / 1000)[0] == "up"


def test_a_location_that_stopped_reporting_is_down_on_location_up(tmp_path):
    cfg = cfg_of()
    path = str(tmp_path / "s.db")
    now = NOV + 3600 * S
    with Store(path) as s:
        s.merge({("acme", "ui", "us"): [(t, True) for t in range(NOV, NOV + 10 * MIN, MIN)]})
        rec = Recorder(s, cfg, since=OCT / 1000, location="eu")
        reg = registry_for(rec, cfg, now / 1000)
        assert reg.get_sample_value("sla_location_up", {"location": "us"}) == 0
        assert reg.get_sample_value("sla_location_up", {"location": "eu"}) == 0  # nothing recorded yet
        # Its last result is stale: no sample for it.
        assert reg.get_sample_value("sla_probe_success", {"tenant": "acme", "probe": "ui", "location": "us"}) is None


def test_an_evidence_bundle_keeps_each_locations_history_and_reproduces(tmp_path):
    from exporter import evidence

    text = CONFIG.format(top="locations: {quorum: 2}", tenant="")
    cfg = config.load_text(text)
    bundle = str(tmp_path / "b.tar.gz")
    with Store(str(tmp_path / "s.db")) as s:
        outage_history(s)
        evidence.write(bundle, cfg, text, s, 2026, 10, list(cfg.tenants), NOV / 1000 + 86400 * 40)
    with tarfile.open(bundle, "r:gz") as tar:
        history = next(tar.extractfile(m).read().decode() for m in tar.getmembers() if m.name.endswith("history.csv"))
    lines = history.splitlines()
    assert lines[0] == "time,tenant,probe,success,location"
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {"eu", "us"}
    checked = evidence.verify(bundle)
    assert checked.month == "2026-10"


def test_the_printable_report_states_the_quorum_only_with_several_locations(tmp_path):
    from exporter import render

    cfg = cfg_of("locations: {quorum: 2}")
    with Store(str(tmp_path / "s.db")) as s:
        outage_history(s)
        page = render.html(cfg, s, (2026, 10), None, NOV / 1000 + 86400 * 40)
    assert "Probed from 2 locations (eu, us) with a quorum of 2" in page
    with Store(str(tmp_path / "one.db")) as s:
        s.merge({("acme", "ui"): [(OCT, True)]})
        assert "Probed from" not in render.html(cfg_of(), s, (2026, 10), None, NOV / 1000 + 86400 * 40)


# -- a live writer and an import on the same probe -------------------------------------------


def live(rec, t, ok=True):
    rec.observe("acme", "ui", Result(started=t / 1000, success=ok, duration=0.1, reason=None if ok else "status"))


def test_a_flush_after_an_import_into_the_same_probe_merges_instead_of_overwriting(tmp_path):
    cfg = cfg_of()
    path = str(tmp_path / "s.db")
    with Store(path) as mine, Store(path) as importer_store:
        rec = Recorder(mine, cfg, since=OCT / 1000)
        for t in range(NOV, NOV + 10 * MIN, MIN):
            live(rec, t)
        rec.flush()
        # An import fills the same minutes' half-minutes (a backfill from elsewhere) and a failure.
        importer_store.merge(
            {("acme", "ui"): [(t + 30 * S, t != NOV + 5 * MIN) for t in range(NOV, NOV + 10 * MIN, MIN)]}
        )
        for t in range(NOV + 10 * MIN, NOV + 12 * MIN, MIN):
            live(rec, t)
        rec.flush()  # not by start over the import's layout: merged
        stored = mine.series("acme", "ui", NOV, NOV + 12 * MIN)
        observed = [(t, s.success) for s in stored for t in s.times()]
        want = sorted(
            [(t, True) for t in range(NOV, NOV + 12 * MIN, MIN)]
            + [(t + 30 * S, t != NOV + 5 * MIN) for t in range(NOV, NOV + 10 * MIN, MIN)]
        )
        assert observed == want
        assert all(a.last < b.start for a, b in itertools.pairwise(stored))  # disjoint: nothing written twice
        assert rec.runs_of("acme", cfg.tenants[0].probes[0], OCT, NOV + 13 * MIN)["default"] == runs(
            stored, cfg.tenants[0].probes[0].stale_after_ms
        )  # memory read again
        live(rec, NOV + 12 * MIN)
        rec.flush()  # back to the cheap path, and still right
        assert mine.series("acme", "ui", NOV, NOV + 13 * MIN)[-1].last == NOV + 12 * MIN
        assert mine.verify_chains()[0] is None


@pytest.mark.parametrize("late_ok", [True, False])
def test_results_out_of_order_beside_an_import_keep_every_observation(tmp_path, monkeypatch, late_ok):
    """Memory keeps only the last series; a result dated before it is placed against the
    store's, which hold an import's series in another layout (merged at the flush)."""
    cfg = cfg_of()
    path = str(tmp_path / "s.db")
    with Store(path) as mine, Store(path) as importer_store:
        rec = Recorder(mine, cfg, since=OCT / 1000)
        for t in range(NOV, NOV + 10 * MIN, MIN):
            live(rec, t)
        rec.flush()
        imported = [(t + 30 * S, t != NOV + 5 * MIN) for t in range(NOV, NOV + 10 * MIN, MIN)]
        importer_store.merge({("acme", "ui"): imported})
        live(rec, NOV + 10 * MIN)
        late = [(NOV + 2 * MIN + 15 * S, late_ok)]  # out of order, before the flush finds the import
        live(rec, *late[0])
        real = mine.save_series

        def meanwhile(rows, gone=(), versions=None):
            live(rec, NOV + 11 * MIN)  # a result while the flush writes: laid over the merged history
            return real(rows, gone, versions)

        monkeypatch.setattr(mine, "save_series", meanwhile)
        rec.flush()
        monkeypatch.undo()
        late.append((NOV + 3 * MIN + 15 * S, late_ok))  # out of order, memory laid over another layout
        live(rec, *late[1])
        rec.flush()
        rec.flush()
        stored = mine.series("acme", "ui", NOV, NOV + 13 * MIN)
        observed = [(t, s.success) for s in stored for t in s.times()]
        want = sorted([(t, True) for t in range(NOV, NOV + 12 * MIN, MIN)] + imported + late)
        assert observed == want
        assert all(a.last < b.start for a, b in itertools.pairwise(stored))
        assert mine.verify_chains()[0] is None
        probe = cfg.tenants[0].probes[0]
        assert rec.runs_of("acme", probe, OCT, NOV + 13 * MIN)["default"] == runs(stored, probe.stale_after_ms)


def test_a_live_result_contradicting_an_import_meanwhile_leaves_the_stored_one(tmp_path, caplog):
    cfg = cfg_of()
    path = str(tmp_path / "s.db")
    with Store(path) as mine, Store(path) as other:
        rec = Recorder(mine, cfg, since=OCT / 1000)
        live(rec, NOV)
        rec.flush()
        live(rec, NOV + MIN, ok=True)  # not flushed yet
        other.merge({("acme", "ui"): [(NOV + MIN, False)]})  # the import says failure at that instant
        rec.flush()
        stored = mine.series("acme", "ui", NOV, NOV + MIN)
        assert [(t, s.success) for s in stored for t in s.times()] == [(NOV, True), (NOV + MIN, False)]
        assert "contradicts history written meanwhile" in caplog.text
