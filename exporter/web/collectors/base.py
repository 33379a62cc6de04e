"""What the collectors share: a scrape's metric families, appended to directly, with label
dicts kept between scrapes (the text writer finds a series' line by its dict's identity)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample

from exporter import metrics as m


def family(metric: m.Metric) -> GaugeMetricFamily | CounterMetricFamily:
    if metric.kind == "counter":
        return CounterMetricFamily(metric.name.removesuffix("_total"), metric.help, labels=metric.labels)
    return GaugeMetricFamily(metric.name, metric.help, labels=metric.labels)


class Families:
    """One scrape's families of ``metrics`` (in the order of ``metrics.ALL``)."""

    def __init__(self, metrics: Iterable[m.Metric], labelsets: dict[tuple, dict]):
        self.fams = {metric.name: family(metric) for metric in metrics}
        self.samples = {name: fam.samples for name, fam in self.fams.items()}
        self.labelsets = labelsets  # kept by the collector between scrapes
        # The label dicts this scrape used: what a collector whose series come and go
        # (support cases) keeps for the next one, so that gone series are let go.
        self.used: dict[tuple, dict] = {}

    def put(self, metric: m.Metric, labels: list[str], value: float | None) -> None:
        """A sample (none when ``value`` is None); its label dict is reused across scrapes."""
        if value is not None:
            key = (metric.labels, *labels)
            labelset = self.labelsets.get(key)
            if labelset is None:
                labelset = self.labelsets[key] = dict(zip(metric.labels, labels, strict=True))
            self.used[key] = labelset
            self.samples[metric.name].append(Sample(metric.name, labelset, value, None))

    def add(self, metric: m.Metric, labelset: dict[str, str], value: float) -> None:
        """A sample with a label dict the caller keeps (one per tenant, shared by its samples)."""
        self.samples[metric.name].append(Sample(metric.name, labelset, value, None))

    def collect(self) -> Iterator[Metric]:
        yield from (fam for fam in self.fams.values() if fam.samples)


def describe(metrics: Iterable[m.Metric]) -> list[Metric]:
    return [family(metric) for metric in metrics]


class ScrapeTimer:
    """When the scrape began: set by the first collector, read by the last."""

    def __init__(self) -> None:
        self.began = 0.0
