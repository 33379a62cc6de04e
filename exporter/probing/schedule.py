"""The probe schedule: each probe's fixed slots, kept as a heap of deadlines.

Pure (time is an argument, integer milliseconds): the daemon asks ``next_due`` to arm one
timer on its event loop and ``due`` when it fires. A slot is ``phase + k * interval`` from
the epoch (``daemon.phase_ms``), the same across restarts, reloads and replicas. Each step
costs O(log probes) - a heap, never a scan of the fleet.

Like APScheduler's ``coalesce`` and ``max_instances=1`` before: slots that passed while the
process could not run them (a stall, a clock step) are run once, at the latest of them, and
counted in ``missed``; a slot that comes while the probe's previous run is still under way
is the caller's to skip (``Job.running``).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from exporter.model import Probe


def next_slot_ms(t_ms: int, interval_ms: int, phase: int) -> int:
    """The first slot ``phase + k * interval`` at or after ``t_ms``."""
    return t_ms + (phase - t_ms) % interval_ms


@dataclass(eq=False, slots=True)
class Job:
    key: str  # "tenant/probe"
    tenant: str
    probe: Probe
    phase: int  # ms within the interval
    due: int  # ms: the next slot
    running: bool = False  # a run is under way (set and cleared by the caller)


class Schedule:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self._heap: list[tuple[int, int, Job]] = []
        self._seq = itertools.count()  # ties never compare Jobs
        self.missed = 0  # slots passed over (coalesced into a later one)

    def plan(self, wanted: Iterable[tuple[str, Probe, int]], now_ms: int, force: bool = False) -> None:
        """Adopt the probes ``(tenant, probe, phase)``: unchanged probes keep their next slot
        (a reload does not disturb them); new and changed ones start at their next slot from
        ``now_ms``; ``force`` restarts every probe from ``now_ms`` (after a clock step)."""
        jobs: dict[str, Job] = {}
        for tenant, probe, phase in wanted:
            key = f"{tenant}/{probe.name}"
            old = self.jobs.get(key)
            if old is not None and not force and old.probe == probe and old.phase == phase:
                jobs[key] = old
                continue
            job = Job(key, tenant, probe, phase, next_slot_ms(now_ms, probe.interval_ms, phase))
            if old is not None:
                job.running = old.running  # one run at a time across a reload too
            jobs[key] = job
        self.jobs = jobs
        self._heap = [entry for entry in self._heap if self._valid(entry)]
        queued = {id(entry[2]) for entry in self._heap}
        self._heap += [(job.due, next(self._seq), job) for job in jobs.values() if id(job) not in queued]
        heapq.heapify(self._heap)

    def _valid(self, entry: tuple[int, int, Job]) -> bool:
        due, _, job = entry
        return self.jobs.get(job.key) is job and job.due == due

    def next_due(self) -> int | None:
        """The earliest slot to come (ms), None without probes."""
        heap = self._heap
        while heap and not self._valid(heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def due(self, now_ms: int) -> list[Job]:
        """The probes whose slot is at or before ``now_ms``, each moved on to its first slot
        after ``now_ms``."""
        out = []
        heap = self._heap
        while heap and heap[0][0] <= now_ms:
            entry = heapq.heappop(heap)
            if not self._valid(entry):
                continue
            job = entry[2]
            interval = job.probe.interval_ms
            following = next_slot_ms(now_ms + 1, interval, job.phase)
            self.missed += (following - job.due) // interval - 1
            job.due = following
            heapq.heappush(heap, (following, next(self._seq), job))
            out.append(job)
        return out
