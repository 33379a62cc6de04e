"""What the collectors share: a scrape's metric families, appended to directly, with label
dicts kept between scrapes (the text writer finds a series' line by its dict's identity),
or given as the text lines the collector keeps (``LinesFamily``)."""

from __future__ import annotations

import array
import itertools
from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from exporter import metrics as m


def family(metric: m.Metric) -> GaugeMetricFamily | CounterMetricFamily:
    if metric.kind == "counter":
        return CounterMetricFamily(metric.name.removesuffix("_total"), metric.help, labels=metric.labels)
    return GaugeMetricFamily(metric.name, metric.help, labels=metric.labels)


class LinesFamily(Metric):
    """A gauge or counter family given as its text lines, written by the collector once per
    value and kept between scrapes instead of a Sample object, a label dict and the text
    writer's copy of the line per series (30,000 probes: ~100,000 series; 10,000 tenants:
    ~160,000). The lines are ``str`` (``exposition.line``) or, all of them, ``bytes``
    (what the text writer joins into the body without encoding again); an item of ``lines``
    may hold several lines, each ending in a newline (a collector that keeps a family's
    text in one piece). The text writer copies ``lines`` as they are; ``samples`` (the
    reference writer, other formats, tests) are read back from the lines and their label
    values (one per line) when asked for."""

    def __init__(self, metric: m.Metric):
        self.lines: list[str] | list[bytes] = []
        self.label_values: list[tuple[str, ...]] = []  # of each line, in ``metric.labels`` order
        self._names = metric.labels
        self._sample_name = metric.name  # a counter's samples keep their _total
        self._read = 0  # items of ``lines`` already turned into samples
        if metric.kind == "counter":
            super().__init__(metric.name.removesuffix("_total"), metric.help, "counter")
        else:
            super().__init__(metric.name, metric.help, "gauge")

    @property  # type: ignore[override]
    def samples(self) -> list[Sample]:
        values = iter(self.label_values[len(self._samples) :])
        for item in self.lines[self._read :]:
            # Split on the newline alone: a label value may hold other line breaks (\r,
            # \x1c, \u2028) unescaped, as the text format writes them.
            newline, space = (b"\n", b" ") if isinstance(item, bytes) else ("\n", " ")
            for line in item.split(newline)[:-1]:  # type: ignore[arg-type]
                labels = dict(zip(self._names, next(values), strict=True))
                self._samples.append(Sample(self._sample_name, labels, float(line.rpartition(space)[2]), None))
        self._read = len(self.lines)
        return self._samples

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        self._samples = value


class Families:
    """One scrape's families of ``metrics`` (in the order of ``metrics.ALL``)."""

    def __init__(self, metrics: Iterable[m.Metric], labelsets: dict[tuple, dict], lines: Iterable[m.Metric] = ()):
        """``lines``: the metrics given as text lines (``LinesFamily``)."""
        as_lines = set(lines)
        self.fams = {metric.name: LinesFamily(metric) if metric in as_lines else family(metric) for metric in metrics}
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
        yield from (fam for fam in self.fams.values() if getattr(fam, "lines", None) or fam.samples)


def describe(metrics: Iterable[m.Metric]) -> list[Metric]:
    return [family(metric) for metric in metrics]


class ScrapeTimer:
    """When the scrape began: set by the first collector, read by the last."""

    def __init__(self) -> None:
        self.began = 0.0


def go_bytes(value: float) -> bytes:
    """``floatToGoString(value)`` as bytes; its common case (a finite float below a million
    or an int, written as Python writes it) without the rest of its checks: tens of
    thousands of values a scrape at fleet scale."""
    text = repr(float(value))
    if text[-1] in "fn" or (value > 0 and text.find(".") > 6):  # inf, nan; Go's exponent from 1e6
        text = floatToGoString(value)
    return text.encode()


def rewrite(blob: bytes, lengths: array.array, changes: list[tuple[int, bytes | None]]) -> bytes:
    """A family's kept text ``blob`` (series by series, ``lengths`` each, 0: no line) with
    the lines of some series replaced (``changes``: by series, ascending; None: no line),
    ``lengths`` updated: the runs of lines between them are copied as slices, in one join."""
    ends = array.array("Q", itertools.accumulate(lengths))  # as they were
    view = memoryview(blob)
    pieces: list = []
    at = 0
    for j, line in changes:
        start = ends[j] - lengths[j]
        if start > at:
            pieces.append(view[at:start])
        if line is None:
            lengths[j] = 0
        else:
            pieces.append(line)
            lengths[j] = len(line)
        at = ends[j]
    if at < len(blob):
        pieces.append(view[at:])
    return b"".join(pieces)
