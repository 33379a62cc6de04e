"""The text writer of /metrics: the same bytes as prometheus_client's ``generate_latest``
scrape after scrape, whatever the collectors reuse or renew between scrapes, and memory
that follows the live series rather than every series ever written."""

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.samples import Sample

from exporter.web import exposition

KEEP = {"tenant": "kept"}  # a label dict a collector keeps between scrapes
OTHER = {"tenant": 'other \\ " \n'}


class Scripted:
    """A collector whose samples each scrape are given by a test: ``(family, name, labels,
    value)`` rows; a row that is a Sample object itself is yielded as is (reused)."""

    def __init__(self):
        self.rows: list = []

    def collect(self):
        fams: dict = {}
        for row in self.rows:
            fam, sample = (row[0], row[1]) if isinstance(row[1], Sample) else (row[0], Sample(*row[1:], None))
            if fam not in fams:
                cls = CounterMetricFamily if fam.startswith("c_") else GaugeMetricFamily
                fams[fam] = cls(fam, f"help of {fam}", labels=[])
            fams[fam].samples.append(sample)
        return iter(fams.values())


SAME = Sample("g_a", KEEP, 1.0, None)


# Each case: the rows of successive scrapes.
CASES = {
    "reused samples": [[("g_a", SAME)], [("g_a", SAME)], [("g_a", SAME)]],
    "kept labels, new values": [[("g_a", "g_a", KEEP, v)] for v in (1.0, 2.5, 2.5, float("inf"), float("nan"), 0.0)],
    "new label dicts every scrape": [[("g_a", "g_a", dict(KEEP), v)] for v in (1.0, 1.0, 3.0)],
    "series come and go": [
        [("g_a", "g_a", KEEP, 1.0)],
        [("g_a", "g_a", KEEP, 1.0), ("g_a", "g_a", OTHER, 2.0)],
        [("g_a", "g_a", OTHER, 2.0)],
        [("g_a", "g_a", OTHER, 3.0), ("g_a", "g_a", KEEP, 1.0)],
        [],
        [("g_a", "g_a", KEEP, 4.0)],
    ],
    "families come and go": [
        [("g_a", "g_a", KEEP, 1.0)],
        [("g_a", "g_a", KEEP, 1.0), ("c_b", "c_b_total", KEEP, 5.0)],
        [("c_b", "c_b_total", KEEP, 6.0)],
    ],
    "one dict in several families": [
        [("g_a", "g_a", KEEP, 1.0), ("g_b", "g_b", KEEP, 2.0)],
        [("g_a", "g_a", KEEP, 2.0), ("g_b", "g_b", KEEP, 1.0)],
    ],
    "a position taken by another series": [
        [("g_a", "g_a", KEEP, 1.0), ("g_a", "g_a", OTHER, 2.0)],
        [("g_a", "g_a", OTHER, 2.0), ("g_a", "g_a", KEEP, 1.0)],
    ],
    "a sample renamed under the same dict": [
        [("g_a", "g_a", KEEP, 1.0)],
        [("g_a", "g_a_other", KEEP, 1.0)],
    ],
    "big and small values": [[("g_a", "g_a", KEEP, v)] for v in (1.5e22, 1e-7, -2.0, 123456789.0)],
}


@pytest.mark.parametrize("scrapes", CASES.values(), ids=CASES.keys())
def test_every_scrape_is_byte_for_byte_the_reference(scrapes):
    collector = Scripted()
    registry = CollectorRegistry()
    registry.register(collector)
    for rows in scrapes:
        collector.rows = rows
        assert exposition.generate(registry) == generate_latest(registry)


@pytest.mark.parametrize("scrapes", [10, 200])
def test_memory_follows_the_live_series_not_the_results_seen(scrapes):
    """A probe's label dict made anew for every result (as a collector that keeps none
    would) must not pile up: what is remembered is the last scrape's series."""
    collector = Scripted()
    registry = CollectorRegistry()
    registry.register(collector)
    for i in range(scrapes):
        collector.rows = [("g_a", "g_a", {"probe": f"p{j}"}, float(i)) for j in range(50)]
        exposition.generate(registry)
    remembered = sum(len(samples) for samples, _ in exposition._LAST[registry].values())
    assert remembered == 50


class AsLines:
    """A collector that gives its family as text lines (``LinesFamily``), as the probe
    collector does."""

    def __init__(self, rows):
        self.rows = rows  # (label values, value)

    def collect(self):
        from exporter import metrics
        from exporter.web.collectors.base import LinesFamily

        fam = LinesFamily(metrics.PROBE_DURATION)
        for values, value in self.rows:
            fam.lines.append(
                exposition.line(fam.name, dict(zip(metrics.PROBE_DURATION.labels, values, strict=True)), value)
            )
            fam.label_values.append(values)
        return iter([fam])


