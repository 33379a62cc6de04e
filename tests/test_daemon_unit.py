"""The daemon's wiring in process: store failures, clock steps, scheduling."""

import asyncio
import sqlite3
import time

import pytest

from exporter import config
from exporter.daemon import Daemon, clock_step, next_slot_ms, phase_ms, pool_size, stamp_ms
from exporter.probing.probes import ProbeResult
from exporter.probing.recorder import Result

CONFIG = """
tenants:
  - name: acme
    probes:
      - {name: ui, url: "http://127.0.0.1:9/", interval: 10s, timeout: 2s}
      - {name: api, url: "http://127.0.0.1:9/api", interval: 1m, timeout: 30s}
  - name: beta
    probes:
      - {name: ui, url: "http://127.0.0.1:9/", interval: 5s, timeout: 5s}
"""


@pytest.fixture
def daemon(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    d = Daemon(str(path), str(tmp_path / "s.db"), ("127.0.0.1", 0))
    yield d
    d.prober.close()
    d.server.server_close()
    d.store.close()


@pytest.mark.parametrize(
    "before, now, step",
    [((100.0, 5.0), (101.0, 6.0), 0.0), ((100.0, 5.0), (40.0, 6.0), -61.0), ((100.0, 5.0), (3701.0, 6.0), 3600.0)],
)
def test_clock_step(before, now, step):
    assert clock_step(*before, *now) == step


def test_pool_is_sized_for_every_target_hanging():
    # 2/10 + 30/60 + 5/5 = 1.7 workers busy if every target hangs: 2 + headroom, at most 3 probes.
    assert pool_size(config.load_text(CONFIG)) == 3


def test_a_failing_store_shows_on_ready_and_in_metrics_and_probing_goes_on(daemon, monkeypatch):
    now = time.time()
    daemon.recorder.observe("acme", "ui", Result(started=now, success=True, duration=0.1))
    real = daemon.store.save_series

    def full(rows, gone=(), versions=None):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(daemon.store, "save_series", full)
    daemon._housekeeping()
    daemon._housekeeping()
    assert daemon.ready() == (False, "not ready: cannot write to the store")
    assert daemon.registry.get_sample_value("sla_exporter_store_writable") == 0
    assert daemon.registry.get_sample_value("sla_exporter_store_write_errors_total") == 2
    # Results keep coming and count while the disk is full.
    daemon.recorder.observe("acme", "ui", Result(started=now + 10, success=False, duration=0.1, reason="timeout"))
    assert (
        daemon.registry.get_sample_value("sla_probe_success", {"tenant": "acme", "probe": "ui", "location": "default"})
        == 0
    )
    monkeypatch.setattr(daemon.store, "save_series", real)
    daemon._housekeeping()
    assert daemon.ready() == (True, "ready")
    assert daemon.registry.get_sample_value("sla_exporter_store_writable") == 1
    got = daemon.store.series("acme", "ui", int(now * 1000) - 1000, int(now * 1000) + 100_000)
    assert [r.success for r in got] == [True, False]


def test_probes_are_scheduled_within_one_interval_spread_by_name(daemon):
    daemon._schedule(daemon.cfg)
    now = time.time()
    jobs = dict(daemon.schedule.jobs)
    assert set(jobs) == {"acme/ui", "acme/api", "beta/ui"}
    for job_id, interval in [("acme/ui", 10), ("acme/api", 60), ("beta/ui", 5)]:
        delay = jobs[job_id].due / 1000 - now
        assert -1 <= delay <= interval + 1
        assert not jobs[job_id].running
    # A reschedule (reload, clock step) keeps one job per probe.
    daemon._schedule(daemon.cfg)
    assert len(daemon.schedule.jobs) == 3
    daemon._schedule(daemon.cfg, force=True)
    assert len(daemon.schedule.jobs) == 3


@pytest.mark.parametrize(
    "t, interval, phase, slot",
    [
        (0, 30_000, 0, 0),
        (1, 30_000, 0, 30_000),
        (29_999, 30_000, 7_000, 37_000),
        (37_000, 30_000, 7_000, 37_000),
        (1_790_812_800_123, 60_000, 12_345, 1_790_812_812_345),
    ],
)
def test_next_slot(t, interval, phase, slot):
    assert next_slot_ms(t, interval, phase) == slot


@pytest.mark.parametrize(
    "started, interval, phase, stamp",
    [
        (30.004, 30_000, 0, 30_000),  # a few ms late: the slot
        (29.990, 30_000, 0, 30_000),  # early: the slot
        (30.250, 30_000, 0, 30_000),  # at the slack
        (30.251, 30_000, 0, 30_251),  # later: its own start
        (45.000, 30_000, 0, 45_000),
        (1.250, 1_000, 0, 1_000),
        (1.251, 1_000, 0, 1_251),
        (37.1, 30_000, 7_000, 37_000),
    ],
)
def test_results_are_stamped_at_their_slot_when_close(started, interval, phase, stamp):
    assert stamp_ms(started, interval, phase) == stamp


def test_a_probe_phase_is_fixed_by_its_name_within_its_interval():
    cfg = config.load_text(CONFIG)
    ui = cfg.tenants[0].probes[0]
    assert phase_ms("acme", ui) == phase_ms("acme", ui)
    assert 0 <= phase_ms("acme", ui) < ui.interval_ms
    assert phase_ms("acme", ui) != phase_ms("beta", ui)


def test_a_reload_keeps_the_timing_of_unchanged_probes(daemon):
    daemon._schedule(daemon.cfg)
    before = {key: job.due for key, job in daemon.schedule.jobs.items()}
    changed = config.load_text(CONFIG.replace("interval: 5s, timeout: 5s", "interval: 7s, timeout: 5s"))
    daemon._schedule(changed)
    after = {key: job.due for key, job in daemon.schedule.jobs.items()}
    assert after["acme/ui"] == before["acme/ui"]
    assert after["acme/api"] == before["acme/api"]
    assert daemon.schedule.jobs["beta/ui"].probe.interval == 7


class _Prober:
    """Stands in for the HTTP prober: a run that took `duration` seconds by the monotonic
    clock and began at `started` by the wall clock."""

    def __init__(self, started, duration, reason=None):
        self.result = ProbeResult(
            reason is None,
            started,
            duration,
            None if reason else 200,
            reason,
            None if reason is None else f"{reason} failure",
            None,
        )

    async def run(self, probe):
        return self.result

    def close(self):
        pass


@pytest.mark.parametrize(
    "wall_after, reason, canaries_up, recorded_reason",
    [
        (1000.5, None, None, None),  # an ordinary success
        (1000.5, "connection", None, "connection"),  # the vendor's failure, no canaries
        (1000.5, "connection", True, "connection"),  # canaries answer: still the vendor's
        (1000.5, "connection", False, "network"),  # no canary answers: ours
        (1000.5, "status", False, "status"),  # a response came: the vendor's whatever the canaries say
        (940.5, None, None, "clock"),  # the wall clock stepped back 60 s during the run
    ],
)
def test_a_result_is_classified_before_it_is_recorded(
    daemon, monkeypatch, wall_after, reason, canaries_up, recorded_reason
):
    daemon.prober.close()
    daemon.prober = _Prober(1000.0, 0.5, reason)
    daemon.clock = lambda: wall_after

    async def network_up_async():
        return canaries_up

    monkeypatch.setattr(daemon.connectivity, "network_up_async", network_up_async)
    seen = []
    monkeypatch.setattr(daemon.recorder, "observe", lambda tenant, probe, result: seen.append(result))
    asyncio.run(daemon._probe_job("acme", daemon.cfg.tenants[0].probes[0]))
    assert seen[0].reason == recorded_reason
    assert seen[0].ours is (recorded_reason in ("network", "clock"))


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, 5.0),
        ({"SLA_EXPORTER_FEED_INTERVAL": "0.2"}, 0.2),
        ({"SLA_EXPORTER_FEED_INTERVAL": "often"}, 5.0),
        ({"SLA_EXPORTER_FEED_INTERVAL": "0"}, 5.0),
    ],
)
def test_the_feed_interval(env, expected):
    from exporter.daemon import feed_interval

    assert feed_interval(env) == expected


