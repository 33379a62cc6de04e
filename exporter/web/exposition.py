"""The Prometheus text format (0.0.4), byte for byte what prometheus_client's
``generate_latest`` writes, but remembering each series' line between scrapes (only its value
is written anew, and only when it changed). A thousand tenants are some 20,000 samples
whose names and labels repeat every scrape; formatting and escaping them again was half of
the scrape's time. Families this fast path does not cover go through ``generate_latest``
unchanged.

What is remembered is bounded by the series of the last scrape, not by every result or
label dict ever seen: each scrape builds the identity index anew from the series it wrote,
and the index by label values is pruned back to the live series when churn (series that
came and went) has doubled it."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# A series' line: (value, line, length of the line's "name{labels} " prefix, labels, sample name)
_Entry = tuple[float, str, int, dict, str]

# family name -> {id(label dict): entry}: the last scrape's series, found by the identity of
# the label dict a collector reuses between scrapes (ours do); the entry holds the dict, so
# the id stays its own while the entry lives. Replaced whole by every complete scrape.
_BY_ID: dict[str, dict[int, _Entry]] = {}
# (sample name, label items...) -> entry: the same series under a new label dict.
_PREFIXES: dict[tuple, _Entry] = {}
_SLACK = 10_000  # series of churn tolerated beyond twice the live ones before pruning
_FAST_TYPES = {"gauge": "gauge", "counter": "counter", "unknown": "untyped"}
_SLOW_SUFFIXES = ("_created", "_gsum", "_gcount")


def _escape_value(value: str) -> str:
    """A label value as the text format writes it: backslash, newline and double quote
    escaped (the three replaces of prometheus_client's writer; the golden file checks them)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _prefix(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name + " "
    inner = ",".join(f'{k}="{_escape_value(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}} "


def generate(registry: Collector) -> bytes:
    global _BY_ID, _PREFIXES
    families = list(registry.collect())
    last = _BY_ID  # concurrent scrapes each read one whole index and publish their own
    prefixes = _PREFIXES
    live: dict[str, dict[int, _Entry]] = {}
    out: list[str] = []
    append = out.append
    for family in families:
        mtype = _FAST_TYPES.get(family.type)
        if mtype is None or not family.name.isidentifier():
            return generate_latest(registry)  # rare: let the reference writer do all of it
        mname = family.name + "_total" if family.type == "counter" else family.name
        doc = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        append(f"# HELP {mname} {doc}\n# TYPE {mname} {mtype}\n")
        seen = last.get(family.name, {})
        mine = live.setdefault(family.name, {})
        for s in family.samples:
            name, labels, value = s[0], s[1], s[2]
            if s[3] is not None:  # a timestamp
                return generate_latest(registry)
            key = id(labels)
            known = seen.get(key)
            if known is None or known[3] is not labels or known[4] != name:
                if name.endswith(_SLOW_SUFFIXES):
                    return generate_latest(registry)
                known = prefixes.get((name, *labels.items()))
                if known is not None and known[0] == value:  # adopt this dict: found by id next time
                    known = prefixes[(name, *labels.items())] = (value, known[1], known[2], labels, name)
            if known is None or known[0] != value:  # a new series or a new value
                prefix = _prefix(name, labels) if known is None else known[1][: known[2]]
                known = (value, f"{prefix}{floatToGoString(value)}\n", len(prefix), labels, name)
                prefixes[(name, *labels.items())] = known
            mine[key] = known
            append(known[1])
    _BY_ID = live
    size = sum(map(len, live.values()))
    if len(prefixes) > 2 * size + _SLACK:  # churn: keep what the last scrape wrote
        _PREFIXES = {(e[4], *e[3].items()): e for fam in live.values() for e in fam.values()}
    return "".join(out).encode("utf-8")
