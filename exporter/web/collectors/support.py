"""Support clocks: open incidents and service requests, their deadlines, and breaches.

Sample output::

    sla_support_incidents_open{priority="P2",source="filed",tenant="acme-prod"} 1.0
    sla_support_breaches_total{priority="P2",target="response",tenant="acme-prod"} 0.0

Registered only when the daemon has a store to read support cases from.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter import metrics as m
from exporter.model import Config
from exporter.store.sqlite import Store
from exporter.support.deadlines import (
    SERVICE_REQUEST,
    delivery_due,
    evaluate,
    request_breached,
)
from exporter.web.collectors.base import Families, describe

METRICS = [
    m.SUPPORT_OPEN,
    m.SUPPORT_RESPONSE_DUE,
    m.SUPPORT_COMMUNICATION_DUE,
    m.SUPPORT_RESOLUTION_DUE,
    m.SUPPORT_BREACHES,
    m.SUPPORT_REQUESTS_OPEN,
    m.SUPPORT_REQUEST_DUE,
]


class SupportCollector(Collector):
    def __init__(self, config: Callable[[], Config], store: Store, clock: Callable[[], float] = time.time):
        self.config, self.store, self.clock = config, store, clock
        # Resolved incidents never change: each is evaluated once, when first seen resolved,
        # and only its breaches stay (summed). A scrape reads the open incidents and the
        # ones stored or resolved since the last: its cost follows what is open, not the
        # years of history behind it.
        self._closed_breaches: collections.Counter = collections.Counter()
        self._rowid = 0  # incidents up to this rowid have been seen
        self._open: set[str] = set()  # the ids open at the last scrape
        self._labelsets: dict[tuple, dict] = {}

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def collect(self) -> Iterator[Metric]:
        out = Families(METRICS, self._labelsets)
        self._support(self.config(), self.clock(), out.put)
        self._labelsets = out.used  # an incident's series end with it: so do its label dicts
        yield from out.collect()

    def _support(self, cfg: Config, now: float, put: Callable) -> None:
        """Support clocks. Detected incidents count as open but have no deadlines or
        breaches: the vendor can only answer what was filed."""
        opened: collections.Counter = collections.Counter()
        breaches: collections.Counter = collections.Counter()
        top, found = self.store.incidents_since(self._rowid, math.floor(now * 1000), self._open)
        still_open: set[str] = set()
        for rowid, inc in found:
            if rowid <= self._rowid and inc.id not in self._open:
                continue  # resolved when last seen (a clock step back does not reopen it)
            st = evaluate(cfg.support, inc, now)
            mine = collections.Counter((inc.tenant, b.priority, b.target) for b in st.breaches)
            if inc.source == "detected":
                mine = collections.Counter()  # no breaches: see above
            else:
                mine[(inc.tenant, st.priority, "response")] += 0  # the tenant has filed cases
            if not st.open:
                self._closed_breaches.update(mine)
                continue
            still_open.add(inc.id)
            breaches.update(mine)
            opened[(inc.tenant, st.priority, inc.source)] += 1
            if inc.source == "detected":
                continue
            labels = [inc.tenant, inc.id, st.priority]
            put(m.SUPPORT_RESPONSE_DUE, labels, st.response_due)
            put(m.SUPPORT_COMMUNICATION_DUE, labels, st.communication_due)
            put(m.SUPPORT_RESOLUTION_DUE, labels, st.resolution_due)
        self._rowid, self._open = top, still_open
        breaches.update(self._closed_breaches)
        requests_open: collections.Counter = collections.Counter()
        for req in self.store.requests():
            if request_breached(cfg.support, req, now):
                breaches[(req.tenant, SERVICE_REQUEST, "delivery")] += 1
            requests_open[req.tenant] += 0  # 0 rather than nothing once a tenant has requests
            if req.delivered is None:
                requests_open[req.tenant] += 1
                put(m.SUPPORT_REQUEST_DUE, [req.tenant, req.id], delivery_due(cfg.support, req.opened))
        # Zeros for every target a tenant with support cases has, so that increase() sees
        # its first breach (a counter that appears at 1 looks like no increase).
        for tenant in {key[0] for key in breaches} | set(requests_open):
            t = cfg.tenant(tenant)
            for p in cfg.support.priorities:
                if t is not None and not t.production and p.name in cfg.support.production_only:
                    continue
                for target, seconds in (
                    ("response", p.initial_response),
                    ("communication", p.communication),
                    ("resolution", p.resolution),
                ):
                    if seconds is not None:
                        breaches.setdefault((tenant, p.name, target), 0)
            breaches.setdefault((tenant, SERVICE_REQUEST, "delivery"), 0)
        for (tenant, priority, source), n in sorted(opened.items()):
            put(m.SUPPORT_OPEN, [tenant, priority, source], n)
        for labels, n in sorted(breaches.items()):
            put(m.SUPPORT_BREACHES, list(labels), n)
        for tenant, n in sorted(requests_open.items()):
            put(m.SUPPORT_REQUESTS_OPEN, [tenant], n)