LANES = """
tenants:
  - name: hung-a
    probes:
      - {name: ui, url: "http://127.0.0.1:9/hang", interval: 10s, timeout: 2s}
  - name: hung-b
    probes:
      - {name: ui, url: "http://127.0.0.1:9/hang", interval: 10s, timeout: 2s}
  - name: fine
    probes:
      - {name: ui, url: "http://127.0.0.1:9/", interval: 1s, timeout: 1s}
"""


def _result(reason):
    return ProbeResult(reason is None, 1000.0, 0.1, None if reason else 200, reason, reason and "failed", None)


@pytest.mark.parametrize(
    "reasons, hung_lane",
    [
        ([], False),  # never run: the common lane
        (["timeout"], False),  # one timeout may be our own stall
        (["timeout", "timeout"], True),
        (["timeout", "timeout", "timeout"], True),
        (["timeout", "timeout", None], False),  # it answers again: back at once
        (["timeout", "timeout", "connection"], False),  # refused: fails fast, holds nothing
        (["timeout", "connection", "timeout"], False),  # not in a row
    ],
)
def test_a_probe_whose_runs_time_out_in_a_row_moves_to_the_lane_of_hung_targets(
    daemon, monkeypatch, reasons, hung_lane
):
    daemon.prober.close()
    monkeypatch.setattr(daemon.recorder, "observe", lambda *_: None)
    probe = daemon.cfg.tenants[0].probes[0]
    for reason in reasons:
        daemon.prober = _Prober(1000.0, 0.1, reason)
        asyncio.run(daemon._probe_job("acme", probe))
    assert (daemon.lane("acme/ui") is daemon._hung_slots) is hung_lane
    assert daemon.lane("beta/ui") is daemon._slots  # the others' lanes are their own


