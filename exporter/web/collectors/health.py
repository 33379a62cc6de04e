"""The exporter's own health: build, config reloads, the store, faults of ours, the network
canaries, clock steps and the scrape's own duration.

Sample output::

    sla_exporter_build_info{python_version="3.11.7",version="0.1.0"} 1.0
    sla_exporter_store_writable 1.0
    sla_exporter_probe_faults{reason="config"} 1.0
"""

from __future__ import annotations

import collections
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter import __version__, metrics as m
from exporter.probing.recorder import Recorder
from exporter.web.collectors.base import Families, ScrapeTimer, describe

METRICS = [
    m.BUILD_INFO,
    m.RELOAD_OK,
    m.RELOAD_TIME,
    m.STORE_WRITABLE,
    m.STORE_ERRORS,
    m.LEADER,
    m.PROBE_FAULTS,
    m.NETWORK_UP,
    m.CLOCK_STEPS,
    m.CLOCK_LAST_STEP,
    m.SCRAPE_DURATION,
]


@dataclass
class ExporterStatus:
    """The exporter's own health, for its metrics and /-/ready."""

    reload_ok: bool = False
    reload_time: float | None = None  # of the last successful (re)load
    store_writable: bool = True
    store_write_errors: int = 0
    leader: bool = True  # runs the once-only jobs (docs/scaling.md)
    network_up: bool | None = None  # the canaries' last verdict; None without canaries
    clock_steps: int = 0
    last_clock_step: float | None = None  # seconds, negative: backwards


class HealthCollector(Collector):
    def __init__(
        self,
        recorder: Recorder,
        status: ExporterStatus,
        timer: Callable[[], float] = time.perf_counter,
        scrape: ScrapeTimer | None = None,
    ):
        self.recorder, self.status, self.timer = recorder, status, timer
        self.scrape = scrape  # when the scrape began; None: its duration is not reported
        self._labelsets: dict[tuple, dict] = {}

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def collect(self) -> Iterator[Metric]:
        out = Families(METRICS, self._labelsets)
        put = out.put
        put(m.BUILD_INFO, [__version__, platform.python_version()], 1)
        put(m.RELOAD_OK, [], float(self.status.reload_ok))
        put(m.RELOAD_TIME, [], self.status.reload_time)
        put(m.STORE_WRITABLE, [], float(self.status.store_writable))
        put(m.STORE_ERRORS, [], self.status.store_write_errors)
        put(m.LEADER, [], float(self.status.leader))
        faults = collections.Counter(r.reason for r in self.recorder.current_faults().values())
        for reason, n in sorted(faults.items()):
            put(m.PROBE_FAULTS, [reason], n)
        put(m.NETWORK_UP, [], None if self.status.network_up is None else float(self.status.network_up))
        put(m.CLOCK_STEPS, [], self.status.clock_steps)
        put(m.CLOCK_LAST_STEP, [], self.status.last_clock_step)
        if self.scrape is not None:
            put(m.SCRAPE_DURATION, [], self.timer() - self.scrape.began)
        yield from out.collect()
