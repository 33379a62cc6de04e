"""The Prometheus text format (0.0.4), byte for byte what prometheus_client's
``generate_latest`` writes, but remembering each series' line between scrapes (only its value
is written anew, and only when it changed). A thousand tenants are some 20,000 samples
whose names and labels repeat every scrape; formatting and escaping them again was half of
the scrape's time. Families this fast path does not cover go through ``generate_latest``
unchanged."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# (name, labels...) -> (value, line, length of the line's "name{labels} " prefix, labels)
_PREFIXES: dict[tuple, tuple[float, str, int, dict]] = {}
_BY_ID: dict[tuple[str, int], tuple[float, str, int, dict]] = {}
_MAX_PREFIXES = 500_000  # forget them all past this: label churn must not grow memory forever
_FAST_TYPES = {"gauge": "gauge", "counter": "counter", "unknown": "untyped"}


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
    families = list(registry.collect())
    if len(_PREFIXES) > _MAX_PREFIXES or len(_BY_ID) > _MAX_PREFIXES:
        _PREFIXES.clear()
        _BY_ID.clear()
    out: list[str] = []
    for family in families:
        mtype = _FAST_TYPES.get(family.type)
        if mtype is None or not family.name.isidentifier():
            return generate_latest(registry)  # rare: let the reference writer do all of it
        mname = family.name + "_total" if family.type == "counter" else family.name
        doc = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {mname} {doc}\n# TYPE {mname} {mtype}\n")
        for s in family.samples:
            if s.timestamp is not None or s.name.endswith(("_created", "_gsum", "_gcount")):
                return generate_latest(registry)
            # A collector that reuses its label dicts between scrapes (ours does) is looked
            # up by the dict's identity; the entry holds the dict, so the id stays its own.
            fast = (s.name, id(s.labels))
            known = _BY_ID.get(fast)
            if known is None or known[3] is not s.labels:
                known = _PREFIXES.get((s.name, *s.labels.items()))
            if known is None or known[0] != s.value:  # a new series or a new value
                prefix = _prefix(s.name, s.labels) if known is None else known[1][: known[2]]
                known = (s.value, f"{prefix}{floatToGoString(s.value)}\n", len(prefix), s.labels)
                _PREFIXES[(s.name, *s.labels.items())] = known
            _BY_ID[fast] = known
            out.append(known[1])
    return "".join(out).encode("utf-8")
