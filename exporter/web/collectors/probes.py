"""Probe gauges: each probe's last result (success, duration, status, certificate expiry)
and failed runs by reason; each location's last result and whether it reports.

Sample output::

    sla_probe_success{location="default",probe="agent-ui",tenant="acme-prod"} 1.0
    sla_probe_errors_total{probe="chat",reason="timeout",tenant="acme-prod"} 3.0
    sla_location_up{location="default"} 1.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter import metrics as m
from exporter.engine.states import Run
from exporter.engine.units import instant_ms
from exporter.model import Config
from exporter.probing.recorder import Recorder, Result
from exporter.web import exposition
from exporter.web.collectors.base import Families, LinesFamily, describe

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
        # (tenant, probe) -> (result, fresh, lines, label values): a probe's lines only
        # change when it reports or goes stale, and a line is written again only when its
        # value changed.
        self._probe_lines: dict[tuple[str, str], tuple[Result, bool, tuple[str | None, ...], At]] = {}
        # Other locations' (and shards') last runs, read from the store: -> (run, fresh, line)
        self._elsewhere: dict[At, tuple[Run, bool, str | None]] = {}
        self._labelsets: dict[tuple, dict] = {}

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def collect(self) -> Iterator[Metric]:
        cfg, now = self.config(), self.clock()
        if cfg is not self._cache_cfg:
            self._cache_cfg, self._probe_lines, self._labelsets, self._elsewhere = cfg, {}, {}, {}
        out = Families(METRICS, self._labelsets, lines=_GAUGES)
        fams: list[LinesFamily] = [out.fams[metric.name] for metric in _GAUGES]  # type: ignore[misc]
        lines_of = [f.lines.append for f in fams]
        keys_of = [f.label_values.append for f in fams]
        results = self.recorder.last_results()
        cache = self._probe_lines
        here = self.recorder.location
        for tenant in cfg.tenants:
            for probe in tenant.probes:
                key = (tenant.name, probe.name)
                r = results.get(key)
                if r is None:
                    continue
                fresh = now < r.started + probe.stale_after
                cached = cache.get(key)
                if cached is None or cached[0] is not r or cached[1] != fresh:
                    at = (key[0], key[1], here) if cached is None else cached[3]
                    cached = cache[key] = (r, fresh, _lines(at, r, fresh, cached), at)
                for line, add_line, add_key in zip(cached[2], lines_of, keys_of, strict=True):
                    if line is not None:
                        add_line(line)
                        add_key(cached[3])
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
        for at, run in self.recorder.elsewhere().items():
            fresh = run.start <= now_ms < run.end
            cached = self._elsewhere.get(at)
            if cached is None or cached[0] is not run or cached[1] != fresh:
                labels = {"tenant": at[0], "probe": at[1], "location": at[2]}
                line = exposition.line(m.PROBE_SUCCESS.name, labels, float(run.success)) if fresh else None
                cached = self._elsewhere[at] = (run, fresh, line)
            if cached[2] is not None:
                success.lines.append(cached[2])
                success.label_values.append(at)


def _lines(
    at: At, r: Result, fresh: bool, last: tuple[Result, bool, tuple[str | None, ...], At] | None
) -> tuple[str | None, ...]:
    """A probe's lines for result ``r``, keeping the last ones whose value is the same."""
    values = _values(r, fresh)
    before = _values(last[0], last[1]) if last is not None else (None,) * len(_GAUGES)
    old_lines = last[2] if last is not None else (None,) * len(_GAUGES)
    labels = {"tenant": at[0], "probe": at[1], "location": at[2]}
    return tuple(
        None
        if value is None
        else old
        if old is not None and value == old_value and value != 0  # 0.0 and -0.0 are written apart
        else exposition.line(metric.name, labels, value)
        for metric, value, old_value, old in zip(_GAUGES, values, before, old_lines, strict=True)
    )
