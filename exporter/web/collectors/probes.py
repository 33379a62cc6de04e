"""Probe gauges: each probe's last result (success, duration, status, certificate expiry)
and failed runs by reason; each location's last result and whether it reports.

Sample output::

    sla_probe_success{location="default",probe="agent-ui",tenant="acme-prod"} 1.0
    sla_probe_errors_total{probe="chat",reason="timeout",tenant="acme-prod"} 3.0
    sla_location_up{location="default"} 1.0
"""

from __future__ import annotations

import array
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter import metrics as m
from exporter.engine.states import Run
from exporter.engine.units import instant_ms
from exporter.model import Config, Probe
from exporter.probing.recorder import Recorder, Result
from exporter.web import exposition
from exporter.web.collectors.base import Families, LinesFamily, describe, go_bytes, rewrite

METRICS = [m.PROBE_SUCCESS, m.PROBE_DURATION, m.PROBE_STATUS, m.PROBE_CERT_EXPIRY, m.PROBE_ERRORS, m.LOCATION_UP]
# Given as text lines kept per probe (collectors.base.LinesFamily), in this order.
_GAUGES = (m.PROBE_SUCCESS, m.PROBE_DURATION, m.PROBE_STATUS, m.PROBE_CERT_EXPIRY)

At = tuple[str, str, str]  # (tenant, probe, location): the label values of a probe's lines


def _values(r: Result, fresh: bool) -> tuple[float | None, ...]:
    """The gauges' values of result ``r`` (None: no sample), in ``_GAUGES`` order."""
    return (
        # A fault of ours says nothing of the target: no sample, like unknown.
        float(r.success) if fresh and not r.ours else None,
        r.duration,
        float(r.status_code or 0),
        r.cert_expiry,
    )


class ProbeCollector(Collector):
    def __init__(self, config: Callable[[], Config], recorder: Recorder, clock: Callable[[], float] = time.time):
        self.config, self.recorder, self.clock = config, recorder, clock
        self._cache_cfg: Config | None = None
        # The probes' lines kept between scrapes (_Text): a probe's lines only change when
        # it reports or goes stale, and a line is written again only when its value changed.
        self._text = _Text([], "")
        # Other locations' (and shards') last runs, read from the store: -> (run, fresh, line)
        self._elsewhere: dict[At, tuple[Run, bool, bytes | None]] = {}
        self._labelsets: dict[tuple, dict] = {}
        # One scrape at a time rewrites the kept text (a second waits, then finds it done).
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            families = list(self._collect())
        yield from families

    def _collect(self) -> Iterator[Metric]:
        cfg, now = self.config(), self.clock()
        here = self.recorder.location
        if cfg is not self._cache_cfg or self._text.location != here:
            self._cache_cfg, self._labelsets, self._elsewhere = cfg, {}, {}
            self._text = _Text([(t.name, p) for t in cfg.tenants for p in t.probes], here)
        out = Families(METRICS, self._labelsets, lines=_GAUGES)
        fams: list[LinesFamily] = [out.fams[metric.name] for metric in _GAUGES]  # type: ignore[misc]
        results = self.recorder.last_results()
        text = self._text
        kept, fresh_kept = text.results, text.fresh
        changes: list[list[tuple[int, bytes | None]]] = [[] for _ in _GAUGES]  # by family: (probe, line)
        for j, (key, stale_after) in enumerate(zip(text.probes, text.stale_after, strict=True)):
            r = results.get(key)
            last = kept[j]
            if r is None:
                if last is None:
                    continue
                fresh = False
            else:
                fresh = now < r.started + stale_after
                if r is last and fresh == fresh_kept[j]:
                    continue
            values = (None,) * len(_GAUGES) if r is None else _values(r, fresh)
            before = (None,) * len(_GAUGES) if last is None else _values(last, bool(fresh_kept[j]))
            for i, (value, old) in enumerate(zip(values, before, strict=True)):
                # A value equal to the last one keeps its line (0.0 and -0.0 are written apart).
                if value != old or value == 0:
                    changes[i].append(
                        (j, None if value is None else b"%s%s%s\n" % (_NAMES[i], text.part(j), go_bytes(value)))
                    )
            kept[j], fresh_kept[j] = r, fresh
        for i, fam in enumerate(fams):
            if changes[i]:
                text.rewrite(i, changes[i])
            if text.blobs[i]:
                fam.lines = [text.blobs[i]]  # its lines in one: LinesFamily.samples splits them
                lengths = text.lengths[i]
                fam.label_values = (
                    [k for k, n in zip(text.keys, lengths, strict=True) if n] if 0 in lengths else list(text.keys)
                )
        self._other_locations(fams[0], now)
        for (tenant_name, probe_name, reason), count in sorted(self.recorder.error_counts().items()):
            out.put(m.PROBE_ERRORS, [tenant_name, probe_name, reason], count)
        now_ms = instant_ms(now)
        for location, until in sorted(self.recorder.reporting_until().items()):
            out.put(m.LOCATION_UP, [location], float(now_ms <= until))
        yield from out.collect()

    def _other_locations(self, success: LinesFamily, now: float) -> None:
        """``sla_probe_success`` at the locations other exporters record (read from the
        store): the last observation while it is not stale."""
        now_ms = instant_ms(now)
        lines: list[bytes] = success.lines  # type: ignore[assignment]
        for at, run in self.recorder.elsewhere().items():
            fresh = run.start <= now_ms < run.end
            cached = self._elsewhere.get(at)
            if cached is None or cached[0] is not run or cached[1] != fresh:
                labels = {"tenant": at[0], "probe": at[1], "location": at[2]}
                line = exposition.line(m.PROBE_SUCCESS.name, labels, float(run.success)).encode() if fresh else None
                cached = self._elsewhere[at] = (run, fresh, line)
            if cached[2] is not None:
                lines.append(cached[2])
                success.label_values.append(at)


_NAMES = [metric.name.encode() for metric in _GAUGES]  # as the lines begin


class _Text:
    """The probes' lines kept between scrapes, per family one bytes object, probe by probe
    in config order (instead of four str lines, a tuple of them and a cache entry per probe:
    ~20 MB at 30,000 probes), with each probe's line length in it (0: no line), its last
    result and whether it was fresh, and the label part of its lines."""

    def __init__(self, probes: list[tuple[str, Probe]], location: str):
        self.location = location
        self.probes = [(tenant, p.name) for tenant, p in probes]  # the recorder's keys
        self.stale_after = [p.stale_after for _, p in probes]
        self.keys = [(tenant, p.name, location) for tenant, p in probes]  # each probe's label values
        n = len(self.keys)
        self.results: list[Result | None] = [None] * n
        self.fresh = bytearray(n)
        self.parts: list[bytes | None] = [None] * n
        self.blobs = [b""] * len(_GAUGES)
        self.lengths = [array.array("I", bytes(4 * n)) for _ in _GAUGES]

    def part(self, j: int) -> bytes:
        """The label part of probe ``j``'s lines (what follows the name up to the value)."""
        part = self.parts[j]
        if part is None:
            tenant, probe, location = self.keys[j]
            labels = {"tenant": tenant, "probe": probe, "location": location}
            part = self.parts[j] = exposition.label_part(labels).encode()
        return part

    def rewrite(self, i: int, changes: list[tuple[int, bytes | None]]) -> None:
        """Family ``i`` with the lines of some probes replaced (by probe, ascending): the
        runs of lines between them are copied as slices of the last text, in one join."""
        self.blobs[i] = rewrite(self.blobs[i], self.lengths[i], changes)
