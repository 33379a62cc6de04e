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
from prometheus_client.samples import Sample

from exporter import metrics as m
from exporter.engine.units import instant_ms
from exporter.model import Config
from exporter.probing.recorder import Recorder
from exporter.web.collectors.base import Families, describe

METRICS = [m.PROBE_SUCCESS, m.PROBE_DURATION, m.PROBE_STATUS, m.PROBE_CERT_EXPIRY, m.PROBE_ERRORS, m.LOCATION_UP]


class ProbeCollector(Collector):
    def __init__(self, config: Callable[[], Config], recorder: Recorder, clock: Callable[[], float] = time.time):
        self.config, self.recorder, self.clock = config, recorder, clock
        self._cache_cfg: Config | None = None
        self._probe_samples: dict[tuple[str, str], tuple] = {}  # -> (result, fresh, samples, labels)
        self._elsewhere: dict[tuple[str, str, str], tuple] = {}  # other locations: -> (run, fresh, sample)
        self._labelsets: dict[tuple, dict] = {}

    def describe(self) -> list[Metric]:
        return describe(METRICS)

    def collect(self) -> Iterator[Metric]:
        cfg, now = self.config(), self.clock()
        if cfg is not self._cache_cfg:
            self._cache_cfg, self._probe_samples, self._labelsets, self._elsewhere = cfg, {}, {}, {}
        out = Families(METRICS, self._labelsets)
        results = self.recorder.last_results()
        samples = out.samples
        here = self.recorder.location
        for tenant in cfg.tenants:
            for probe in tenant.probes:
                r = results.get((tenant.name, probe.name))
                if r is None:
                    continue
                fresh = now < r.started + probe.stale_after
                key = (tenant.name, probe.name)
                cached = self._probe_samples.get(key)
                if cached is None or cached[0] is not r or cached[1] != fresh:
                    # Built once per result: a probe's samples only change when it reports.
                    # One label dict per probe for the config's life: the text writer finds
                    # the series by its identity and keeps nothing per result.
                    tpl = (
                        {"tenant": tenant.name, "probe": probe.name, "location": here} if cached is None else cached[3]
                    )
                    built = tuple(
                        Sample(metric.name, tpl, value, None)
                        for metric, value in (
                            # A fault of ours says nothing of the target: no sample, like unknown.
                            (m.PROBE_SUCCESS, float(r.success) if fresh and not r.ours else None),
                            (m.PROBE_DURATION, r.duration),
                            (m.PROBE_STATUS, float(r.status_code or 0)),
                            (m.PROBE_CERT_EXPIRY, r.cert_expiry),
                        )
                        if value is not None
                    )
                    cached = self._probe_samples[key] = (r, fresh, built, tpl)
                for sample in cached[2]:
                    samples[sample.name].append(sample)
        self._other_locations(samples[m.PROBE_SUCCESS.name], now)
        for (tenant_name, probe_name, reason), count in sorted(self.recorder.error_counts().items()):
            out.put(m.PROBE_ERRORS, [tenant_name, probe_name, reason], count)
        now_ms = instant_ms(now)
        for location, until in sorted(self.recorder.reporting_until().items()):
            out.put(m.LOCATION_UP, [location], float(now_ms <= until))
        yield from out.collect()

    def _other_locations(self, success: list, now: float) -> None:
        """``sla_probe_success`` at the locations other exporters record (read from the
        store): the last observation while it is not stale."""
        now_ms = instant_ms(now)
        for key, run in self.recorder.elsewhere().items():
            fresh = run.start <= now_ms < run.end
            cached = self._elsewhere.get(key)
            if cached is None or cached[0] is not run or cached[1] != fresh:
                labels = {"tenant": key[0], "probe": key[1], "location": key[2]}
                sample = Sample(m.PROBE_SUCCESS.name, labels, float(run.success), None) if fresh else None
                cached = self._elsewhere[key] = (run, fresh, sample)
            if cached[2] is not None:
                success.append(cached[2])
