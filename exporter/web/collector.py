"""The collectors of /metrics, in the order of ``metrics.ALL``: tenant SLA figures, probes,
support clocks (only with a store to read cases from), the exporter's health.
``SLACollector`` is all of them as one collector, for tests and tools that want one object."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter.model import Config
from exporter.probing.recorder import Recorder
from exporter.store.sqlite import Store
from exporter.web.collectors.base import ScrapeTimer
from exporter.web.collectors.health import ExporterStatus, HealthCollector
from exporter.web.collectors.probes import ProbeCollector
from exporter.web.collectors.support import SupportCollector
from exporter.web.collectors.tenants import TenantCollector

__all__ = ["ExporterStatus", "SLACollector", "collectors"]


def collectors(
    config: Callable[[], Config],
    recorder: Recorder,
    status: ExporterStatus,
    clock: Callable[[], float] = time.time,
    timer: Callable[[], float] = time.perf_counter,
    store: Store | None = None,
) -> list[Collector]:
    """The collectors to register, in order; the support one only with a store."""
    scrape = ScrapeTimer()
    found: list[Collector] = [
        TenantCollector(config, recorder, clock, timer, scrape, store=store),
        ProbeCollector(config, recorder, clock),
    ]
    if store is not None:
        found.append(SupportCollector(config, store, clock))
    found.append(HealthCollector(recorder, status, timer, scrape))
    return found


class SLACollector(Collector):
    """Every collector as one."""

    def __init__(
        self,
        config: Callable[[], Config],
        recorder: Recorder,
        status: ExporterStatus,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
        store: Store | None = None,
    ):
        self.parts = collectors(config, recorder, status, clock, timer, store)

    def describe(self) -> list[Metric]:
        return [family for part in self.parts for family in part.describe()]

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()
