"""Support clocks: open incidents and service requests, their deadlines, and breaches.

Sample output::

    sla_support_incidents_open{priority="P2",source="filed",tenant="acme-prod"} 1.0
    sla_support_breaches_total{priority="P2",target="response",tenant="acme-prod"} 0.0

Registered only when the daemon has a store to read support cases from.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter import metrics as m
from exporter.model import Config, Incident, Support
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


class _Evaluated(NamedTuple):
    """What an open incident adds to a scrape, as evaluated at ``since``: the same at any
    "now" from ``since`` to ``until`` (its next event or deadline), so kept until then."""

    incident: Incident
    since: float
    until: float
    open: bool
    breaches: collections.Counter  # (tenant, priority, target) ->
    opened: tuple[str, str, str]  # (tenant, priority, source)
    dues: tuple[list[str], float | None, float | None, float | None] | None  # labels, then the three


def _evaluated(support: Support, inc: Incident, now: float) -> _Evaluated:
    st = evaluate(support, inc, now)
    mine = collections.Counter((inc.tenant, b.priority, b.target) for b in st.breaches)
    if inc.source == "detected":
        mine = collections.Counter()  # no breaches: see _support
    else:
        mine[(inc.tenant, st.priority, "response")] += 0  # the tenant has filed cases
    # ``evaluate`` counts the events up to "now" and the deadlines before it: its answer
    # holds while "now" is below the next event and not past the next deadline.
    until = min(
        [math.nextafter(e.time, -math.inf) for e in inc.events if e.time > now]
        + [d for d in (st.response_due, st.communication_due, st.resolution_due) if d is not None and d >= now],
        default=math.inf,
    )
    dues = (
        None
        if inc.source == "detected"
        else ([inc.tenant, inc.id, st.priority], st.response_due, st.communication_due, st.resolution_due)
    )
    return _Evaluated(inc, now, until, st.open, mine, (inc.tenant, st.priority, inc.source), dues)


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
        # And the open ones are read again only when the store's incidents changed (its
        # write count moved), each evaluated again only once "now" reaches its next event
        # or deadline: with thousands open and nothing happening, a scrape reads one row.
        self._version = -1
        self._cfg: Config | None = None
        self._evaluated: list[_Evaluated] = []  # the open ones, by (opened, id)
        # The open incidents' sums while none of them changes (valid over [since, until]).
        self._sums: tuple[float, float, collections.Counter, collections.Counter] | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def collect(self) -> Iterator[Metric]:
        out = Families(METRICS, self._labelsets)
        with self._lock:  # one scrape at a time moves the kept state (closed breaches count once)
            self._support(self.config(), self.clock(), out.put)
        self._labelsets = out.used  # an incident's series end with it: so do its label dicts
        yield from out.collect()

    def _read(self, cfg: Config, now: float) -> None:
        """Read the open incidents again (and those stored or resolved since the last read),
        keeping the evaluations of the unchanged ones."""
        before = {e.incident.id: e for e in self._evaluated} if cfg is self._cfg else {}
        version = self.store.incidents_version()  # before the rows: a write between is read again
        top, found = self.store.incidents_since(self._rowid, math.floor(now * 1000), self._open)
        evaluated: list[_Evaluated] = []
        for rowid, inc in found:
            if rowid <= self._rowid and inc.id not in self._open:
                continue  # resolved when last seen (a clock step back does not reopen it)
            last = before.get(inc.id)
            if last is not None and last.incident == inc and last.since <= now <= last.until:
                evaluated.append(last)
            else:
                evaluated.append(_evaluated(cfg.support, inc, now))
        self._rowid, self._version, self._cfg, self._evaluated, self._sums = top, version, cfg, evaluated, None

    def _open_sums(self, cfg: Config, now: float, put: Callable) -> tuple[collections.Counter, collections.Counter]:
        """The open incidents' counts (tenant, priority, source) and breaches, their
        deadlines put; the resolved ones' breaches go to ``_closed_breaches``."""
        if cfg is not self._cfg or self.store.incidents_version() != self._version:
            self._read(cfg, now)
        sums = self._sums
        if sums is None or not sums[0] <= now <= sums[1]:
            evaluated: list[_Evaluated] = []
            for e in self._evaluated:
                if not e.since <= now <= e.until:
                    e = _evaluated(cfg.support, e.incident, now)
                if not e.open:
                    self._closed_breaches.update(e.breaches)
                    continue
                evaluated.append(e)
            opened: collections.Counter = collections.Counter()
            breaches: collections.Counter = collections.Counter()
            for e in evaluated:
                opened[e.opened] += 1
                breaches.update(e.breaches)
            since = max((e.since for e in evaluated), default=now)
            until = min((e.until for e in evaluated), default=math.inf)
            self._evaluated, self._open = evaluated, {e.incident.id for e in evaluated}
            sums = self._sums = (since, until, opened, breaches)
        for e in self._evaluated:
            if e.dues is not None:
                labels, response, communication, resolution = e.dues
                put(m.SUPPORT_RESPONSE_DUE, labels, response)
                put(m.SUPPORT_COMMUNICATION_DUE, labels, communication)
                put(m.SUPPORT_RESOLUTION_DUE, labels, resolution)
        return sums[2], collections.Counter(sums[3])

    def _support(self, cfg: Config, now: float, put: Callable) -> None:
        """Support clocks. Detected incidents count as open but have no deadlines or
        breaches: the vendor can only answer what was filed."""
        opened, breaches = self._open_sums(cfg, now, put)
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