def test_a_probe_that_answers_never_queues_behind_hung_targets(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(LANES)
    d = Daemon(str(path), str(tmp_path / "s.db"), ("127.0.0.1", 0), workers=1)
    try:
        d.prober.close()
        recorded = []
        monkeypatch.setattr(d.recorder, "observe", lambda tenant, probe, result: recorded.append(tenant))
        probes = {t.name: t.probes[0] for t in d.cfg.tenants}

        class Hanging:
            """Runs against /hang end only when the test lets them (their timeout)."""

            def __init__(self):
                self.release = asyncio.Event()

            async def run(self, probe):
                if probe.url.endswith("/hang"):
                    await self.release.wait()
                    return _result("timeout")
                return _result(None)

        async def scenario():
            d.prober = Hanging()
            for name in ("hung-a", "hung-b"):
                d._timeouts[f"{name}/ui"] = 2  # their last two runs timed out
            hung = [asyncio.create_task(d._probe_job(name, probes[name])) for name in ("hung-a", "hung-b")]
            await asyncio.wait_for(d._probe_job("fine", probes["fine"]), 5)  # one worker, held by hung-a
            assert recorded == ["fine"]
            assert d._hung_slots.locked()  # hung-b waits for hung-a's turn, in its own lane
            d.prober.release.set()
            await asyncio.gather(*hung)
            assert sorted(recorded) == ["fine", "hung-a", "hung-b"]

        asyncio.run(scenario())
    finally:
        d.server.server_close()
        d.store.close()


def test_the_event_loop_waits_at_most_the_daemons_switch_interval_for_the_interpreter_lock(tmp_path):
    import gc
    import sys

    from exporter.daemon import SWITCH_INTERVAL

    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    before = sys.getswitchinterval()
    assert before != SWITCH_INTERVAL  # Python's default (5 ms): the test would prove nothing
    thresholds = gc.get_threshold()
    d = Daemon(str(path), str(tmp_path / "s.db"), ("127.0.0.1", 0))
    d.start()
    try:
        assert sys.getswitchinterval() == SWITCH_INTERVAL
    finally:
        d.shutdown()
        gc.set_threshold(*thresholds)  # start() tunes the collector for the process: not the suite's
        gc.unfreeze()
    assert sys.getswitchinterval() == before  # the process's own again
