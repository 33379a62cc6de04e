"""The probe schedule (a heap of each probe's next slot): pure, time is an argument."""

import pytest

from exporter.model import Probe
from exporter.probing.schedule import Schedule, next_slot_ms

S = 1000  # ms


def _probe(name, interval=10.0):
    return Probe(name=name, url="http://127.0.0.1:9/", interval=interval, timeout=1.0)


A, B, C = _probe("a"), _probe("b", 5.0), _probe("c", 60.0)
PLAN = [("acme", A, 1_000), ("acme", B, 4_500), ("beta", C, 30_000)]


def _fire(schedule, until):
    """Every (ms, key) the schedule hands out, its timer firing exactly on each next due."""
    out = []
    while (due := schedule.next_due()) is not None and due <= until:
        out += [(due, job.key) for job in schedule.due(due)]
    return out


@pytest.mark.parametrize(
    "now, expected",
    [
        (0, [(1_000, "acme/a"), (4_500, "acme/b"), (9_500, "acme/b"), (11_000, "acme/a"), (14_500, "acme/b")]),
        (1_000, [(1_000, "acme/a"), (4_500, "acme/b"), (9_500, "acme/b"), (11_000, "acme/a"), (14_500, "acme/b")]),
        (1_001, [(4_500, "acme/b"), (9_500, "acme/b"), (11_000, "acme/a"), (14_500, "acme/b")]),
    ],
)
def test_slots_come_in_order_on_fixed_phases(now, expected):
    schedule = Schedule()
    schedule.plan(PLAN, now)
    assert _fire(schedule, 15_000) == expected
    assert schedule.missed == 0


def test_a_stall_runs_each_probe_once_and_counts_the_slots_passed_over():
    schedule = Schedule()
    schedule.plan(PLAN, 0)
    jobs = schedule.due(25_000)  # the loop was stalled 25 s
    assert sorted(job.key for job in jobs) == ["acme/a", "acme/b"]
    # a: slots 1, 11, 21 s -> run once, 2 passed over; b: 4.5, 9.5, ..., 24.5 s -> 4 passed over
    assert schedule.missed == 2 + 4
    assert {job.key: job.due for job in jobs} == {"acme/a": 31_000, "acme/b": 29_500}
    assert schedule.next_due() == 29_500


def test_a_reload_keeps_unchanged_probes_and_restarts_changed_ones():
    schedule = Schedule()
    schedule.plan(PLAN, 0)
    schedule.due(1_000)
    kept = schedule.jobs["acme/a"]
    kept.running = True
    faster = _probe("b", 2.0)
    schedule.plan([("acme", A, 1_000), ("acme", faster, 500)], 3_000)
    assert schedule.jobs["acme/a"] is kept and kept.due == 11_000 and kept.running
    assert schedule.jobs["acme/b"].due == 4_500 and schedule.jobs["acme/b"].probe == faster
    assert set(schedule.jobs) == {"acme/a", "acme/b"}  # beta/c removed
    assert _fire(schedule, 11_000) == [
        (4_500, "acme/b"),
        (6_500, "acme/b"),
        (8_500, "acme/b"),
        (10_500, "acme/b"),
        (11_000, "acme/a"),
    ]


@pytest.mark.parametrize("now", [0, 123_456_789, -60_000])
def test_force_restarts_every_probe_from_now(now):
    schedule = Schedule()
    schedule.plan(PLAN, 1_000_000)
    schedule.plan(PLAN, now, force=True)  # the clock stepped to `now`
    for job in schedule.jobs.values():
        assert job.due == next_slot_ms(now, job.probe.interval_ms, job.phase)
    assert schedule.next_due() == min(job.due for job in schedule.jobs.values())
    assert len(schedule._heap) == 3  # entries of the replaced jobs are gone


def test_a_heap_not_a_scan_one_valid_entry_per_probe_after_many_reloads():
    schedule = Schedule()
    for i in range(50):
        schedule.plan([("acme", _probe("a", 10.0 + i % 2), 1_000), ("acme", B, 4_500)], i * S)
    assert len(schedule._heap) == 2
    assert schedule.next_due() is not None