@pytest.mark.parametrize(
    "rows",
    [
        [(("acme", "ui", "default"), 0.25)],
        [
            (("acme", "ui", "eu"), 1.5e22),
            (('o \\ " \n', "p", "eu"), 1e-7),
            (("b", "c", "us"), -0.0),
            (("b", "d", "us"), 1234567.0),
        ],
        [
            (("a", "b", "x"), float("inf")),
            (("a", "c", "x"), float("-inf")),
            (("a", "d", "x"), 0.0),
            (("a", "e", "x"), 3),
        ],
    ],
    ids=["one", "escapes and big values", "infinities and ints"],
)
def test_a_family_given_as_lines_reads_back_as_its_samples(rows):
    registry = CollectorRegistry()
    registry.register(AsLines(rows))
    assert exposition.generate(registry) == generate_latest(registry)
    (fam,) = registry.collect()
    assert [(s.labels, s.value) for s in fam.samples] == [
        ({"tenant": t, "probe": p, "location": loc}, float(v)) for (t, p, loc), v in rows
    ]


class TenantLines:
    """A family given as bytes lines with a label part written once, of a gauge or a
    counter; line by line, or all of them in one item (as the tenants collector keeps them)."""

    def __init__(self, metric, rows, one_piece):
        self.metric, self.rows, self.one_piece = metric, rows, one_piece  # rows: (tenant, value)

    def collect(self):
        from prometheus_client.utils import floatToGoString

        from exporter.web.collectors.base import LinesFamily

        fam = LinesFamily(self.metric)
        for tenant, value in self.rows:
            part = exposition.label_part({"tenant": tenant}).encode()
            fam.lines.append(b"%s%s%s\n" % (self.metric.name.encode(), part, floatToGoString(value).encode()))
            fam.label_values.append((tenant,))
        if self.one_piece:
            fam.lines = [b"".join(fam.lines)]
        return iter([fam])


@pytest.mark.parametrize("one_piece", [False, True], ids=["line by line", "in one piece"])
@pytest.mark.parametrize("metric_name", ["AVAILABILITY", "DOWNTIME_TOTAL", "OUTAGES_TOTAL"])
@pytest.mark.parametrize(
    "rows",
    [
        [("acme", 0.25)],
        [('o \\ " \n', 2.67226e6), ("é", -0.0), ("b", 0.0), ("c", 3), ("d", float("inf")), ("e", float("nan"))],
        [("carriage\rreturn", 1.0), ("separators\x1c\u2028", 2.0), ("last", 1e-7)],
    ],
    ids=["one", "escapes, big values, zeros, an int, inf and nan", "line breaks left as they are"],
)
def test_bytes_lines_of_a_gauge_or_counter_read_back_as_their_samples(metric_name, rows, one_piece):
    from exporter import metrics

    metric = getattr(metrics, metric_name)
    registry = CollectorRegistry()
    registry.register(TenantLines(metric, rows, one_piece))
    assert exposition.generate(registry) == generate_latest(registry)
    (fam,) = registry.collect()
    assert fam.type == metric.kind
    got = [(s.name, s.labels, repr(s.value)) for s in fam.samples]
    assert got == [(metric.name, {"tenant": t}, repr(float(v))) for t, v in rows]


@pytest.mark.parametrize("seed", range(3))
def test_the_tenant_values_are_written_as_the_reference_writes_them(seed):
    """The tenants collector's shortcut to ``floatToGoString``: the same text for every
    kind of value a tenant line holds (ratios, seconds, counts, signs, exponents)."""
    import random

    from prometheus_client.utils import floatToGoString

    from exporter.web.collectors.base import go_bytes

    rng = random.Random(seed)
    special = [0, 3, 0.0, -0.0, 1.0, 999999.0, 1e6, 1000000.5, 2.67226e6, 1e22, 1.5e22, 1e-7, 123456789.0, -1e6, -2.5e7]
    special += [float("inf"), float("-inf"), float("nan"), 0.9992, 0.9853658536585366, -0.013834146341463405]
    values = special + [rng.uniform(-1, 1) * 10 ** rng.randint(-9, 12) for _ in range(2000)]
    values += [rng.randint(0, 10**9) / 1000 for _ in range(2000)] + [rng.randint(0, 500) for _ in range(200)]
    assert [go_bytes(v) for v in values] == [floatToGoString(v).encode() for v in values]
