import contextlib
import io
import itertools
import json
import logging

import pytest

from exporter import config, logs
from exporter.engine.states import ConflictError, Run, Series, append, insert, probe_state, runs
from exporter.probing.recorder import Recorder, Result
from exporter.store.sqlite import MAX_MS, Store

CFG = config.load_text("""
tenants:
  - name: acme
    down_when: any
    probes:
      - {name: a, url: "https://a.example.com/", interval: 10s, failure_threshold: 2}
      - {name: b, url: "https://b.example.com/", interval: 10s}
""")


A, B = CFG.tenants[0].probes
S = 1000  # ms
T, F = True, False


@pytest.fixture
def recorder(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    yield Recorder(store, CFG, since=0)
    store.close()


def ok(t, success=True, reason=None):
    return Result(started=t, success=success, duration=0.1, reason=reason)


def test_results_become_runs_and_reach_the_store_on_flush(recorder):
    for t, success in [(0, True), (10, True), (20, False), (30, False), (40, True)]:
        recorder.observe("acme", "a", ok(t, success, None if success else "status"))
    expected = [
        Run(True, 0, 10 * S, 20 * S, 2),
        Run(False, 20 * S, 30 * S, 40 * S, 2),
        Run(True, 40 * S, 40 * S, 60 * S, 1),
    ]
    assert recorder.runs_of("acme", A, 0, 100 * S)["default"] == expected
    assert recorder.store.series("acme", "a", 0, 100 * S) == []  # not yet committed
    assert recorder.flush() == 3
    assert recorder.store.series("acme", "a", 0, 100 * S) == [
        Series(True, 0, 10 * S, 2),
        Series(False, 20 * S, 10 * S, 2),
        Series(True, 40 * S, 0, 1),
    ]
    assert recorder.flush() == 0
    assert recorder.error_counts() == {("acme", "a", "status"): 2}


def test_after_the_clock_steps_back_results_are_recorded_in_their_place(recorder):
    """Issue 12: a wall clock stepped back must not make every result be ignored until the
    clock catches up; the results go where their times say, and history stays consistent."""
    for t in (0, 10, 20, 30):
        recorder.observe("acme", "a", ok(t))
    recorder.flush()
    recorder.observe("acme", "a", ok(15, False))  # the clock stepped back by 20 s
    recorder.observe("acme", "a", ok(25, False))
    recorder.observe("acme", "a", ok(20, False))  # the same instant, the other result: ignored
    expected = [
        Run(True, 0, 10 * S, 15 * S, 2),
        Run(False, 15 * S, 15 * S, 20 * S, 1),
        Run(True, 20 * S, 20 * S, 25 * S, 1),
        Run(False, 25 * S, 25 * S, 30 * S, 1),
        Run(True, 30 * S, 30 * S, 50 * S, 1),
    ]
    assert recorder.runs_of("acme", A, 0, 100 * S)["default"] == expected
    recorder.flush()
    stored = recorder.store.series("acme", "a", 0, 100 * S)
    assert all(a.last < b.start for a, b in itertools.pairwise(stored))  # no overlap
    assert sorted((t, s.success) for s in stored for t in s.times()) == [
        (0, True),
        (10 * S, True),
        (15 * S, False),
        (20 * S, True),
        (25 * S, False),
        (30 * S, True),
    ]


@pytest.mark.parametrize("reason", ["config", "resources", "resolver", "network", "internal", "clock"])
def test_a_fault_of_ours_is_never_downtime(recorder, caplog, reason):
    caplog.set_level(logging.INFO, logger="sla_exporter")
    recorder.observe("acme", "a", ok(0))
    for t in (10, 20, 30, 40):
        recorder.observe(
            "acme",
            "a",
            Result(
                started=t,
                success=False,
                duration=0.1,
                reason=reason,
                error="environment variable ACME_API_TOKEN is not set",
            ),
        )
    # Nothing recorded: the success at 0 holds for stale_after (20 s), then unknown.
    assert recorder.runs_of("acme", A, 0, 100 * S)["default"] == [Run(True, 0, 0, 20 * S, 1)]
    assert recorder.state_now(CFG.tenants[0], 45)[1]["a"] == "unknown"
    assert recorder.error_counts() == {("acme", "a", reason): 4}
    assert list(recorder.current_faults()) == [("acme", "a")]
    logged = [r for r in caplog.records if "fault of ours" in r.getMessage()]
    assert len(logged) == 1  # once per change, with the detail
    assert logged[0].fields["error"] == "environment variable ACME_API_TOKEN is not set"
    recorder.observe("acme", "a", ok(50))
    assert recorder.current_faults() == {}
    assert "probe fault of ours cleared" in caplog.text


def test_history_continues_after_a_restart_with_the_gap_unknown(tmp_path):
    path = str(tmp_path / "s.db")
    with Store(path) as store:
        first = Recorder(store, CFG, since=0)
        first.observe("acme", "b", ok(0))
        first.observe("acme", "b", ok(10))
        first.flush()
    with Store(path) as store:
        second = Recorder(store, CFG, since=0)
        second.observe("acme", "b", ok(100))
        second.flush()
        assert second.runs_of("acme", B, 0, 200 * S)["default"] == [
            Run(True, 0, 10 * S, 30 * S, 2),
            Run(True, 100 * S, 100 * S, 120 * S, 1),
        ]
        assert store.series("acme", "b", 0, 200 * S) == [Series(True, 0, 10 * S, 2), Series(True, 100 * S, 0, 1)]


@pytest.mark.parametrize(
    "a, b, now, tenant, probes",
    [
        ([(0, True)], [(0, True)], 5, "up", {"a": "up", "b": "up"}),
        ([(0, False)], [(0, True)], 5, "up", {"a": "up", "b": "up"}),  # one failure < threshold 2
        ([(0, False), (10, False)], [(10, True)], 15, "down", {"a": "down", "b": "up"}),
        ([(0, True)], [], 5, "unknown", {"a": "up", "b": "unknown"}),
        ([(0, True)], [(0, True)], 25, "unknown", {"a": "unknown", "b": "unknown"}),  # stale after 20 s
    ],
)
def test_state_now(recorder, a, b, now, tenant, probes):
    for t, success in a:
        recorder.observe("acme", "a", ok(t, success))
    for t, success in b:
        recorder.observe("acme", "b", ok(t, success))
    assert recorder.state_now(CFG.tenants[0], now) == (tenant, probes)


def test_a_failing_flush_keeps_the_runs_for_the_next(recorder, monkeypatch):
    recorder.observe("acme", "a", ok(0))

    def broken(rows, gone=(), versions=None):
        list(rows)
        raise OSError("disk full")

    monkeypatch.setattr(recorder.store, "save_series", broken)
    with pytest.raises(OSError):
        recorder.flush()
    monkeypatch.undo()
    assert recorder.flush() == 1
    assert recorder.store.series("acme", "a", 0, 100 * S) == [Series(True, 0, 0, 1)]


def test_state_changes_are_logged_once_each(recorder, caplog):
    caplog.set_level(logging.INFO, logger="sla_exporter")
    for t in (0, 10, 20):
        recorder.observe("acme", "b", ok(t, t != 10, None if t != 10 else "timeout"))
    recorder.observe("acme", "a", ok(20))
    recorder.tick(100)  # everything went stale
    changes = [(r.getMessage(), r.fields) for r in caplog.records]
    assert changes == [
        # b's first result (up) and the tenant's first known state are no news.
        ("probe state change", {"tenant": "acme", "probe": "b", "from": "up", "to": "down", "reason": "timeout"}),
        ("tenant state change", {"tenant": "acme", "from": "unknown", "to": "down"}),
        ("probe state change", {"tenant": "acme", "probe": "b", "from": "down", "to": "up", "reason": None}),
        ("tenant state change", {"tenant": "acme", "from": "down", "to": "unknown"}),  # a has not reported yet
        ("tenant state change", {"tenant": "acme", "from": "unknown", "to": "up"}),
        ("probe state change", {"tenant": "acme", "probe": "a", "from": "up", "to": "unknown", "reason": "stale"}),
        ("probe state change", {"tenant": "acme", "probe": "b", "from": "up", "to": "unknown", "reason": "stale"}),
        ("tenant state change", {"tenant": "acme", "from": "up", "to": "unknown"}),
    ]


@pytest.mark.parametrize(
    "fmt, expected",
    [
        (
            "logfmt",
            'ts=2026-11-26T10:00:00.000Z level=info msg="probe state change" tenant=acme probe="agent ui" '
            "from=up to=down reason=timeout",
        ),
        (
            "json",
            {
                "ts": "2026-11-26T10:00:00.000Z",
                "level": "info",
                "msg": "probe state change",
                "tenant": "acme",
                "probe": "agent ui",
                "from": "up",
                "to": "down",
                "reason": "timeout",
            },
        ),
    ],
)
def test_log_formats(fmt, expected):
    stream = io.StringIO()
    logs.setup(fmt, "info", stream)
    try:
        record = logging.getLogger("sla_exporter").makeRecord(
            "sla_exporter",
            logging.INFO,
            __file__,
            1,
            "probe state change",
            (),
            None,
            extra={
                "fields": {
                    "tenant": "acme",
                    "probe": "agent ui",
                    "from": "up",
                    "to": "down",
                    "reason": "timeout",
                    "skipped": None,
                }
            },
        )
        record.created = 1795687200.0  # 2026-11-26T10:00:00Z
        logging.getLogger("sla_exporter").handle(record)
    finally:
        logging.getLogger().handlers[:] = []
    line = stream.getvalue().strip()
    assert (json.loads(line) if fmt == "json" else line) == expected


def test_a_sibling_result_that_started_later_is_not_read_as_unknown(recorder, caplog):
    caplog.set_level(logging.INFO, logger="sla_exporter")
    recorder.observe("acme", "a", ok(100))
    recorder.observe("acme", "b", ok(100.5))
    recorder.observe("acme", "a", ok(100.2))
    recorder.observe("acme", "b", ok(110.5))
    recorder.observe("acme", "a", ok(110.2))  # started before b's newest result was recorded
    assert [r.getMessage() for r in caplog.records] == []
    assert recorder.tick(105) == {"acme": {"a": "up", "b": "up"}}


@pytest.mark.parametrize(
    "stale_after, expected",
    [
        # Read under a new stale_after after a reload: the same observations, other runs.
        ("20s", [Run(True, 0, 40 * S, 60 * S, 3)]),
        (
            "15s",
            [Run(True, 0, 0, 15 * S, 1), Run(True, 20 * S, 20 * S, 35 * S, 1), Run(True, 40 * S, 40 * S, 55 * S, 1)],
        ),
    ],
)
def test_a_reload_rereads_history_under_the_new_stale_after(recorder, stale_after, expected):
    for t in (0, 20, 40):
        recorder.observe("acme", "a", ok(t))
    cfg = config.load_text(f"""
tenants:
  - name: acme
    probes:
      - {{name: a, url: "https://a.example.com/", interval: 10s, stale_after: {stale_after}}}
""")
    recorder.configure(cfg)
    assert recorder.runs_of("acme", cfg.tenants[0].probes[0], 0, 100 * S)["default"] == expected


def test_a_result_is_recorded_at_its_stamp(recorder):
    recorder.observe("acme", "a", Result(started=10.004, success=True, duration=0.1, stamp=10_000))
    recorder.observe("acme", "a", Result(started=20.012, success=True, duration=0.1, stamp=20_000))
    recorder.flush()
    assert recorder.store.series("acme", "a", 0, 100 * S) == [Series(True, 10 * S, 10 * S, 2)]


def test_tick_changed_looks_only_at_what_changed(recorder, caplog):
    """Housekeeping's tick follows results and stale boundaries, not the fleet: a tenant
    without results is looked at again only when a last run ends."""
    caplog.set_level(logging.INFO, logger="sla_exporter")
    assert recorder.tick_changed(0) == {"acme": {"a": "unknown", "b": "unknown"}}  # the first tick: all
    assert recorder.tick_changed(1) == {}
    recorder.observe("acme", "a", ok(10))
    recorder.observe("acme", "b", ok(10))
    assert recorder.tick_changed(11) == {"acme": {"a": "up", "b": "up"}}
    assert recorder.tick_changed(12) == {}
    # stale_after is 20 s: both runs end at 30 s, and the tenant is looked at then.
    assert recorder.tick_changed(29.999) == {}
    assert recorder.tick_changed(30) == {"acme": {"a": "unknown", "b": "unknown"}}
    assert recorder.tick_changed(31) == {}
    assert [r.getMessage() for r in caplog.records] == ["probe state change"] * 2 + ["tenant state change"]
    recorder.configure(CFG)  # a reload: every tenant once
    assert recorder.tick_changed(32) == {"acme": {"a": "unknown", "b": "unknown"}}


@pytest.mark.parametrize("times", [[0, 10, 20, 30, 45, 60, 61, 90], [5, 25, 26, 70]])
def test_tick_changed_agrees_with_a_full_tick(tmp_path, times):
    """Whatever the results, tick_changed and tick see the same states at every second."""
    stores = [Store(str(tmp_path / f"{i}.db")) for i in (0, 1)]
    full, changed = (Recorder(store, CFG, since=0) for store in stores)
    try:
        for second in range(0, 130):
            for rec in (full, changed):
                if second in times:
                    rec.observe("acme", "a", ok(second, second % 20 != 0, None if second % 20 else "status"))
                if second % 15 == 0:
                    rec.observe("acme", "b", ok(second))
            everything = full.tick(second + 0.5)
            assert {**everything, **changed.tick_changed(second + 0.5)} == everything
            assert changed.logged_states() == full.logged_states()
    finally:
        for store in stores:
            store.close()


# -- memory keeps each history's last series; the earlier ones are read from the store ------


def as_memory_held_them(steps):
    """The series the recorder kept in memory before it kept only the last one, and wrote:
    each result appended, or inserted in its place when dated before the newest."""
    series = []
    for step in steps:
        if step == "flush":
            continue
        t, ok = step[0] * S, step[1]
        if series and t <= series[-1].last:
            with contextlib.suppress(ConflictError):  # ignored, with a warning
                series = insert(series, [(t, ok)])[0]
        else:
            append(series, t, ok)
    return series


def play(recorder, steps, probe="a"):
    for step in steps:
        if step == "flush":
            recorder.flush()
        else:
            recorder.observe("acme", probe, ok(step[0], step[1], None if step[1] else "status"))


OUT_OF_ORDER = [
    # A result inside an earlier series than the last (split; the parts on each side stay).
    [(0, T), (10, T), (20, T), "flush", (30, F), (40, F), "flush", (50, T), (60, T), "flush", (15, F)],
    # Into series not written yet, and into written ones, before and after a flush.
    [(0, T), (10, T), "flush", (20, F), (30, T), (5, F), "flush", (25, T), (35, T)],
    # The same instant again adds nothing; the other result there is ignored.
    [(0, T), (10, T), (20, T), "flush", (30, T), (10, T), (10, F), (20, F)],
    # Results between a series' times join its neighbours into one.
    [(0, T), (20, T), "flush", (40, F), (50, F), (60, F), "flush", (10, T), (30, T), (45, F)],
    # Before any flush at all.
    [(0, T), (20, T), (10, T), (5, F)],
]


@pytest.mark.parametrize("steps", OUT_OF_ORDER)
def test_results_out_of_order_are_stored_as_when_memory_held_every_series(recorder, steps):
    play(recorder, steps)
    recorder.flush()
    expected = as_memory_held_them(steps)
    assert recorder.store.series("acme", "a", 0, 1000 * S) == expected
    assert recorder.runs_of("acme", A, 0, 1000 * S)["default"] == runs(expected, A.stale_after_ms)
    assert recorder.lasts(CFG.tenants[0])[("a", "default")] == (
        len(runs(expected, A.stale_after_ms)),
        runs(expected, A.stale_after_ms)[-1],
    )


@pytest.mark.parametrize("steps", OUT_OF_ORDER)
def test_a_result_out_of_order_while_a_flush_writes_counts_what_it_writes(recorder, steps, monkeypatch):
    """The flush has taken its batch but not written it yet when the result comes: the
    result's place is found with the batch laid over what is stored."""
    *before, late = [s for s in steps if s != "flush"]
    play(recorder, before)
    real = recorder.store.save_series

    def slow(rows, gone=(), versions=None):
        play(recorder, [late])  # meanwhile, from a probe run
        return real(rows, gone, versions)

    monkeypatch.setattr(recorder.store, "save_series", slow)
    recorder.flush()
    monkeypatch.undo()
    recorder.flush()
    expected = as_memory_held_them([*before, late])
    assert recorder.store.series("acme", "a", 0, 1000 * S) == expected
    assert recorder.runs_of("acme", A, 0, 1000 * S)["default"] == runs(expected, A.stale_after_ms)


def test_a_result_out_of_order_after_a_failed_flush_keeps_the_batch(recorder, monkeypatch):
    steps = [(0, T), (10, T), "flush", (20, F), (30, F), (40, T)]
    play(recorder, steps)

    def broken(rows, gone=(), versions=None):
        list(rows)
        raise OSError("disk full")

    monkeypatch.setattr(recorder.store, "save_series", broken)
    with pytest.raises(OSError):
        recorder.flush()
    monkeypatch.undo()
    play(recorder, [(25, T)])  # between the failed batch's series
    recorder.flush()
    expected = as_memory_held_them([*steps, (25, T)])
    assert recorder.store.series("acme", "a", 0, 1000 * S) == expected


@pytest.mark.parametrize(
    "probe_yaml",
    [
        "{name: a, url: 'https://a.example.com/', interval: 10s, stale_after: 15s, failure_threshold: 2}",
        "{name: a, url: 'https://a.example.com/', interval: 10s, stale_after: 40s, failure_threshold: 2}",
        "{name: a, url: 'https://a.example.com/', interval: 10s, failure_threshold: 3}",
    ],
)
def test_a_reload_reads_the_earlier_series_from_the_store_under_the_new_stale_after(recorder, probe_yaml):
    steps = [(0, T), (10, T), (20, F), "flush", (30, F), (50, F), "flush", (80, T), (90, T), (70, F)]
    play(recorder, steps)  # the last ones not flushed yet
    cfg = config.load_text(f"""
tenants:
  - name: acme
    down_when: any
    probes:
      - {probe_yaml}
      - {{name: b, url: "https://b.example.com/", interval: 10s}}
""")
    recorder.configure(cfg)
    probe = cfg.tenants[0].probes[0]
    expected = as_memory_held_them(steps)
    assert recorder.runs_of("acme", probe, 0, 1000 * S)["default"] == runs(expected, probe.stale_after_ms)
    recorder.flush()
    assert recorder.store.series("acme", "a", 0, 1000 * S) == expected


def test_a_month_trim_keeps_what_a_fresh_start_reads(tmp_path):
    path = str(tmp_path / "s.db")
    steps = [(t, t % 70 not in (30, 40)) for t in range(0, 300, 10)]
    with Store(path) as store:
        rec = Recorder(store, CFG, since=0)
        play(rec, [*steps, "flush"])
        rec.trim(150)  # a month begins at 150 s
        fresh = Recorder(store, CFG, since=150)
        for lo, hi in [(150 * S, 400 * S), (200 * S, 300 * S)]:
            kept = rec.runs_of("acme", A, lo, hi)["default"]
            assert probe_state(kept, 2, lo, hi) == probe_state(fresh.runs_of("acme", A, lo, hi)["default"], 2, lo, hi)
            assert all(r.end > 150 * S for r in kept)  # nothing kept that ends before
        later = [(300, T), (155, T), (140, F), (310, F)]  # one before the memory begins: ignored
        play(rec, [*later, "flush"])
        stored = store.series("acme", "a", 0, 1000 * S)
        observed = sorted((t, s.success) for s in stored for t in s.times())
        assert observed == sorted({(t * S, ok) for t, ok in [*steps, (300, T), (155, T), (310, F)]})
        assert rec.runs_of("acme", A, 150 * S, 400 * S)["default"][-2:] == runs(stored, A.stale_after_ms)[-2:]


@pytest.mark.parametrize(
    "lo, hi",
    [(0, 1000 * S), (25 * S, 1000 * S), (40 * S, 55 * S), (61 * S, 100 * S), (0, 10 * S), (200 * S, 300 * S)],
)
def test_runs_of_gives_the_runs_that_cover_the_range(recorder, lo, hi):
    """Only they are made from memory's packed runs; what figures read of them is the same."""
    play(recorder, [(0, T), (10, T), (20, F), (30, F), (35, T), (60, T), (100, F), "flush", (110, T)])
    every = runs(as_memory_held_them([(0, T), (10, T), (20, F), (30, F), (35, T), (60, T), (100, F), (110, T)]), 20 * S)
    got = recorder.runs_of("acme", A, lo, hi)["default"]
    assert got == [r for r in every if r.end > lo and r.start < hi]
    assert probe_state(got, 2, lo, hi) == probe_state(every, 2, lo, hi)


@pytest.mark.parametrize("since", [None, 0, 25 * S, 61 * S, 500 * S])
def test_a_snapshot_since_an_instant_has_the_runs_that_cover_it(recorder, since):
    play(recorder, [(0, T), (10, T), (20, F), (30, F), (35, T), (60, T), (100, F), "flush", (110, T)])
    every = recorder.runs_of("acme", A, 0, MAX_MS)["default"]
    got = recorder.snapshot(CFG.tenants[0], since)["a"]["default"]
    assert got == [r for r in every if since is None or r.end > since]
